"""Figures of the synchronisation chapter draw exactly the result's values; its numbers and R5/R10."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr

import chaoslib.book.figures.synchronisation as fs
from chaoslib.book.figures.exponents import with_roles
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
    result = fs.with_offsets(with_roles(raw, LABELS).assign_attrs(n_tokens=8), 1e-3, True, [1e-1, 1e-3])
    save_dataset(result, tmp_path / "synchronisation.nc")
    return load_dataset(tmp_path / "synchronisation.nc")


def expected_offsets(threshold):
    t = np.floor(np.log(1 / threshold) / DECAY).astype(int) + 1
    return np.minimum(t, 40)


def test_offsets_by_hand(ds):
    np.testing.assert_array_equal(ds.t_sync.values, expected_offsets(1e-3))
    np.testing.assert_array_equal(ds.sync_censored.values, expected_offsets(1e-3) >= 40)
    np.testing.assert_array_equal(ds.sweep_offset.sel(threshold=1e-1).values, expected_offsets(1e-1))


def test_token_spread_plots_every_input(ds):
    fig = fs.token_spread(ds)
    left, right = fig.axes[:2]
    ref_lines = [line for line in left.lines if len(line.get_ydata()) == 41]
    for line, row in zip(ref_lines, ds.token_spread.sel(network=LABELS[0]).values, strict=True):
        np.testing.assert_allclose(line.get_ydata(), row)
    rand_lines = [line for line in right.lines if len(line.get_ydata()) == 41]
    assert len(rand_lines) == 8
    plt.close(fig)


def test_offsets_figure(ds):
    fig = fs.offsets(ds)
    hist, sweep = fig.axes[:2]
    heights = [p.get_height() for p in hist.patches[:20]]
    assert sum(heights) == 4  # the reference's four inputs
    for line, label in zip(sweep.lines[:3], LABELS, strict=True):
        np.testing.assert_allclose(
            line.get_ydata(), np.median(ds.sweep_offset.sel(network=label).values, axis=1)
        )
    plt.close(fig)


def test_offset_vs_chaos_length_scatter(ds):
    fig = fs.offset_vs_chaos_length(ds)
    ax = fig.axes[0]
    random_points, ref_points = (c.get_offsets() for c in ax.collections[:2])
    np.testing.assert_array_equal(ref_points[:, 0], LENGTH[0])
    np.testing.assert_array_equal(ref_points[:, 1], expected_offsets(1e-3)[0])
    np.testing.assert_array_equal(random_points[:, 1], expected_offsets(1e-3)[1:].ravel())
    plt.close(fig)


def test_sync_numbers_by_hand(ds):
    numbers = fs.sync_numbers(ds)
    t = expected_offsets(1e-3)
    assert numbers["sync_ref_median"] == np.median(t[0])
    assert numbers["sync_ref_censored"] == 1  # decay 0.01 never gets there
    # both times inside the horizon: reference inputs 0-2; |t - l| <= 5: t = [14, 7, 4] vs l = [20, 10, 0]
    assert numbers["sync_ref_pairs"] == 3
    assert numbers["sync_ref_within"] == pytest.approx(100 * 2 / 3)
    assert numbers["sync_rand_inputs"] == 8
    assert numbers["sync_ref_within_text"].startswith("67% (95% bootstrap interval")
    no_pairs = fs.sync_numbers(ds.assign(chaos_censored=ds.chaos_censored | True))
    assert no_pairs["sync_ref_within_text"] == "not measurable: 0 inputs have both times inside the horizon"
    target = fs.target_r5(numbers, "offline", True)
    assert target["holds"] is True and target["target_id"] == "R5"


def test_reduced_map_figure_and_r10():
    error = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]])
    spread = torch.zeros(2, 4)
    comparisons = {
        "float32": ReducedComparison(error, spread, error[:, 1]),
        "float64": ReducedComparison(error * 1e-9, spread, error[:, 1] * 1e-9),
    }
    ds = fs.reduced_dataset(comparisons, torch.tensor([1e-6, 2e-6]), torch.tensor([1e-7, 1e-7]))
    fig = fs.reduced_map(ds)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), np.median(error.numpy()[:, 1:], axis=0))
    plt.close(fig)
    numbers = fs.reduced_numbers(ds)
    assert numbers["red_one_step32"] == pytest.approx(2e-7) and numbers["red_spread32"] == "exactly 0"
    assert fs.target_r10(ds, "offline", LABELS[0], 8)["holds"] is True
