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

from chaoslib.book.reports.effective_dimension import reference_above_others
from chaoslib.book.reports.phrasing import MarkdownText, count_of, markdown_table, ranges_from, strip_verdict
from chaoslib.book.reports.verdicts import THRESHOLD, network_rule, target_record
from chaoslib.errors import ChaoslibError
from chaoslib.stats import PermutationTest
from chaoslib.tasks.mlm_results import COMPARISON, REFERENCE, mlm_metrics, reference_vs_comparisons, roles

__all__ = ["r8_numbers", "mlm_summary", "comparisons", "chapter_numbers", "accuracy_frame", "accuracy_table",
           "target_r8", "r8_sentence"]

MIN_SHARE = 0.9
"""R8's reading of "above random": the interval of the difference lies above 0 at this share of the depths."""


def r8_numbers(comparison: xr.Dataset, trained_depth: int | None = None) -> dict:
    """R8's numbers from one mode's :func:`~chaoslib.tasks.mlm_results.reference_vs_comparisons` (keys
    prefixed ``mlm_r8_``): at how many depths the interval of reference minus random lies above 0
    (``n_above`` of ``n_depths``, ``share``), the range of the difference, the reference's peak depth and
    accuracy, the headline difference (at ``trained_depth`` where it was run, else at the reference's peak)
    with its interval, and the exact permutation test over encoders of their accuracy averaged over depths
    (``p``, ``smallest_p``, ``n_networks``)."""
    above = comparison.low > 0
    ref = comparison.reference
    best = int(ref.idxmax("depth"))
    at = trained_depth if trained_depth in comparison.depth.values else best
    role = roles(comparison)
    summary = comparison.summary.values
    order = [role.index(REFERENCE)] + [i for i, r in enumerate(role) if r == COMPARISON]
    test = reference_above_others(summary[order])
    return {
        "mlm_r8_mode": str(comparison.attrs["mode"]),
        "mlm_r8_n_above": int(above.sum()),
        "mlm_r8_n_depths": int(above.sizes["depth"]),
        "mlm_r8_share": float(above.mean()),
        "mlm_r8_diff_min": float(comparison.difference.min()),
        "mlm_r8_diff_max": float(comparison.difference.max()),
        "mlm_r8_peak_depth": best,
        "mlm_r8_peak": float(ref.max()),
        "mlm_r8_at": int(at),
        "mlm_r8_diff_at": float(comparison.difference.sel(depth=at)),
        "mlm_r8_low_at": float(comparison.low.sel(depth=at)),
        "mlm_r8_high_at": float(comparison.high.sel(depth=at)),
        "mlm_r8_n_random": int(comparison.attrs["n_random"]),
        "mlm_r8_interval_over": str(comparison.attrs["interval"]),
        "mlm_r8_confidence": float(comparison.attrs["confidence"]),
        "mlm_r8_p": test.p_value,
        "mlm_r8_smallest_p": test.smallest_p,
        "mlm_r8_n_networks": test.n_networks,
        "mlm_r8_statistic": test.statistic,
        "mlm_r8_above_text": count_of(int(above.sum()), int(above.sizes["depth"]), "depth"),
        "mlm_r8_diff_text": ranges_from(
            float(comparison.difference.min()), float(comparison.difference.max()), ".3f"
        ).replace("range from", "ranges from").replace("are all", "is"),
    }


def mlm_summary(
    counts: xr.Dataset, baseline: xr.Dataset, trained_depth: int | None = None, **kw
) -> xr.Dataset:
    """The chapter's summary: :func:`mlm_metrics` of every (encoder, mode, depth), the ``weights``
    coordinate, and the majority-token baseline (``majority_accuracy`` with ``majority_low`` /
    ``majority_high``, ``unigram_perplexity``) on the same blocks. ``trained_depth``: the depth the
    pretrained network was trained at (drawn in the figures)."""
    metrics = mlm_metrics(counts, **kw).assign_coords(weights=counts.weights, role=("encoder", roles(counts)))
    base = mlm_metrics(baseline, **kw)
    metrics["majority_accuracy"] = base.accuracy
    metrics["majority_low"], metrics["majority_high"] = base.accuracy_low, base.accuracy_high
    metrics["unigram_perplexity"] = base.perplexity
    metrics.attrs.update(trained_depth=trained_depth, majority_token=int(baseline.attrs["token"]))
    return metrics


def comparisons(counts: xr.Dataset, trained_depth: int | None = None, **kw) -> xr.Dataset:
    """:func:`~chaoslib.tasks.mlm_results.reference_vs_comparisons` for every mode that both the reference and
    a comparison encoder ran: dims (mode, depth), and ``summary`` (mode, encoder)."""
    role = roles(counts)
    ran = lambda r, m: any(  # noqa: E731
        not bool(counts.correct.sel(mode=m).isel(encoder=i).isnull().all())
        for i, x in enumerate(role)
        if x == r
    )
    modes = [str(m) for m in counts.mode.values if ran(REFERENCE, m) and ran(COMPARISON, m)]
    if not modes:
        raise ChaoslibError("no mode was run for both the reference and a comparison encoder.")
    parts = [reference_vs_comparisons(counts, m, **kw) for m in modes]
    out = xr.concat(parts, dim="mode", combine_attrs="drop")
    first = parts[0]
    out = out.assign_coords(mode=modes, role=("encoder", role))
    out.attrs.update(trained_depth=trained_depth, n_random=role.count(COMPARISON),
                     confidence=first.attrs["confidence"], interval=first.attrs["interval"])
    return out


def _fmt(value: float, low: float | None = None, high: float | None = None) -> str:
    if not np.isfinite(value):
        return "not run"
    return f"{value:.3f}" + ("" if low is None else f" [{low:.3f}, {high:.3f}]")


def chapter_numbers(summary: xr.Dataset, cmp: xr.Dataset, counts: xr.Dataset) -> dict[str, str | float]:
    """The numbers the chapter's prose quotes, as formatted text (``"not run"`` for a mode that was
    not run, so that every profile has every key), plus R8's numbers (:func:`r8_numbers`, on the trained
    head where both kinds ran it).

    Keys: ``mlm_pre_<mode>_at_trained`` (the reference's accuracy at its pretraining depth, with its
    interval), ``mlm_pre_<mode>_best`` (best accuracy and its depth), ``mlm_rnd_<mode>_best`` (the
    random seeds' mean, best over depths, with the seeds' range), ``mlm_majority``, ``mlm_pooled_gap``
    (largest |block mean - pooled| accuracy), ``mlm_trained_depth``, ``mlm_depths``, ``mlm_n_random``,
    ``mlm_n_masked``, ``mlm_n_blocks``, ``mlm_fit_seconds`` and the ``mlm_r8_`` keys.
    """
    from chaoslib.tasks.mlm_networks import MODES

    td = summary.attrs.get("trained_depth")
    role = roles(summary)
    pre = [i for i, r in enumerate(role) if r == REFERENCE]
    rnd = [i for i, r in enumerate(role) if r == COMPARISON]
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
            where = (
                "every depth" if f"{float(p.max()):.3f}" == f"{float(p.min()):.3f}"  # no depth is best
                else f"depth {int(p.idxmax('depth'))}"
            )
            out[f"mlm_pre_{mode}_best"] = f"{float(p.max()):.3f} ({where})"
        else:
            out[f"mlm_pre_{mode}_at_trained"] = out[f"mlm_pre_{mode}_best"] = "not run"
        r = acc.isel(encoder=rnd).dropna("encoder", how="all") if ran and rnd else None
        if r is not None and r.sizes["encoder"]:
            mean = r.mean("encoder")
            d = int(mean.idxmax("depth"))
            low, high = float(r.sel(depth=d).min()), float(r.sel(depth=d).max())
            seeds = (
                "one seed" if r.sizes["encoder"] == 1
                else f"every seed {low:.3f}" if f"{low:.3f}" == f"{high:.3f}"
                else f"seeds {low:.3f} to {high:.3f}"
            )
            flat = f"{float(mean.max()):.3f}" == f"{float(mean.min()):.3f}"  # no depth is best
            where = "every depth" if flat else f"depth {d}"
            out[f"mlm_rnd_{mode}_best"] = f"{float(mean.max()):.3f} ({where}; {seeds})"
        else:
            out[f"mlm_rnd_{mode}_best"] = "not run"
    gap = float(np.nanmax(np.abs(summary.accuracy - summary.accuracy_pooled)))
    first = "trained" if "trained" in cmp.mode.values else str(cmp.mode.values[0])
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
        **r8_numbers(cmp.sel(mode=first).assign_attrs(mode=first, confidence=cmp.attrs["confidence"],
                                                      n_random=cmp.attrs["n_random"],
                                                      interval=cmp.attrs["interval"]), td),
    )
    return out


def accuracy_frame(summary: xr.Dataset):
    """:func:`mlm_summary`'s ``accuracy`` (the authors' per-block mean) as a ``pandas.DataFrame``: one row per
    (encoder, mode), one column per depth, rounded to 3 digits (NaN where a mode was not run)."""
    frame = summary[["accuracy", "accuracy_pooled", "perplexity"]].to_dataframe()
    return frame.unstack("depth")["accuracy"].round(3)


def accuracy_table(summary: xr.Dataset, name: str = "tab-mlm-accuracy") -> MarkdownText:
    """The accuracies shown on the page, a numbered table (:func:`markdown_table`): one row per (encoder,
    read-out) that ran, the read-out in words, one column per depth; a depth a run skipped reads "not run"."""
    from chaoslib.tasks.mlm_networks import MODE_DESCRIPTIONS

    frame = accuracy_frame(summary)
    rows = []
    for (encoder, mode), values in frame.iterrows():
        if values.isna().all():
            continue  # this (encoder, read-out) was not run: no row
        cells = ["not run" if np.isnan(v) else f"{v:.3f}" for v in values.values]
        rows.append([str(encoder), MODE_DESCRIPTIONS.get(str(mode), str(mode)), *cells])
    header = ["Encoder", "Read-out", *(f"depth {int(d)}" for d in frame.columns)]
    caption = (
        "Accuracy on the masked test tokens (mean of per-block accuracies) by depth, for every encoder and "
        "read-out that ran."
    )
    return markdown_table(header, rows, caption, name, "ll" + "r" * len(frame.columns))


def _effect(numbers: dict) -> bool:
    """R8's effect: the interval of reference minus random above 0 at :data:`MIN_SHARE` of the depths or
    more."""
    return numbers["mlm_r8_share"] >= MIN_SHARE


def target_r8(numbers: dict, networks: Sequence) -> dict:
    """R8 (MLM accuracy against depth: shape, pretrained above random), the record for ``Chapter.verdict``
    (:func:`chaoslib.book.reports.verdicts.target_record`), from the numbers alone, with the networks
    (``Network``, as loaded) it was measured on.

    The effect: the 95% interval of the reference's accuracy minus the random encoders' (resampling random
    encoders, then test blocks) lies above 0 at :data:`MIN_SHARE` of the depths or more, the depths beyond the
    pretraining depth counted like the others. Networks are the unit
    (:func:`chaoslib.book.reports.verdicts.network_rule`): the exact permutation test of each encoder's
    accuracy averaged over depths, one reference against K random encoders; no effect -> does not hold; an
    effect whose smallest attainable p (1 / (K + 1)) exceeds the threshold -> not testable here.
    """
    n = numbers
    test = PermutationTest(n["mlm_r8_statistic"], n["mlm_r8_p"], int(n["mlm_r8_n_networks"]),
                           n["mlm_r8_smallest_p"], "greater", int(n["mlm_r8_n_networks"]))
    holds, reason = network_rule(_effect(n), test)
    measured = (
        f"{n['mlm_r8_mode']} heads: reference minus the mean of {n['mlm_r8_n_random']} random encoders, its "
        f"{n['mlm_r8_confidence']:.0%} interval (over {n['mlm_r8_interval_over']}) above 0 at "
        f"{n['mlm_r8_n_above']} of {n['mlm_r8_n_depths']} depths; difference {n['mlm_r8_diff_min']:.3f} to "
        f"{n['mlm_r8_diff_max']:.3f}; reference accuracy peaks at depth {n['mlm_r8_peak_depth']} "
        f"({n['mlm_r8_peak']:.3f}); permutation test over {n['mlm_r8_n_networks']} encoders p = "
        f"{n['mlm_r8_p']:.3g} (smallest attainable {n['mlm_r8_smallest_p']:.3g}) "
        f"({', '.join(i.label() for i in networks)})"
    )
    return target_record(
        "R8",
        "MLM accuracy vs depth: shape, pretrained above random",
        measured,
        holds,
        note=f"the effect: the interval lies above 0 at >= {MIN_SHARE:.0%} of the depths (model's head, "
        f"trained); each encoder's accuracy averaged over depths is its summary in the test over networks",
        unit="networks",
        interval=(f"difference at depth {n['mlm_r8_at']} {n['mlm_r8_diff_at']:.3f} "
                  f"[{n['mlm_r8_low_at']:.3f}, {n['mlm_r8_high_at']:.3f}]"),
        reason=reason,
    )


def r8_sentence(record: dict, numbers: dict) -> str:
    """Why R8's verdict is what it is, in words for the prose."""
    n = numbers
    if record["holds"] is None:
        return strip_verdict(record["reason"])
    if not _effect(n):
        return (f"the interval lies above 0 at {n['mlm_r8_n_above']} of {n['mlm_r8_n_depths']} depths, fewer "
                f"than {MIN_SHARE:.0%}")
    return (f"permutation test over {n['mlm_r8_n_networks']} encoders p = {n['mlm_r8_p']:.3g}, "
            f"threshold {THRESHOLD:g}")
