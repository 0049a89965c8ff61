"""MLM by depth: accuracies from the per-block counts, bootstrap intervals, pretrained vs random.

The counts of :mod:`chaoslib.tasks.mlm_sweep` are kept per test block, so both accuracies can be
derived and the uncertainty resampled over blocks:

- ``accuracy``: the MEAN OF PER-BLOCK accuracies, the authors' number (``acc_metrics`` in
  ``calc_masked_language_modeling.py``: correct / masked in each block, then ``np.mean``);
- ``accuracy_pooled``: correct / masked over all test positions together;
- ``perplexity``: exp of the mean cross-entropy over all masked test positions.

Intervals are seeded percentile bootstraps over the test blocks (:mod:`chaoslib.stats`). The comparison of
the reference encoder (the network under test) with the random encoders is paired by block (the same blocks
and masks go through every encoder) and, with two or more random encoders, resamples the encoders too
(:func:`chaoslib.stats.two_level_contrast`), so the spread between random encoders enters its interval. The
chapter's summary, numbers and R8 verdict are in :mod:`chaoslib.book.reports.mlm`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval, difference_interval, two_level_contrast

REFERENCE, COMPARISON = "reference", "comparison"


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


def roles(ds: xr.Dataset) -> list[str]:
    """The role of each encoder: the ``role`` coordinate where the counts have one, else by position (the
    first encoder is the network under test, ``"reference"``; the others ``"comparison"``)."""
    if "role" in ds.coords:
        return [str(r) for r in ds.role.values]
    return [REFERENCE] + [COMPARISON] * (ds.sizes["encoder"] - 1)


def reference_vs_comparisons(
    ds: xr.Dataset, mode: str = "trained", confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> xr.Dataset:
    """Block-mean accuracy of the reference encoder minus that of the comparison (random) encoders, per depth.

    ds: counts with dims (encoder, mode, depth, block); the reference and comparisons as :func:`roles` reads
    them. The interval of the difference is paired by block; with two or more comparison encoders it resamples
    encoders, then blocks (:func:`chaoslib.stats.two_level_contrast`, ``"difference"``), so the spread between
    random encoders is in it; with one, only blocks (:func:`chaoslib.stats.difference_interval`, paired).

    Returns, over ``depth``: ``difference`` (the reference's mean over blocks minus the comparisons' mean
    over encoders and blocks) with its interval (``low``, ``high``), ``reference`` and the comparison
    encoders' mean, min and max (``random_mean``, ``random_min``, ``random_max``); over ``encoder``:
    ``summary`` (each encoder's accuracy averaged over depths, one value per network for a test over
    networks). Attrs: ``mode``, ``confidence``, ``n_random``, ``interval`` (what the interval resamples).
    """
    role = roles(ds)
    if role.count(REFERENCE) != 1 or COMPARISON not in role:
        raise ChaoslibError("the comparison needs one reference encoder and at least one comparison encoder.")
    acc = block_accuracy(ds.sel(mode=mode))
    ref = acc.isel(encoder=role.index(REFERENCE), drop=True)
    rnd = acc.isel(encoder=[i for i, r in enumerate(role) if r == COMPARISON])
    k = rnd.sizes["encoder"]
    bounds = []
    for d in acc.depth.values:
        a, b = ref.sel(depth=d).values, rnd.sel(depth=d).transpose("encoder", "block").values
        if k >= 2:
            bounds.append(two_level_contrast(a, b, np.mean, "difference", confidence, n_resamples, seed))
        else:
            bounds.append(difference_interval(a, b[0], np.mean, confidence, n_resamples, seed, paired=True))
    per_seed = rnd.mean("block")
    return xr.Dataset(
        {
            "difference": ref.mean("block") - rnd.mean(["encoder", "block"]),
            "low": ("depth", [b[0] for b in bounds]),
            "high": ("depth", [b[1] for b in bounds]),
            "reference": ref.mean("block"),
            "random_mean": per_seed.mean("encoder"),
            "random_min": per_seed.min("encoder"),
            "random_max": per_seed.max("encoder"),
            "summary": acc.mean("block").mean("depth"),
        },
        attrs={"mode": mode, "confidence": confidence, "n_random": int(k),
               "interval": ("random encoders, then test blocks" if k >= 2
                            else "test blocks (one random encoder)")},
    )
