"""Figures of the synchronisation chapter draw exactly the result's values."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr

import chaoslib.book.figures.synchronisation as fs
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


def test_reduced_map_figure():
    error = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]])
    spread = torch.zeros(2, 4)
    comparisons = {
        "float32": ReducedComparison(error, spread, error[:, 1]),
        "float64": ReducedComparison(error * 1e-9, spread, error[:, 1] * 1e-9),
    }
    ds = rs.reduced_dataset(comparisons, torch.tensor([1e-6, 2e-6]), torch.tensor([1e-7, 1e-7]))
    fig = fs.reduced_map(ds)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), np.median(error.numpy()[:, 1:], axis=0))
    plt.close(fig)
