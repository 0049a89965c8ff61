"""Figures of the effective-dimension chapter (ED(t) and ED(t)/ED(0) against the step, the gap to the random
networks).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.effective_dimension` (which says what the dataset
holds and computes the chapter's numbers and verdict). Steps where a cloud has collapsed to rounding noise are
not drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.book.reports.effective_dimension import (
    COMPARISON,
    OTHER_INPUTS,
    REFERENCE,
    controls_of,
    members,
    normalised,
    readable,
)
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_band

REF_COLOR, RAND_COLOR = "C0", "C1"


CONTROL_COLORS = ("C2", "C3", "C4", "C5", "C6")


def effective_dimension(ds: xr.Dataset, horizon: int | None = None) -> plt.Figure:
    """Top: ED(t) of the reference (thick) and its range over input draws (blue band); the random
    networks' median over seeds (thick), each seed (thin) and the range over seeds (orange band); each control
    network dashed (its kind as label). Middle: ED(t)/ED(0), the same layout. Bottom: the cloud's size
    tr(C)/mean||x||^2 (log), reference and random networks."""
    ref = members(ds, REFERENCE)[0]
    draws = members(ds, REFERENCE) + members(ds, OTHER_INPUTS)
    others = members(ds, COMPARISON)
    steps = ds.step.values
    fig, axes = plt.subplots(3, 1, figsize=(7.2, 8.4), sharex=True, gridspec_kw=dict(height_ratios=[2, 2, 1]))
    panels = (readable(ds), normalised(ds), readable(ds, "relative_variance"))
    for k, (ax, values) in enumerate(zip(axes, panels, strict=True)):
        if len(draws) > 1:
            band = values.sel(network=draws)
            label = f"range over {len(draws)} input draws"
            shade(ax, steps, band.min("network"), band.max("network"), REF_COLOR, 0.25, label)
        ax.plot(steps, values.sel(network=ref), color=REF_COLOR, lw=2.2, label=ref)
        if others:
            rand = values.sel(network=others)
            for i, label in enumerate(others):
                ax.plot(
                    steps,
                    rand.sel(network=label),
                    color=RAND_COLOR,
                    lw=0.5,
                    alpha=0.5,
                    label="each random network" if i == 0 else None,
                )
            label = f"range over {len(others)} random seeds"
            shade(ax, steps, rand.min("network"), rand.max("network"), RAND_COLOR, 0.15, label)
            ax.plot(steps, rand.median("network"), color=RAND_COLOR, lw=2, label="random: median over seeds")
        if k < 2:
            for color, (kind, label) in zip(CONTROL_COLORS, controls_of(ds).items(), strict=False):
                ax.plot(steps, values.sel(network=label), color=color, lw=1.2, ls="--",
                        label=f"control: {kind}")
        if horizon is not None:
            ax.axvline(horizon, color="0.6", ls="--", lw=1)
    axes[0].axhline(
        ds.attrs["n_samples"] - 1, color="0.6", ls=":", lw=1, label=f"$M - 1$ = {ds.attrs['n_samples'] - 1}"
    )
    axes[0].set_ylabel("effective dimension ED(t)")
    axes[0].legend(ncol=2)
    axes[1].axhline(1.0, color="0.6", ls=":", lw=1)
    axes[1].set_ylabel("ED(t) / ED(0)")
    axes[2].set_yscale("log")
    axes[2].set_ylabel(r"tr(C) / mean $\|x\|^2$")
    axes[2].set_xlabel("step $t$")
    axes[0].set_title(f"effective dimension of $M$ = {ds.attrs['n_samples']} inputs")
    fig.tight_layout()
    return fig


def gap(ds: xr.Dataset, horizon: int, seed: int = 0) -> plt.Figure:
    """R6's quantity: ED_reference(t)/ED_reference(0) - ED_random(t)/ED_random(0) for each random seed (thin)
    and their mean with a 95% bootstrap interval over seeds (band), for t <= ``horizon``."""
    ref, others = members(ds, REFERENCE)[0], members(ds, COMPARISON)
    if not others:
        raise ChaoslibError("gap needs comparison networks (role 'comparison')")
    window = normalised(ds).sel(step=slice(0, horizon))
    diff = (
        (window.sel(network=ref) - window.sel(network=others)).transpose("network", "step").values
    )  # (seeds, steps)
    steps = window.step.values
    low, high = bootstrap_band(diff, np.mean, seed=seed)
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    for i, row in enumerate(diff):
        ax.plot(steps, row, color=RAND_COLOR, lw=0.5, alpha=0.5, label="each random seed" if i == 0 else None)
    shade(ax, steps, low, high, "k", 0.2, "95% bootstrap interval (seeds)")
    ax.plot(steps, np.nanmean(diff, 0), color="k", lw=2, label="mean over seeds")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("step $t$")
    ax.set_ylabel("ED(t)/ED(0): reference − random")
    ax.set_title(f"{ref} minus each random network, $t \\leq$ {horizon}")
    ax.legend()
    fig.tight_layout()
    return fig
