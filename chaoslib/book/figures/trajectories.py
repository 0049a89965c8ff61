"""Figures of the trajectories chapter (hidden units over time, token spread, the long run).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.trajectories` (which says what the datasets hold
and computes the chapter's numbers and verdict).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.exponents import RAND_COLOR, REF_COLOR
from chaoslib.book.reports.exponents import split_roles

__all__ = ["unit_trajectories", "token_spread"]


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def unit_trajectories(ds: xr.Dataset, sample: int = 0) -> plt.Figure:
    """Chosen hidden units (rows) of the first tokens (lines) over the steps, for the reference network
    (left) and the first random network (right), input ``sample``."""
    ref, others = split_roles(ds)
    names = [ref] + others[:1]
    units = ds.units_unit.values
    fig, axes = plt.subplots(
        len(units), len(names), figsize=(3.8 * len(names), 1.6 * len(units) + 0.9), sharex=True, squeeze=False
    )
    for col, name in enumerate(names):
        for row, unit in enumerate(units):
            ax = axes[row, col]
            for token in ds.units_token.values:
                values = ds.units.sel(network=name, units_token=token, units_unit=unit).isel(sample=sample)
                ax.plot(ds.step.values, values.values, lw=0.8, label=f"token {token}")
            ax.set_ylabel(f"unit {unit}")
        axes[0, col].set_title(name)
        axes[-1, col].set_xlabel("step $t$")
    # one legend for the whole figure, above the panels: no panel's curves hide behind it
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, ncol=len(ds.units_token), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    return fig


def token_spread(ds: xr.Dataset, sample: int = 0) -> plt.Figure:
    """sigma(t) on a log axis. Left: input ``sample`` through the reference (thick) and each random
    network (thin). Right (when there are several inputs): the median over inputs of the reference,
    with the 10-90% range over inputs as a band, and the median over inputs of each random network."""
    ref, others = split_roles(ds)
    several = ds.sizes["sample"] > 1
    fig, axes = plt.subplots(
        1, 2 if several else 1, figsize=(7.6 if several else 6.4, 3.8), sharey=True, squeeze=False
    )
    steps = ds.step.values
    ax = axes[0, 0]
    for i, n in enumerate(others):
        ax.semilogy(
            steps,
            _positive(ds.token_spread.sel(network=n).isel(sample=sample).values),
            color=RAND_COLOR,
            lw=0.7,
            alpha=0.7,
            label="each random network" if i == 0 else None,
        )
    ax.semilogy(
        steps,
        _positive(ds.token_spread.sel(network=ref).isel(sample=sample).values),
        color=REF_COLOR,
        lw=1.6,
        label=ref,
    )
    ax.set_title("the authors' input" if sample == 0 else f"input {sample}")
    ax.set_ylabel(r"token spread $\sigma(t)$")
    ax.legend()
    if several:
        ax = axes[0, 1]
        spread = ds.token_spread.sel(network=ref).values
        ax.fill_between(
            steps,
            np.quantile(spread, 0.1, axis=0),
            np.quantile(spread, 0.9, axis=0),
            color=REF_COLOR,
            alpha=0.2,
            lw=0,
            label="10-90% of inputs",
        )
        ax.semilogy(
            steps, _positive(np.median(spread, axis=0)), color=REF_COLOR, lw=1.6, label=f"{ref}: median"
        )
        for i, n in enumerate(others):
            ax.semilogy(
                steps,
                _positive(np.median(ds.token_spread.sel(network=n).values, axis=0)),
                color=RAND_COLOR,
                lw=0.7,
                alpha=0.8,
                label="each random network: median" if i == 0 else None,
            )
        ax.set_title(f"median over {ds.sizes['sample']} inputs")
        ax.legend()
    for ax in axes[0]:
        ax.set_xlabel("step $t$")
    fig.tight_layout()
    return fig
