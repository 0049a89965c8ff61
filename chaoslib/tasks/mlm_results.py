"""MLM by depth: accuracies from the per-block counts, bootstrap intervals, pretrained vs random (R8).

The counts of :mod:`chaoslib.tasks.mlm_sweep` are kept per test block, so both accuracies can be
derived and the uncertainty resampled over blocks:

- ``accuracy``: the MEAN OF PER-BLOCK accuracies, the authors' number (``acc_metrics`` in
  ``calc_masked_language_modeling.py``: correct / masked in each block, then ``np.mean``);
- ``accuracy_pooled``: correct / masked over all test positions together;
- ``perplexity``: exp of the mean cross-entropy over all masked test positions.

Intervals are seeded percentile bootstraps over the test blocks (:mod:`chaoslib.stats`); the
comparison of two encoders is paired (the same blocks and masks go through both).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval, difference_interval


def block_accuracy(ds: xr.Dataset) -> xr.DataArray:
    """Per-block accuracy correct / n_masked, (..., block); blocks without masked positions dropped."""
    valid = ds.n_masked > 0
    return (ds.correct / ds.n_masked).where(valid, drop=True)


def _cellwise_interval(values: xr.DataArray, confidence: float, n_resamples: int, seed: int):
    """Bootstrap interval of the mean over ``block`` for every other index: (low, high) DataArrays."""
    stacked = values.transpose(..., "block")
    flat = stacked.values.reshape(-1, stacked.sizes["block"])
    bounds = np.array(
        [
            bootstrap_interval(row, np.mean, confidence, n_resamples, seed)
            if np.all(np.isfinite(row))
            else (np.nan,) * 2
            for row in flat
        ]
    ).reshape(*stacked.shape[:-1], 2)
    dims = stacked.dims[:-1]
    coords = {k: v for k, v in stacked.coords.items() if "block" not in v.dims}
    return xr.DataArray(bounds[..., 0], dims=dims, coords=coords), xr.DataArray(
        bounds[..., 1], dims=dims, coords=coords
    )


def mlm_metrics(
    ds: xr.Dataset, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> xr.Dataset:
    """Accuracies, perplexity and bootstrap intervals from counts ``correct``, ``loss_sum`` (..., block)
    and ``n_masked`` (block).

    Returns ``accuracy`` (block mean, the authors'), ``accuracy_low`` / ``accuracy_high`` (its
    interval over blocks), ``accuracy_pooled`` and ``perplexity``, over the counts' other dims.
    """
    if "block" not in ds.dims or ds.sizes["block"] < 2:
        raise ChaoslibError("the MLM counts need a 'block' dimension with at least 2 test blocks.")
    per_block = block_accuracy(ds)
    n_total = ds.n_masked.sum("block")
    low, high = _cellwise_interval(per_block, confidence, n_resamples, seed)
    return xr.Dataset(
        {
            "accuracy": per_block.mean("block", skipna=False),
            "accuracy_low": low,
            "accuracy_high": high,
            # skipna=False: an (encoder, mode) point that was not run stays NaN
            "accuracy_pooled": ds.correct.sum("block", skipna=False) / n_total,
            "perplexity": np.exp(ds.loss_sum.sum("block", skipna=False) / n_total),
        },
        attrs={"confidence": confidence, "n_blocks": int(per_block.sizes["block"]), "n_masked": int(n_total)},
    )


def pretrained_vs_random(
    ds: xr.Dataset, mode: str = "trained", confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> xr.Dataset:
    """Block-mean accuracy of the pretrained encoder minus the random encoders' (mean over their seeds).

    ds: counts with dims (encoder, mode, depth, block) and coordinate ``weights`` along encoder.
    Returns, over ``depth``: ``difference`` and its paired bootstrap interval over blocks
    (``low``, ``high``), and the random seeds' spread ``random_min`` / ``random_max`` (block-mean
    accuracy of each seed's encoder) beside ``pretrained``.
    """
    weights = list(ds.weights.values)
    if "pretrained" not in weights or "random" not in weights:
        raise ChaoslibError("pretrained_vs_random needs a pretrained and at least one random encoder.")
    acc = block_accuracy(ds.sel(mode=mode))
    pre = acc.isel(encoder=weights.index("pretrained"))
    rnd = acc.isel(encoder=[i for i, w in enumerate(weights) if w == "random"])
    rnd_mean = rnd.mean("encoder")
    bounds = [
        difference_interval(
            pre.sel(depth=d).values,
            rnd_mean.sel(depth=d).values,
            np.mean,
            confidence,
            n_resamples,
            seed,
            paired=True,
        )
        for d in acc.depth.values
    ]
    per_seed = rnd.mean("block")
    return xr.Dataset(
        {
            "difference": pre.mean("block") - rnd_mean.mean("block"),
            "low": ("depth", [b[0] for b in bounds]),
            "high": ("depth", [b[1] for b in bounds]),
            "pretrained": pre.mean("block"),
            "random_mean": per_seed.mean("encoder"),
            "random_min": per_seed.min("encoder"),
            "random_max": per_seed.max("encoder"),
        },
        attrs={"mode": mode, "confidence": confidence, "n_random": int(rnd.sizes["encoder"])},
    )


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
        mlm_r8_holds="holds" if holds else "does not hold",
    )
    return out
