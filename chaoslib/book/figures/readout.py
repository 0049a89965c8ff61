"""Figures of the handwriting-readout chapter (its numbers: :mod:`chaoslib.book.reports.readout`).

The dataset comes from ``chaoslib.tasks.readout_run.compare_readouts``: window grids ``pair_nmse``
(the authors' score) and ``pooled_nmse`` (ours) over (network, start, length), the best window of
each network with a bootstrap interval over dev pairs (``best_low``, ``best_high``), the paired
difference to the first, reference network (``diff_low``, ``diff_high``), the score-blind levels
(length) and the best window's drawings (network, shown, point, xy).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm

from chaoslib.errors import ChaoslibError

METRIC_LABELS = {
    "pair": "dev NMSE, per pair (authors)",
    "pooled": "dev NMSE, pooled and centred (ours)",
}
REF_COLOR, RAND_COLOR = "C0", "C1"


def _grid(ds: xr.Dataset, metric: str) -> xr.DataArray:
    if metric not in METRIC_LABELS:
        raise ChaoslibError(f"metric={metric!r}; use 'pair' (the authors') or 'pooled' (ours).")
    return ds[f"{metric}_nmse"]


def _networks(ds: xr.Dataset, networks: Sequence[str] | None, limit: int | None = None) -> list[str]:
    names = [str(n) for n in ds.network.values]
    chosen = names[:limit] if networks is None else list(networks)
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise ChaoslibError(f"networks {unknown} are not in the result; choose from {names}.")
    return chosen


def _color(ds: xr.Dataset, network: str) -> str:
    return REF_COLOR if network == ds.attrs["reference"] else RAND_COLOR


def nmse_heatmaps(ds: xr.Dataset, networks: Sequence[str] | None = None, metric: str = "pair") -> plt.Figure:
    """Dev NMSE per window (start, length >= min_length) for each network, one shared log colour
    scale; the star marks the network's best window (the smallest entry of the map)."""
    grid = _grid(ds, metric)
    chosen = _networks(ds, networks, limit=2)
    shown = grid.sel(network=chosen, length=grid.length >= ds.attrs["min_length"])
    finite = shown.values[np.isfinite(shown.values)]
    if finite.size == 0:
        raise ChaoslibError("no finite window score of length >= min_length in the result.")
    norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    fig, axes = plt.subplots(
        1, len(chosen), figsize=(3.4 * len(chosen) + 0.8, 3.6), squeeze=False, layout="constrained"
    )
    for ax, network in zip(axes[0], chosen, strict=True):
        values = shown.sel(network=network)
        mesh = ax.pcolormesh(
            values.start, values.length, values.T.values, norm=norm, cmap="viridis", shading="nearest"
        )
        best = (int(ds.best_start.sel(network=network)), int(ds.best_length.sel(network=network)))
        ax.plot(
            *best,
            marker="*",
            ms=15,
            color="red",
            mec="white",
            ls="none",
            label=f"best: start {best[0]}, $L$ = {best[1]}",
        )
        ax.set_xlabel("window start (step)")
        ax.set_ylabel("window length $L$ (steps)")
        ax.set_title(network)
        ax.legend(loc="upper right")
    fig.colorbar(mesh, ax=axes[0].tolist(), label=f"{METRIC_LABELS[metric]} (log)")
    return fig


def nmse_by_length(ds: xr.Dataset, metric: str = "pair") -> plt.Figure:
    """Top: each network's best dev NMSE per window length (minimum over starts) and the
    score-blind level; windows shorter than min_length (dotted line) are not searched.
    Bottom: the best window's NMSE per network with its bootstrap interval over dev pairs."""
    grid = _grid(ds, metric)
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(7.0, 7.2), gridspec_kw={"height_ratios": [1.4, 1]}, layout="constrained"
    )
    for network in ds.network.values:
        ref = network == ds.attrs["reference"]
        ax.plot(
            grid.length,
            grid.sel(network=network).min("start", skipna=True).values,
            color=_color(ds, network),
            lw=2 if ref else 0.9,
            alpha=1 if ref else 0.8,
            label=str(network),
        )
    ax.plot(grid.length, ds[f"blind_{metric}_nmse"].values, color="0.35", ls="--", label="score-blind level")
    ax.axvline(ds.attrs["min_length"], color="0.5", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("window length $L$ (steps)")
    ax.set_ylabel(METRIC_LABELS[metric])
    ax.set_title("best start for each window length")
    ax.legend()
    # the best window of each network, with the interval over dev pairs (the authors' score only:
    # it is a mean over pairs, so pairs can be resampled)
    x = np.arange(ds.sizes["network"])
    best = ds.best_pair_nmse.values
    yerr = np.vstack([best - ds.best_low.values, ds.best_high.values - best])
    for i, network in enumerate(ds.network.values):
        ax2.errorbar(x[i], best[i], yerr=yerr[:, i : i + 1], fmt="o", color=_color(ds, network), capsize=4)
    ax2.set_xticks(x, [str(n) for n in ds.network.values], rotation=20, ha="right")
    ax2.set_ylabel(METRIC_LABELS["pair"])
    conf = ds.attrs.get("confidence", 0.95)
    ax2.set_title(
        f"best window ($L \\geq$ {ds.attrs['min_length']}), {conf:.0%} bootstrap interval over dev pairs"
    )
    return fig


def drawings(ds: xr.Dataset, networks: Sequence[str] | None = None) -> plt.Figure:
    """The best window's drawings of the shown dev pairs (columns) for each network (rows): grey,
    the target letter mixed by the gold score; coloured, the readout's pen, dark to light in time."""
    chosen = _networks(ds, networks, limit=2)
    n_shown = ds.sizes["shown"]
    fig, axes = plt.subplots(
        len(chosen),
        n_shown,
        figsize=(min(7.6, 1.25 * n_shown + 0.6), 1.7 * len(chosen) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for row, network in zip(axes, chosen, strict=True):
        for k, ax in enumerate(row):
            target = ds.target_drawn.sel(network=network).isel(shown=k).values
            drawn = ds.drawn.sel(network=network).isel(shown=k).values
            keep = np.isfinite(drawn[:, 0])
            pair = int(ds.shown_pair[k])
            ax.plot(target[keep, 0], target[keep, 1], color="0.65", lw=1.2)
            ax.plot(drawn[keep, 0], drawn[keep, 1], color=_color(ds, network), lw=0.8)
            ax.scatter(drawn[keep, 0], drawn[keep, 1], c=np.arange(keep.sum()), cmap="plasma", s=6, zorder=3)
            err = float(ds.pair_errors.sel(network=network, pair=pair))
            ax.set_title(f"{ds.shown_group.values[k]}, $s$ = {float(ds.dev_score[pair]):.1f}\nNMSE {err:.2f}",
                         fontsize=9)
            ax.set_aspect("equal", "datalim")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(str(network).replace(" ", "\n", 1), fontsize=9)
    return fig
