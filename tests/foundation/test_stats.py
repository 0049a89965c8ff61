"""chaoslib.stats against independent computations: a hand-rolled percentile bootstrap, normal theory."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_band, bootstrap_interval, difference_interval, ratio_interval


def _hand_percentile(samples, stat, n_resamples=10000, seed=123, confidence=0.95, paired=False):
    """Percentile bootstrap written out: resample each sample's indices, take the quantiles.

    ``stat(*resamples)`` gets arrays (n_resamples, n_i) and reduces along axis 1.
    """
    rng = np.random.default_rng(seed)
    if paired:
        idx = rng.integers(0, len(samples[0]), (n_resamples, len(samples[0])))
        resamples = [s[idx] for s in samples]
    else:
        resamples = [s[rng.integers(0, len(s), (n_resamples, len(s)))] for s in samples]
    alpha = (1 - confidence) / 2
    return np.quantile(stat(*resamples), [alpha, 1 - alpha])


def test_median_interval_matches_hand_rolled_percentile_bootstrap():
    x = np.random.default_rng(0).exponential(50.0, size=80)
    low, high = bootstrap_interval(x, np.median, n_resamples=10000, seed=1)
    ref = _hand_percentile([x], lambda r: np.median(r, axis=1))
    # two independent Monte-Carlo estimates of the same quantiles: agree to a few % of the width
    width = ref[1] - ref[0]
    assert abs(low - ref[0]) < 0.08 * width and abs(high - ref[1]) < 0.08 * width
    assert low < np.median(x) < high


def test_mean_interval_matches_normal_theory():
    # percentile bootstrap of a mean ~ mean +- z * s / sqrt(n) (s with 1/n) for a large normal sample
    x = np.random.default_rng(2).normal(3.0, 2.0, size=500)
    low, high = bootstrap_interval(x, np.mean, n_resamples=10000, seed=0)
    half = sps.norm.ppf(0.975) * x.std() / np.sqrt(x.size)
    assert low == pytest.approx(x.mean() - half, abs=0.06 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.06 * half)


def test_median_interval_covers_true_median_about_95_percent():
    rng = np.random.default_rng(5)
    true_median = np.log(2.0)  # exponential(1)
    hits = 0
    trials = 100
    for i in range(trials):
        low, high = bootstrap_interval(rng.exponential(1.0, 60), np.median, n_resamples=500, seed=i)
        hits += low <= true_median <= high
    # binomial(100, ~0.95): 0.86 is 4 standard deviations below; a broken interval falls far outside
    assert 0.86 <= hits / trials <= 0.995


def test_seeded_and_confidence_monotone():
    x = np.random.default_rng(3).normal(size=50)
    assert bootstrap_interval(x, seed=7) == bootstrap_interval(x, seed=7)
    lo90, hi90 = bootstrap_interval(x, np.mean, confidence=0.90)
    lo99, hi99 = bootstrap_interval(x, np.mean, confidence=0.99)
    assert lo99 < lo90 < hi90 < hi99


def test_ratio_interval_matches_hand_rolled():
    rng = np.random.default_rng(4)
    a, b = rng.exponential(400.0, 60), rng.exponential(100.0, 120)
    low, high = ratio_interval(a, b, np.median, n_resamples=10000, seed=2)
    ref = _hand_percentile([a, b], lambda x, y: np.median(x, axis=1) / np.median(y, axis=1))
    width = ref[1] - ref[0]
    assert abs(low - ref[0]) < 0.08 * width and abs(high - ref[1]) < 0.08 * width
    assert low < np.median(a) / np.median(b) < high


def test_paired_difference_matches_hand_rolled_and_is_narrower_than_unpaired():
    rng = np.random.default_rng(6)
    base = rng.normal(10.0, 3.0, 100)
    a, b = base + 1.0 + rng.normal(0, 0.2, 100), base
    low, high = difference_interval(a, b, np.mean, paired=True, n_resamples=10000)
    ref = _hand_percentile([a, b], lambda x, y: np.mean(x - y, axis=1), paired=True)
    width = ref[1] - ref[0]
    assert abs(low - ref[0]) < 0.08 * width and abs(high - ref[1]) < 0.08 * width
    ulow, uhigh = difference_interval(a, b, np.mean, paired=False)
    assert (uhigh - ulow) > 5 * (high - low)  # the shared inputs cancel only when paired


def test_degenerate_sample_gives_a_point():
    assert bootstrap_interval(np.full(10, 500.0)) == (500.0, 500.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(values=[1.0]),
        dict(values=[1.0, np.nan]),
        dict(values=[1, 2, 3], confidence=1.5),
        dict(values=[1, 2, 3], n_resamples=10),
        dict(values=[1, 2, 3], method="bca"),
    ],
)
def test_bad_input_names_the_parameter(kwargs):
    with pytest.raises(ChaoslibError):
        bootstrap_interval(**kwargs)


def test_paired_needs_equal_lengths_and_ratio_needs_nonnegative():
    with pytest.raises(ChaoslibError, match="paired"):
        ratio_interval([1, 2, 3], [1, 2], paired=True)
    with pytest.raises(ChaoslibError, match="non-negative"):
        ratio_interval([1, 2, 3], [-1, 2])


def test_band_is_the_interval_of_each_column_and_skips_non_finite():
    rng = np.random.default_rng(8)
    values = rng.normal(size=(30, 4))
    values[3, 1] = -np.inf
    values[:29, 3] = np.nan  # one finite value left: no interval
    low, high = bootstrap_band(values, np.mean, seed=4)
    for j in range(3):
        column = values[:, j][np.isfinite(values[:, j])]
        assert (low[j], high[j]) == bootstrap_interval(column, np.mean, seed=4)
    assert np.isnan(low[3]) and np.isnan(high[3])
    # the -inf was dropped, not averaged in
    assert np.isfinite(low[1]) and low[1] < np.mean(values[np.arange(30) != 3, 1]) < high[1]


def test_ratio_with_zero_denominator_is_infinite_not_an_error():
    # random networks whose transient is 0 steps long: the ratio of medians is unbounded
    low, high = ratio_interval([10, 20, 30, 500, 500], np.zeros(50))
    assert low == high == np.inf


# --- exact permutation tests over networks ------------------------------------------------------------------


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_the_trend_test_agrees_with_scipys_exact_permutation_test(alternative):
    from scipy.stats import permutation_test as scipy_permutation_test

    from chaoslib.stats import trend_test

    rng = np.random.default_rng(3)
    levels = np.array([1, 1, 2, 2, 3, 3, 4])  # log2 L with seeds: ties, as in the trained-depth series
    values = levels * 0.3 + rng.normal(size=levels.size)
    ours = trend_test(values, levels, alternative)
    reference = scipy_permutation_test(
        (values,), lambda v: np.corrcoef(v, levels)[0, 1], permutation_type="pairings", n_resamples=np.inf,
        alternative=alternative)
    assert ours.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert ours.n_arrangements == 5040 // 8


def test_one_reference_against_k_networks_cannot_go_below_one_over_k_plus_one():
    from scipy.stats import permutation_test as scipy_permutation_test

    from chaoslib.stats import permutation_test

    values = np.array([9.0, 1.0, 2.0, 3.0, 1.5, 2.5])  # the reference (label 1) above all five others
    labels = np.array([1, 0, 0, 0, 0, 0])

    def mean_difference(v, arrangements):
        ref = arrangements == 1
        return (v * ref).sum(1) / ref.sum(1) - (v * ~ref).sum(1) / (~ref).sum(1)

    ours = permutation_test(values, labels, mean_difference, "greater")
    assert ours.p_value == pytest.approx(1 / 6) and ours.smallest_p == pytest.approx(1 / 6)
    reference = scipy_permutation_test((labels,), lambda lab: mean_difference(values, lab[None, :])[0],
                                       permutation_type="pairings", n_resamples=np.inf, alternative="greater")
    assert ours.p_value == pytest.approx(reference.pvalue)


def test_the_two_level_bootstrap_carries_the_spread_between_networks():
    """Networks whose levels differ: the pooled-input bootstrap of the mean is narrow, the two-level one is as wide
    as the spread of the network means predicts (sd of the mean of K network means, by hand)."""
    from chaoslib.stats import two_level_bootstrap

    rng = np.random.default_rng(0)
    levels = rng.normal(0, 1, size=10)  # ten networks, between-network sd 1
    values = levels[:, None] + rng.normal(0, 0.1, size=(10, 24))  # 24 inputs each, within-network sd 0.1
    low, high = two_level_bootstrap(values, np.mean, n_resamples=4000)
    pooled_low, pooled_high = bootstrap_interval(values.ravel(), np.mean, n_resamples=4000)
    expected_half_width = 1.96 * levels.std(ddof=0) / np.sqrt(10)
    assert (high - low) / 2 == pytest.approx(expected_half_width, rel=0.2)
    assert (pooled_high - pooled_low) < 0.5 * (high - low)
    assert low < values.mean() < high


def test_the_two_level_contrast_is_paired_by_input_and_carries_the_networks_spread():
    from chaoslib.stats import two_level_contrast

    rng = np.random.default_rng(0)
    inputs = rng.normal(size=30)  # each input's own level, shared by every network (pairing)
    reference = 10 + inputs
    # comparison networks differ by a network offset: their spread must widen the interval
    close = np.stack([5 + inputs + o for o in (0.0, 0.1, -0.1, 0.05)])
    spread = np.stack([5 + inputs + o for o in (0.0, 3.0, -3.0, 1.5)])
    low_c, high_c = two_level_contrast(reference, close, np.mean, "difference")
    low_s, high_s = two_level_contrast(reference, spread, np.mean, "difference")
    assert low_c < 5 < high_c and high_c - low_c < 0.2  # paired: the inputs' own levels cancel
    assert high_s - low_s > 5 * (high_c - low_c)
    # a ratio whose comparison statistic is 0 is infinite, never a finite number
    low, high = two_level_contrast(np.full(5, 4.0), np.zeros((3, 5)), np.median, "ratio")
    assert low == high == np.inf
