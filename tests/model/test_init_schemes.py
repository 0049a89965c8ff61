"""Init schemes reproduce their documented definitions and are reproducible by seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import tiny_model

from chaoslib.errors import ChaoslibError
from chaoslib.model.network import load_albert

# a truncated normal N(0, s^2) cut at +-2s has standard deviation 0.8796 s
TRUNC_STD = 0.02 * 0.8796


def params(model):
    return dict(model.named_parameters())


def test_tf_scheme():
    model, info = load_albert("albert-base-v2", init="tf", seed=0, num_hidden_layers=1)
    p = params(model)
    q = p["encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight"]
    assert q.abs().max() <= 0.04 + 1e-7
    assert q.std().item() == pytest.approx(TRUNC_STD, rel=0.01)
    assert torch.all(p["encoder.albert_layer_groups.0.albert_layers.0.attention.query.bias"] == 0)
    ln = p["encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.weight"]
    assert torch.all(ln == 1)
    word = p["embeddings.word_embeddings.weight"]
    assert word.abs().max() <= 0.05 and word.std().item() == pytest.approx(0.05 / math.sqrt(3), rel=0.01)
    proj = p["encoder.embedding_hidden_mapping_in.weight"]
    bound = math.sqrt(6 / sum(proj.shape))
    assert proj.abs().max() <= bound and proj.abs().max() > 0.99 * bound
    pos = p["embeddings.position_embeddings.weight"]
    assert pos.std().item() == pytest.approx(TRUNC_STD, rel=0.03)
    assert info.label() == "albert-base-v2 random tf #0"


def test_tf_projection_bias_is_keras_glorot_uniform_of_a_vector():
    """The authors' EmbeddingsProjector bias has no initializer: Keras fills it glorot_uniform, and for a
    vector of length D Keras' _compute_fans gives fan_in = fan_out = D, so U(-sqrt(3/D), sqrt(3/D)).
    Checked against scipy's uniform distribution (KS test) and the alternatives it must not be:
    zero, or the kernel's own bound sqrt(6/(E+D))."""
    from scipy import stats

    model, _ = load_albert("albert-large-v2", init="tf", seed=3, num_hidden_layers=1)
    p = params(model)
    bias = p["encoder.embedding_hidden_mapping_in.bias"].detach().double().numpy()
    kernel = p["encoder.embedding_hidden_mapping_in.weight"]
    d, e = kernel.shape  # torch (out, in) = (1024, 128)
    bound = math.sqrt(3.0 / d)  # 0.0541 by hand for D = 1024
    assert bound == pytest.approx(0.05413, abs=1e-5)
    assert np.abs(bias).max() <= bound
    assert np.abs(bias).max() > 0.98 * bound  # reaches the bound: not the zero of a plain dense bias
    kernel_bound = math.sqrt(6.0 / (d + e))  # 0.0722: what the kernel uses, too wide for the bias
    assert np.abs(bias).max() < 0.8 * kernel_bound
    assert stats.kstest(bias, stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3
    assert stats.kstest(bias, stats.uniform(loc=-kernel_bound, scale=2 * kernel_bound).cdf).pvalue < 1e-3
    # every other bias of the tf scheme stays zero
    assert torch.all(p["encoder.albert_layer_groups.0.albert_layers.0.ffn.bias"] == 0)


def test_glue_scheme_puts_layernorm_gains_near_zero():
    model, _ = tiny_model(init="glue", seed=0, hidden_size=256, intermediate_size=512)
    for name, p in params(model).items():
        if name.endswith("weight"):
            assert p.abs().max() <= 0.04 + 1e-7, name
            assert p.abs().mean() < 0.03, name  # LayerNorm gains included: near 0, not 1
        else:
            assert torch.all(p == 0), name


def test_mlm_scheme_uniform_bounds():
    model, _ = tiny_model(init="mlm", seed=0, head="mlm")
    for name, p in params(model).items():
        bound = 1 / math.sqrt(p.shape[-1])
        assert p.abs().max() <= bound, name
        if p.numel() > 1000:  # enough draws to reach the bounds and the uniform's variance
            assert p.abs().max() > 0.98 * bound, name
            assert p.var().item() == pytest.approx(bound**2 / 3, rel=0.1), name


@pytest.mark.parametrize("init", ["tf", "glue", "mlm", "hf"])
def test_seed_reproducible_and_distinct(init):
    a, _ = tiny_model(init=init, seed=5)
    b, _ = tiny_model(init=init, seed=5)
    c, _ = tiny_model(init=init, seed=6)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb), name
    assert not torch.equal(
        params(a)["encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"],
        params(c)["encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"],
    )


def test_unknown_scheme_is_a_clear_error():
    with pytest.raises(ChaoslibError, match="init='xavier'.*tf"):
        tiny_model(init="xavier")
