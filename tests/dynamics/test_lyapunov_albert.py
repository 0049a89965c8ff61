"""The Lyapunov estimators through ALBERT's map (tiny random networks, float64).

- JVPs through ``AlbertMap.step`` agree with central finite differences of the map itself
  (truncation O(h^2) ~ 1e-10 relative at h = 1e-5, rounding ~ 1e-16/h ~ 1e-11).
- The two-trajectory exponent and the top exponent of the spectrum measure the same thing:
  started along the same direction (same seed), they differ only by the nonlinear term of the
  finite perturbation, O(eps). At eps = 1e-7 that is < 1e-6 per step, and it grows about
  linearly with eps (checked, so the tolerance is not vacuous).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.dynamics.lyapunov import (
    eps_sensitivity,
    local_exponents,
)
from chaoslib.dynamics.spectrum import initial_tangents, lyapunov_spectrum, push_tangents
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert

TINY = dict(hidden_size=64, num_attention_heads=4, intermediate_size=128, num_hidden_layers=3)
TEXTS = [
    "The cat sat on the mat.",
    "Chaos in transformers is transient.",
    "A third sentence, somewhat longer.",
]


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


def tiny_map(init: str = "mlm", seed: int = 0) -> AlbertMap:
    model, _ = load_albert("albert-base-v2", init=init, seed=seed, dtype="float64", **TINY)
    return AlbertMap(model)


@pytest.fixture(scope="module")
def encoded():
    return encode(load_tokenizer(), TEXTS, n_tokens=12)


@pytest.mark.parametrize("init", ["tf", "mlm"])
def test_jvp_matches_central_differences(init, encoded):
    F = tiny_map(init)
    x = F.step(F.embed(encoded))  # a state after one layer: LayerNorm'd, as in the dynamics
    v = torch.randn(x.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(0))
    h = 1e-5
    fd = (F.step(x + h * v) - F.step(x - h * v)) / (2 * h)
    _, jv = torch.func.jvp(F.step, (x,), (v,))
    assert (jv - fd).norm() / fd.norm() < 1e-7
    # the vmapped push used by the spectrum gives the same JVPs, column by column
    tangents = torch.stack([v, 2.0 * v.flip(-1)])
    y, pushed = push_tangents(F.step, x, tangents)
    assert torch.allclose(y, F.step(x), atol=1e-12)
    assert torch.allclose(pushed[0], jv, atol=1e-10)
    fd2 = (F.step(x + h * tangents[1]) - F.step(x - h * tangents[1])) / (2 * h)
    assert (pushed[1] - fd2).norm() / fd2.norm() < 1e-7


def test_two_trajectory_and_top_spectrum_exponent_agree(encoded):
    F = tiny_map("mlm")  # the mlm init is strongly chaotic: exponents of order 1 per step
    x0 = F.embed(encoded)
    spectrum = lyapunov_spectrum(F.step, x0, k=2, n_steps=30, window=5, seed=7)
    top = spectrum.window_exponents[..., 0]  # (batch, windows)
    assert top.abs().max() > 0.1  # a real signal, not two zeros agreeing
    small = local_exponents(F.step, x0, eps=1e-7, tau=5, n_steps=30, seed=7)
    medium = local_exponents(F.step, x0, eps=1e-4, tau=5, n_steps=30, seed=7)
    err_small = (small.exponents - top).abs().max().item()
    err_medium = (medium.exponents - top).abs().max().item()
    assert err_small < 1e-6
    assert err_medium > 10 * err_small  # the finite-eps effect is visible and shrinks with eps
    # a different first direction: after alignment with the top Lyapunov vector, the long-time
    # averages still agree to a few percent
    other = local_exponents(F.step, x0, eps=1e-7, tau=5, n_steps=30, seed=8)
    assert other.exponents[:, 2:].mean().item() == pytest.approx(top[:, 2:].mean().item(), rel=0.05)


def test_initial_tangents_are_orthonormal_and_share_the_perturbation_direction():
    from chaoslib.dynamics.lyapunov import perturbation_directions

    q = initial_tangents(3, (4, 5), k=6, seed=2)
    flat = q.reshape(6, 3, -1).permute(1, 0, 2)
    eye = torch.eye(6, dtype=q.dtype).expand(3, 6, 6)
    assert torch.allclose(flat @ flat.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(q[0], perturbation_directions(3, (4, 5), seed=2), atol=1e-12)


def test_kaplan_yorke_of_an_albert_spectrum_is_consistent(encoded):
    F = tiny_map("mlm")
    spectrum = lyapunov_spectrum(F.step, F.embed(encoded), k=6, n_steps=20, seed=0)
    lam = spectrum.mean()
    assert lam.shape == (6,)
    assert torch.isfinite(lam).all()
    d = spectrum.kaplan_yorke()
    # by definition: the partial sums up to floor(D) are >= 0 and the next one is < 0
    for lam_i, d_i in zip(spectrum.exponents, d, strict=True):
        if math.isnan(d_i):
            assert torch.cumsum(torch.sort(lam_i, descending=True).values, 0)[-1] >= 0
            continue
        j = int(d_i)
        partial = torch.cumsum(torch.sort(lam_i, descending=True).values, 0)
        assert j == 0 or partial[j - 1] >= 0
        assert partial[j] < 0


def test_eps_sensitivity_dataset(encoded):
    F = tiny_map("mlm")
    ds = eps_sensitivity(F.step, F.embed(encoded), eps_values=(1e-6, 1e-1), tau=5, n_steps=20)
    assert ds.exponent.shape == (2, 3, 4)
    direct = local_exponents(F.step, F.embed(encoded), eps=1e-1, tau=5, n_steps=20)
    np.testing.assert_allclose(ds.exponent.sel(eps=1e-1).values, direct.exponents.numpy())
    assert (ds.resolution.sel(eps=1e-6) > ds.resolution.sel(eps=1e-1)).all()


def test_float32_albert_state_warns_for_tiny_eps(encoded):
    from chaoslib.dynamics.lyapunov import PerturbationResolutionWarning

    model, _ = load_albert("albert-base-v2", init="tf", dtype="float32", **TINY)
    F = AlbertMap(model)
    x1 = F.step(F.embed(encoded))  # ||x|| ~ sqrt(tokens * hidden) after LayerNorm
    with pytest.warns(PerturbationResolutionWarning):
        local_exponents(F.step, x1, eps=1e-6, tau=1, n_steps=1)


def test_spectrum_runs_on_the_real_state_size():
    """albert-large-v2 at N=32: a 32,768-dimensional state, no Jacobian formed (k x state memory)."""
    model, _ = load_albert("albert-large-v2", init="tf", seed=0, dtype="float64")
    F = AlbertMap(model)
    x0 = F.embed(encode(load_tokenizer(), TEXTS[:1], n_tokens=32))
    assert x0[0].numel() == 32 * 1024
    spectrum = lyapunov_spectrum(F.step, x0, k=3, n_steps=2, seed=1)
    two = local_exponents(F.step, x0, eps=1e-6, tau=2, n_steps=2, seed=1)
    assert torch.isfinite(spectrum.exponents).all()
    assert abs(two.exponents[0, 0].item() - spectrum.exponents[0, 0].item()) < 1e-5


def test_the_first_window_of_an_untrained_network_is_the_first_layernorms_rescaling():
    """The first-window artefact, measured: an UNTRAINED albert-wikitext2-sized network (transformers' init) has a clearly
    positive lambda_0 when x(0) is perturbed (the first LayerNorm rescales the perturbation by about
    gamma / std(x(0)) once), and every window contracts when x(1) is perturbed. The rescaling predicts the size:
    ln(||LN-normalised separation|| / eps) / tau ~ ln(1 / std(x(0))) / tau."""
    from chaoslib.data.corpus import dynamics_inputs

    model, _ = load_albert("albert-wikitext2", weights="random", init="hf", seed=0)
    albert = AlbertMap(model)
    encoded_inputs, _ = dynamics_inputs(load_tokenizer(), 6, 32, seed=0)
    x0 = albert.embed(encoded_inputs)
    authors = local_exponents(albert.step, x0, eps=1e-2, tau=10, n_steps=50, perturb_at=0)
    corrected = local_exponents(albert.step, x0, eps=1e-2, tau=10, n_steps=50, perturb_at=1)
    predicted = math.log(1 / float(x0.std(-1).mean())) / 10
    assert authors.mean()[0].item() == pytest.approx(predicted, rel=0.25)
    assert authors.mean()[0].item() > 0.1
    assert (corrected.exponents < 0).all(), corrected.mean()
    assert corrected.steps.tolist() == [11, 21, 31, 41, 51]


def test_trials_failing_alike_are_reported_once():
    from chaoslib.sweep.engine import SweepFailed, run_sweep

    def trial(settings):
        raise ValueError("the same bad setting")

    with pytest.raises(SweepFailed) as failed:
        run_sweep([{"i": i} for i in range(11)], trial)
    message = str(failed.value)
    assert "11 trials failed with: ValueError: the same bad setting" in message
    assert message.count("the same bad setting") == 1
