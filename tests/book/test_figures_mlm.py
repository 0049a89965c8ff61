"""The MLM chapter's figures draw exactly the summary's values (hand-made counts, saved and reloaded)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import numpy as np
import pytest
import xarray as xr

from chaoslib.book.figures import mlm as figs
from chaoslib.book.reports.mlm import comparisons, mlm_summary
from chaoslib.store import load_dataset, save_dataset

MODES = ["trained", "reinit", "untrained"]


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    rng = np.random.default_rng(0)
    n_blocks, depths = 12, [1, 2, 4]
    n = rng.integers(15, 22, n_blocks)
    p = np.array([0.4, 0.1, 0.12, 0.08])[:, None, None, None]  # pretrained, three random seeds
    correct = rng.binomial(n, np.broadcast_to(p, (4, 3, 3, n_blocks))).astype(float)
    correct[1:, 1] = np.nan  # random encoders without the re-initialised mode: not drawn there
    ds = xr.Dataset(
        {
            "correct": (("encoder", "mode", "depth", "block"), correct),
            "loss_sum": (("encoder", "mode", "depth", "block"), correct * 0 + n * 3.0),
            "n_masked": (("block",), n),
        },
        coords={
            "encoder": ["net pretrained here", "net random mlm #0", "net random mlm #1", "net random mlm #2"],
            "mode": MODES,
            "depth": depths,
            "block": np.arange(n_blocks),
            "weights": ("encoder", ["pretrained", "random", "random", "random"]),
        },
    )
    path = save_dataset(ds, tmp_path_factory.mktemp("mlm") / "counts.nc")
    return load_dataset(path)


@pytest.fixture(scope="module")
def baseline(counts):
    n = counts.n_masked.values
    return xr.Dataset(
        {"correct": ("block", np.minimum(n, 2.0)), "loss_sum": ("block", n * 6.0), "n_masked": ("block", n)},
        coords={"block": counts.block.values},
        attrs={"token": 13},
    )


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
