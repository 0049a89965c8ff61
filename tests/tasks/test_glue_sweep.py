"""GLUE by depth: frozen features against transformers, the trained arm against a plain training loop
with the authors' schedule and clipping, both arms through chaoslib.sweep (resumable), the result."""

import numpy as np
import pytest
import torch

import chaoslib.tasks.glue_sweep as gs
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network, load_albert, reference_and_comparisons
from chaoslib.tasks.glue import load_glue
from chaoslib.tasks.glue_chaos import chaos_time_scale
from chaoslib.tasks.glue_features import check_depths, depth_features, encode_split, parse_depths, trimmed
from chaoslib.tasks.glue_frozen import frozen_sweep
from chaoslib.tasks.glue_metrics import glue_metrics, primary_score
from chaoslib.tasks.glue_trained import finetune_trial
from chaoslib.tasks.heads import batch_order, trunc_normal_head

TINY = dict(hidden_size=64, num_attention_heads=4, intermediate_size=128)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def stsb():
    return load_glue("stsb", "train").subsample(24, seed=1), load_glue("stsb", "validation").subsample(
        12, seed=1
    )


def tiny_model(depth, init="glue", seed=3, head="base"):
    return load_albert("albert-base-v2", init=init, seed=seed, num_hidden_layers=depth, head=head, **TINY)


@pytest.mark.parametrize("init", ["glue", "tf"])
def test_frozen_features_equal_albert_model_pooled_output(tokenizer, stsb, init):
    split = stsb[0]
    enc = encode_split(tokenizer, split, n_tokens=64)
    lengths = enc.attention_mask.sum(1)
    assert lengths.min() < lengths.max() < 64  # real padding, of different lengths
    deep, _ = tiny_model(9, init)
    depths = [1, 2, 5, 9]
    feats = depth_features(AlbertMap(deep), enc, depths, batch_size=7)  # batches cut across lengths
    assert feats.shape == (4, len(split), 64)
    for i, d in enumerate(depths):
        model, _ = tiny_model(d, init)  # same seed and scheme: same shared layer, d applications
        with torch.no_grad():
            ref = model(
                input_ids=enc.input_ids, attention_mask=enc.attention_mask, token_type_ids=enc.token_type_ids
            ).pooler_output
        rel = (feats[i] - ref).norm() / ref.norm()
        assert rel < 1e-5, (d, float(rel))
    # and the depths differ from each other (the test would not notice a constant otherwise)
    assert (feats[0] - feats[-1]).norm() > 1e-2 * feats[-1].norm()


def test_frozen_sweep_records_and_cache(tokenizer, stsb, tmp_path, monkeypatch):
    import chaoslib.tasks.glue_frozen as gf

    model, info = tiny_model(1)
    fmap = AlbertMap(model)
    kw = dict(depths=range(1, 8), epochs=2, n_tokens=32, cache_dir=tmp_path, n_boot=100)
    records = frozen_sweep(fmap, info, tokenizer, *stsb, **kw)
    assert [r["depth"] for r in records] == list(range(1, 8))
    r = records[0]
    assert (
        r["arm"] == "frozen" and r["network"] == "albert-base-v2 random glue #3" and r["weights"] == "random"
    )
    assert r["metric"] == "pearson_spearman_mean" and r["score"] == pytest.approx(
        (r["pearson"] + r["spearman"]) / 2
    )
    assert r["schedule"] == "exponential" and r["max_grad_norm"] == 1.0
    assert all(x["score_low"] <= x["score"] <= x["score_high"] for x in records)
    assert len(list(tmp_path.glob("features_stsb_*.pt"))) == 2

    def no_recompute(*args, **kwargs):
        raise AssertionError("features should come from the cache")

    monkeypatch.setattr("chaoslib.tasks.glue_features.depth_features", no_recompute)
    again = gf.frozen_sweep(fmap, info, tokenizer, *stsb, **kw, keep_predictions=True)
    assert [a["score"] for a in again] == [b["score"] for b in records]
    assert "predictions" not in records[0]  # kept only when asked
    for a in again:  # each depth's dev outputs give its score on the dev labels
        assert a["predictions"].shape == (len(stsb[1]), 1)
        np.testing.assert_array_equal(a["dev_labels"], stsb[1].require_labels())
        assert primary_score("stsb", a["predictions"], a["dev_labels"]) == pytest.approx(a["score"])


def test_depth_lists():
    with pytest.raises(ChaoslibError, match="depths"):
        check_depths([0, 3])
    with pytest.raises(ChaoslibError, match="depths"):
        check_depths([])
    assert parse_depths("1..3,8") == [1, 2, 3, 8] and parse_depths(4) == [1, 2, 3, 4]
    assert parse_depths("") == [] and parse_depths(None) == [] and parse_depths([5, 2]) == [2, 5]
    with pytest.raises(ChaoslibError, match="depths"):
        parse_depths("1-100")


def reference_finetune(enc_t, labels_t, enc_d, depth, lr, epochs, schedule, max_grad_norm, seed=42):
    """The trained arm written as a plain loop on transformers' AlbertForSequenceClassification:
    AdamW, LambdaLR with the schedule's formula, clip_grad_norm_ over the whole model."""
    model, _ = tiny_model(depth, init="tf", head="classification")
    model.config.num_labels = 1
    model.classifier = torch.nn.Linear(64, 1)
    torch.manual_seed(seed)
    w, b = trunc_normal_head(64, 1, seed)
    with torch.no_grad():
        model.classifier.weight.copy_(w)
        model.classifier.bias.copy_(b)
    order = batch_order(len(labels_t), epochs, 8, seed)
    total = len(order)
    formula = {"linear": lambda k: (total - k) / total, "exponential": lambda k: 0.9995**k}[schedule]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, formula)
    model.train()
    for rows in order:
        enc = trimmed(enc_t[rows])  # the same columns (all-pad ones cut) for the same dropout draws
        out = model(
            input_ids=enc.input_ids, attention_mask=enc.attention_mask, token_type_ids=enc.token_type_ids
        ).logits[:, 0]
        loss = torch.nn.functional.mse_loss(out, labels_t[rows])
        opt.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        return model(
            input_ids=enc_d.input_ids,
            attention_mask=enc_d.attention_mask,
            token_type_ids=enc_d.token_type_ids,
        ).logits[:, 0]


@pytest.mark.parametrize("schedule", ["linear", "exponential"])
def test_trained_arm_is_a_plain_loop_with_the_schedule_and_clipping(tokenizer, stsb, schedule):
    train, dev = stsb
    enc_t, enc_d = encode_split(tokenizer, train, 32), encode_split(tokenizer, dev, 32)
    labels_t, labels_d = torch.from_numpy(train.labels), dev.labels
    common = dict(network=Network("albert-base-v2", "random", init="tf", seed=3), epochs=2, n_boot=0)
    got = finetune_trial(
        "stsb", 2, enc_t, labels_t, enc_d, labels_d, lr=3e-3, schedule=schedule, **common, **TINY
    )
    ref = reference_finetune(enc_t, labels_t, enc_d, 2, 3e-3, 2, schedule, 1.0)
    expected = glue_metrics("stsb", ref.numpy(), labels_d)
    assert got["pearson"] == pytest.approx(expected["pearson"], abs=1e-5)
    assert got["schedule"] == schedule
    # clipping was active: without it the run ends elsewhere (far beyond float32 noise)
    unclipped = reference_finetune(enc_t, labels_t, enc_d, 2, 3e-3, 2, schedule, None)
    assert (unclipped - ref).abs().max() > 1e-4
    other = glue_metrics("stsb", unclipped.numpy(), labels_d)["pearson"]
    assert abs(other - got["pearson"]) > 1e-3  # and the score tells the two apart


def test_lr_zero_is_the_fresh_head_on_the_untrained_network(tokenizer, stsb):
    train, dev = stsb
    enc_t, enc_d = encode_split(tokenizer, train, 32), encode_split(tokenizer, dev, 32)
    labels_t, labels_d = torch.from_numpy(train.labels), dev.labels
    common = dict(network=Network("albert-base-v2", "random", init="glue", seed=3), epochs=1, **TINY)
    untouched = finetune_trial("stsb", 2, enc_t, labels_t, enc_d, labels_d, lr=0.0, n_boot=0, **common)
    model, _ = tiny_model(2)
    with torch.no_grad():
        pooled = model(
            input_ids=enc_d.input_ids,
            attention_mask=enc_d.attention_mask,
            token_type_ids=enc_d.token_type_ids,
        ).pooler_output
    w, b = trunc_normal_head(64, 1, 42)
    expected = glue_metrics("stsb", (pooled @ w.T + b).numpy(), labels_d)
    assert untouched["pearson"] == pytest.approx(expected["pearson"], abs=1e-4)


def test_glue_by_depth_through_the_sweep_layer_and_rerun(tmp_path, monkeypatch):
    kw = dict(
        task="stsb",
        n_train=12,
        n_dev=12,
        subsample_seed=1,
        frozen_depths=range(1, 5),
        trained_depths=[1, 3],
        frozen_epochs=1,
        trained_epochs=1,
        n_tokens=32,
        n_boot=100,
        config_overrides=TINY,
    )
    networks = reference_and_comparisons("albert-base-v2", "random", "glue", 3, "glue", [4])
    records, infos = gs.glue_by_depth(tmp_path, networks, **kw)
    frozen = [(r["network"], r["depth"]) for r in records if r["arm"] == "frozen"]
    trained = [(r["network"], r["depth"]) for r in records if r["arm"] == "trained"]
    nets = ["albert-base-v2 random glue #3", "albert-base-v2 random glue #4"]
    assert frozen == [(n, d) for n in nets for d in range(1, 5)]
    assert trained == [(n, d) for n in nets for d in (1, 3)]
    assert [i.label() for i in infos] == nets and all(i.init == "glue" for i in infos)
    assert len(list((tmp_path / "trials").glob("*.json"))) == 2 + 4  # one per frozen network, per trained run

    def fail(*args, **kwargs):
        raise AssertionError("a finished trial was recomputed")

    monkeypatch.setattr(gs, "frozen_sweep", fail)
    monkeypatch.setattr(gs, "finetune_trial", fail)
    again, _ = gs.glue_by_depth(tmp_path, networks, **{**kw, "trained_depths": [3, 1]})
    key = lambda r: (r["arm"], r["network"], r["depth"])  # noqa: E731
    assert sorted((key(r), r["score"]) for r in again) == sorted((key(r), r["score"]) for r in records)

    ds = gs.glue_dataset(records)
    assert ds.score.dims == ("arm", "network", "depth") and list(ds.arm.values) == ["frozen", "trained"]
    assert list(ds.network.values) == nets and list(ds.role.values) == ["reference", "comparison"]
    # the frozen heads' dev outputs, kept through the store: each depth's score is theirs on the dev labels
    assert ds.prediction.dims == ("network", "depth", "row", "output") and ds.label.size == 12
    redone = gs.glue_dataset(again)
    np.testing.assert_array_equal(redone.prediction.values, ds.prediction.values)
    for n in nets:
        for d in range(1, 5):
            outputs = ds.prediction.sel(network=n, depth=d).values
            want = float(ds.score.sel(arm="frozen", network=n, depth=d))
            assert primary_score("stsb", outputs, ds.label.values) == pytest.approx(want, abs=1e-6)
    assert list(ds.depth.values) == [1, 2, 3, 4] and list(ds.init_seed.values) == [3, 4]
    for r in records:
        assert float(ds.score.sel(arm=r["arm"], network=r["network"], depth=r["depth"])) == r["score"]
        assert float(ds.score_low.sel(arm=r["arm"], network=r["network"], depth=r["depth"])) == r["score_low"]
    assert np.isnan(float(ds.score.sel(arm="trained", network=nets[0], depth=2)))  # not run: NaN
    assert ds.attrs["metric"] == "pearson_spearman_mean" and ds.attrs["n_train"] == 12


def test_pretrained_is_never_replaced(tmp_path, monkeypatch):
    from transformers import AlbertModel

    from chaoslib.errors import PretrainedWeightsUnavailable

    try:
        AlbertModel.from_pretrained("albert/albert-base-v2", local_files_only=True)
        pytest.skip("albert-base-v2 is in the local Hugging Face cache here")
    except OSError:
        pass
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(Exception) as err:
        gs.glue_by_depth(
            tmp_path,
            [Network("albert-base-v2", "pretrained")],
            n_train=8,
            n_dev=8,
            frozen_depths=[1, 2],
        )
    assert isinstance(err.value, PretrainedWeightsUnavailable) or "PretrainedWeightsUnavailable" in str(
        err.value
    )
    assert not list((tmp_path / "trials").glob("*.json"))  # nothing recorded


def test_chaos_time_scale_on_glue_inputs(tokenizer, stsb):
    model, _ = tiny_model(1, init="tf")
    enc = encode_split(tokenizer, stsb[1].subsample(3, seed=0), 32)
    out = chaos_time_scale(AlbertMap(model), enc, masked=True, tau=5, n_steps=20)
    assert out["lengths"].shape == (3,) and out["mean_exponent"].shape == (4,)
    assert set(out["lengths"].tolist()) <= {0.0, 5.0, 10.0, 15.0, 20.0}
    assert out["median"] == float(np.median(out["lengths"]))
    assert out["median_low"] <= out["median"] <= out["median_high"]


def test_chapter_result_compares_the_reference_with_its_comparisons(tmp_path, monkeypatch):
    """The chapter's parameters name the networks as every chapter does; the trained arm runs the reference
    and the trained comparison seeds (None: the comparison seeds)."""
    seen = {}

    def by_depth(results_dir, networks, trained_networks, **kw):
        seen.update(frozen=networks, trained=trained_networks, **kw)
        return [], networks

    monkeypatch.setattr(gs, "glue_by_depth", by_depth)
    monkeypatch.setattr(
        gs, "chaos_time_scales", lambda networks, **kw: seen.update(chaos=networks, chaos_kw=kw)
    )
    monkeypatch.setattr(gs, "glue_dataset", lambda records, chaos: "result")
    p = dict(
        task="stsb", data_source="local", model_name="albert-wikitext2", reference_weights="pretrained",
        reference_init="glue", reference_seed=0, comparison_init="glue", comparison_seeds=[0, 1, 2],
        trained_comparison_seeds=[0], weights_dir=None, data_dir=None, dtype="float32", executor="local",
        ray_address=None, seed=42, n_train=600, n_dev=300, trained_n_train=256, subsample_seed=5,
        frozen_depths="1..4", trained_depths="4,16", frozen_epochs=None, trained_epochs=1, batch_size=8,
        frozen_lr=1e-3, trained_lr=1e-6, lr_decay=0.9995, trained_schedule="authors", max_grad_norm=1.0,
        n_tokens=64, n_boot=200, chaos_n_samples=8, chaos_eps=1e-2, chaos_tau=10, chaos_n_steps=200,
        chaos_masked=True,
    )
    networks = reference_and_comparisons("albert-wikitext2", "pretrained", "glue", 0, "glue", [0, 1, 2])
    ds, loaded = gs.chapter_result(networks, p, tmp_path, "cpu")
    labels = [n.label() for n in seen["frozen"]]
    assert seen["frozen"] == networks and seen["chaos"] == networks and ds == "result" and loaded == networks
    randoms = [f"albert-wikitext2 random glue #{s}" for s in range(3)]
    assert labels == ["albert-wikitext2 pretrained here", *randoms]
    assert [n.label() for n in seen["trained"]] == labels[:2]
    assert seen["frozen_depths"] == [1, 2, 3, 4] and seen["trained_depths"] == [4, 16]
    assert seen["chaos_kw"]["seed"] == 5 and seen["chaos_kw"]["subsample_seed"] == 5
    gs.chapter_result(networks, {**p, "trained_comparison_seeds": None}, tmp_path, "cpu")
    assert seen["trained"] == seen["frozen"]
