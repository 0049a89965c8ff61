"""Bootstrap confidence intervals for the book's comparisons (thin wrappers of ``scipy.stats.bootstrap``).

Every comparison in the book shows its uncertainty; these helpers give the intervals one meaning
everywhere: a seeded percentile bootstrap (``method="percentile"`` by default, because the book's
statistics are mostly medians of censored or tied values, where BCa's jackknife acceleration is
undefined). ``scipy.stats.bootstrap`` does the resampling; nothing here re-implements it.

    >>> low, high = bootstrap_interval(chaos_lengths, np.median)            # one sample
    >>> low, high = ratio_interval(pretrained, random, np.median)           # median(a) / median(b)
    >>> low, high = difference_interval(a, b, np.mean, paired=True)         # mean(a - b), same inputs

Foundation level: imports numpy and scipy only.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import stats as _stats

from chaoslib.errors import ChaoslibError

Statistic = Callable[..., np.ndarray]
_METHODS = ("percentile", "basic", "BCa")


def _as_sample(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size < 2:
        raise ChaoslibError(f"{name}: a bootstrap needs at least 2 values, got {arr.size}; pass more samples")
    if not np.all(np.isfinite(arr)):
        raise ChaoslibError(f"{name}: contains NaN or inf; drop or censor those values before the bootstrap")
    return arr


def _check(confidence: float, n_resamples: int, method: str) -> None:
    if not 0.0 < confidence < 1.0:
        raise ChaoslibError(f"confidence={confidence}: must lie strictly between 0 and 1 (e.g. 0.95)")
    if n_resamples < 100:
        raise ChaoslibError(f"n_resamples={n_resamples}: use at least 100 (the default is 2000)")
    if method not in _METHODS:
        raise ChaoslibError(f"method={method!r}: choose one of {_METHODS}")


def _interval(res) -> tuple[float, float]:
    ci = res.confidence_interval
    return float(ci.low), float(ci.high)


def bootstrap_interval(
    values,
    statistic: Statistic = np.median,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    method: str = "percentile",
) -> tuple[float, float]:
    """Bootstrap confidence interval of ``statistic(values)``.

    Args:
        values: ``(n,)`` sample (flattened); at least 2 finite values.
        statistic: a numpy reduction taking ``axis`` (``np.median``, ``np.mean``, ...).
        confidence: two-sided confidence level.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling (the interval is reproducible).
        method: ``"percentile"`` (default), ``"basic"`` or ``"BCa"``.

    Returns:
        ``(low, high)``. A sample whose values are all equal gives ``(v, v)``.
    """
    _check(confidence, n_resamples, method)
    arr = _as_sample(values, "values")
    if np.all(arr == arr[0]):  # scipy warns and returns NaN for a degenerate sample; the interval is a point
        v = float(statistic(arr))
        return v, v
    return _bootstrap((arr,), statistic, confidence, n_resamples, seed, method)


def _bootstrap(samples: tuple, statistic: Callable, confidence: float, n_resamples: int, seed: int,
               method: str, paired: bool = False) -> tuple[float, float]:
    """scipy's vectorised bootstrap with the seeded generator: the (low, high) interval."""
    res = _stats.bootstrap(samples, statistic, confidence_level=confidence, n_resamples=n_resamples,
                           method=method, paired=paired, rng=np.random.default_rng(seed), vectorized=True)
    return _interval(res)


def _two_sample(
    a,
    b,
    combine: Callable[[np.ndarray, np.ndarray], np.ndarray],
    statistic: Statistic,
    confidence: float,
    n_resamples: int,
    seed: int,
    method: str,
    paired: bool,
) -> tuple[float, float]:
    _check(confidence, n_resamples, method)
    x, y = _as_sample(a, "a"), _as_sample(b, "b")
    if paired and x.size != y.size:
        raise ChaoslibError(f"paired=True needs samples of equal length, got {x.size} and {y.size}")

    def stat(xs, ys, axis=-1):
        return combine(statistic(xs, axis=axis), statistic(ys, axis=axis))

    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        # a ratio with a zero denominator is inf in some resamples: scipy's standard error (which the
        # percentile interval does not use) warns about it
        warnings.simplefilter("ignore", RuntimeWarning)
        return _bootstrap((x, y), stat, confidence, n_resamples, seed, method, paired)


def ratio_interval(a, b, statistic: Statistic = np.median, confidence: float = 0.95, n_resamples: int = 2000,
                   seed: int = 0, method: str = "percentile", paired: bool = False) -> tuple[float, float]:
    """Bootstrap interval of ``statistic(a) / statistic(b)`` (e.g. the ratio of median chaos lengths).

    Args:
        a, b: ``(n_a,)`` and ``(n_b,)`` samples, resampled independently (``paired=False``) or
            together by index (``paired=True``, equal lengths: the same inputs through two networks).
        statistic, confidence, n_resamples, seed, method: as :func:`bootstrap_interval`.

    Returns:
        ``(low, high)``; ``inf`` where resamples of ``b`` have statistic 0 (and NaN if those of ``a``
        are 0 too).
    """
    if np.any(np.asarray(b, dtype=float) < 0) or np.any(np.asarray(a, dtype=float) < 0):
        raise ChaoslibError(
            "ratio_interval: a and b must be non-negative (lengths, dimensions); use difference_interval"
        )

    def ratio(sa, sb):
        # sb == 0: inf where sa > 0, NaN where both are 0 (no ratio)
        return np.where(sb > 0, sa / np.where(sb > 0, sb, 1.0), np.where(sa > 0, np.inf, np.nan))

    return _two_sample(a, b, ratio, statistic, confidence, n_resamples, seed, method, paired)


def difference_interval(a, b, statistic: Statistic = np.mean, confidence: float = 0.95,
                        n_resamples: int = 2000, seed: int = 0, method: str = "percentile",
                        paired: bool = False) -> tuple[float, float]:
    """Bootstrap interval of ``statistic(a) - statistic(b)``; arguments as :func:`ratio_interval`."""
    return _two_sample(a, b, np.subtract, statistic, confidence, n_resamples, seed, method, paired)


def bootstrap_band(
    values,
    statistic: Statistic = np.mean,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    method: str = "percentile",
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bootstrap intervals of ``statistic`` over the rows of ``values``, one per column.

    Args:
        values: ``(n_samples, n_points)``, e.g. local exponents (inputs, windows). Non-finite
            entries (``-inf`` where two copies merged) are left out of their column.
        statistic, confidence, n_resamples, seed, method: as :func:`bootstrap_interval`
            (every column uses the same ``seed``).

    Returns:
        ``(low, high)``, each ``(n_points,)``; NaN where a column has fewer than 2 finite values.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2:
        raise ChaoslibError(f"values has shape {arr.shape}; expected (n_samples, n_points)")
    low, high = np.full(arr.shape[1], np.nan), np.full(arr.shape[1], np.nan)
    for j in range(arr.shape[1]):
        column = arr[:, j][np.isfinite(arr[:, j])]
        if column.size >= 2:
            low[j], high[j] = bootstrap_interval(column, statistic, confidence, n_resamples, seed, method)
    return low, high


# --- exact permutation tests over networks ---------------------------------------------------------------------


def _arrangements(labels: np.ndarray) -> np.ndarray:
    """Every distinct ordering of ``labels`` (a multiset), one per row: (n_arrangements, n)."""
    values, counts = np.unique(labels, return_counts=True)
    out: list[list] = []

    def place(prefix: list, remaining: np.ndarray) -> None:
        if not remaining.any():
            out.append(prefix)
            return
        for i in np.nonzero(remaining)[0]:
            remaining[i] -= 1
            place(prefix + [values[i]], remaining)
            remaining[i] += 1

    place([], counts.copy())
    return np.asarray(out)


@dataclasses.dataclass(frozen=True)
class PermutationTest:
    """An exact permutation test whose unit is the network (one value per network).

    statistic: the observed statistic; p_value: the fraction of the equally likely arrangements of the labels
    over the networks whose statistic is at least as extreme; n_arrangements: how many distinct arrangements
    there are; smallest_p: the smallest p any arrangement of these labels can give (1 / (K + 1) for one
    reference network against K others), below which no threshold is testable with these networks.
    """

    statistic: float
    p_value: float
    n_arrangements: int
    smallest_p: float
    alternative: str
    n_networks: int


MAX_ARRANGEMENTS = 2_000_000


def permutation_test(values, labels, statistic: Callable[[np.ndarray, np.ndarray], np.ndarray],
                     alternative: str = "greater") -> PermutationTest:
    """Exact permutation test of ``statistic(values, labels)`` over every distinct arrangement of ``labels``.

    Under the null hypothesis the labels (a network's L, or "reference" / "comparison") are exchangeable among
    the networks, so each distinct arrangement is equally likely; enumerating distinct arrangements of the
    label multiset gives the same p as ``scipy.stats.permutation_test(..., permutation_type="pairings",
    n_resamples=np.inf)``, which enumerates all n! orderings (n! / prod(count!) times each).

    Args:
        values: (n_networks,) one value per network (e.g. its median chaos length).
        labels: (n_networks,) its group or level (e.g. L, or 1 for the reference and 0 for the others).
        statistic: ``f(values, labels_arrangements) -> (n_arrangements,)`` vectorised over rows of labels.
        alternative: "greater", "less" or "two-sided" (twice the smaller one-sided p, as scipy).
    """
    x = _as_sample(values, "values")
    labels = np.asarray(labels)
    if labels.shape != x.shape:
        raise ChaoslibError(f"labels has shape {labels.shape}, values {x.shape}: give one label per network.")
    if alternative not in ("greater", "less", "two-sided"):
        raise ChaoslibError(f"alternative={alternative!r}; use 'greater', 'less' or 'two-sided'.")
    _, counts = np.unique(labels, return_counts=True)
    n_arrangements = math.factorial(len(labels)) // math.prod(math.factorial(int(c)) for c in counts)
    if n_arrangements > MAX_ARRANGEMENTS:
        raise ChaoslibError(f"{n_arrangements} arrangements of {len(labels)} networks are too many to enumerate; "
                            f"at most {MAX_ARRANGEMENTS}.")
    arrangements = _arrangements(labels)
    stats = np.asarray(statistic(x, arrangements), dtype=float)
    observed = float(np.asarray(statistic(x, labels[None, :]), dtype=float)[0])
    slack = 1e-12 * max(1.0, float(np.max(np.abs(stats))))  # the observed arrangement counts as extreme
    greater = lambda at: float(np.mean(stats >= at - slack))  # noqa: E731
    less = lambda at: float(np.mean(stats <= at + slack))  # noqa: E731
    if alternative == "greater":
        p_value, smallest_p = greater(observed), greater(stats.max())
    elif alternative == "less":
        p_value, smallest_p = less(observed), less(stats.min())
    else:  # as scipy: twice the smaller one-sided p
        p_value = min(1.0, 2 * min(greater(observed), less(observed)))
        smallest_p = min(1.0, 2 * min(greater(stats.max()), less(stats.min())))
    return PermutationTest(observed, p_value, n_arrangements, smallest_p, alternative, len(labels))


def difference_of_means(values: np.ndarray, arrangements: np.ndarray) -> np.ndarray:
    """Permutation statistic: mean of the networks labelled 1 minus mean of those labelled 0, per arrangement.
    values: (n_networks,); arrangements: (n_arrangements, n_networks) of 0/1."""
    ones = arrangements == 1
    mean_one = (ones * values).sum(1) / np.maximum(ones.sum(1), 1)
    mean_zero = (~ones * values).sum(1) / np.maximum((~ones).sum(1), 1)
    return mean_one - mean_zero


def reference_vs_others(reference: float, others, alternative: str = "greater") -> PermutationTest:
    """Exact permutation test over networks of one reference network's value against K others' (one value per
    network, e.g. its median over inputs; statistic: the reference minus the others' mean). With one reference
    against K others the smallest attainable p is 1 / (K + 1)."""
    values = np.concatenate([[float(reference)], np.asarray(others, dtype=float).ravel()])
    labels = np.array([1] + [0] * (values.size - 1))
    return permutation_test(values, labels, difference_of_means, alternative)


def correlation_with_level(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``values`` (n,) with each row of ``levels`` (n_arrangements, n): a trend statistic."""
    v = (values - values.mean()) / (values.std() or 1.0)
    lv = levels.astype(float)
    lv = (lv - lv.mean(1, keepdims=True)) / np.where(lv.std(1, keepdims=True) > 0, lv.std(1, keepdims=True), 1.0)
    return (lv * v).mean(1)


def trend_test(values, levels, alternative: str = "two-sided") -> PermutationTest:
    """Exact permutation test of a monotone trend of ``values`` with ``levels`` (e.g. log2 L), networks as the unit:
    the statistic is their Pearson correlation, compared over every arrangement of the levels."""
    return permutation_test(values, levels, correlation_with_level, alternative)


def two_level_bootstrap(values, statistic: Statistic = np.median, confidence: float = 0.95,
                        n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over networks *and* inputs: each resample draws networks with
    replacement, then inputs with replacement (the same inputs for every drawn network, since all networks see
    the same inputs), and applies ``statistic`` to the pooled values.

    values: (n_networks, n_inputs), e.g. the chaos lengths of K random networks on the same inputs. The
    spread between networks enters the interval, which a bootstrap over pooled inputs leaves out.
    """
    _check(confidence, n_resamples, "percentile")
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ChaoslibError(f"values has shape {arr.shape}; expected (n_networks >= 2, n_inputs >= 2).")
    rng = np.random.default_rng(seed)
    networks = rng.integers(0, arr.shape[0], size=(n_resamples, arr.shape[0]))
    inputs = rng.integers(0, arr.shape[1], size=(n_resamples, arr.shape[1]))
    draws = np.array([statistic(arr[np.ix_(n, i)].ravel()) for n, i in zip(networks, inputs)])
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


CONTRASTS = ("ratio", "difference")


def two_level_contrast(reference, others, statistic: Statistic = np.median, contrast: str = "ratio",
                       confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ``statistic(reference)`` against ``statistic`` of the comparison networks' pooled
    values (their ratio or difference), resampling comparison networks *and* inputs, paired by input.

    Each resample draws inputs with replacement (the same inputs for the reference and for every network: all
    saw the same inputs) and comparison networks with replacement, so the spread between the comparison
    networks enters the interval, which a bootstrap over pooled inputs leaves out.

    Args:
        reference: (n_inputs,) the reference network's values; others: (n_networks >= 2, n_inputs) on the same
            inputs; contrast: ``"ratio"`` (inf where the others' statistic is 0 and the reference's is not; NaN
            where both are 0) or ``"difference"``.
    """
    _check(confidence, n_resamples, "percentile")
    if contrast not in CONTRASTS:
        raise ChaoslibError(f"contrast={contrast!r}; use one of {list(CONTRASTS)}.")
    ref, oth = np.asarray(reference, dtype=float), np.asarray(others, dtype=float)
    if oth.ndim != 2 or oth.shape[0] < 2 or ref.shape != (oth.shape[1],) or ref.size < 2:
        raise ChaoslibError(f"reference {ref.shape} and others {oth.shape}: expected (n_inputs,) and "
                            "(n_networks >= 2, n_inputs) on the same n_inputs >= 2.")
    rng = np.random.default_rng(seed)
    networks = rng.integers(0, oth.shape[0], size=(n_resamples, oth.shape[0]))
    inputs = rng.integers(0, oth.shape[1], size=(n_resamples, oth.shape[1]))
    a = np.array([statistic(ref[i]) for i in inputs])
    b = np.array([statistic(oth[np.ix_(n, i)].ravel()) for n, i in zip(networks, inputs, strict=True)])
    if contrast == "difference":
        draws = a - b
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, np.nan))
    tail = 100 * (1 - confidence) / 2
    # the nearest draws outward (no interpolation, which an infinite ratio would turn into NaN)
    low = np.nanpercentile(draws, tail, method="lower")
    high = np.nanpercentile(draws, 100 - tail, method="higher")
    return float(low), float(high)
