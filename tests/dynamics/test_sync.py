"""Token spread sigma(t) and synchronisation offsets (the first step where sigma falls below a threshold)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from conftest import tiny_model

from chaoslib.dynamics.probes import FullState, TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.dynamics.sync import offsets_by_threshold, sync_offset, token_spread
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap


def numpy_token_spread(states: np.ndarray) -> np.ndarray:
    """Reference: population std over tokens, averaged over hidden units. (..., tokens, hidden) -> (...)."""
    return np.std(states.astype(np.float64), axis=-2, ddof=0).mean(axis=-1)


def test_token_spread_matches_numpy_on_recorded_states():
    model, _ = tiny_model(
        init="mlm", seed=1, hidden_size=32, intermediate_size=64, num_hidden_layers=1, embedding_size=16
    )
    albert = AlbertMap(model)
    x0 = torch.randn(3, 7, 32, generator=torch.Generator().manual_seed(0))
    run = run_trajectory(albert, x0, 12, probes=(TokenSpread(), FullState()), progress=False)
    states = run["state"].values  # (sample, step, token, unit)
    reference = numpy_token_spread(states)
    assert reference.shape == (3, 13) and reference.min() > 0
    # sigma computed on the device during the run, and the function on the recorded states
    np.testing.assert_allclose(run["token_spread"].values, reference, rtol=1e-5)
    at_step_5 = token_spread(torch.from_numpy(states[:, 5])).numpy()
    np.testing.assert_allclose(at_step_5, reference[:, 5], rtol=1e-5)
    # a synchronised state has exactly zero spread; pads are tokens like any other
    assert torch.all(token_spread(x0[:, :1].expand(-1, 7, -1)) == 0)


def _spread_curves() -> np.ndarray:
    """Four samples over steps 0..9: decaying, never below 1e-3, starts synchronised, exact zero at t=4."""
    t = np.arange(10)
    return np.stack(
        [
            0.3 * 10.0 ** (-t.astype(float)),  # sigma(0)=0.3, falls by 10x a step
            np.full(10, 0.2),  # never synchronises
            np.full(10, 1e-9),  # already synchronised (absolute thresholds)
            np.where(t >= 4, 0.0, 0.5),  # exact synchrony at t=4
        ]
    )


def test_sync_offset_absolute_threshold():
    result = sync_offset(_spread_curves(), threshold=1e-5, relative=False)
    # sample 0: 0.3e-t < 1e-5  <=>  t >= 5 (0.3e-5 = 3e-6 < 1e-5 while 3e-5 is not)
    np.testing.assert_array_equal(result.offset, [5, 9, 0, 4])
    np.testing.assert_array_equal(result.censored, [False, True, False, False])
    assert result.horizon == 9
    np.testing.assert_allclose(result.theta, 1e-5)
    ds = result.to_dataset()  # one naming with the exponents' chaos_censored: t_sync, sync_censored
    np.testing.assert_array_equal(ds.t_sync.values, [5, 9, 0, 4])
    np.testing.assert_array_equal(ds.sync_censored.values, [False, True, False, False])
    assert ds.t_sync.dims == ("sample",) and ds.attrs["horizon"] == 9


def test_sync_offset_relative_threshold_and_edge_cases():
    curves = _spread_curves()
    curves[2] = 0.0  # starts exactly synchronised: theta = 0 relative, still offset 0
    result = sync_offset(curves, threshold=1e-3, relative=True)
    # sample 0: sigma(t)/sigma(0) = 10^-t < 1e-3 <=> t >= 4
    np.testing.assert_array_equal(result.offset, [4, 9, 0, 4])
    np.testing.assert_array_equal(result.censored, [False, True, False, False])
    np.testing.assert_allclose(result.theta, [3e-4, 2e-4, 0.0, 5e-4])
    # NaN (a diverged run) never counts as synchronised
    nan_curve = np.full((1, 10), np.nan)
    assert sync_offset(nan_curve, 1e-3).censored.all()


def test_sync_offset_uses_step_coordinate_of_a_dataarray():
    curves = _spread_curves()
    steps = np.arange(100, 110)
    spread = xr.DataArray(curves.T, dims=("step", "sample"), coords={"step": steps})  # any dim order
    result = sync_offset(spread, threshold=1e-5, relative=False)
    np.testing.assert_array_equal(result.offset, [105, 109, 100, 104])
    assert result.horizon == 109
    torch_result = sync_offset(torch.from_numpy(curves), threshold=1e-5, relative=False, steps=steps)
    np.testing.assert_array_equal(torch_result.offset, result.offset)


def test_offsets_by_threshold_are_monotone():
    sweep = offsets_by_threshold(_spread_curves(), [1e-1, 1e-3, 1e-6], relative=True)
    assert sweep.offset.dims == ("threshold", "sample")
    np.testing.assert_array_equal(sweep.offset.sel(sample=0).values, [2, 4, 7])
    assert bool((sweep.offset.diff("threshold") >= 0).all())  # smaller theta, later (or equal) offset
    np.testing.assert_array_equal(sweep.censored.sel(sample=1).values, [True, True, True])


def test_bad_input():
    with pytest.raises(ChaoslibError, match="threshold"):
        sync_offset(_spread_curves(), threshold=0.0)
    with pytest.raises(ChaoslibError, match="steps"):
        sync_offset(_spread_curves(), steps=np.arange(5))
    with pytest.raises(ChaoslibError, match="batch, steps"):
        sync_offset(np.zeros((2, 3, 4)))
    with pytest.raises(ChaoslibError, match="thresholds"):
        offsets_by_threshold(_spread_curves(), [])


def test_compare_networks_synchronisation_records_spread_and_chaos_length_of_the_same_inputs():
    from chaoslib.data.tokenization import encode, load_tokenizer
    from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
    from chaoslib.model.network import Network
    from chaoslib.studies.analyses import Synchronisation
    from chaoslib.studies.compare import compare_networks, network_map

    encoded = encode(load_tokenizer(), ["the cat sat on the mat", "a b c"], n_tokens=8)
    networks = [Network("albert-wikitext2", "random", init="mlm", seed=s) for s in (1, 2)]
    ds = compare_networks(networks, Synchronisation(n_steps=20, tau=5, eps=1e-3, seed=0), encoded,
                          labels=["s1", "s2"])
    assert ds.token_spread.dims == ("network", "sample", "step") and ds.token_spread.shape == (2, 2, 21)
    step, albert, x0, _ = network_map(networks[1], encoded)
    states = [x0]
    for _ in range(20):
        states.append(albert.step(states[-1]))
    reference = numpy_token_spread(torch.stack(states, 1).numpy())
    np.testing.assert_allclose(ds.token_spread.sel(network="s2").values, reference, rtol=1e-5)
    exps = local_exponents(step, x0, eps=1e-3, tau=5, n_steps=20, seed=0)
    length, censored = chaos_length(exps.exponents, 5, 20)
    np.testing.assert_array_equal(ds.chaos_length.sel(network="s2").values, length.numpy())
    np.testing.assert_array_equal(ds.chaos_censored.sel(network="s2").values, censored.numpy())
    assert not np.allclose(ds.token_spread.sel(network="s1"), ds.token_spread.sel(network="s2"))
