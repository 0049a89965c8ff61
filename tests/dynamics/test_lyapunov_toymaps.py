"""The Lyapunov estimators on maps with known exponents (float64).

References: logistic map r=4, lambda = ln 2 (exact); Henon a=1.4, b=0.3: 0.41922, -1.62319 per
step (Sprott 2003), sum = ln 0.3 exactly; Lorenz-63: 0.9056, 0, -14.5723 per unit time
(Sprott 2003), sum = -(sigma + 1 + beta) = -13.667 exactly. The reference numbers are typed
here on purpose, independently of ``chaoslib.dynamics.toymaps``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm, rankdata

from chaoslib.dynamics.lyapunov import (
    PerturbationResolutionWarning,
    chaos_length,
    compare_chaos_lengths,
    local_exponents,
)
from chaoslib.dynamics.spectrum import kaplan_yorke_dimension, lyapunov_spectrum
from chaoslib.dynamics.toymaps import HenonMap, LogisticMap, Lorenz63
from chaoslib.errors import ChaoslibError

LN2 = math.log(2.0)
HENON = (0.41922, -1.62319)
LORENZ = (0.9056, 0.0, -14.5723)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: see conftest.one_thread


def test_logistic_two_trajectories_gives_ln2():
    m = LogisticMap(4.0)
    result = local_exponents(m, m.initial_states(1000, seed=0), eps=1e-9, tau=1, n_steps=1000, seed=0)
    assert not result.collapsed.any()
    assert result.exponents.shape == (1000, 1000)
    assert result.exponents.mean().item() == pytest.approx(LN2, rel=0.01)


def test_logistic_spectrum_gives_ln2():
    m = LogisticMap(4.0)
    spec = lyapunov_spectrum(m, m.initial_states(300, seed=1), k=1, n_steps=600, seed=0)
    assert spec.mean().item() == pytest.approx(LN2, rel=0.01)


def test_henon_spectrum():
    h = HenonMap(1.4, 0.3)
    spec = lyapunov_spectrum(h, h.initial_states(200, seed=0), k=2, n_steps=1000, n_transient=20, window=250)
    lam = spec.mean()
    assert lam[0].item() == pytest.approx(HENON[0], rel=0.02)
    assert lam[1].item() == pytest.approx(HENON[1], rel=0.02)
    # |det J| = b everywhere: the sum holds for every input and every window, not only on average
    ln_b = torch.full((200, 4), math.log(0.3), dtype=torch.float64)
    assert torch.allclose(spec.window_exponents.sum(-1), ln_b, atol=1e-3)
    # Kaplan-Yorke dimension of the Henon attractor: 1 + 0.41922 / 1.62319 = 1.258
    assert spec.kaplan_yorke().mean().item() == pytest.approx(1.258, abs=0.01)


def test_henon_two_trajectories_gives_top_exponent():
    h = HenonMap(1.4, 0.3)
    result = local_exponents(h, h.initial_states(300, seed=2), eps=1e-9, tau=5, n_steps=1000, seed=3)
    assert result.exponents[:, 2:].mean().item() == pytest.approx(HENON[0], rel=0.02)


def test_lorenz_rk4_spectrum():
    flow = Lorenz63(dt=0.02)
    x0 = flow.initial_states(48, seed=0, transient_time=10.0)
    spec = lyapunov_spectrum(flow, x0, k=3, n_steps=1250, n_transient=100, tangent_mode="fold")
    lam = spec.mean() / flow.dt  # per step -> per unit time
    assert lam[0].item() == pytest.approx(LORENZ[0], rel=0.05)
    assert abs(lam[1].item()) < 0.05 * LORENZ[0]
    assert lam[2].item() == pytest.approx(LORENZ[2], rel=0.05)
    # the trace of the flow's Jacobian is -(sigma + 1 + beta); RK4 at dt=0.02 keeps it to ~1e-3
    assert lam.sum().item() == pytest.approx(-(10 + 1 + 8 / 3), rel=1e-3)


def test_lorenz_step_is_classical_rk4():
    flow = Lorenz63(dt=0.02)
    x = flow.initial_states(5, seed=1, transient_time=1.0)

    def field(s):  # numpy, written out from the equations
        X, Y, Z = s.T
        return np.stack([10 * (Y - X), X * (28 - Z) - Y, X * Y - 8 / 3 * Z]).T

    s, h = x.numpy(), 0.02
    k1 = field(s)
    k2 = field(s + h / 2 * k1)
    k3 = field(s + h / 2 * k2)
    k4 = field(s + h * k3)
    expected = s + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    np.testing.assert_allclose(flow(x).numpy(), expected, rtol=1e-13, atol=1e-12)


def test_tangent_modes_agree():
    h = HenonMap()
    x0 = h.initial_states(5, seed=6)
    a = lyapunov_spectrum(h, x0, k=2, n_steps=20, tangent_mode="vmap")
    b = lyapunov_spectrum(h, x0, k=2, n_steps=20, tangent_mode="fold")
    assert torch.allclose(a.exponents, b.exponents, atol=1e-12)


def test_kaplan_yorke_by_hand():
    lam = torch.tensor([[1.0, -2.0], [-1.0, -2.0], [1.0, 1.0]])
    d = kaplan_yorke_dimension(lam)
    assert d[0].item() == pytest.approx(1.5)
    assert d[1].item() == 0.0
    assert math.isnan(d[2].item())  # top-k too short: the dimension is at least k
    assert kaplan_yorke_dimension(torch.tensor([0.0, 2.0, -4.0])).item() == pytest.approx(2.5)  # sorts


def test_chaos_length_convention():
    lam = torch.tensor(
        [
            [0.3, 0.2, -0.1, 0.4],  # first negative window k=2 -> l = 2 tau
            [-0.1, 0.5, 0.5, 0.5],  # contracting from the start -> l = 0
            [0.1, 0.1, 0.1, 0.1],  # never negative -> censored at n_steps
            [0.1, 0.0, 0.1, -1.0],  # zero is not negative
        ]
    )
    length, censored = chaos_length(lam, tau=10, n_steps=40)
    assert length.tolist() == [20.0, 0.0, 40.0, 30.0]
    assert censored.tolist() == [False, False, True, False]
    with pytest.raises(ChaoslibError, match="n_steps"):
        chaos_length(lam, tau=10, n_steps=30)


def test_mann_whitney_comparison():
    ref = np.array([300.0, 400.0, 500.0, 500.0])
    others = np.array([[50.0, 100.0, 150.0, 500.0], [0.0, 50.0, 100.0, 200.0]])
    cmp_ = compare_chaos_lengths(ref, others, n_steps=500)
    # U counts the (ref, other) pairs with ref > other, ties as 1/2: by hand
    u = sum((r > o) + 0.5 * (r == o) for r in ref for o in others.ravel())
    assert cmp_.statistic == u
    # normal approximation with the tie correction (censored lengths are ties), checked by hand
    n1, n2 = ref.size, others.size
    ranks = rankdata(np.concatenate([ref, others.ravel()]))
    _, counts = np.unique(ranks, return_counts=True)
    var = n1 * n2 / 12 * ((n1 + n2 + 1) - (counts**3 - counts).sum() / ((n1 + n2) * (n1 + n2 - 1)))
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)  # continuity correction, as scipy's default
    assert cmp_.p_value == pytest.approx(norm.sf(z), rel=1e-9)
    assert cmp_.median_ratio == pytest.approx(450.0 / 100.0)
    assert cmp_.censored_reference == 0.5 and cmp_.censored_others == 0.125


def test_chunking_does_not_change_the_result():
    h = HenonMap()
    x0 = h.initial_states(7, seed=4)
    whole = local_exponents(h, x0, eps=1e-6, tau=3, n_steps=30, seed=5)
    chunked = local_exponents(h, x0, eps=1e-6, tau=3, n_steps=30, seed=5, batch_size=3)
    assert torch.equal(whole.exponents, chunked.exponents)
    spec_whole = lyapunov_spectrum(h, x0, k=2, n_steps=30, seed=5)
    spec_chunked = lyapunov_spectrum(h, x0, k=2, n_steps=30, seed=5, batch_size=2)
    assert torch.allclose(spec_whole.exponents, spec_chunked.exponents, atol=1e-12)


def test_merged_copies_are_recorded_not_nan():
    def to_fixed_point(x):  # contracts every state onto exactly 0 after one step
        return 0.0 * x

    x0 = torch.ones(2, 3, dtype=torch.float64)
    result = local_exponents(to_fixed_point, x0, eps=1e-3, tau=1, n_steps=4)
    assert result.collapsed.all()
    assert torch.isneginf(result.exponents).all()
    assert chaos_length(result.exponents, 1, 4)[0].tolist() == [0.0, 0.0]
    assert torch.isnan(result.mean()).all()  # no finite value to average
    assert not torch.isnan(result.quantiles()).any()


def test_summaries_of_local_exponents():
    h = HenonMap()
    result = local_exponents(h, h.initial_states(50, seed=9), eps=1e-8, tau=2, n_steps=20)
    lam = result.exponents
    assert torch.allclose(result.mean(), lam.mean(0))
    q = result.quantiles((0.1, 0.5, 0.9))
    assert torch.allclose(q[1], lam.quantile(0.5, dim=0), atol=1e-12)
    assert torch.allclose(result.time_average(), lam.mean(1))


def test_too_small_eps_warns_and_says_why():
    x0 = torch.full((2, 100), 10.0, dtype=torch.float32)  # ||x|| = 100
    with pytest.warns(PerturbationResolutionWarning, match="float-eps of the state norm"):
        local_exponents(lambda x: x, x0, eps=1e-5, tau=1, n_steps=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        local_exponents(lambda x: x, x0.double(), eps=1e-5, tau=1, n_steps=1)


def test_warns_when_the_state_grows_too_large_for_eps():
    x0 = torch.full((2, 4), 0.05, dtype=torch.float32)  # ||x0|| = 0.1: fine for eps = 1e-3 at the start

    def shift(x):  # moves the state far away; the separation is unchanged
        return x + 1000.0

    with pytest.warns(PerturbationResolutionWarning):
        result = local_exponents(shift, x0, eps=1e-3, tau=2, n_steps=4)
    assert (result.resolution > 1e-3).all()


def test_bad_parameters_name_the_fix():
    x0 = torch.zeros(1, 2)
    with pytest.raises(ChaoslibError, match="multiple of tau"):
        local_exponents(lambda x: x, x0, eps=1.0, tau=50, n_steps=120)
    with pytest.raises(ChaoslibError, match="eps"):
        local_exponents(lambda x: x, x0, eps=0.0, tau=1, n_steps=1)
    with pytest.raises(ChaoslibError, match="window"):
        lyapunov_spectrum(lambda x: x, x0, k=1, n_steps=10, window=3)
    with pytest.raises(ChaoslibError, match="k=3"):
        lyapunov_spectrum(lambda x: x, x0, k=3, n_steps=10)


def test_perturbing_a_later_state_is_the_same_estimate_started_one_step_later():
    """perturb_at=k equals perturb_at=0 started from x(k) (a second computation), with the window ends
    shifted by k; on the logistic map both still give ln 2."""
    logistic = LogisticMap(4.0)
    x0 = logistic.initial_states(200, seed=0)
    late = local_exponents(logistic, x0, eps=1e-9, tau=1, n_steps=400, perturb_at=1)
    direct = local_exponents(logistic, logistic(x0), eps=1e-9, tau=1, n_steps=400)
    assert torch.equal(late.exponents, direct.exponents)
    assert late.steps.tolist() == [s + 1 for s in direct.steps.tolist()] and late.perturb_at == 1
    assert late.exponents.mean().item() == pytest.approx(LN2, rel=0.02)
    with pytest.raises(ChaoslibError, match="perturb_at"):
        local_exponents(logistic, x0, perturb_at=-1)
