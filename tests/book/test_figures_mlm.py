"""The MLM chapter's figures draw exactly the summary's values (hand-made counts, saved and reloaded)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from chaoslib.book.figures import mlm as figs
from chaoslib.book.reports.mlm import comparisons, mlm_summary


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    return built.mlm_counts(tmp_path_factory.mktemp("mlm"))


@pytest.fixture(scope="module")
def baseline(counts):
    return built.mlm_baseline(counts)


def test_accuracy_by_depth_draws_the_summary(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    fig = figs.accuracy_by_depth(summary)
    axes = fig.axes
    assert len(axes) == 3 and [a.get_title() for a in axes][2] == figs.PANEL_TITLES["untrained"]
    ax = axes[0]  # trained: pretrained, random mean, three seeds, baseline, pretraining depth
    lines = ax.lines
    np.testing.assert_allclose(lines[0].get_ydata(), summary.accuracy.sel(mode="trained").isel(encoder=0))
    rnd = summary.accuracy.sel(mode="trained").isel(encoder=[1, 2, 3])
    np.testing.assert_allclose(lines[1].get_ydata(), rnd.mean("encoder"))
    for i in range(3):
        np.testing.assert_allclose(lines[2 + i].get_ydata(), rnd.isel(encoder=i))
    assert lines[5].get_ydata()[0] == pytest.approx(float(summary.majority_accuracy))
    assert lines[6].get_xdata()[0] == 2  # the pretraining depth
    band = ax.collections[0].get_paths()[0].vertices[:, 1]  # pretrained interval over blocks
    low = summary.accuracy_low.sel(mode="trained").isel(encoder=0).values
    high = summary.accuracy_high.sel(mode="trained").isel(encoder=0).values
    assert np.allclose(np.sort(band)[[0, -1]], [low.min(), high.max()])
    # the re-initialised panel has no random line (not run) but the pretrained one
    np.testing.assert_allclose(
        axes[1].lines[0].get_ydata(), summary.accuracy.sel(mode="reinit").isel(encoder=0)
    )
    assert len(axes[1].lines) == 3  # pretrained, baseline, pretraining depth
    # per-block mean, by hand
    acc = counts.correct.sel(mode="untrained").isel(encoder=0, depth=2) / counts.n_masked
    assert float(summary.accuracy.sel(mode="untrained").isel(encoder=0, depth=2)) == pytest.approx(
        float(acc.mean())
    )


def test_difference_by_depth_draws_the_paired_comparison(counts):
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    assert list(cmp.mode.values) == ["trained", "untrained"]  # reinit: no random encoder ran it
    fig = figs.difference_by_depth(cmp)
    ax = fig.axes[0]
    for i, mode in enumerate(cmp.mode.values):
        np.testing.assert_allclose(ax.lines[i].get_ydata(), cmp.difference.sel(mode=mode))
        band = ax.collections[i].get_paths()[0].vertices[:, 1]
        assert np.isclose(band.min(), float(cmp.low.sel(mode=mode).min()))
    pre = counts.correct.isel(encoder=0).sel(mode="trained") / counts.n_masked
    rnd = (counts.correct.isel(encoder=[1, 2, 3]).sel(mode="trained") / counts.n_masked).mean("encoder")
    want = (pre - rnd).mean("block")
    np.testing.assert_allclose(cmp.difference.sel(mode="trained"), want)


def test_perplexity_by_depth_draws_each_point(counts, baseline):
    summary = mlm_summary(counts, baseline, n_resamples=200)
    fig = figs.perplexity_by_depth(summary)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    first = labels.index("net pretrained here, trained")
    np.testing.assert_allclose(
        ax.lines[first].get_ydata(), summary.perplexity.sel(mode="trained").isel(encoder=0)
    )
    assert "net random mlm #0, reinit" not in labels  # not run
    np.testing.assert_allclose(ax.lines[-1].get_ydata()[0], float(summary.unigram_perplexity))
    assert float(summary.unigram_perplexity) == pytest.approx(np.exp(6.0))


def test_accuracy_panels_are_laid_out_two_a_row(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    fig = figs.accuracy_by_depth(summary)  # three read-outs: a 2 x 2 grid, its fourth cell removed
    columns = sorted({round(ax.get_position().x0, 3) for ax in fig.axes})
    rows = sorted({round(ax.get_position().y0, 3) for ax in fig.axes})
    assert len(fig.axes) == 3 and len(columns) == 2 and len(rows) == 2
    assert fig.get_size_inches()[0] <= 7.5
    plt.close(fig)


def test_every_figure_is_legible_in_print(counts, baseline):
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    extra = summary.sel(mode=["trained"]).assign_coords(mode=["reinit_untied"])
    four = xr.concat([summary, extra], "mode", data_vars="minimal", coords="minimal", compat="override")
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    legible = {
        "accuracy_by_depth": lambda: figs.accuracy_by_depth(four),  # four read-outs, as the book runs
        "difference_by_depth": lambda: figs.difference_by_depth(cmp),
        "perplexity_by_depth": lambda: figs.perplexity_by_depth(summary),
    }
    built.assert_legible(legible, figs)
