"""Figures of the exponents chapter (local Lyapunov exponents, chaos length, spectrum, eps sensitivity).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.exponents` (which says what the datasets hold and
computes the chapter's numbers and verdicts).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.book.reports.exponents import finite, split_roles
from chaoslib.stats import bootstrap_band, bootstrap_interval

REF_COLOR, RAND_COLOR = "C0", "C1"


# figures ------------------------------------------------------------------------------------------
def local_exponents(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window: the reference with a 95% bootstrap band over inputs; each
    comparison network's mean (thin), their mean over seeds (thick) and its range over seeds (band)."""
    ref, others = split_roles(ds)
    steps = ds.window_end.values
    fig, ax = plt.subplots(figsize=(8, 4.4))
    lam_ref = ds.exponent.sel(network=ref).values
    low, high = bootstrap_band(lam_ref, np.mean, seed=seed)
    shade(ax, steps, low, high, REF_COLOR, 0.25, "95% bootstrap interval (inputs)")
    ax.plot(steps, np.nanmean(finite(lam_ref), 0), color=REF_COLOR, lw=2, label=f"{ref}: mean over inputs")
    if others:
        per_seed = np.nanmean(finite(ds.exponent.sel(network=others).values), axis=1)  # (seeds, windows)
        for i, row in enumerate(per_seed):
            ax.plot(
                steps,
                row,
                color=RAND_COLOR,
                lw=0.6,
                alpha=0.5,
                label="each random network" if i == 0 else None,
            )
        label = f"range over {len(others)} random seeds"
        shade(ax, steps, per_seed.min(0), per_seed.max(0), RAND_COLOR, 0.15, label)
        ax.plot(steps, per_seed.mean(0), color=RAND_COLOR, lw=2, label="random: mean over seeds")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel(f"step t (end of each window of tau = {ds.attrs['tau']})")
    ax.set_ylabel(r"local exponent $\lambda_k$ per step")
    ax.set_title(f"Local Lyapunov exponents, eps = {ds.attrs['eps']:g}, {ds.sizes['sample']} inputs")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def chaos_lengths(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Chaos length of every input per network (dots), the median (bar) with its 95% bootstrap
    interval (error bar), and the comparison networks pooled; dotted: the horizon (censored)."""
    ref, others = split_roles(ds)
    columns = [(ref, ds.chaos_length.sel(network=ref).values)]
    columns += [(o, ds.chaos_length.sel(network=o).values) for o in others]
    if others:
        columns.append((f"{len(others)} random pooled", ds.chaos_length.sel(network=others).values.ravel()))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(columns) + 3), 4.2))
    for i, (_, values) in enumerate(columns):
        color = REF_COLOR if i == 0 else RAND_COLOR
        jitter = np.random.default_rng(i).uniform(-0.18, 0.18, values.size)
        ax.scatter(i + jitter, values, s=9, alpha=0.5, color=color)
        median = np.median(values)
        low, high = bootstrap_interval(values, np.median, seed=seed)
        ax.errorbar(
            i,
            median,
            yerr=[[median - low], [high - median]],
            fmt="_",
            ms=22,
            mew=2.5,
            color="k",
            capsize=4,
            lw=1.5,
        )
    ax.axhline(
        ds.attrs["n_steps"], color="0.5", ls=":", lw=1, label=f"horizon T = {ds.attrs['n_steps']} (censored)"
    )
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([name for name, _ in columns], rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("chaos length (steps)")
    ax.set_title("Chaos length per input; bar: median with 95% bootstrap interval")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def spectrum(ds: xr.Dataset) -> plt.Figure:
    """Left: top-k spectrum per network (mean over inputs; band: range over inputs). Right: the
    finite-time largest exponent per window (mean over inputs; band: range over inputs)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, label in enumerate(ds.network.values):
        color = f"C{i}"
        lam = ds.exponent.sel(network=label).values  # (sample, index)
        ax1.plot(ds.index, lam.mean(0), "o-", ms=3, color=color, label=str(label))
        shade(ax1, ds.index, lam.min(0), lam.max(0), color, 0.2)
        top = ds.window_exponent.sel(network=label).isel(index=0).values  # (sample, window)
        ax2.plot(ds.window_end, top.mean(0), color=color, lw=1.6, label=str(label))
        shade(ax2, ds.window_end, top.min(0), top.max(0), color, 0.2)
    for ax in (ax1, ax2):
        ax.axhline(0, color="0.3", lw=0.8)
    ax1.set_xlabel("index i")
    ax1.set_ylabel(r"$\lambda_i$ per step")
    ax1.set_title(f"Top-{ds.attrs['k']} spectrum over {ds.attrs['n_steps']} steps")
    ax2.set_xlabel("step t (end of window)")
    ax2.set_ylabel(r"finite-time $\lambda_1$")
    ax2.set_title(f"Largest finite-time exponent, windows of {ds.attrs['window']}")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def eps_sensitivity(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window for each perturbation size eps, 95% bootstrap band over inputs
    (``ds`` from ``chaoslib.dynamics.lyapunov.eps_sensitivity``)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, e in enumerate(ds.eps.values):
        lam = ds.exponent.sel(eps=e).values
        low, high = bootstrap_band(lam, np.mean, seed=seed)
        rounding = float(ds.resolution.sel(eps=e).max())
        ax.plot(
            ds.window_end,
            np.nanmean(finite(lam), 0),
            "o-",
            ms=3,
            color=f"C{i}",
            label=f"eps = {e:g} (rounding/eps = {rounding:.1e})",
        )
        shade(ax, ds.window_end, low, high, f"C{i}", 0.2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("step t (end of window)")
    ax.set_ylabel(r"mean $\lambda_k$")
    ax.set_title(
        f"Sensitivity to eps, {ds.sizes['sample']} inputs ({ds.attrs.get('dtype', '')}); band: 95% bootstrap"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
