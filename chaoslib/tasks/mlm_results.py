"""MLM by depth: accuracies from the per-block counts, bootstrap intervals, pretrained vs random.

The counts of :mod:`chaoslib.tasks.mlm_sweep` are kept per test block, so both accuracies can be
derived and the uncertainty resampled over blocks:

- ``accuracy``: the MEAN OF PER-BLOCK accuracies, the authors' number (``acc_metrics`` in
  ``calc_masked_language_modeling.py``: correct / masked in each block, then ``np.mean``);
- ``accuracy_pooled``: correct / masked over all test positions together;
- ``perplexity``: exp of the mean cross-entropy over all masked test positions.

Intervals are seeded percentile bootstraps over the test blocks (:mod:`chaoslib.stats`); the
comparison of two encoders is paired (the same blocks and masks go through both). The chapter's summary,
numbers and R8 verdict are in :mod:`chaoslib.book.reports.mlm`.
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
