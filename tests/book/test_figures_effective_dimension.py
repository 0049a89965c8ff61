"""Figures of the effective-dimension chapter draw the result's values (read back from the axes)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import chaoslib.book.figures.effective_dimension as fed
import chaoslib.book.reports.effective_dimension as red
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_band

STEPS = np.arange(13)
LABELS = ["pre", "pre, inputs #1", "rand #1", "rand #2", "rand #3", "rand+pre layer"]


def _result(collapse_rand3: bool = True) -> xr.Dataset:
    """Like ``report.compared``: the reference on 2 input draws, 3 random networks and one control."""
    rng = np.random.default_rng(0)
    ed = np.empty((6, STEPS.size))
    ed[0] = 20 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[1] = 19 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    for i in range(2, 5):
        ed[i] = 18 - 0.8 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[2, 1] = 25.0  # one step where a random network is above the reference
    ed[5] = 16 - 0.1 * STEPS
    resolved = np.ones_like(ed, dtype=bool)
    if collapse_rand3:
        resolved[4, 9:] = False  # collapsed to rounding noise from step 9
        ed[4, 9:] = 23.0  # isotropic rounding noise: a high, meaningless ED
    ds = xr.Dataset(
        {
            "effective_dimension": (("network", "step"), ed),
            "relative_variance": (("network", "step"), np.exp(-0.1 * STEPS)[None] * np.arange(1, 7)[:, None]),
            "resolved": (("network", "step"), resolved),
            "steps_per_second": ("network", np.ones(6)),
        },
        coords={"network": [str(i) for i in range(6)], "step": STEPS},
        attrs={"n_samples": 24},
    )
    return red.with_roles(ds, LABELS, n_input_draws=2, n_comparison=3, controls=[red.LAYER_HYBRID])


def _line(ax, label):
    return next(line for line in ax.lines if line.get_label() == label)


def test_curves_plot_reference_and_seed_median_without_collapsed_steps():
    ds = _result()
    fig = fed.effective_dimension(ds, horizon=10)
    top, middle, bottom = fig.axes
    ed = ds.effective_dimension.values
    np.testing.assert_allclose(_line(top, "pre").get_ydata(), ed[0])
    readable = np.where(ds.resolved.values, ed, np.nan)
    np.testing.assert_allclose(
        _line(top, "random: median over seeds").get_ydata(), np.nanmedian(readable[2:5], 0)
    )
    thin = [line.get_ydata() for line in top.lines if line.get_lw() == 0.5]
    np.testing.assert_allclose(np.array(thin, dtype=float), readable[2:5])
    # the control dashed, and every network over its own ED(0) in the middle panel
    np.testing.assert_allclose(_line(top, f"control: {red.LAYER_HYBRID}").get_ydata(), ed[5])
    np.testing.assert_allclose(_line(middle, "pre").get_ydata(), ed[0] / ed[0, 0])
    np.testing.assert_allclose(_line(middle, f"control: {red.LAYER_HYBRID}").get_ydata(), ed[5] / ed[5, 0])
    assert np.isnan(thin[2][9:]).all()  # the collapsed steps are not drawn
    np.testing.assert_allclose(_line(bottom, "pre").get_ydata(), ds.relative_variance.values[0])
    # the blue band spans the two input draws
    band = top.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(ed[:2].min()) and band.max() == pytest.approx(ed[:2].max())
    plt.close(fig)


def test_gap_plots_differences_of_ed_over_ed0_and_their_bootstrap_band():
    ds = _result()
    fig = fed.gap(ds, horizon=10)
    ax = fig.axes[0]
    ed = ds.effective_dimension.values
    readable = (np.where(ds.resolved.values, ed, np.nan) / ed[:, :1])[:, :11]
    diff = readable[0] - readable[2:5]
    thin = np.array([line.get_ydata() for line in ax.lines if line.get_lw() == 0.5], dtype=float)
    np.testing.assert_allclose(thin, diff)
    np.testing.assert_allclose(_line(ax, "mean over seeds").get_ydata(), np.nanmean(diff, 0))
    low, high = bootstrap_band(diff, np.mean)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(np.nanmin(low)) and band.max() == pytest.approx(np.nanmax(high))
    plt.close(fig)


def test_roles_are_checked():
    ds = _result().drop_vars(["role", "control"])
    with pytest.raises(ChaoslibError, match="role"):
        fed.effective_dimension(ds)


def test_every_figure_is_legible_in_print():
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    legible = {
        "effective_dimension": lambda: fed.effective_dimension(_result(), horizon=10),
        "gap": lambda: fed.gap(_result(), horizon=10),
    }
    built.assert_legible(legible, fed)
