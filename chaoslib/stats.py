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
    res = _stats.bootstrap(
        (arr,),
        statistic,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method=method,
        rng=np.random.default_rng(seed),
        vectorized=True,
    )
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
        res = _stats.bootstrap(
            (x, y),
            stat,
            confidence_level=confidence,
            n_resamples=n_resamples,
            method=method,
            paired=paired,
            rng=np.random.default_rng(seed),
            vectorized=True,
        )
    return _interval(res)


def ratio_interval(
    a,
    b,
    statistic: Statistic = np.median,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    method: str = "percentile",
    paired: bool = False,
) -> tuple[float, float]:
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


def difference_interval(
    a,
    b,
    statistic: Statistic = np.mean,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    method: str = "percentile",
    paired: bool = False,
) -> tuple[float, float]:
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
