"""The GLUE depth sweep: frozen features against transformers, stacked heads against one head
trained alone, and the resumable trained-encoder sweep."""

import numpy as np
import pytest
import torch

import chaoslib.tasks.glue_sweep as gs
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.loading import load_albert
from chaoslib.store import TrialStore
from chaoslib.tasks.glue import glue_metrics, load_glue
from chaoslib.tasks.heads import batch_order, train_stacked_heads, trunc_normal_head

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


def tiny_model(depth, init="glue", seed=3):
    return load_albert("albert-base-v2", init=init, seed=seed, num_hidden_layers=depth, **TINY)


@pytest.mark.parametrize("init", ["glue", "tf"])
def test_frozen_features_equal_albert_model_pooled_output(tokenizer, stsb, init):
    split = stsb[0]
    enc = gs.encode_split(tokenizer, split, n_tokens=64)
    lengths = enc.attention_mask.sum(1)
    assert lengths.min() < lengths.max() < 64  # real padding, of different lengths
    deep, _ = tiny_model(9, init)
    depths = [1, 2, 5, 9]
    feats = gs.depth_features(AlbertMap(deep), enc, depths, batch_size=7)  # batches cut across lengths
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


def reference_single_head(features, labels, epochs, batch_size, lr, lr_decay, dropout, seed):
    """One head trained alone with torch's Linear: what a per-depth run does."""
    hidden = features.shape[1]
    weight, bias = trunc_normal_head(hidden, 1, seed)
    head = torch.nn.Linear(hidden, 1)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.0, eps=1e-8)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay)
    mask_gen = torch.Generator().manual_seed(seed + 1)
    for rows in batch_order(len(labels), epochs, batch_size, seed):
        x = features[rows]
        keep = torch.rand((len(rows), hidden), generator=mask_gen) >= dropout
        x = x * keep / (1 - dropout)
        loss = torch.nn.functional.mse_loss(head(x)[:, 0], labels[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return head


def test_stacked_heads_equal_heads_trained_alone():
    gen = torch.Generator().manual_seed(0)
    n, hidden, n_heads = 40, 16, 5
    features = torch.randn(n_heads, n, hidden, generator=gen)
    labels = torch.rand(n, generator=gen) * 5
    kw = dict(epochs=3, batch_size=8, lr=1e-2, lr_decay=0.99, dropout=0.1, seed=42)
    heads, losses = train_stacked_heads(features, labels, 1, **kw)
    assert losses.shape == (3 * 5, n_heads)
    for h in (0, 3):
        alone = reference_single_head(features[h], labels, **kw)
        torch.testing.assert_close(heads.weight[h, :, 0], alone.weight[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(heads.bias[h], alone.bias, rtol=1e-5, atol=1e-6)
    assert (heads.weight[0] - heads.weight[3]).abs().max() > 1e-3  # different features, different heads


def test_stacked_heads_learn_a_linear_target():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 400, 8, generator=gen)
    w = torch.randn(8, generator=gen)
    y = x[0] @ w  # head 0 can fit it; head 1 sees unrelated features
    heads, _ = train_stacked_heads(x, y, 1, epochs=20, batch_size=8, lr=1e-2, dropout=0.0, seed=0)
    with torch.no_grad():
        pred = heads(x)[..., 0]
    assert glue_metrics("stsb", pred[0].numpy(), y.numpy())["pearson"] > 0.99
    assert abs(glue_metrics("stsb", pred[1].numpy(), y.numpy())["pearson"]) < 0.3


def test_classification_heads_cross_entropy():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 300, 6, generator=gen)
    y = (x[1, :, 0] > 0).long()
    heads, _ = train_stacked_heads(x, y, 2, epochs=10, lr=1e-2, dropout=0.0, seed=0)
    with torch.no_grad():
        acc = [glue_metrics("rte", heads(x)[h].numpy(), y.numpy())["accuracy"] for h in range(3)]
    assert acc[1] > 0.95 and acc[0] < 0.75 and acc[2] < 0.75


def test_frozen_sweep_records_and_cache(tokenizer, stsb, tmp_path, monkeypatch):
    model, info = tiny_model(1)
    fmap = AlbertMap(model)
    kw = dict(depths=range(1, 8), epochs=2, n_tokens=32, cache_dir=tmp_path)
    records = gs.frozen_sweep(fmap, info, tokenizer, *stsb, **kw)
    assert [r["depth"] for r in records] == list(range(1, 8))
    r = records[0]
    assert (
        r["arm"] == "frozen" and r["network"] == "albert-base-v2 random glue #3" and r["weights"] == "random"
    )
    assert r["metric"] == "pearson_spearman_mean" and r["score"] == pytest.approx(
        (r["pearson"] + r["spearman"]) / 2
    )
    assert len(list(tmp_path.glob("features_stsb_*.pt"))) == 2

    def no_recompute(*args, **kwargs):
        raise AssertionError("features should come from the cache")

    monkeypatch.setattr(gs, "depth_features", no_recompute)
    again = gs.frozen_sweep(fmap, info, tokenizer, *stsb, **kw)
    assert [a["score"] for a in again] == [b["score"] for b in records]
    frame = gs.results_frame(records)
    assert list(frame.depth) == list(range(1, 8))


def test_bad_depths():
    with pytest.raises(ChaoslibError, match="depths"):
        gs.check_depths([0, 3])
    with pytest.raises(ChaoslibError, match="depths"):
        gs.check_depths([])


def test_trained_sweep_resumes_after_interruption(tokenizer, stsb, tmp_path):
    train, dev = stsb[0].subsample(12, seed=0), stsb[1]
    kw = dict(
        depths=[1, 2, 3],
        model_name="albert-base-v2",
        weights="random",
        init="glue",
        init_seed=3,
        epochs=1,
        lr=1e-3,
        n_tokens=32,
        **TINY,
    )
    calls = []

    def interrupted(task, depth, *args, **kwargs):
        calls.append(depth)
        if depth == 3 and calls.count(3) == 1:
            raise KeyboardInterrupt("simulated interruption")
        return gs.finetune_trial(task, depth, *args, **kwargs)

    store = TrialStore(tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        gs.trained_sweep(store, tokenizer, train, dev, trial_fn=interrupted, **kw)
    assert calls == [1, 2] + [3] and len(store.all()) == 2
    resumed = gs.trained_sweep(store, tokenizer, train, dev, trial_fn=interrupted, **kw)
    assert calls == [1, 2, 3, 3]  # depths 1 and 2 were not redone
    assert len(store.all()) == 3

    fresh = gs.trained_sweep(TrialStore(tmp_path / "fresh"), tokenizer, train, dev, **kw)
    for a, b in zip(resumed, fresh, strict=True):
        assert a["depth"] == b["depth"] and a["arm"] == "trained"
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
    assert len({round(r["score"], 6) for r in fresh}) == 3  # different depths, different networks

    # other settings are other trials, never mixed up with these
    more = gs.trained_sweep(store, tokenizer, train, dev, **{**kw, "epochs": 2, "depths": [1]})
    assert len(store.all()) == 4 and more[0]["epochs"] == 2


def test_finetuning_trains_the_encoder(tokenizer, stsb):
    """With a large lr, the trained arm's depth-2 score differs from a frozen run with the same head path."""
    train, dev = stsb
    enc_t, enc_d = gs.encode_split(tokenizer, train, 32), gs.encode_split(tokenizer, dev, 32)
    labels_t, labels_d = torch.from_numpy(train.labels), dev.labels
    common = dict(model_name="albert-base-v2", weights="random", init="glue", init_seed=3, epochs=1, **TINY)
    trained = gs.finetune_trial("stsb", 2, enc_t, labels_t, enc_d, labels_d, lr=1e-2, **common)
    untouched = gs.finetune_trial("stsb", 2, enc_t, labels_t, enc_d, labels_d, lr=0.0, **common)
    # lr 0: predictions are the fresh head on the untrained network's pooled output
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
    assert trained["pearson"] != pytest.approx(untouched["pearson"], abs=1e-3)
    assert np.isfinite(trained["train_loss"])


def test_glue_by_depth_both_arms_and_rerun(tokenizer, stsb, tmp_path, monkeypatch):
    train, dev = stsb[0].subsample(12, seed=0), stsb[1]
    kw = dict(
        weights_list=["random"],
        frozen_depths=range(1, 5),
        trained_depths=[1, 3],
        model_name="albert-base-v2",
        frozen_epochs=1,
        trained_epochs=1,
        n_tokens=32,
        config_overrides=TINY,
        init_seed=3,
    )
    records, infos = gs.glue_by_depth(tmp_path, tokenizer, train, dev, **kw)
    assert [(r["arm"], r["depth"]) for r in records] == [("frozen", d) for d in range(1, 5)] + [
        ("trained", 1),
        ("trained", 3),
    ]
    assert {r["network"] for r in records} == {"albert-base-v2 random glue #3"} and infos[0].init == "glue"

    def fail(*args, **kwargs):
        raise AssertionError("a finished trial was recomputed")

    monkeypatch.setattr(gs, "frozen_sweep", fail)
    monkeypatch.setattr(gs, "finetune_trial", fail)
    again, _ = gs.glue_by_depth(tmp_path, tokenizer, train, dev, **{**kw, "trained_depths": [3, 1]})
    assert [r["score"] for r in again] == [r["score"] for r in records]


def test_pretrained_is_never_replaced(tokenizer, stsb, tmp_path, monkeypatch):
    from transformers import AlbertModel

    from chaoslib.errors import PretrainedWeightsUnavailable

    try:
        AlbertModel.from_pretrained("albert/albert-base-v2", local_files_only=True)
        pytest.skip("albert-base-v2 is in the local Hugging Face cache here")
    except OSError:
        pass
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PretrainedWeightsUnavailable):
        gs.glue_by_depth(
            tmp_path,
            tokenizer,
            *stsb,
            weights_list=["pretrained"],
            frozen_depths=[1, 2],
            model_name="albert-base-v2",
        )
    assert not (tmp_path / "trials").exists() or not list((tmp_path / "trials").iterdir())


def test_chaos_time_scale_on_glue_inputs(tokenizer, stsb):
    model, _ = tiny_model(1, init="tf")
    enc = gs.encode_split(tokenizer, stsb[1].subsample(3, seed=0), 32)
    out = gs.chaos_time_scale(AlbertMap(model), enc, masked=True, tau=5, n_steps=20)
    assert out["lengths"].shape == (3,) and out["mean_exponent"].shape == (4,)
    assert set(out["lengths"].tolist()) <= {0.0, 5.0, 10.0, 15.0, 20.0}
    assert out["median"] == float(np.median(out["lengths"]))
