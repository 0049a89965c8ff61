"""MLM accuracies from per-block counts: the authors' per-block mean vs the pooled accuracy, by hand;
intervals against scipy's bootstrap directly; the reference-vs-random comparison resamples random encoders and
blocks (chaoslib.stats.two_level_contrast), or blocks alone with one random encoder."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from chaoslib.errors import ChaoslibError
from chaoslib.stats import two_level_contrast
from chaoslib.tasks.mlm_results import mlm_metrics, reference_vs_comparisons, roles


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


def _two_seeds(weights=("pretrained", "random", "random")) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
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
            "weights": ("encoder", list(weights)),
        },
    )
    return ds, pre, rnd


def test_the_interval_includes_the_spread_between_random_encoders():
    ds, pre, rnd = _two_seeds()
    cmp = reference_vs_comparisons(ds, n_resamples=300, seed=2)
    a, b = pre[1] / 10, rnd[:, 1] / 10  # (blocks,), (encoders, blocks)
    assert float(cmp.difference.sel(depth=2)) == pytest.approx(a.mean() - b.mean())
    want = two_level_contrast(a, b, np.mean, "difference", 0.95, 300, 2)
    assert (float(cmp.low.sel(depth=2)), float(cmp.high.sel(depth=2))) == pytest.approx(want)
    assert float(cmp.random_min.sel(depth=2)) == pytest.approx(min(rnd[0, 1].mean(), rnd[1, 1].mean()) / 10)
    assert cmp.attrs["interval"] == "random encoders, then test blocks" and cmp.attrs["n_random"] == 2
    # one value per encoder for the test over networks: its accuracy averaged over depths
    np.testing.assert_allclose(cmp.summary.values, [pre.mean() / 10, rnd[0].mean() / 10, rnd[1].mean() / 10])


def test_one_random_encoder_is_paired_over_blocks():
    ds, pre, rnd = _two_seeds()
    cmp = reference_vs_comparisons(ds.isel(encoder=[0, 1]), n_resamples=300, seed=2)
    a, b = pre[1] / 10, rnd[0, 1] / 10
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
    assert cmp.attrs["interval"] == "test blocks (one random encoder)"


def test_the_reference_is_read_by_its_role_not_its_weights():
    ds, pre, rnd = _two_seeds(weights=("random", "random", "random"))  # a random network under test
    assert roles(ds) == ["reference", "comparison", "comparison"]
    cmp = reference_vs_comparisons(ds, n_resamples=100)
    assert float(cmp.reference.sel(depth=1)) == pytest.approx(pre[0].mean() / 10)
    moved = ds.assign_coords(role=("encoder", ["comparison", "reference", "comparison"]))
    assert float(reference_vs_comparisons(moved, n_resamples=100).reference.sel(depth=1)) == pytest.approx(
        rnd[0, 0].mean() / 10)
    with pytest.raises(ChaoslibError, match="reference"):
        reference_vs_comparisons(ds.assign_coords(role=("encoder", ["comparison"] * 3)))
