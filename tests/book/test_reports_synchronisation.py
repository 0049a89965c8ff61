"""Numbers and the R5/R10 verdicts of the synchronisation chapter, and the reduced-map check behind R10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import chaoslib.book.reports.synchronisation as rs
from chaoslib.book.reports.exponents import with_roles
from chaoslib.dynamics.reduced_map import ReducedComparison
from chaoslib.store import load_dataset, save_dataset

LABELS = ["albert-wikitext2 pretrained", "albert-wikitext2 random tf #1", "albert-wikitext2 random tf #2"]
DECAY = np.array([[0.5, 1.0, 2.0, 0.01], [3.0, 3.0, 3.0, 3.0], [2.0, 4.0, 6.0, 8.0]])  # (network, sample)
LENGTH = np.array([[20, 10, 0, 40], [0, 0, 0, 0], [0, 20, 0, 0]])


@pytest.fixture
def ds(tmp_path):
    """sigma(t) = exp(-decay t): t_sync at threshold 1e-3 (relative) = floor(ln(1000) / decay) + 1."""
    steps = np.arange(41)
    spread = np.exp(-DECAY[..., None] * steps)
    raw = xr.Dataset(
        {
            "token_spread": (("network", "sample", "step"), spread),
            "chaos_length": (("network", "sample"), LENGTH),
            "chaos_censored": (("network", "sample"), LENGTH == 40),
        },
        coords={"network": ["a", "b", "c"], "step": steps},
        attrs={"tau": 5, "n_steps": 40, "eps": 0.01, "seed": 0},
    )
    result = rs.with_offsets(with_roles(raw, LABELS).assign_attrs(n_tokens=8), 1e-3, True, [1e-1, 1e-3])
    save_dataset(result, tmp_path / "synchronisation.nc")
    return load_dataset(tmp_path / "synchronisation.nc")


def expected_offsets(threshold):
    t = np.floor(np.log(1 / threshold) / DECAY).astype(int) + 1
    return np.minimum(t, 40)


def test_offsets_by_hand(ds):
    np.testing.assert_array_equal(ds.t_sync.values, expected_offsets(1e-3))
    np.testing.assert_array_equal(ds.sync_censored.values, expected_offsets(1e-3) >= 40)
    np.testing.assert_array_equal(ds.sweep_offset.sel(threshold=1e-1).values, expected_offsets(1e-1))


def test_sync_numbers_by_hand(ds):
    numbers = rs.sync_numbers(ds)
    t = expected_offsets(1e-3)
    assert numbers["sync_ref_median"] == np.median(t[0])
    assert numbers["sync_ref_censored"] == 1  # decay 0.01 never gets there
    # both times inside the horizon: reference inputs 0-2; |t - l| <= 5: t = [14, 7, 4] vs l = [20, 10, 0]
    assert numbers["sync_ref_pairs"] == 3
    assert numbers["sync_ref_within"] == pytest.approx(100 * 2 / 3)
    assert numbers["sync_rand_inputs"] == 8
    assert numbers["sync_ref_within_text"].startswith("67% (95% bootstrap interval")
    no_pairs = rs.sync_numbers(ds.assign(chaos_censored=ds.chaos_censored | True))
    assert no_pairs["sync_ref_within_text"] == "not measurable: 0 inputs have both times inside the horizon"
    target = rs.target_r5(numbers, "offline", True)
    assert target["holds"] is True and target["target_id"] == "R5"


def test_reduced_numbers_and_r10():
    error = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]])
    spread = torch.zeros(2, 4)
    comparisons = {
        "float32": ReducedComparison(error, spread, error[:, 1]),
        "float64": ReducedComparison(error * 1e-9, spread, error[:, 1] * 1e-9),
    }
    ds = rs.reduced_dataset(comparisons, torch.tensor([1e-6, 2e-6]), torch.tensor([1e-7, 1e-7]))
    # the chapter's dataset stacks each comparison's own to_dataset along dtype, values unchanged
    assert ds.relative_error.dims == ("dtype", "sample", "step") and list(ds.dtype.values) == ["float32", "float64"]
    np.testing.assert_array_equal(ds.relative_error.sel(dtype="float64").values, (error * 1e-9).double().numpy())
    np.testing.assert_array_equal(ds.one_step_error.sel(dtype="float32").values, error[:, 1].double().numpy())
    np.testing.assert_array_equal(ds.natural_error.values, torch.tensor([1e-6, 2e-6]).double().numpy())
    numbers = rs.reduced_numbers(ds)
    assert numbers["red_one_step32"] == pytest.approx(2e-7) and numbers["red_spread32"] == "exactly 0"
    assert rs.target_r10(ds, "offline", LABELS[0], 8)["holds"] is True


def test_theta_text():
    assert rs.theta_text(1e-5, True) == "theta = 1e-05 x sigma(0)"
    assert rs.theta_text(0.001, False) == "theta = 0.001"


def test_reduced_check_on_a_network(tokenizer, one_thread):
    from chaoslib.data.tokenization import encode
    from chaoslib.dynamics.reduced_map import reduced_vs_full, token_mean
    from chaoslib.model.network import Network
    from chaoslib.studies.compare import network_map

    network = Network("albert-wikitext2", "random", init="tf", seed=1)
    encoded = encode(tokenizer, ["the cat sat on the mat", "a b c", "dogs bark loudly"], n_tokens=8)
    ds = rs.reduced_check(network, encoded, n_samples=2, n_steps=30, reduced_steps=5)
    assert list(ds.dtype.values) == ["float32", "float64"]
    assert ds.relative_error.shape == (2, 2, 6) and ds.natural_error.shape == (2,)
    assert float(ds.one_step_error.sel(dtype="float64").max()) < 1e-12
    assert float(ds.one_step_error.sel(dtype="float32").max()) < 1e-5
    _, full_map, x0, _ = network_map(network, encoded)
    x_end = full_map.iterate(x0[:2], 30)
    expected = reduced_vs_full(full_map, token_mean(x_end), 8, n_steps=5)
    float32 = ds.relative_error.sel(dtype="float32").values
    np.testing.assert_array_equal(float32, expected.relative_error.double().numpy())
