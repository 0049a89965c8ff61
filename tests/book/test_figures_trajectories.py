"""Figures of the trajectories chapter draw exactly the result's values."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import chaoslib.book.figures.trajectories as ft
import chaoslib.book.reports.trajectories as rt
from chaoslib.store import load_dataset, save_dataset

LABELS = ["albert-wikitext2 pretrained", "albert-wikitext2 random tf #1", "albert-wikitext2 random tf #2"]


def run(rng, n_samples: int, decay: float) -> xr.Dataset:
    """A hand-made run_trajectory result: sigma(t) = exp(-decay * t) per sample, random units."""
    steps = np.arange(11)
    spread = np.exp(-decay * steps)[None] * (1 + np.arange(n_samples))[:, None]
    return xr.Dataset(
        {
            "units": (
                ("sample", "step", "units_token", "units_unit"),
                rng.normal(size=(n_samples, 11, 2, 3)),
            ),
            "token_spread": (("sample", "step"), spread),
        },
        coords={"step": steps, "units_token": [0, 1], "units_unit": [0, 1, 2]},
        attrs={"steps_per_second": 123.0},
    )


@pytest.fixture
def ds(tmp_path):
    rng = np.random.default_rng(0)
    runs = {label: run(rng, 3, decay) for label, decay in zip(LABELS, (0.1, 2.0, 3.0), strict=True)}
    result = rt.by_network(runs, LABELS).assign_attrs(n_tokens=16)
    save_dataset(result, tmp_path / "long_run.nc")  # figures are drawn from the saved file
    return load_dataset(tmp_path / "long_run.nc")


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
