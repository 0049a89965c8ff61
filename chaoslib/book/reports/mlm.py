"""Numbers and verdict of the MLM-by-depth chapter (R8).

From the per-block counts of :func:`chaoslib.tasks.mlm_sweep.mlm_by_depth` and the majority-token baseline
(:func:`chaoslib.tasks.mlm_sweep.majority_baseline`): :func:`mlm_summary` (accuracies with bootstrap
intervals over test blocks, perplexity, the baseline, for every (encoder, mode, depth)), :func:`comparisons`
(pretrained minus random, paired over blocks, per mode), the numbers the prose quotes
(:func:`chapter_numbers`), the table of accuracies shown on the page (:func:`accuracy_table`) and the R8
record (:func:`target_r8`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from chaoslib.book.reports.verdicts import VERDICTS, target_record
from chaoslib.errors import ChaoslibError
from chaoslib.tasks.mlm_results import mlm_metrics, pretrained_vs_random

__all__ = ["r8_verdict", "mlm_summary", "comparisons", "chapter_numbers", "accuracy_table", "target_r8"]


def r8_verdict(comparison: xr.Dataset, metrics: xr.DataArray, min_share: float = 0.9) -> tuple[str, bool]:
    """R8's measured text and verdict, by a rule fixed before looking at the results.

    holds: the paired interval of pretrained - random lies above 0 at >= ``min_share`` of the
    depths. ``metrics``: the pretrained encoder's ``accuracy`` over depth (for the peak depth).
    """
    above = comparison.low > 0
    share = float(above.mean())
    best = int(metrics.idxmax("depth"))
    diff = comparison.difference
    text = (
        f"{comparison.attrs['mode']} heads: pretrained above the mean of {comparison.attrs['n_random']} "
        f"random "
        f"encoders (paired {comparison.attrs['confidence']:.0%} interval above 0) at {int(above.sum())} of "
        f"{above.sizes['depth']} depths; difference {float(diff.min()):.3f} to {float(diff.max()):.3f}; "
        f"pretrained accuracy peaks at depth {best} ({float(metrics.max()):.3f})"
    )
    return text, share >= min_share


def mlm_summary(
    counts: xr.Dataset, baseline: xr.Dataset, trained_depth: int | None = None, **kw
) -> xr.Dataset:
    """The chapter's summary: :func:`mlm_metrics` of every (encoder, mode, depth), the ``weights``
    coordinate, and the majority-token baseline (``majority_accuracy`` with ``majority_low`` /
    ``majority_high``, ``unigram_perplexity``) on the same blocks. ``trained_depth``: the depth the
    pretrained network was trained at (drawn in the figures)."""
    metrics = mlm_metrics(counts, **kw).assign_coords(weights=counts.weights)
    base = mlm_metrics(baseline, **kw)
    metrics["majority_accuracy"] = base.accuracy
    metrics["majority_low"], metrics["majority_high"] = base.accuracy_low, base.accuracy_high
    metrics["unigram_perplexity"] = base.perplexity
    metrics.attrs.update(trained_depth=trained_depth, majority_token=int(baseline.attrs["token"]))
    return metrics


def comparisons(counts: xr.Dataset, trained_depth: int | None = None, **kw) -> xr.Dataset:
    """:func:`pretrained_vs_random` for every mode that both kinds of encoder ran: dims (mode, depth)."""
    weights = list(counts.weights.values)
    ran = lambda w, m: any(  # noqa: E731
        not bool(counts.correct.sel(mode=m).isel(encoder=i).isnull().all())
        for i, x in enumerate(weights)
        if x == w
    )
    modes = [str(m) for m in counts.mode.values if ran("pretrained", m) and ran("random", m)]
    if not modes:
        raise ChaoslibError("no mode was run for both a pretrained and a random encoder.")
    out = xr.concat([pretrained_vs_random(counts, m, **kw) for m in modes], dim="mode", combine_attrs="drop")
    out = out.assign_coords(mode=modes)
    out.attrs.update(trained_depth=trained_depth, n_random=weights.count("random"))
    return out


def _fmt(value: float, low: float | None = None, high: float | None = None) -> str:
    if not np.isfinite(value):
        return "not run"
    return f"{value:.3f}" + ("" if low is None else f" [{low:.3f}, {high:.3f}]")


def chapter_numbers(summary: xr.Dataset, cmp: xr.Dataset, counts: xr.Dataset) -> dict[str, str | float]:
    """The numbers the chapter's prose quotes, as formatted text (``"not run"`` for a mode that was
    not run, so that every profile has every key), plus the R8 measured text and verdict.

    Keys: ``mlm_pre_<mode>_at_trained`` (pretrained accuracy at its pretraining depth, with its
    interval), ``mlm_pre_<mode>_best`` (best accuracy and its depth), ``mlm_rnd_<mode>_best`` (the
    random seeds' mean, best over depths, with the seeds' range), ``mlm_majority``, ``mlm_pooled_gap``
    (largest |block mean - pooled| accuracy), ``mlm_trained_depth``, ``mlm_depths``, ``mlm_n_random``,
    ``mlm_n_masked``, ``mlm_n_blocks``, ``mlm_fit_seconds``, ``mlm_r8_measured``, ``mlm_r8_holds``.
    """
    from chaoslib.tasks.mlm_networks import MODES

    td = summary.attrs.get("trained_depth")
    pre = [i for i, w in enumerate(summary.weights.values) if w == "pretrained"]
    rnd = [i for i, w in enumerate(summary.weights.values) if w == "random"]
    out: dict[str, str | float] = {}
    for mode in MODES:
        ran = mode in summary.mode.values
        acc = summary.accuracy.sel(mode=mode) if ran else None
        p = acc.isel(encoder=pre[0]) if ran and pre else None
        if p is not None and not bool(p.isnull().all()):
            at = dict(mode=mode, depth=td) if td in summary.depth.values else None
            a = summary.isel(encoder=pre[0]).sel(at) if at else None
            out[f"mlm_pre_{mode}_at_trained"] = (
                _fmt(*(float(a[k]) for k in ("accuracy", "accuracy_low", "accuracy_high")))
                if a is not None
                else "not run"
            )
            out[f"mlm_pre_{mode}_best"] = f"{float(p.max()):.3f} (depth {int(p.idxmax('depth'))})"
        else:
            out[f"mlm_pre_{mode}_at_trained"] = out[f"mlm_pre_{mode}_best"] = "not run"
        r = acc.isel(encoder=rnd).dropna("encoder", how="all") if ran and rnd else None
        if r is not None and r.sizes["encoder"]:
            mean = r.mean("encoder")
            d = int(mean.idxmax("depth"))
            out[f"mlm_rnd_{mode}_best"] = (
                f"{float(mean.max()):.3f} (depth {d}; seeds {float(r.sel(depth=d).min()):.3f} to "
                f"{float(r.sel(depth=d).max()):.3f})"
            )
        else:
            out[f"mlm_rnd_{mode}_best"] = "not run"
    gap = float(np.nanmax(np.abs(summary.accuracy - summary.accuracy_pooled)))
    first = "trained" if "trained" in cmp.mode.values else str(cmp.mode.values[0])
    measured, holds = r8_verdict(
        cmp.sel(mode=first).assign_attrs(
            mode=first, confidence=summary.attrs["confidence"], n_random=len(rnd)
        ),
        summary.accuracy.sel(mode=first).isel(encoder=pre[0]),
    )
    out.update(
        mlm_majority=_fmt(
            float(summary.majority_accuracy), float(summary.majority_low), float(summary.majority_high)
        ),
        mlm_pooled_gap=f"{gap:.3f}",
        mlm_trained_depth=str(td),
        mlm_depths=", ".join(str(int(d)) for d in summary.depth.values),
        mlm_n_random=str(len(rnd)),
        mlm_n_masked=str(summary.attrs["n_masked"]),
        mlm_n_blocks=str(summary.attrs["n_blocks"]),
        mlm_fit_seconds=f"{float(np.nansum(counts.fit_seconds)):.0f}",
        mlm_r8_measured=measured,
        mlm_r8_holds=VERDICTS[bool(holds)],
    )
    return out


def accuracy_table(summary: xr.Dataset):
    """The accuracies shown on the page: a ``pandas.DataFrame`` of :func:`mlm_summary`'s ``accuracy`` (the
    authors' per-block mean), one row per (encoder, mode), one column per depth, rounded to 3 digits."""
    frame = summary[["accuracy", "accuracy_pooled", "perplexity"]].to_dataframe()
    return frame.unstack("depth")["accuracy"].round(3)


def target_r8(numbers: dict, networks: Sequence) -> dict:
    """R8 (MLM accuracy against depth: shape, pretrained above random), the record for ``Chapter.verdict``
    (:func:`chaoslib.book.reports.verdicts.target_record`): the measured text and verdict of
    :func:`chapter_numbers`, with the networks (``Network``, as loaded) it was measured on."""
    return target_record(
        "R8",
        "MLM accuracy vs depth: shape, pretrained above random",
        f"{numbers['mlm_r8_measured']} ({', '.join(i.label() for i in networks)})",
        numbers["mlm_r8_holds"] == "holds",
        note="holds = the paired 95% interval (bootstrap over test blocks) of pretrained minus the mean of "
        "the random encoders lies above 0 at >= 90% of the depths (model's head, trained)",
    )
