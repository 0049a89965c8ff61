"""MLM by depth: the one-pass sweep against transformers' own models, on a tiny config.

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
from chaoslib.model.network import Network, load_albert, reference_and_comparisons
from chaoslib.tasks.heads import batch_order
from chaoslib.tasks.mlm_heads import StackedMLMHeads, depth_states, readout_from_model
from chaoslib.tasks.mlm_networks import decoder_is_tied, network_for_mode, random_encoder, reinit_readout
from chaoslib.tasks.mlm_sweep import MLMDepthSweep

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


def as_pretrained(seed: int = 3) -> Network:
    """The tiny network plays the pretrained one (the random encoder is derived from a pretrained model)."""
    return Network("albert-base-v2", "pretrained", source=f"test stand-in (mlm #{seed})")


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


def depth_model(model, depth: int) -> AlbertForMaskedLM:
    """transformers' own AlbertForMaskedLM of ``depth`` layers with ``model``'s parameters (and its tie)."""
    config = model.config.__class__(**{**model.config.to_dict(), "num_hidden_layers": depth})
    ref = AlbertForMaskedLM(config)
    ref.load_state_dict(model.state_dict())
    if not decoder_is_tied(model):  # an untied copy: load_state_dict filled the tied tensor twice
        ref.predictions.decoder.weight = torch.nn.Parameter(model.predictions.decoder.weight.detach().clone())
        ref.albert.embeddings.word_embeddings.weight = torch.nn.Parameter(
            model.albert.embeddings.word_embeddings.weight.detach().clone()
        )
    return ref.eval()


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
    fresh = reinit_readout(model, seed=5, tied=False).predictions
    heads_own, heads_fresh = StackedMLMHeads([model.predictions] * 2), StackedMLMHeads([fresh])
    states = torch.randn(2, 17, model.config.hidden_size)
    with torch.no_grad():
        for i in range(2):
            assert torch.allclose(heads_own(states)[i], model.predictions(states[i]), rtol=1e-5, atol=1e-5)
        assert torch.allclose(heads_fresh(states[:1])[0], fresh(states[0]), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# the authors' networks: what is re-drawn and what stays


def head_state(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.predictions.named_parameters() if n != "decoder.weight"}


def test_random_encoder_redraws_albert_and_keeps_the_head(model):
    net, info = random_encoder(model, as_pretrained(), seed=7)
    assert info.weights == "random" and info.init == "mlm" and info.seed == 7 and "pretrained" in info.source
    # the head's dense layer, LayerNorm and output bias keep their (pretrained) values ...
    for name, value in head_state(model).items():
        assert torch.equal(dict(net.predictions.named_parameters())[name], value), name
    # ... every parameter of model.albert is re-drawn: uniform(+-1/sqrt(last dim)), std bound/sqrt(3)
    before = dict(model.albert.named_parameters())
    for name, p in net.albert.named_parameters():
        bound = p.shape[-1] ** -0.5
        assert not torch.equal(p, before[name]), name
        assert float(p.abs().max()) <= bound, name
        if p.numel() > 1000:
            assert abs(float(p.std()) - bound / 3**0.5) < 0.05 * bound, name
    # the decoder is tied: it follows the new word embeddings
    assert decoder_is_tied(net)
    assert torch.equal(net.predictions.decoder.weight, net.albert.embeddings.word_embeddings.weight)
    assert not torch.equal(net.predictions.decoder.weight, model.predictions.decoder.weight)
    # the pretrained model is untouched, and the draw is seeded
    assert torch.equal(
        model.albert.embeddings.word_embeddings.weight, before["embeddings.word_embeddings.weight"]
    )
    again, _ = random_encoder(model, as_pretrained(), seed=7)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), again.parameters(), strict=True))
    with pytest.raises(ChaoslibError, match="pretrained"):
        random_encoder(net, info, seed=1)


def test_reinit_readout_tied_redraws_the_input_embeddings(model):
    tied = network_for_mode(model, "reinit", readout_seed=5)
    untied = network_for_mode(model, "reinit_untied", readout_seed=5)
    embeddings = model.albert.embeddings.word_embeddings.weight
    # tied (the authors): the decoder weight IS the embedding matrix, re-drawn with the head
    assert decoder_is_tied(tied)
    assert not torch.equal(tied.albert.embeddings.word_embeddings.weight, embeddings)
    assert float(tied.predictions.decoder.weight.abs().max()) <= model.config.embedding_size**-0.5
    for name, value in head_state(model).items():
        assert not torch.equal(dict(tied.predictions.named_parameters())[name], value), name
    # the rest of the encoder is the model's
    for (name, p), q in zip(tied.albert.named_parameters(), model.albert.parameters(), strict=True):
        assert torch.equal(p, q) or name == "embeddings.word_embeddings.weight", name
    # untied: the embeddings keep their values, the decoder has its own re-drawn copy
    assert not decoder_is_tied(untied)
    assert torch.equal(untied.albert.embeddings.word_embeddings.weight, embeddings)
    assert not torch.equal(untied.predictions.decoder.weight, embeddings)
    for name, value in head_state(model).items():
        assert not torch.equal(dict(untied.predictions.named_parameters())[name], value), name
    # and the encoder sees other inputs under the tied reset: its states differ, the untied ones do not
    data = blocks(2, seed=9)
    x_model = next(depth_states(AlbertMap(model), data, [1]))[1]
    assert torch.equal(next(depth_states(AlbertMap(untied), data, [1]))[1], x_model)
    assert not torch.allclose(next(depth_states(AlbertMap(tied), data, [1]))[1], x_model)
    assert network_for_mode(model, "trained", 5) is model and network_for_mode(model, "untrained", 5) is model


# ---------------------------------------------------------------------------------------------
# training and evaluation against transformers


def separate_reference_run(network, train: Encoded, masking, depth: int, sweep: MLMDepthSweep):
    """One depth trained alone the transformers way: AlbertForMaskedLM(num_hidden_layers=depth), encoder
    frozen (which freezes the decoder weight), HF loss over all positions, same batches and masks."""
    ref = depth_model(network, depth)
    for p in ref.albert.parameters():
        p.requires_grad_(False)
    ref.predictions.decoder.weight.requires_grad_(False)
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


@pytest.mark.parametrize("mode", ["trained", "reinit"])
def test_one_pass_heads_match_separate_per_depth_runs(model, masking, mode):
    train = blocks(40, seed=1)
    network = network_for_mode(model, mode, readout_seed=5)
    # max_grad_norm 0.02 keeps per-head clipping active on every step (without it, or with one global
    # clip, the heads differ from the separate runs by ~5e-4, far outside the tolerance below)
    sweep = MLMDepthSweep(
        depths=(1, 2, 4),
        lr=2e-3,
        epochs=2,
        batch_size=8,
        warmup_steps=3,
        weight_decay=0.01,
        max_grad_norm=0.02,
        seed=11,
    ).fit(network, train, masking)
    assert sweep.n_steps_ == 10 and sweep.train_loss_.shape == (10, 3)
    heads = sweep.heads_
    start = dict(network.predictions.named_parameters())
    for h, depth in enumerate(sweep.depths):
        ref_head, ref_losses = separate_reference_run(network, train, masking, depth, sweep)
        assert torch.allclose(sweep.train_loss_[:, h], ref_losses, rtol=1e-5), (mode, depth)
        pairs = {
            "dense.weight": heads.dense_weight[h],
            "dense.bias": heads.dense_bias[h],
            "LayerNorm.weight": heads.ln_weight[h],
            "LayerNorm.bias": heads.ln_bias[h],
            "bias": heads.bias[h],
        }
        for name, got in pairs.items():
            want = dict(ref_head.named_parameters())[name].detach()
            moved = float((want - start[name].detach()).abs().max())
            # tolerance 1e-6 absolute (float32 summation order) on parameters that moved by >= 1e-4
            assert float((got.detach() - want).abs().max()) < 1e-6, (mode, depth, name)
            assert moved > 1e-4, (mode, depth, name, moved)  # the heads did train


@pytest.mark.parametrize("mode", ["untrained", "reinit", "reinit_untied"])
def test_evaluate_counts_per_block_match_transformers(model, masking, mode):
    """Untrained heads of the mode's network, evaluated block by block, against transformers' forward."""
    test = blocks(12, seed=3)
    network = network_for_mode(model, mode, readout_seed=5)
    sweep = MLMDepthSweep(depths=(1, 3), seed=4, eval_batch_size=5)
    result = sweep.evaluate(network, test, masking, trained=False)
    masks = sweep.test_masks(test, masking)
    assert result.n_masked.values.tolist() == masks.chosen.sum(1).tolist()
    for depth in (1, 3):
        with torch.no_grad():
            logits = depth_model(network, depth)(
                input_ids=masks.input_ids,
                token_type_ids=test.token_type_ids,
                attention_mask=test.attention_mask,
            ).logits
        for b in range(len(test)):
            chosen = masks.chosen[b]
            hits = int((logits[b][chosen].argmax(-1) == masks.labels[b][chosen]).sum())
            loss = float(
                torch.nn.functional.cross_entropy(logits[b][chosen], masks.labels[b][chosen], reduction="sum")
            )
            assert int(result.correct.sel(depth=depth, block=b)) == hits
            assert abs(float(result.loss_sum.sel(depth=depth, block=b)) - loss) < 1e-4 * max(1.0, loss)


def test_bad_arguments(model, masking):
    with pytest.raises(ChaoslibError, match="depths"):
        MLMDepthSweep(depths=(0, 1))
    with pytest.raises(ChaoslibError, match="modes"):
        network_for_mode(model, "frozen", 0)
    with pytest.raises(ChaoslibError, match="decoder"):
        MLMDepthSweep(decoder="shared")
    with pytest.raises(ChaoslibError, match="fit"):
        MLMDepthSweep(depths=(1,), epochs=1).evaluate(model, blocks(3, 0), masking, trained=True)
    base, _ = load_albert("albert-base-v2", **TINY)
    with pytest.raises(ChaoslibError, match="head='mlm'"):
        readout_from_model(base)


def test_mlm_by_depth_runs_every_point_through_the_sweep_layer(masking, tmp_path, monkeypatch):
    """The shipped small network (pretrained here) and one random encoder on a few WikiText-2 blocks."""
    from chaoslib.data.mlm_data import build_mlm_corpus
    from chaoslib.data.tokenization import load_tokenizer
    from chaoslib.tasks.mlm_sweep import load_encoder, majority_baseline, mlm_by_depth

    params = dict(n_paragraphs=6, test_fraction=0.5, split="valid", test_split="test", n_tokens=64)
    sweep = MLMDepthSweep(depths=(1, 2), epochs=1, batch_size=4, warmup_steps=1)
    networks = reference_and_comparisons("albert-wikitext2", comparison_init="mlm", comparison_seeds=[4])
    run = lambda: mlm_by_depth(  # noqa: E731
        networks,
        params,
        sweep,
        modes=("trained", "untrained"),
        random_modes=("untrained",),
        store_dir=tmp_path,
        progress=False,
    )
    result, infos = run()
    assert result.correct.dims == ("encoder", "mode", "depth", "block")
    assert list(result.encoder.values) == [
        "albert-wikitext2 pretrained here",
        "albert-wikitext2 random mlm #4",
    ]
    assert list(result.weights.values) == ["pretrained", "random"] and list(result.init_seed.values) == [
        -1,
        4,
    ]
    assert list(result.role.values) == ["reference", "comparison"]
    assert infos[1].source.startswith("encoder (embeddings and layer) random mlm #4")
    assert bool(result.correct.sel(mode="trained", encoder=result.encoder[1]).isnull().all())  # not run
    assert bool(result.train_loss.sel(mode="untrained").isnull().all())
    # the untrained pretrained point is the network itself, evaluated alone on the same corpus and masks
    tokenizer = load_tokenizer()
    corpus = build_mlm_corpus(**params, tokenizer=tokenizer)
    steps = int(result.train_loss.sel(mode="trained").notnull().sum("step")[0, 0])
    assert steps == -(-len(corpus.train) // 4) and result.sizes["block"] == len(corpus.test)
    model, _ = load_encoder(_settings(networks[0]))
    alone = sweep.evaluate(model, corpus.test, NGramMasking.from_tokenizer(tokenizer), trained=False)
    got = result.sel(encoder=result.encoder[0], mode="untrained")
    assert got.correct.values.tolist() == alone.correct.values.tolist() and float(alone.correct.sum()) > 0
    assert got.loss_sum.values.tolist() == alone.loss_sum.values.tolist()
    # a rerun reads the finished trials back instead of training again
    monkeypatch.setattr(MLMDepthSweep, "fit", lambda *a, **k: pytest.fail("retrained a finished trial"))
    again, _ = run()
    assert again.correct.equals(result.correct)
    # baseline on the same test masks: the train majority token, counted by hand
    base = majority_baseline(corpus, NGramMasking.from_tokenizer(tokenizer), sweep)
    masks = sweep.test_masks(corpus.test, NGramMasking.from_tokenizer(tokenizer))
    train_ids = corpus.train.input_ids[:, 1:-1].flatten()  # every block is full: all but [CLS] and [SEP]
    token = int(torch.bincount(train_ids).argmax())
    assert base.attrs["token"] == token
    want = [int(((masks.labels[b] == token) & masks.chosen[b]).sum()) for b in range(len(corpus.test))]
    assert base.correct.values.tolist() == want


def test_blocks_stay_within_the_positions_the_network_was_pretrained_on(tmp_path):
    """albert-wikitext2 was pretrained on 64-token examples (its card): blocks of 128 would read positions
    64..127, whose embeddings pretraining never trained, so the sweep refuses them before running anything."""
    import json

    from chaoslib.model.configs import shipped_checkpoint
    from chaoslib.tasks.mlm_sweep import mlm_by_depth, positions_read, pretrained_positions

    card = json.loads((shipped_checkpoint("albert-wikitext2") / "card.json").read_text())
    assert pretrained_positions("albert-wikitext2") == card["training"]["config"]["n_tokens"] == 64
    assert pretrained_positions("albert-large-v2") is None  # the hub's: not recorded here
    assert positions_read("albert-wikitext2", 64).startswith("positions 0 to 63, all within the 64-token")
    networks = reference_and_comparisons("albert-wikitext2", comparison_init="mlm", comparison_seeds=[4])
    sweep = MLMDepthSweep(depths=(1,), epochs=1)
    with pytest.raises(ChaoslibError, match="positions 64..127"):
        mlm_by_depth(networks, dict(n_paragraphs=6, n_tokens=128), sweep, modes=("untrained",),
                     store_dir=tmp_path, progress=False)
    with pytest.raises(ChaoslibError, match="never"):  # build_mlm_corpus's default length is 128 too
        mlm_by_depth(networks, dict(n_paragraphs=6), sweep, modes=("untrained",), progress=False)


def _settings(network):
    return {"network": network.key(), "data_dir": None, "device": "cpu", "dtype": "float32"}


def test_trained_decoder_trains_its_own_copy(model, masking):
    embeddings_before = model.albert.embeddings.word_embeddings.weight.detach().clone()
    sweep = MLMDepthSweep(depths=(1, 2), decoder="trained", epochs=1, batch_size=8, warmup_steps=1)
    sweep.fit(model, blocks(16, seed=7), masking)
    heads = sweep.heads_
    assert heads.decoder_weight.shape == (2, 30000, 128) and heads.decoder_weight.requires_grad
    assert not torch.equal(heads.decoder_weight[0], embeddings_before)  # trained ...
    assert torch.equal(
        model.albert.embeddings.word_embeddings.weight, embeddings_before
    )  # ... the model is not
    frozen = MLMDepthSweep(depths=(1,), epochs=1, batch_size=8, warmup_steps=1)
    frozen.fit(model, blocks(16, seed=7), masking)
    assert not frozen.heads_.decoder_weight.requires_grad
    assert torch.equal(frozen.heads_.decoder_weight, embeddings_before)
