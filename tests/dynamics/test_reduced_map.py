"""The reduced D-dimensional map (the book's claim R10) against the full layer on synchronised states."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F_

from chaoslib.dynamics.reduced_map import (
    ReducedMap,
    reduced_vs_full,
    reduction_error,
    synchronise,
    token_mean,
)
from chaoslib.dynamics.sync import token_spread
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert

TINY = dict(
    hidden_size=64, num_attention_heads=4, intermediate_size=128, num_hidden_layers=1, embedding_size=16
)


def _maps(dtype: str, init: str = "mlm", name: str = "albert-base-v2", **overrides):
    model, _ = load_albert(name, init=init, seed=3, dtype=dtype, **(overrides or TINY))
    return model, AlbertMap(model)


def _common_states(batch: int, hidden: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, hidden, generator=generator, dtype=torch.float64).to(dtype)


def _hf_reduced(model, y: torch.Tensor) -> torch.Tensor:
    """Independent reference: R written with transformers' own (unfused) modules."""
    layer = model.encoder.albert_layer_groups[0].albert_layers[0]
    att = layer.attention
    a = att.LayerNorm(y + att.dense(att.value(y)))
    return layer.full_layer_layer_norm(a + layer.ffn_output(F_.gelu(layer.ffn(a), approximate="tanh")))


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("float64", 1e-12)])
def test_reduced_map_equals_full_layer_on_synchronised_state(dtype, tolerance):
    model, albert = _maps(dtype)
    torch_dtype = albert.w_qkv.dtype
    y = _common_states(5, 64, torch_dtype)
    reduced = ReducedMap(albert)
    full = albert.step(synchronise(y, n_tokens=9))
    # the full layer (itself checked against AlbertModel) and transformers' modules both agree with R
    assert (full - synchronise(reduced(y), 9)).norm() / full.norm() < tolerance
    with torch.no_grad():
        assert (_hf_reduced(model, y) - reduced(y)).norm() / reduced(y).norm() < tolerance
        hf_layer = model.encoder.albert_layer_groups[0].albert_layers[0]
        hf_full = hf_layer(synchronise(y, 9))
        hf_full = hf_full[0] if isinstance(hf_full, tuple) else hf_full
    assert (hf_full - full).norm() / full.norm() < tolerance
    # and R is not trivially close to something else: a non-synchronised state is not reduced
    noise = torch.randn(5, 9, 64, generator=torch.Generator().manual_seed(1)).to(torch_dtype)
    x = synchronise(y, 9) + 0.3 * noise
    assert (albert.step(x).mean(1) - reduced(x.mean(1))).norm() / reduced(x.mean(1)).norm() > 1e-3


@pytest.mark.parametrize(("dtype", "floor"), [("float32", 1e-6), ("float64", 1e-14)])
def test_full_layer_keeps_synchrony_with_and_without_mask(dtype, floor):
    _, albert = _maps(dtype)
    y = _common_states(4, 64, albert.w_qkv.dtype, seed=5)
    mask = torch.ones(4, 7, dtype=torch.long)
    mask[:, 5:] = 0  # padding changes which tokens attend, not the uniform mixture of equal values
    for attention_mask in (None, mask):
        comparison = reduced_vs_full(albert, y, n_tokens=7, n_steps=5, attention_mask=attention_mask)
        assert comparison.relative_error.shape == (4, 6) and comparison.full_spread.shape == (4, 6)
        assert torch.all(comparison.relative_error[:, 0] == 0)
        assert comparison.one_step_error.max() < (1e-5 if dtype == "float32" else 1e-12)
        assert comparison.full_spread.max() < floor


def test_albert_large_float32():
    """R10 at the paper's size: albert-large-v2 architecture (D=1024), tf init, float32."""
    model, albert = _maps("float32", init="tf", name="albert-large-v2", num_hidden_layers=1)
    # a realistic common state: the token mean of two layer applications (LayerNorm-scaled vectors)
    y = token_mean(albert.iterate(synchronise(_common_states(3, 1024, torch.float32), 4), 2))
    comparison = reduced_vs_full(albert, y, n_tokens=16, n_steps=3)
    assert comparison.one_step_error.max() < 1e-5
    assert comparison.full_spread.max() < 1e-6
    assert torch.all(token_spread(synchronise(y, 16)) == 0)
    ds = comparison.to_dataset()
    assert ds.relative_error.dims == ("sample", "step") and list(ds.step.values) == [0, 1, 2, 3]
    assert ds.one_step_error.values.tolist() == comparison.one_step_error.double().tolist()


class _NoSynchronisedStep:
    """Has a step and a hidden size, not the layer on synchronised states."""

    hidden_size = 3

    def step(self, x, attention_mask=None):
        return x


def test_bad_input():
    with pytest.raises(ChaoslibError, match="Linear has no hidden_size, step, synchronised_step"):
        ReducedMap(torch.nn.Linear(3, 3))
    with pytest.raises(ChaoslibError, match="_NoSynchronisedStep has no synchronised_step:"):
        ReducedMap(_NoSynchronisedStep())
    with pytest.raises(ChaoslibError, match="has no synchronised_step"):
        reduced_vs_full(_NoSynchronisedStep(), torch.zeros(2, 3), n_tokens=4)
    _, albert = _maps("float32")
    with pytest.raises(ChaoslibError, match="hidden size"):
        ReducedMap(albert)(torch.zeros(2, 63))
    with pytest.raises(ChaoslibError, match="n_tokens"):
        synchronise(torch.zeros(2, 64), 0)


def test_reduction_error_grows_with_distance_from_synchrony():
    _, albert = _maps("float64")
    y = _common_states(3, 64, torch.float64, seed=7)
    noise = torch.randn(3, 6, 64, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    exact = reduction_error(albert, synchronise(y, 6))
    near = reduction_error(albert, synchronise(y, 6) + 1e-4 * noise)
    far = reduction_error(albert, synchronise(y, 6) + 1e-2 * noise)
    assert exact.max() < 1e-12
    assert torch.all(near > 1e-8) and torch.all(near < 1e-3)
    assert torch.all(far > 30 * near)  # O(sigma): 100x the distance, roughly 100x the error
