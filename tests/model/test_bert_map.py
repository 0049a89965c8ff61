"""A second weight-tied map: one layer of a BERT encoder, iterated.

``BertLayerMap`` is checked against transformers (one step == ``BertLayer``'s forward, ``embed`` ==
``BertModel``'s embeddings), then run through the dynamics written for ALBERT (local exponents,
synchronisation, effective dimension, the reduced map), each result compared with a direct
computation from states iterated here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from chaoslib.data.tokenization import Encoded
from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.dynamics.lyapunov import local_exponents
from chaoslib.dynamics.probes import Internal, TokenSpread
from chaoslib.dynamics.reduced_map import ReducedMap, reduced_vs_full, synchronise
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.dynamics.toymaps import LogisticMap
from chaoslib.errors import ChaoslibError
from chaoslib.model.bert_map import BertLayerMap
from chaoslib.model.protocol import WeightTiedMap

pytestmark = pytest.mark.usefixtures("one_thread")

HIDDEN, HEADS, FFN, VOCAB, TOKENS = 32, 2, 64, 100, 10


def tiny_bert(dtype: torch.dtype = torch.float64, seed: int = 0, **overrides) -> BertModel:
    """A random 2-layer BERT. initializer_range 0.2 (not BERT's 0.02) so that attention is far from
    uniform and the checks below see a layer that really mixes tokens."""
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=32,
        initializer_range=0.2,
        attn_implementation="eager",
        **overrides,
    )
    torch.manual_seed(seed)
    return BertModel(config).to(dtype).eval()


def random_encoded(batch: int, seed: int = 0) -> Encoded:
    """(batch, TOKENS) random ids, two segments, and a padding mask with 0..3 pads per row."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (batch, TOKENS), generator=g)
    token_types = (torch.arange(TOKENS) >= TOKENS // 2).long().expand(batch, -1).clone()
    mask = torch.ones(batch, TOKENS, dtype=torch.long)
    for i in range(batch):
        mask[i, TOKENS - i % 4 :] = 0
    return Encoded(ids, token_types, mask)


def random_states(batch: int, dtype: torch.dtype = torch.float64, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, TOKENS, HIDDEN, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.fixture(scope="module")
def bert():
    return tiny_bert()


@pytest.fixture(scope="module")
def bert_map(bert):
    return BertLayerMap(bert)


# --- the map against transformers ---------------------------------------------------------------


def test_both_maps_are_weight_tied_maps(bert_map, tiny_map):
    assert isinstance(bert_map, WeightTiedMap)
    assert isinstance(tiny_map, WeightTiedMap)  # AlbertMap, from conftest
    assert not isinstance(LogisticMap(), WeightTiedMap)  # a toy map has a step, not the rest
    assert not isinstance(torch.nn.Linear(3, 3), WeightTiedMap)


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-6), (torch.float64, 1e-13)])
def test_one_step_equals_bert_layer(dtype, tolerance):
    model = tiny_bert(dtype)
    x = random_states(4, dtype)
    with torch.no_grad():
        for layer in (0, 1):
            reference = model.encoder.layer[layer](x)
            step = BertLayerMap(model, layer=layer).step(x)
            assert ((step - reference).norm() / reference.norm()).item() < tolerance
        # the two layers differ, so the comparison above can tell them apart
        assert (model.encoder.layer[0](x) - model.encoder.layer[1](x)).norm() > 0.1 * x.norm()
        # iterating applies the SAME layer again (weight tying), not the next one
        twice = model.encoder.layer[0](model.encoder.layer[0](x))
        assert ((BertLayerMap(model).iterate(x, 2) - twice).norm() / twice.norm()).item() < tolerance


def test_embed_and_first_step_equal_bert_model(bert, bert_map):
    encoded = random_encoded(4)
    x0 = bert_map.embed(encoded)
    assert x0.shape == (4, TOKENS, HIDDEN)
    with torch.no_grad():
        direct = bert.embeddings(input_ids=encoded.input_ids, token_type_ids=encoded.token_type_ids)
        for mask in (None, encoded.attention_mask):
            out = bert(
                input_ids=encoded.input_ids,
                token_type_ids=encoded.token_type_ids,
                attention_mask=mask if mask is not None else torch.ones_like(encoded.attention_mask),
                output_hidden_states=True,
                output_attentions=True,
            )
            torch.testing.assert_close(x0, out.hidden_states[0], rtol=0, atol=0)
            x1, internals = bert_map.step_with_internals(x0, mask)
            torch.testing.assert_close(x1, out.hidden_states[1], rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(
                internals["attention_probs"], out.attentions[0], rtol=1e-12, atol=1e-12
            )
    torch.testing.assert_close(x0, direct, rtol=0, atol=0)
    # the padding mask changes the step, and attention is far from uniform
    assert (bert_map.step(x0) - bert_map.step(x0, encoded.attention_mask)).norm() > 1e-3
    assert internals["attention_probs"].max() > 2.0 / TOKENS
    assert internals["ffn_activation"].shape == (4, TOKENS, FFN)


def test_pool_and_bad_configurations(bert, bert_map):
    x = random_states(3)
    dense = bert.pooler.dense
    expected = torch.tanh(x[:, 0] @ dense.weight.T + dense.bias)
    torch.testing.assert_close(bert_map.pool(x), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ChaoslibError, match="layers 0..1"):
        BertLayerMap(bert, layer=2)
    with pytest.raises(ChaoslibError, match="hidden_act"):
        BertLayerMap(tiny_bert(hidden_act="relu"))
    with pytest.raises(ChaoslibError, match="unknown internals"):
        bert_map.step_with_internals(x, None, ("attention_scores",))


def test_jvp_through_the_map_equals_finite_differences(bert_map):
    x, v = random_states(2, seed=3), random_states(2, seed=4)
    _, jv = torch.func.jvp(bert_map.step, (x,), (v,))
    h = 1e-5
    central = (bert_map.step(x + h * v) - bert_map.step(x - h * v)) / (2 * h)
    assert ((jv - central).norm() / jv.norm()).item() < 1e-8


# --- the dynamics, written against the protocol, on the BERT map ------------------------------------


def test_local_exponents_equal_a_direct_two_trajectory_loop(bert_map):
    x0 = bert_map.embed(random_encoded(5))
    eps, tau, n_steps, seed = 1e-6, 4, 12, 7
    result = local_exponents(bert_map, x0, eps=eps, tau=tau, n_steps=n_steps, seed=seed)
    assert result.exponents.shape == (5, n_steps // tau)
    assert torch.isfinite(result.exponents).all()
    # direct: each sample's direction from its own numpy stream, the copies iterated separately
    x, x_pert = x0.clone(), torch.empty_like(x0)
    for i in range(5):
        direction = np.random.default_rng([seed, i]).standard_normal(TOKENS * HIDDEN)
        unit = torch.from_numpy(direction / np.linalg.norm(direction)).reshape(TOKENS, HIDDEN)
        x_pert[i] = x0[i] + eps * unit
    expected = np.empty((5, n_steps // tau))
    with torch.no_grad():
        for k in range(n_steps // tau):
            for _ in range(tau):
                x, x_pert = bert_map.step(x), bert_map.step(x_pert)
            d = (x_pert - x).flatten(1).norm(dim=1)
            expected[:, k] = np.log(d.numpy() / eps) / tau
            x_pert = x + eps * (x_pert - x) / d[:, None, None]
    np.testing.assert_allclose(result.exponents.numpy(), expected, rtol=0, atol=1e-6)
    assert np.ptp(expected[:, 0]) > 1e-3  # different inputs, different exponents: the check can fail


def test_synchronisation_record_equals_spread_of_iterated_states(bert_map):
    encoded = random_encoded(4, seed=2)
    x0 = bert_map.embed(encoded)
    n_steps = 15
    ds = run_trajectory(
        bert_map,
        x0,
        n_steps,
        probes=[TokenSpread(), Internal("attention_probs", heads=[1])],
        block_size=4,
        progress=False,
    )
    states = [x0]
    with torch.no_grad():
        for _ in range(n_steps):
            states.append(bert_map.step(states[-1]))
    x = torch.stack(states, 1).numpy()  # (batch, step, tokens, hidden)
    spread = x.std(axis=2).mean(axis=-1)  # population std over tokens, averaged over units
    np.testing.assert_allclose(ds.token_spread.values, spread, rtol=1e-12)
    assert np.ptp(spread) > 1e-3
    # internals come from the BERT map's step_with_internals: those of the step into x(3)
    _, internals = bert_map.step_with_internals(states[2])
    np.testing.assert_allclose(ds.attention_probs.values[:, 3], internals["attention_probs"][:, [1]].numpy())


def test_effective_dimension_equals_pca_participation_ratio(bert_map):
    x0 = bert_map.embed(random_encoded(8, seed=3))
    n_steps = 6
    result = effective_dimension_trajectory(bert_map, x0, n_steps, batch_size=3)
    assert result.effective_dimension.shape == (n_steps + 1,)
    x = x0
    with torch.no_grad():
        for t in range(n_steps + 1):
            if t in (0, 3, 6):
                cloud = x.flatten(1).numpy()
                variances = np.linalg.svd(cloud - cloud.mean(0), compute_uv=False) ** 2  # PCA spectrum
                participation = variances.sum() ** 2 / (variances**2).sum()
                assert result.effective_dimension[t] == pytest.approx(participation, rel=1e-10)
            x = bert_map.step(x)
    assert 1.0 < result.effective_dimension.min() and result.effective_dimension.max() < 7.0


def test_reduced_map_equals_full_bert_layer_on_synchronised_states(bert, bert_map):
    y = torch.randn(5, HIDDEN, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    reduced = ReducedMap(bert_map)
    with torch.no_grad():
        hf = bert.encoder.layer[0](synchronise(y, 7))  # transformers' own layer on the lifted state
    torch.testing.assert_close(hf, synchronise(reduced(y), 7), rtol=1e-12, atol=1e-12)
    mask = torch.ones(5, 7, dtype=torch.long)
    mask[:, 4:] = 0
    comparison = reduced_vs_full(bert_map, y, n_tokens=7, n_steps=4, attention_mask=mask)
    assert comparison.one_step_error.max() < 1e-13
    assert comparison.full_spread.max() < 1e-13
    # a state off synchrony is not reduced: R is not trivially close to the full layer
    x = synchronise(y, 7) + 0.3 * random_states(5, seed=6)[:, :7]
    assert (bert_map.step(x).mean(1) - reduced(x.mean(1))).norm() / reduced(x.mean(1)).norm() > 1e-3
