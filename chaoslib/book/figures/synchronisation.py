"""Figures of the synchronisation chapter (sigma(t), sync offsets, chaos length, reduced map).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.synchronisation` (which says what the datasets
hold and computes the chapter's numbers and verdicts).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.exponents import RAND_COLOR, REF_COLOR
from chaoslib.book.reports.exponents import split_roles

__all__ = ["token_spread", "offsets", "offset_vs_chaos_length", "reduced_map"]


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)  # an exact 0 (tokens equal) has no place on a log axis


def token_spread(ds: xr.Dataset) -> plt.Figure:
    """sigma(t) per input, on a log axis: the reference (left) and every random network (right, one
    colour shade per seed); dashed: the median threshold theta of each panel."""
    ref, others = split_roles(ds)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True, squeeze=False)
    steps = ds.step.values
    for ax, names, color, title in (
        (axes[0, 0], [ref], REF_COLOR, ref),
        (axes[0, 1], others, RAND_COLOR, f"{len(others)} random networks"),
    ):
        for n in names:
            for row in ds.token_spread.sel(network=n).values:
                ax.semilogy(steps, _positive(row), color=color, lw=0.6, alpha=0.6)
        if names:
            ax.axhline(
                float(np.median(ds.theta.sel(network=names).values)),
                color="k",
                ls="--",
                lw=1,
                label=r"median $\theta$",
            )
            ax.legend(fontsize=8, loc="lower left")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step t")
    axes[0, 0].set_ylabel(r"token spread $\sigma(t)$")
    fig.suptitle(f"Token spread of {ds.sizes['sample']} inputs, N={ds.attrs.get('n_tokens', '?')}")
    return fig


def offsets(ds: xr.Dataset) -> plt.Figure:
    """Left: histogram of t_sync, reference vs random networks pooled. Right: median t_sync against
    the threshold, one line per network (open markers: most inputs censored)."""
    ref, others = split_roles(ds)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.9))
    bins = np.linspace(0, ds.attrs["n_steps"], 21)
    ax1.hist(ds.t_sync.sel(network=ref).values, bins=bins, alpha=0.6, color=REF_COLOR, label=ref)
    if others:
        ax1.hist(
            ds.t_sync.sel(network=others).values.ravel(),
            bins=bins,
            alpha=0.5,
            color=RAND_COLOR,
            label=f"{len(others)} random networks (pooled)",
        )
    ax1.set_xlabel(r"sync offset $t_{\mathrm{sync}}$ (censored at T)")
    ax1.set_ylabel("inputs")
    ax1.legend(fontsize=7)
    for n in [ref, *others]:
        median = np.median(ds.sweep_offset.sel(network=n).values, axis=1)
        most = ds.sweep_censored.sel(network=n).values.mean(axis=1) > 0.5
        color = REF_COLOR if n == ref else RAND_COLOR
        ax2.semilogx(
            ds.threshold.values,
            median,
            marker="o",
            color=color,
            lw=2 if n == ref else 0.8,
            label=n if n == ref else ("random networks" if n == others[0] else None),
        )
        ax2.scatter(
            ds.threshold.values[most], median[most], s=50, facecolor="white", edgecolor=color, zorder=3
        )
    ax2.axvline(ds.attrs["sync_threshold"], color="0.6", ls=":", lw=1)
    ax2.set_xlabel(r"threshold $\theta$" + (r" / $\sigma(0)$" if ds.attrs["relative_threshold"] else ""))
    ax2.set_ylabel(r"median $t_{\mathrm{sync}}$")
    ax2.invert_xaxis()
    ax2.legend(fontsize=7)
    return fig


def offset_vs_chaos_length(ds: xr.Dataset) -> plt.Figure:
    """t_sync against the chaos length l of the same input, one point per input and network; the
    diagonal t_sync = l with a +-tau band. Censored values sit at T."""
    ref, others = split_roles(ds)
    tau, horizon = ds.attrs["tau"], ds.attrs["n_steps"]
    fig, ax = plt.subplots(figsize=(5.6, 5))
    if others:
        ax.scatter(
            ds.chaos_length.sel(network=others).values.ravel(),
            ds.t_sync.sel(network=others).values.ravel(),
            s=16,
            alpha=0.5,
            color=RAND_COLOR,
            label="random networks",
        )
    ax.scatter(
        ds.chaos_length.sel(network=ref).values,
        ds.t_sync.sel(network=ref).values,
        s=26,
        alpha=0.85,
        color=REF_COLOR,
        label=ref,
    )
    line = np.array([0, horizon])
    ax.plot(line, line, color="k", lw=1)
    ax.fill_between(line, line - tau, line + tau, color="0.85", zorder=0, label=rf"$\pm\tau$ = {tau}")
    ax.set_xlim(-5, horizon + 5)
    ax.set_ylim(-5, horizon + 5)
    ax.set_xlabel("chaos length l (steps)")
    ax.set_ylabel(r"sync offset $t_{\mathrm{sync}}$")
    ax.legend(fontsize=7)
    return fig


def reduced_map(ds: xr.Dataset) -> plt.Figure:
    """Median over states of ||full - lifted R|| / ||full|| by step from an exactly synchronised state,
    per dtype, with the range over states as a band."""
    fig, ax = plt.subplots()
    steps = ds.step.values[1:]
    for i, name in enumerate(ds.dtype.values):
        error = ds.relative_error.sel(dtype=name).values[:, 1:]
        ax.fill_between(steps, error.min(0), error.max(0), color=f"C{i}", alpha=0.2, lw=0)
        ax.semilogy(
            steps, np.median(error, axis=0), marker=".", color=f"C{i}", label=f"{name}: median over states"
        )
    ax.set_xlabel("steps from the synchronised state")
    ax.set_ylabel(r"$\|x_{full} - \mathrm{lift}(y_R)\| / \|x_{full}\|$")
    ax.legend(fontsize=7)
    return fig
