"""Figures of the trajectories chapter draw exactly the result's values."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
from built_results import LABELS  # noqa: E402

import chaoslib.book.figures.trajectories as ft


@pytest.fixture
def ds(tmp_path):
    return built.trajectories_long_run(tmp_path)


def test_unit_trajectories_plot_the_units(ds):
    fig = ft.unit_trajectories(ds, sample=1)
    axes = np.array(fig.axes).reshape(3, 2)
    for col, label in enumerate(LABELS[:2]):  # reference and the first random network
        for row, unit in enumerate([0, 1, 2]):
            lines = axes[row, col].lines
            for token, line in zip([0, 1], lines, strict=True):
                expected = (
                    ds.units.sel(network=label, units_token=token, units_unit=unit).isel(sample=1).values
                )
                np.testing.assert_array_equal(line.get_ydata(), expected)
    plt.close(fig)


def test_token_spread_plots_the_sample_and_the_medians(ds):
    fig = ft.token_spread(ds, sample=0)
    left, right = fig.axes[:2]
    ydata = [line.get_ydata() for line in left.lines]
    assert len(ydata) == 3
    for label, y in zip(
        [LABELS[1], LABELS[2], LABELS[0]], ydata, strict=True
    ):  # random first, reference on top
        np.testing.assert_allclose(y, ds.token_spread.sel(network=label).isel(sample=0).values)
    medians = [line.get_ydata() for line in right.lines]
    np.testing.assert_allclose(medians[0], np.median(ds.token_spread.sel(network=LABELS[0]).values, axis=0))
    np.testing.assert_allclose(medians[2], np.median(ds.token_spread.sel(network=LABELS[2]).values, axis=0))
    plt.close(fig)


def test_every_figure_is_legible_in_print(ds):
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    legible = {"unit_trajectories": lambda: ft.unit_trajectories(ds),
               "token_spread": lambda: ft.token_spread(ds)}
    built.assert_legible(legible, ft)
