"""Figures of the GLUE-by-depth chapter draw the result's values (read back from the axes)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

import chaoslib.book.figures.glue as fg
from chaoslib.errors import ChaoslibError

DEPTHS = np.arange(1, 21)
NETS = ["small pretrained here", "small random glue #0", "small random glue #1", "small random glue #2"]


def _result(trained: bool = True, chaos_pre: float = 12.0) -> xr.Dataset:
    """Like ``glue_dataset``: 2 arms x 4 networks x 20 depths; the trained arm at depths 4 and 16 only."""
    rng = np.random.default_rng(0)
    score = np.full((2, 4, DEPTHS.size), np.nan)
    score[0, 0] = 0.6 * np.exp(-((DEPTHS - 8) ** 2) / 40)  # a peak at depth 8
    score[0, 1:] = rng.normal(0.05, 0.03, (3, DEPTHS.size))
    score[1, :2, [3, 15]] = rng.normal(0.1, 0.05, (2, 2))
    low, high = score - 0.05, score + 0.07
    ds = xr.Dataset(
        {
            "score": (("arm", "network", "depth"), score),
            "score_low": (("arm", "network", "depth"), low),
            "score_high": (("arm", "network", "depth"), high),
            "chaos_length": ("network", [chaos_pre, 30.0, 40.0, 50.0]),
            "chaos_low": ("network", [chaos_pre - 2, 20.0, 30.0, 40.0]),
            "chaos_high": ("network", [chaos_pre + 2, 40.0, 50.0, 60.0]),
            "chaos_censored": ("network", [0.0, 0.0, 0.0, 1.0]),
        },
        coords={
            "arm": ["frozen", "trained"],
            "network": NETS,
            "depth": DEPTHS,
            "role": ("network", ["reference", "comparison", "comparison", "comparison"]),
            "weights": ("network", ["pretrained", "random", "random", "random"]),
            "init_seed": ("network", [np.nan, 0, 1, 2]),
        },
        attrs=dict(task="stsb", metric="pearson_spearman_mean", n_train=800, n_dev=400, chaos_n_steps=200),
    )
    return ds if trained else ds.sel(arm=["frozen"])


def _line(ax, label):
    return next(line for line in ax.lines if line.get_label() == label)


def test_score_by_depth_draws_scores_band_seeds_and_chaos_length():
    ds = _result()
    fig = fg.score_by_depth(ds, "frozen")
    ax = fig.axes[0]
    frozen = ds.score.sel(arm="frozen")
    np.testing.assert_allclose(_line(ax, NETS[0]).get_ydata(), frozen.sel(network=NETS[0]))
    np.testing.assert_allclose(_line(ax, NETS[0]).get_xdata(), DEPTHS)
    np.testing.assert_allclose(
        _line(ax, "random (3 seeds): mean").get_ydata(), frozen.sel(network=NETS[1:]).mean("network")
    )
    # each seed drawn thin: the three lines hold the three seeds' scores
    for net in NETS[1:]:
        np.testing.assert_allclose(_line(ax, f"_{net}").get_ydata(), frozen.sel(network=net))
    # the pretrained band: its polygon spans score_low .. score_high
    band = next(c for c in ax.collections if c.get_label().startswith("95% bootstrap"))
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(float(ds.score_low.sel(arm="frozen", network=NETS[0]).min()))
    assert ys.max() == pytest.approx(float(ds.score_high.sel(arm="frozen", network=NETS[0]).max()))
    spread = next(c for c in ax.collections if c.get_label() == "range over 3 random seeds")
    ys = spread.get_paths()[0].vertices[:, 1]
    assert ys.max() == pytest.approx(float(frozen.sel(network=NETS[1:]).max()))
    # chaos lengths: the reference's as a vertical line at its median; the random seeds' median
    pre = _line(ax, "chaos length reference: 12")
    assert pre.get_xdata()[0] == 12.0
    # the random seeds' median length (40) lies beyond the depths drawn: written, not drawn
    texts = [t.get_text() for t in ax.texts]
    assert "chaos length random (median over seeds): 40 > depth 20 (horizon 200)" in texts
    plt.close(fig)


def test_chaos_length_beyond_the_depths_is_written_not_drawn():
    fig = fg.score_by_depth(_result(chaos_pre=200.0), "frozen")
    ax = fig.axes[0]
    assert any("chaos length reference: ≥ 200 > depth 20 (horizon 200)" in t.get_text() for t in ax.texts)
    assert not any(line.get_label().startswith("chaos length reference") for line in ax.lines)
    plt.close(fig)


def test_trained_arm_drawn_only_where_it_ran():
    ds = _result()
    fig = fg.score_by_depth(ds, "trained")
    ax = fig.axes[0]
    np.testing.assert_allclose(_line(ax, NETS[0]).get_xdata(), [4, 16])
    np.testing.assert_allclose(
        _line(ax, NETS[0]).get_ydata(), ds.score.sel(arm="trained", network=NETS[0], depth=[4, 16])
    )
    plt.close(fig)


def test_arms_compared_error_bars_hold_scores_and_intervals():
    ds = _result()
    fig = fg.arms_compared(ds)
    pre_ax = fig.axes[0]
    bars = pre_ax.containers  # ErrorbarContainer per (arm, network)
    frozen, trained = bars[0], bars[1]
    np.testing.assert_allclose(
        frozen.lines[0].get_ydata(), ds.score.sel(arm="frozen", network=NETS[0], depth=[4, 16])
    )
    np.testing.assert_allclose(
        trained.lines[0].get_ydata(), ds.score.sel(arm="trained", network=NETS[0], depth=[4, 16])
    )
    segments = trained.lines[2][0].get_segments()
    lows = [seg[0][1] for seg in segments]
    highs = [seg[1][1] for seg in segments]
    np.testing.assert_allclose(lows, ds.score_low.sel(arm="trained", network=NETS[0], depth=[4, 16]))
    np.testing.assert_allclose(highs, ds.score_high.sel(arm="trained", network=NETS[0], depth=[4, 16]))
    plt.close(fig)
    with pytest.raises(ChaoslibError, match="trained"):
        fg.arms_compared(_result(trained=False))


def test_bad_arm():
    with pytest.raises(ChaoslibError, match="arm"):
        fg.score_by_depth(_result(), "finetuned")


def test_every_figure_is_legible_in_print():
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    legible = {
        "score_by_depth": lambda: fg.score_by_depth(_result(chaos_pre=500.0), "frozen"),  # a length written
        "arms_compared": lambda: fg.arms_compared(_result()),
    }
    built.assert_legible(legible, fg)
