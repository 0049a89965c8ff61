"""MLM by depth (SPEC 2.6): the one-pass sweep against transformers' own models, on a tiny config.

References are independent of chaoslib's map and heads: ``AlbertModel(num_hidden_layers=d)``
for the states, and for the training a separate ``AlbertForMaskedLM(num_hidden_layers=d)``
per depth with its encoder frozen, trained with transformers' forward pass and loss (logits
over every position, -100 ignored), torch's AdamW and ``clip_grad_norm_``.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AlbertForMaskedLM, AlbertModel, get_linear_schedule_with_warmup

from chaoslib.data.masking import NGramMasking
from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.loading import load_albert
from chaoslib.tasks.heads import batch_order
from chaoslib.tasks.mlm_sweep import (
    MLMDepthSweep,
    StackedMLMHeads,
    depth_states,
    init_readout,
    readout_from_model,
)

TINY = dict(hidden_size=32, num_attention_heads=4, intermediate_size=64, num_hidden_layers=3)
N_TOK = 24


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


@pytest.fixture(scope="module")
def model():
    model, _ = load_albert("albert-base-v2", head="mlm", init="mlm", seed=3, **TINY)
    return model


@pytest.fixture(scope="module")
def masking():
    return NGramMasking(mask_token_id=4, vocab_size=30000, special_token_ids=[0, 1, 2, 3, 4])


def blocks(n: int, seed: int) -> Encoded:
    """[CLS] ... [SEP] blocks of N_TOK tokens; every third row shorter and padded."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 2000, (n, N_TOK), generator=gen)  # a small vocabulary so the heads learn something
    lengths = torch.full((n,), N_TOK)
    lengths[::3] = torch.randint(10, N_TOK, (len(lengths[::3]),), generator=gen)
    attention = (torch.arange(N_TOK)[None] < lengths[:, None]).long()
    ids[:, 0] = 2
    ids[torch.arange(n), lengths - 1] = 3
    ids[attention == 0] = 0
    types = torch.zeros_like(ids)
    types[:, N_TOK // 2 :] = 1  # token types enter the embedding: make sure they are passed through
    return Encoded(ids, types * attention, attention)


def test_depth_states_equal_albert_model_with_mask(model):
    data = blocks(6, seed=0)
    fmap = AlbertMap(model)
    for depth, x in depth_states(fmap, data, range(1, 7)):
        reference = AlbertModel(
            model.config.__class__(**{**model.config.to_dict(), "num_hidden_layers": depth})
        )
        missing, unexpected = reference.load_state_dict(model.albert.state_dict(), strict=False)
        assert set(missing) <= {"pooler.weight", "pooler.bias"} and not unexpected
        with torch.no_grad():
            want = reference.eval()(
                input_ids=data.input_ids,
                token_type_ids=data.token_type_ids,
                attention_mask=data.attention_mask,
            ).last_hidden_state
        rel = float((x - want).norm() / want.norm())
        assert rel < 1e-5, (depth, rel)


def test_stacked_heads_equal_transformers_head(model):
    own = readout_from_model(model)
    fresh = init_readout(readout_from_model(model), seed=5)
    heads = StackedMLMHeads([own, fresh, own])
    states = torch.randn(3, 17, model.config.hidden_size)
    with torch.no_grad():
        got = heads(states)
        for i, head in enumerate([model.predictions, fresh, model.predictions]):
            want = head(states[i])
            assert torch.allclose(got[i], want, rtol=1e-5, atol=1e-5)
    # re-initialising changes dense, LayerNorm and bias, never the (tied, frozen) decoder weight
    assert torch.equal(fresh.decoder.weight, model.predictions.decoder.weight)
    assert not torch.equal(fresh.dense.weight, model.predictions.dense.weight)
    bound = 1 / model.config.hidden_size**0.5  # mlm scheme: uniform(+-1/sqrt(last dim))
    assert float(fresh.dense.weight.detach().abs().max()) <= bound
    # and it is seeded
    again = init_readout(readout_from_model(model), seed=5)
    assert torch.equal(again.dense.weight, fresh.dense.weight) and torch.equal(again.bias, fresh.bias)


def separate_reference_run(model, train: Encoded, masking, depth: int, sweep: MLMDepthSweep, reinit: bool):
    """One depth trained alone the transformers way: AlbertForMaskedLM(num_hidden_layers=depth), encoder
    frozen (which freezes the tied decoder weight), HF loss over all positions, same batches and masks."""
    config = model.config.__class__(**{**model.config.to_dict(), "num_hidden_layers": depth})
    ref = AlbertForMaskedLM(config)
    ref.load_state_dict(model.state_dict())
    ref.eval()
    if reinit:
        init_readout(ref.predictions, sweep.readout_seed, sweep.readout_scheme)
    for p in ref.albert.parameters():
        p.requires_grad_(False)
    head_params = {n: p for n, p in ref.predictions.named_parameters() if p.requires_grad}
    assert set(head_params) == {"bias", "dense.weight", "dense.bias", "LayerNorm.weight", "LayerNorm.bias"}
    decay = [p for n, p in head_params.items() if not (n.endswith("bias") or "LayerNorm.weight" in n)]
    no_decay = [p for n, p in head_params.items() if n.endswith("bias") or "LayerNorm.weight" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": sweep.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=sweep.lr,
        eps=sweep.adam_epsilon,
    )
    order = batch_order(len(train), sweep.epochs, sweep.batch_size, sweep.seed)
    schedule = get_linear_schedule_with_warmup(optimizer, sweep.warmup_steps, len(order))
    gen = torch.Generator().manual_seed(sweep.seed)
    losses = []
    for rows in order:
        batch = train[rows]
        masked = masking(batch.input_ids, batch.attention_mask, gen)
        out = ref(
            input_ids=masked.input_ids,
            token_type_ids=batch.token_type_ids,
            attention_mask=batch.attention_mask,
            labels=masked.labels,
        )
        optimizer.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(list(head_params.values()), sweep.max_grad_norm)
        optimizer.step()
        schedule.step()
        losses.append(float(out.loss.detach()))
    return ref.predictions, torch.tensor(losses)


def test_one_pass_heads_match_separate_per_depth_runs(model, masking):
    train = blocks(40, seed=1)
    # max_grad_norm 0.02 keeps per-head clipping active on every step (without it, or with one global
    # clip, the heads differ from the separate runs by ~5e-4, far outside the tolerance below)
    sweep = MLMDepthSweep(
        depths=(1, 2, 4),
        modes=("trained", "reinit"),
        lr=2e-3,
        epochs=2,
        batch_size=8,
        warmup_steps=3,
        weight_decay=0.01,
        max_grad_norm=0.02,
        seed=11,
        readout_seed=5,
    ).fit(model, train, masking)
    assert sweep.n_steps_ == 10 and sweep.train_loss_.shape == (10, 6)
    heads = sweep.heads_
    for h, (mode, depth) in enumerate(sweep.head_index_):
        ref_head, ref_losses = separate_reference_run(
            model, train, masking, depth, sweep, reinit=mode == "reinit"
        )
        assert torch.allclose(sweep.train_loss_[:, h], ref_losses, rtol=1e-5), (mode, depth)
        start = readout_from_model(model)
        if mode == "reinit":
            init_readout(start, sweep.readout_seed, sweep.readout_scheme)
        pairs = {
            "dense.weight": heads.dense_weight[h],
            "dense.bias": heads.dense_bias[h],
            "LayerNorm.weight": heads.ln_weight[h],
            "LayerNorm.bias": heads.ln_bias[h],
            "bias": heads.bias[h],
        }
        for name, got in pairs.items():
            want = dict(ref_head.named_parameters())[name].detach()
            moved = float((want - dict(start.named_parameters())[name].detach()).abs().max())
            # tolerance 1e-6 absolute (float32 summation order) on parameters that moved by >= 1e-4
            assert float((got.detach() - want).abs().max()) < 1e-6, (mode, depth, name)
            assert moved > 1e-4, (mode, depth, name, moved)  # the heads did train


def test_evaluate_matches_transformers_and_untrained_is_the_model(model, masking):
    train, test = blocks(16, seed=2), blocks(12, seed=3)
    sweep = MLMDepthSweep(depths=(1, 3), epochs=1, batch_size=8, warmup_steps=1, seed=4, eval_batch_size=5)
    result = sweep.fit(model, train, masking).evaluate(model, test, masking)
    assert result.accuracy.dims == ("mode", "depth") and list(result.mode.values) == [
        "trained",
        "reinit",
        "untrained",
    ]
    # reference: the untrained model of depth d, via transformers, on the same test masks
    masks = sweep.test_masks(test, masking)
    for depth in (1, 3):
        config = model.config.__class__(**{**model.config.to_dict(), "num_hidden_layers": depth})
        ref = AlbertForMaskedLM(config)
        ref.load_state_dict(model.state_dict())
        with torch.no_grad():
            out = ref.eval()(
                input_ids=masks.input_ids,
                token_type_ids=test.token_type_ids,
                attention_mask=test.attention_mask,
                labels=masks.labels,
            )
        chosen = masks.chosen
        accuracy = float((out.logits[chosen].argmax(-1) == masks.labels[chosen]).double().mean())
        at = dict(mode="untrained", depth=depth)
        assert abs(float(result.loss.sel(at)) - float(out.loss)) < 1e-5
        assert abs(float(result.accuracy.sel(at)) - accuracy) < 1e-12
        assert abs(float(result.perplexity.sel(at)) - float(torch.exp(out.loss))) < 1e-3 * float(
            torch.exp(out.loss)
        )
    assert result.attrs["n_masked"] == int(masks.chosen.sum())


def test_bad_arguments(model, masking):
    with pytest.raises(ChaoslibError, match="depths"):
        MLMDepthSweep(depths=(0, 1))
    with pytest.raises(ChaoslibError, match="modes"):
        MLMDepthSweep(modes=("frozen",))
    with pytest.raises(ChaoslibError, match="decoder"):
        MLMDepthSweep(decoder="shared")
    with pytest.raises(ChaoslibError, match="fit"):
        MLMDepthSweep(depths=(1,), epochs=1).evaluate(model, blocks(3, 0), masking)
    base, _ = load_albert("albert-base-v2", **TINY)
    with pytest.raises(ChaoslibError, match="head='mlm'"):
        readout_from_model(base)


def test_mlm_by_depth_labels_and_caches(model, masking, tmp_path, monkeypatch):
    from chaoslib.data.mlm_data import MLMCorpus, corpus_meta
    from chaoslib.tasks.mlm_sweep import baselines, mlm_by_depth

    random_info = load_albert("albert-base-v2", head="mlm", init="mlm", seed=3, **TINY)[1]
    other, other_info = load_albert("albert-base-v2", head="mlm", init="mlm", seed=4, **TINY)
    meta = corpus_meta(22, "wikitext-2", 512, N_TOK, 6 / 22, 0, "synthetic")
    corpus = MLMCorpus(blocks(16, seed=5), blocks(6, seed=6), meta)
    sweep = MLMDepthSweep(depths=(1, 2), epochs=1, batch_size=8, warmup_steps=1)
    result = mlm_by_depth(
        [(model, random_info), (other, other_info)], corpus, masking, sweep, out_dir=tmp_path
    )
    assert result.accuracy.dims == ("encoder", "mode", "depth")
    assert list(result.encoder.values) == [
        "albert-base-v2 random mlm #3 (hidden 32)",
        "albert-base-v2 random mlm #4 (hidden 32)",
    ]
    assert list(result.weights.values) == ["random", "random"]
    assert result.train_loss.sizes["step"] == 2 and bool(
        result.train_loss.sel(mode="untrained").isnull().all()
    )
    # a rerun with the same parameters loads the saved results instead of training again
    monkeypatch.setattr(MLMDepthSweep, "fit", lambda *a, **k: pytest.fail("retrained a cached encoder"))
    again = mlm_by_depth(
        [(model, random_info), (other, other_info)], corpus, masking, sweep, out_dir=tmp_path
    )
    assert again.accuracy.equals(result.accuracy)
    # different parameters are not served from the cache
    changed = MLMDepthSweep(depths=(1, 2), epochs=1, batch_size=8, warmup_steps=1, lr=1e-3)
    with pytest.raises(pytest.fail.Exception):
        mlm_by_depth([(model, random_info)], corpus, masking, changed, out_dir=tmp_path)
    # baselines on the same test masks: majority token accuracy is a frequency, perplexities are > 1
    base = baselines(corpus, masking, sweep)
    assert 0 < base["majority_accuracy"] < 1 and 1 < base["unigram_perplexity"] < base["uniform_perplexity"]


def test_free_decoder_trains_its_own_copy(model, masking):
    embeddings_before = model.albert.embeddings.word_embeddings.weight.detach().clone()
    sweep = MLMDepthSweep(
        depths=(1, 2), modes=("trained",), decoder="free", epochs=1, batch_size=8, warmup_steps=1
    )
    sweep.fit(model, blocks(16, seed=7), masking)
    heads = sweep.heads_
    assert heads.decoder_weight.shape == (2, 30000, 128) and heads.decoder_weight.requires_grad
    assert not torch.equal(heads.decoder_weight[0], embeddings_before)  # trained ...
    assert torch.equal(
        model.albert.embeddings.word_embeddings.weight, embeddings_before
    )  # ... the model is not
    tied = MLMDepthSweep(depths=(1,), modes=("trained",), epochs=1, batch_size=8, warmup_steps=1)
    tied.fit(model, blocks(16, seed=7), masking)
    assert not tied.heads_.decoder_weight.requires_grad
    assert torch.equal(tied.heads_.decoder_weight, embeddings_before)
