"""Chapter 07 figures draw exactly the result's values (a small result built by hand, saved and reloaded)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import built_results as built  # noqa: E402
import numpy as np
import pytest
import xarray as xr
from built_results import NETWORKS, RAND, REF  # noqa: E402

from chaoslib.book.figures import readout as figures
from chaoslib.errors import ChaoslibError


@pytest.fixture
def result(tmp_path) -> xr.Dataset:
    return built.readout_result(tmp_path)


@pytest.mark.parametrize("metric", ["pair", "pooled"])
def test_heatmaps_show_the_grid_of_long_windows_and_the_best_window(result, metric):
    fig = figures.nmse_heatmaps(result, metric=metric)
    assert len(fig.axes) == 3  # two networks (reference and the first random) and the colour bar
    for ax, network in zip(fig.axes[:2], [REF, RAND], strict=True):
        expected = result[f"{metric}_nmse"].sel(network=network, length=[20, 21, 22]).T.values
        drawn = np.ma.filled(ax.collections[0].get_array().astype(float), np.nan).reshape(expected.shape)
        np.testing.assert_array_equal(drawn, expected)  # lengths 1..19 are not shown
        star = ax.lines[0]
        assert (star.get_xdata()[0], star.get_ydata()[0]) == (
            result.best_start.sel(network=network).item(),
            result.best_length.sel(network=network).item(),
        )
    # one colour scale for both maps
    assert fig.axes[0].collections[0].norm.vmin == fig.axes[1].collections[0].norm.vmin


def test_nmse_by_length_draws_the_minimum_over_starts_and_the_intervals(result):
    fig = figures.nmse_by_length(result)
    ax, ax2 = fig.axes
    for line, network in zip(ax.lines[:3], NETWORKS, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), result.length.values)
        np.testing.assert_array_equal(
            line.get_ydata(), np.nanmin(result.pair_nmse.sel(network=network).values, 0)
        )
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), result.blind_pair_nmse.values)
    assert ax.lines[4].get_xdata()[0] == 20  # min_length marker
    # the error bars: points at the best scores, bars from best_low to best_high
    for i, container in enumerate(ax2.containers):
        point, _, (bars,) = container
        assert point.get_ydata()[0] == result.best_pair_nmse.values[i]
        segment = bars.get_segments()[0]
        np.testing.assert_allclose(segment[:, 1], [result.best_low.values[i], result.best_high.values[i]])


def test_drawings_plot_the_drawn_and_target_pens(result):
    fig = figures.drawings(result)
    assert len(fig.axes) == 2 * 2  # reference and first random network, two shown pairs each
    for n, network in enumerate([REF, RAND]):
        for k in range(2):
            ax = fig.axes[n * 2 + k]
            drawn = result.drawn.sel(network=network).isel(shown=k).values
            keep = np.isfinite(drawn[:, 0])
            target = result.target_drawn.sel(network=network).isel(shown=k).values[keep]
            np.testing.assert_array_equal(ax.lines[0].get_xydata(), target)
            np.testing.assert_array_equal(ax.lines[1].get_xydata(), drawn[keep])
            pair = int(result.shown_pair[k])
            assert f"NMSE {result.pair_errors.sel(network=network, pair=pair).item():.2f}" in ax.get_title()


def test_unknown_metric_or_network_is_rejected(result):
    with pytest.raises(ChaoslibError, match="metric"):
        figures.nmse_heatmaps(result, metric="mse")
    with pytest.raises(ChaoslibError, match="networks"):
        figures.drawings(result, networks=["albert-large-v2 pretrained"])


def test_every_figure_is_legible_in_print(result):
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    six = result.isel(shown=[0, 1, 0, 1, 0, 1])  # the book shows two pairs of each of three groups
    legible = {
        "nmse_heatmaps": lambda: figures.nmse_heatmaps(result),
        "nmse_by_length": lambda: figures.nmse_by_length(result),
        "drawings": lambda: figures.drawings(six),
    }
    built.assert_legible(legible, figures)
