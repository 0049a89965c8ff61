"""GLUE's official metrics and their bootstrap intervals over the dev rows.

- ``glue_metrics(task, predictions, labels)`` gives the task's official metrics (``scipy.stats``
  and ``sklearn.metrics``, as the GLUE evaluation of ``transformers`` the authors ran): STS-B
  Pearson, Spearman and their mean; MRPC/QQP F1 and accuracy; CoLA Matthews correlation;
  accuracy otherwise. ``PRIMARY_METRIC[task]`` names the one number a figure shows.
- ``score_interval(task, predictions, labels)``: percentile bootstrap intervals of that number
  for many predictors (e.g. one head per depth) on the same resampled dev rows.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn import metrics

from chaoslib.errors import ChaoslibError
from chaoslib.tasks.glue import get_task

PRIMARY_METRIC = {
    "cola": "matthews",
    "sst2": "accuracy",
    "mrpc": "f1",
    "qqp": "f1",
    "stsb": "pearson_spearman_mean",
    "mnli": "accuracy",
    "qnli": "accuracy",
    "rte": "accuracy",
    "wnli": "accuracy",
}


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (n,) arrays (``scipy.stats.pearsonr``); NaN when one is constant."""
    with warnings.catch_warnings():
        # a constant prediction (a dead head) has no correlation: NaN, as in the authors' metric
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.pearsonr(np.asarray(x, np.float64), np.asarray(y, np.float64)).statistic)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two (n,) arrays (``scipy.stats.spearmanr``: ties share a mean rank)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.spearmanr(np.asarray(x, np.float64), np.asarray(y, np.float64)).statistic)


def f1_binary(pred: np.ndarray, true: np.ndarray) -> float:
    """F1 of the positive class 1 (``sklearn.metrics.f1_score``; 0 when undefined)."""
    return float(metrics.f1_score(true, pred, zero_division=0.0))


def matthews(pred: np.ndarray, true: np.ndarray) -> float:
    """Matthews correlation of binary predictions (``sklearn.metrics.matthews_corrcoef``; 0 when a
    marginal is empty)."""
    return float(metrics.matthews_corrcoef(true, pred))


def predicted_classes(predictions: np.ndarray) -> np.ndarray:
    """(n, classes) scores -> (n,) argmax; (n,) integer classes pass through."""
    predictions = np.asarray(predictions)
    return predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions.astype(np.int64)


def glue_metrics(task: str, predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The official metrics of ``task``.

    predictions: STS-B (n,) or (n, 1) scores; other tasks (n, classes) logits or (n,) classes.
    labels: (n,) gold scores / classes.
    Returns STS-B ``pearson``, ``spearman``, ``pearson_spearman_mean``; MRPC/QQP ``f1``,
    ``accuracy``, ``f1_accuracy_mean``; CoLA ``matthews``; the rest ``accuracy``.
    """
    spec = get_task(task)
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if spec.is_regression:
        predictions = predictions.reshape(len(predictions), -1)
        if predictions.shape[1] != 1:
            raise ChaoslibError(f"STS-B predictions must be (n,) or (n, 1) scores, got {predictions.shape}.")
        predictions = predictions[:, 0]
    if len(predictions) != len(labels):
        raise ChaoslibError(f"{len(predictions)} predictions for {len(labels)} labels; give one per row.")
    if spec.is_regression:
        r, rho = pearson(predictions, labels), spearman(predictions, labels)
        return {"pearson": r, "spearman": rho, "pearson_spearman_mean": (r + rho) / 2}
    classes = predicted_classes(predictions)
    accuracy = float(np.mean(classes == labels))
    if spec.name in ("mrpc", "qqp"):
        f1 = f1_binary(classes, labels)
        return {"f1": f1, "accuracy": accuracy, "f1_accuracy_mean": (f1 + accuracy) / 2}
    if spec.name == "cola":
        return {"matthews": matthews(classes, labels)}
    return {"accuracy": accuracy}


def primary_score(task: str, predictions: np.ndarray, labels: np.ndarray) -> float:
    """The one number a figure shows (``PRIMARY_METRIC[task]``) of :func:`glue_metrics`."""
    name = get_task(task).name
    return glue_metrics(name, predictions, labels)[PRIMARY_METRIC[name]]


def _stsb_score(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean of Pearson and Spearman along the last axis: (..., n), (..., n) -> (...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        r = stats.pearsonr(predictions, labels, axis=-1).statistic
        ranks_p, ranks_l = stats.rankdata(predictions, axis=-1), stats.rankdata(labels, axis=-1)
        rho = stats.pearsonr(ranks_p, ranks_l, axis=-1).statistic
    return (r + rho) / 2


def score_interval(
    task: str,
    predictions: np.ndarray,
    labels: np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the primary score over the dev rows, for k predictors at once.

    The dev rows are resampled with replacement (``scipy.stats.bootstrap``); every predictor (e.g.
    the head of every depth) is scored on the SAME resampled rows, so the intervals of
    neighbouring depths are comparable.

    Args:
        task: the GLUE task.
        predictions: (k, n) scores (STS-B) or (k, n, classes) logits / (k, n) classes.
        labels: (n,) gold labels.
        confidence, n_resamples, seed: the bootstrap's level, resamples and seed.

    Returns:
        ``(low, high)``, each (k,); NaN where the score is undefined (a constant predictor).
    """
    name = get_task(task).name
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    n = len(labels)
    if predictions.ndim < 2 or predictions.shape[1] != n:
        raise ChaoslibError(
            f"predictions has shape {predictions.shape}; expected (k, {n}) or (k, {n}, classes), "
            f"one row per dev label."
        )
    if n < 2:
        raise ChaoslibError(f"{n} dev rows: a bootstrap needs at least 2.")
    if name == "stsb":
        scores = predictions.reshape(len(predictions), n, -1)[..., 0].astype(np.float64)

        def statistic(rows, axis=-1):  # rows: (batch, n) resampled row indices, vectorised
            rows = rows.astype(np.int64)
            return _stsb_score(scores[:, rows], labels[rows].astype(np.float64))  # (k, batch)

        vectorized = True
    else:

        def statistic(rows):  # one resample: (n,) row indices -> (k,) scores
            rows = rows.astype(np.int64)
            return np.array([primary_score(name, p[rows], labels[rows]) for p in predictions])

        vectorized = False
    # the paired resampling of (predictions, labels) is the resampling of the row indices
    res = stats.bootstrap(
        (np.arange(n),),
        statistic,
        vectorized=vectorized,
        confidence_level=confidence,
        n_resamples=n_resamples,
        batch=100,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)
