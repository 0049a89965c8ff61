"""The map against transformers' own forward pass: n steps of F == AlbertModel(num_hidden_layers=n)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm()).item()


def reference(model, encoded, mask: bool):
    kwargs = dict(input_ids=encoded.input_ids, token_type_ids=encoded.token_type_ids)
    if mask:
        kwargs["attention_mask"] = encoded.attention_mask
    with torch.no_grad():
        return model(**kwargs).last_hidden_state


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
@pytest.mark.parametrize("n_layers", [1, 5])
def test_tiny_map_equals_transformers(encoded, dtype, tol, n_layers):
    model, _ = tiny_model(dtype=dtype, num_hidden_layers=n_layers, seed=3)
    F = AlbertMap(model)
    x = F.iterate(F.embed(encoded), n_layers)
    assert rel_err(x, reference(model, encoded, mask=False)) < tol


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_base_architecture_map_equals_transformers(encoded, dtype, tol):
    model, _ = load_albert(
        "albert-base-v2", weights="random", init="tf", seed=1, dtype=dtype, num_hidden_layers=4
    )
    F = AlbertMap(model)
    x = F.iterate(F.embed(encoded), 4)
    assert rel_err(x, reference(model, encoded, mask=False)) < tol


def test_masked_variant_equals_transformers_with_mask(encoded):
    model, _ = tiny_model(dtype=torch.float64, num_hidden_layers=4, seed=2)
    F = AlbertMap(model)
    x_masked = F.iterate(F.embed(encoded), 4, encoded.attention_mask)
    assert rel_err(x_masked, reference(model, encoded, mask=True)) < 1e-10
    # pads are active units by default, so the unmasked map really is a different map
    assert rel_err(F.iterate(F.embed(encoded), 4), reference(model, encoded, mask=True)) > 1e-3


def test_mask_is_tiled_over_stacked_copies(encoded):
    model, _ = tiny_model(dtype=torch.float64)
    F = AlbertMap(model)
    x0 = F.embed(encoded)
    one = F.step(x0, encoded.attention_mask)
    two = F.step(torch.cat([x0, x0]), encoded.attention_mask)
    torch.testing.assert_close(two, torch.cat([one, one]))


def test_internals_match_transformers_attention(encoded):
    model, _ = tiny_model(dtype=torch.float64, num_hidden_layers=1)
    F = AlbertMap(model)
    x0 = F.embed(encoded)
    x1, internals = F.step_with_internals(x0)
    with torch.no_grad():
        out = model(
            input_ids=encoded.input_ids, token_type_ids=encoded.token_type_ids, output_attentions=True
        )
    torch.testing.assert_close(internals["attention_probs"], out.attentions[0])
    torch.testing.assert_close(x1, out.last_hidden_state)
    assert internals["ffn_activation"].shape == (*x0.shape[:2], model.config.intermediate_size)


def test_pool_equals_transformers_pooler(encoded):
    model, _ = tiny_model(dtype=torch.float64, num_hidden_layers=2)
    F = AlbertMap(model)
    pooled = F.pool(F.iterate(F.embed(encoded), 2))
    with torch.no_grad():
        ref = model(input_ids=encoded.input_ids, token_type_ids=encoded.token_type_ids).pooler_output
    torch.testing.assert_close(pooled, ref)


def test_jvp_runs_through_the_map(encoded):
    """Forward-mode AD works (the reason the layer is written out with eager attention)."""
    model, _ = tiny_model(dtype=torch.float64)
    F = AlbertMap(model)
    x0 = F.embed(encoded)
    v = torch.randn_like(x0)
    _, jv = torch.func.jvp(F.step, (x0,), (v,))
    h = 1e-6
    fd = (F.step(x0 + h * v) - F.step(x0 - h * v)) / (2 * h)
    assert rel_err(jv, fd) < 1e-6
