"""MLM accuracies from per-block counts: the authors' per-block mean vs the pooled accuracy, by hand;
intervals and the pretrained-vs-random comparison against scipy's bootstrap directly."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from chaoslib.errors import ChaoslibError
from chaoslib.tasks.mlm_results import mlm_metrics, pretrained_vs_random


def hand_counts() -> xr.Dataset:
    """Three blocks: 1 of 1, 0 of 4 and 3 of 4 masked tokens right; losses 1, 8, 4 nats."""
    return xr.Dataset(
        {
            "correct": (("depth", "block"), [[1.0, 0.0, 3.0]]),
            "loss_sum": (("depth", "block"), [[1.0, 8.0, 4.0]]),
            "n_masked": (("block",), [1, 4, 4]),
        },
        coords={"depth": [1], "block": [0, 1, 2]},
    )


def test_block_mean_accuracy_is_the_authors_and_differs_from_pooled():
    m = mlm_metrics(hand_counts(), n_resamples=200)
    # acc_metrics: per block correct / masked, then the mean: (1 + 0 + 0.75) / 3
    assert float(m.accuracy.sel(depth=1)) == pytest.approx((1.0 + 0.0 + 0.75) / 3)
    assert float(m.accuracy_pooled.sel(depth=1)) == pytest.approx(4 / 9)
    assert float(m.perplexity.sel(depth=1)) == pytest.approx(np.exp(13 / 9))
    assert m.attrs["n_masked"] == 9 and m.attrs["n_blocks"] == 3


def test_blocks_without_masks_are_left_out_and_interval_is_scipys():
    rng = np.random.default_rng(0)
    n = rng.integers(0, 20, 30)
    n[3] = 0
    correct = rng.binomial(n, 0.4).astype(float)
    ds = xr.Dataset(
        {
            "correct": (("depth", "block"), correct[None]),
            "loss_sum": (("depth", "block"), n[None] * 2.0),
            "n_masked": (("block",), n),
        },
        coords={"depth": [2], "block": np.arange(30)},
    )
    m = mlm_metrics(ds, n_resamples=500, seed=3)
    acc = correct[n > 0] / n[n > 0]
    assert float(m.accuracy.sel(depth=2)) == pytest.approx(acc.mean())
    want = stats.bootstrap(
        (acc,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(3), vectorized=True
    ).confidence_interval
    assert float(m.accuracy_low.sel(depth=2)) == pytest.approx(want.low)
    assert float(m.accuracy_high.sel(depth=2)) == pytest.approx(want.high)
    with pytest.raises(ChaoslibError, match="block"):
        mlm_metrics(ds.isel(block=[0]))


def test_pretrained_vs_random_is_paired_over_blocks():
    rng = np.random.default_rng(1)
    n = np.full(40, 10)
    pre = rng.binomial(10, 0.5, (3, 40)).astype(float)  # depths 1, 2, 3
    rnd = rng.binomial(10, 0.2, (2, 3, 40)).astype(float)  # two seeds
    correct = np.stack([pre, *rnd])[:, None]  # (encoder, mode, depth, block)
    ds = xr.Dataset(
        {"correct": (("encoder", "mode", "depth", "block"), correct), "n_masked": (("block",), n)},
        coords={
            "encoder": ["p", "r0", "r1"],
            "mode": ["trained"],
            "depth": [1, 2, 3],
            "block": np.arange(40),
            "weights": ("encoder", ["pretrained", "random", "random"]),
        },
    )
    cmp = pretrained_vs_random(ds, n_resamples=300, seed=2)
    a, b = pre[1] / 10, rnd[:, 1].mean(0) / 10
    assert float(cmp.difference.sel(depth=2)) == pytest.approx(a.mean() - b.mean())
    want = stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: x.mean(axis) - y.mean(axis),
        paired=True,
        n_resamples=300,
        method="percentile",
        rng=np.random.default_rng(2),
        vectorized=True,
    ).confidence_interval
    assert float(cmp.low.sel(depth=2)) == pytest.approx(want.low)
    assert float(cmp.random_min.sel(depth=2)) == pytest.approx(min(rnd[0, 1].mean(), rnd[1, 1].mean()) / 10)
