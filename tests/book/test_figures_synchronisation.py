"""Figures of the synchronisation chapter draw exactly the result's values."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr
from matplotlib.collections import PathCollection

import chaoslib.book.figures.synchronisation as fs
import chaoslib.book.reports.synchronisation as rs
from chaoslib.book.reports.exponents import with_roles
from chaoslib.dynamics.reduced_map import ReducedComparison
from chaoslib.store import load_dataset, save_dataset

LABELS = ["albert-wikitext2 pretrained", "albert-wikitext2 random tf #1", "albert-wikitext2 random tf #2"]
DECAY = np.array([[0.5, 1.0, 2.0, 0.01], [3.0, 3.0, 3.0, 3.0], [2.0, 4.0, 6.0, 8.0]])  # (network, sample)
LENGTH = np.array([[20, 10, 0, 40], [0, 0, 0, 0], [0, 20, 0, 0]])
TAU, T = 5, 40


def raw(decay: np.ndarray, length: np.ndarray, names: list[str]) -> xr.Dataset:
    """sigma(t) = exp(-decay t); exponents +0.1 before the chaos length, -0.1 from it on."""
    steps, starts = np.arange(T + 1), np.arange(T // TAU) * TAU
    return xr.Dataset(
        {
            "token_spread": (("network", "sample", "step"), np.exp(-np.asarray(decay)[..., None] * steps)),
            "exponent": (("network", "sample", "window"), np.where(starts < length[..., None], 0.1, -0.1)),
            "chaos_length": (("network", "sample"), length.astype(float)),
            "chaos_censored": (("network", "sample"), length == T),
        },
        coords={
            "network": names,
            "step": steps,
            "window": np.arange(T // TAU),
            "window_end": ("window", starts + TAU),
        },
        attrs={"tau": TAU, "n_steps": T, "eps": 0.01, "seed": 0},
    )


@pytest.fixture
def ds(tmp_path):
    """t_sync at threshold 1e-3 (relative) = floor(ln(1000) / decay) + 1."""
    result = rs.completed(
        with_roles(raw(DECAY, LENGTH, ["a", "b", "c"]), LABELS), 8, 1e-3, True, [1e-1, 1e-3]
    )
    save_dataset(result, tmp_path / "synchronisation.nc")
    return load_dataset(tmp_path / "synchronisation.nc")


def expected_offsets(threshold):
    t = np.floor(np.log(1 / threshold) / DECAY).astype(int) + 1
    return np.minimum(t, T)


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
    random_points, ref_points, ref_offsets = (c.get_offsets() for c in ax.collections[:3])
    np.testing.assert_array_equal(ref_points[:, 0], LENGTH[0])
    np.testing.assert_array_equal(ref_points[:, 1], ds.transverse_length.sel(network=LABELS[0]).values)
    np.testing.assert_array_equal(ref_offsets[:, 1], expected_offsets(1e-3)[0])
    np.testing.assert_array_equal(random_points[:, 0], LENGTH[1:].ravel())
    np.testing.assert_array_equal(
        random_points[:, 1], ds.transverse_length.sel(network=LABELS[1:]).values.ravel()
    )
    plt.close(fig)


def test_transverse_vs_full_draws_the_medians(ds):
    fig = fs.transverse_vs_full(ds)
    left, right = fig.axes[:2]
    full, perp = (line for line in left.lines if len(line.get_xdata()) == T // TAU)
    np.testing.assert_array_equal(full.get_xdata(), np.arange(T // TAU) * TAU)
    np.testing.assert_allclose(full.get_ydata(), np.median(ds.exponent.sel(network=LABELS[0]).values, axis=0))
    rates = ds.transverse_exponent.sel(network=LABELS[0]).values
    # drawn only where most (3 or 4) of the 4 inputs are read: windows 0 and 1 (decay 2 leaves after window 0)
    readable = np.isfinite(rates).sum(0) > 2
    np.testing.assert_allclose(perp.get_ydata()[readable], np.nanmedian(rates[:, readable], axis=0))
    assert np.isnan(perp.get_ydata()[~readable]).all() and readable[:2].all() and not readable[2:].any()
    random_full = [line for line in right.lines if len(line.get_xdata()) == T // TAU][0]
    pooled = ds.exponent.sel(network=LABELS[1:]).values.reshape(-1, T // TAU)
    np.testing.assert_allclose(random_full.get_ydata(), np.median(pooled, axis=0))
    plt.close(fig)


def _controls() -> xr.Dataset:
    """Two control networks on the reference's first 3 inputs, completed as the chapter completes them."""
    roles = ["untrained", "shuffled"]
    raw_controls = raw(np.array([[0.25, 0.25, 0.25], [0.5, 1.0, 2.0]]), np.zeros((2, 3), int), roles)
    return rs.completed(with_roles(raw_controls, roles, n_reference=0, n_controls=2), 8, 1e-3, True, [1e-3])


def test_controls_figure_plots_each_input(ds):
    controls = _controls()
    fig = fs.controls(ds, controls)
    ax = fig.axes[0]
    points = [
        c for c in ax.collections if isinstance(c, PathCollection)
    ]  # the median bars are LineCollections
    filled = [
        c.get_offsets() for c in points[::2]
    ]  # per network: filled (synchronised), open (censored) markers
    np.testing.assert_array_equal(filled[0][:, 1], expected_offsets(1e-3)[0][:3])
    np.testing.assert_array_equal(filled[1][:, 1], [28, 28, 28])
    np.testing.assert_array_equal(filled[2][:, 1], expected_offsets(1e-3)[0][:3])
    assert [t.get_text() for t in ax.get_xticklabels()] == [LABELS[0], "untrained", "shuffled"]
    plt.close(fig)
    alone = fs.controls(ds, None)  # no controls run: the reference alone, all its inputs
    assert alone.axes[0].collections[0].get_offsets().shape[0] == 3  # 3 synchronised, 1 censored
    plt.close(alone)


ERROR = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]])


def _reduced() -> xr.Dataset:
    """The reduced-map check by hand: two states, float32 and float64."""
    spread = torch.zeros(2, 4)
    comparisons = {
        "float32": ReducedComparison(ERROR, spread, ERROR[:, 1]),
        "float64": ReducedComparison(ERROR * 1e-9, spread, ERROR[:, 1] * 1e-9),
    }
    return rs.reduced_dataset(comparisons, torch.tensor([1e-6, 2e-6]), torch.tensor([1e-7, 1e-7]))


def test_reduced_map_figure():
    error = ERROR
    fig = fs.reduced_map(_reduced())
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), np.median(error.numpy()[:, 1:], axis=0))
    plt.close(fig)


def test_every_figure_is_legible_in_print(ds):
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    legible = {
        "token_spread": lambda: fs.token_spread(ds),
        "offsets": lambda: fs.offsets(ds),
        "controls": lambda: fs.controls(ds, _controls()),
        "transverse_vs_full": lambda: fs.transverse_vs_full(ds),
        "offset_vs_chaos_length": lambda: fs.offset_vs_chaos_length(ds),
        "reduced_map": lambda: fs.reduced_map(_reduced()),
    }
    built.assert_legible(legible, fs)
