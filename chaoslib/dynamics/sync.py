"""Token synchronisation: how far apart the token states are, step by step, and when they meet.

- ``token_spread(x)``: sigma(t), the std over token positions averaged over hidden units, one value
  per sample (recorded during a run by the probe ``chaoslib.dynamics.probes.TokenSpread``);
- ``sync_offset(spread, threshold, relative)``: the first step where sigma falls below theta,
  censored at the end of the record; ``offsets_by_threshold`` for its sensitivity to theta;

What the layer becomes once the tokens are equal is in ``chaoslib.dynamics.reduced_map``; sigma and the
chaos length of the same inputs, network by network, in ``chaoslib.dynamics.sync_networks``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from chaoslib.errors import ChaoslibError


def token_spread(x: torch.Tensor) -> torch.Tensor:
    """sigma: the standard deviation over token positions, averaged over hidden units.

    x: (batch, tokens, hidden) -> (batch,). Population std (ddof=0); pads count as tokens.
    """
    return x.std(dim=1, unbiased=False).mean(dim=-1)


# --- synchronisation offsets -------------------------------------------------------------------

DEFAULT_THRESHOLD = 1e-5
"""Default theta, relative to sigma(0). float32 states of unit scale floor at sigma ~ 1e-7 (rounding
keeps the tokens a few ulp apart), so 1e-5 * sigma(0) (~3e-6 for ALBERT's embeddings) lies well
above the floor yet far below every unsynchronised value; the book shows the sensitivity."""


@dataclass
class SyncOffsets:
    """Result of ``sync_offset``; arrays over samples.

    offset: (batch,) int, the first step t with sigma(t) < theta; the last recorded step T where
        sigma never gets there (then ``censored`` is True);
    censored: (batch,) bool, never synchronised within the record;
    theta: (batch,) the absolute threshold used for each sample;
    horizon: T, the last recorded step.
    """

    offset: np.ndarray
    censored: np.ndarray
    theta: np.ndarray
    horizon: int

    def to_dataset(self):
        """``xarray.Dataset``: ``t_sync``, ``sync_censored``, ``theta`` (sample); attrs horizon."""
        import xarray as xr

        return xr.Dataset(
            {"t_sync": ("sample", self.offset), "sync_censored": ("sample", self.censored),
             "theta": ("sample", self.theta)},
            attrs={"horizon": int(self.horizon)},
        )


def _spread_and_steps(spread, steps) -> tuple[np.ndarray, np.ndarray]:
    """(batch, n_steps) array and its step numbers from a tensor, an array or a DataArray (sample, step)."""
    if hasattr(spread, "dims") and hasattr(spread, "coords"):  # xarray.DataArray
        if "step" not in spread.dims:
            raise ChaoslibError(f"spread has dims {spread.dims}; it needs a 'step' dim (and one sample dim).")
        if steps is None:
            steps = spread["step"].values
        spread = spread.transpose(..., "step").values
    values = spread.detach().cpu().numpy() if isinstance(spread, torch.Tensor) else np.asarray(spread)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2:
        raise ChaoslibError(f"spread must be (batch, steps); got shape {values.shape}.")
    steps = np.arange(values.shape[1]) if steps is None else np.asarray(steps)
    if steps.shape != (values.shape[1],):
        raise ChaoslibError(f"steps has shape {steps.shape}, spread has {values.shape[1]} steps.")
    if np.any(np.diff(steps) <= 0):
        raise ChaoslibError("steps must increase.")
    return values.astype(np.float64), steps


def sync_offset(
    spread,
    threshold: float = DEFAULT_THRESHOLD,
    relative: bool = True,
    steps=None,
) -> SyncOffsets:
    """Sync offset t_sync = min{t : sigma(t) < theta} per sample, censored at the last step.

    Args:
        spread: sigma(t) per sample, (batch, n_steps) tensor/array, or an ``xarray.DataArray``
            with dims (sample, step) (e.g. ``run_trajectory(...)["token_spread"]``).
        threshold: theta, or theta / sigma(0) when ``relative``.
        relative: scale the threshold by each sample's sigma(0) (scale-free, dtype-independent);
            False uses ``threshold`` as an absolute value.
        steps: the step of each column (default: the DataArray's ``step`` coordinate, else 0, 1, ...).

    sigma(t) == 0 (tokens exactly equal) counts as synchronised under any threshold, so an input
    that starts synchronised gets offset steps[0] even with a relative threshold.
    """
    if not threshold > 0:
        raise ChaoslibError(f"threshold={threshold} must be positive.")
    values, steps = _spread_and_steps(spread, steps)
    theta = threshold * values[:, 0] if relative else np.full(values.shape[0], float(threshold))
    synchronised = (values < theta[:, None]) | (values == 0)  # NaN compares False: never synchronised
    censored = ~synchronised.any(axis=1)
    offset = np.where(censored, steps[-1], steps[synchronised.argmax(axis=1)]).astype(np.int64)
    return SyncOffsets(offset, censored, theta, int(steps[-1]))


def offsets_by_threshold(spread, thresholds, relative: bool = True, steps=None):
    """``sync_offset`` for several thresholds: ``xarray.Dataset`` with ``offset`` and ``censored``
    over dims (threshold, sample), for the sensitivity of t_sync to theta."""
    import xarray as xr

    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise ChaoslibError("thresholds must be a non-empty 1-d sequence of positive numbers.")
    results = [sync_offset(spread, float(th), relative, steps) for th in thresholds]
    return xr.Dataset(
        {
            "offset": (("threshold", "sample"), np.stack([r.offset for r in results])),
            "censored": (("threshold", "sample"), np.stack([r.censored for r in results])),
        },
        coords={"threshold": thresholds},
        attrs={"relative": int(relative), "horizon": results[0].horizon},
    )
