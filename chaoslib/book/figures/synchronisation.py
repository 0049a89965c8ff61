"""Figures of the synchronisation chapter (sigma(t), sync offsets, the control networks, the full and
transverse exponents and their transients, reduced map).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.synchronisation` (which says what the datasets
hold and computes the chapter's numbers and verdicts).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.book.figures.exponents import CONTROL_COLOR, RAND_COLOR, REF_COLOR
from chaoslib.book.reports.exponents import controls_of, split_roles

__all__ = [
    "token_spread",
    "offsets",
    "controls",
    "transverse_vs_full",
    "offset_vs_chaos_length",
    "reduced_map",
]


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)  # an exact 0 (tokens equal) has no place on a log axis


def token_spread(ds: xr.Dataset) -> plt.Figure:
    """sigma(t) per input, on a log axis: the reference (left) and every random network (right, one
    colour shade per seed); dashed: the median threshold theta of each panel."""
    ref, others = split_roles(ds)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.6), sharey=True, squeeze=False)
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
            ax.legend(loc="lower left")
        ax.set_title(title)
        ax.set_xlabel("step $t$")
    axes[0, 0].set_ylabel(r"token spread $\sigma(t)$")
    fig.suptitle(f"token spread of {ds.sizes['sample']} inputs, $N$ = {ds.attrs.get('n_tokens', '?')}")
    return fig


def offsets(ds: xr.Dataset) -> plt.Figure:
    """Left: histogram of t_sync, reference vs random networks pooled. Right: median t_sync against
    the threshold, one line per network (open markers: most inputs censored)."""
    ref, others = split_roles(ds)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.6, 3.6))
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
    ax1.set_xlabel(r"sync offset $t_{\mathrm{sync}}$ (censored at $T$)")
    ax1.set_ylabel("inputs")
    ax1.legend()
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
    ax2.legend()
    return fig


def controls(ds: xr.Dataset, control_ds: xr.Dataset | None) -> plt.Figure:
    """t_sync of each input (points, log axis) through the reference (its first inputs, those of the controls)
    and each control network, with each network's median as a bar; open markers: censored at T."""
    ref, _ = split_roles(ds)
    names = controls_of(control_ds) if control_ds is not None else []
    k = control_ds.sizes["sample"] if control_ds is not None else ds.sizes["sample"]
    columns = [(ref, ds.isel(sample=slice(0, k)), REF_COLOR)] + [
        (n, control_ds, CONTROL_COLOR) for n in names
    ]
    fig, ax = plt.subplots(figsize=(min(7.6, max(5.0, 1.1 * len(columns) + 1.5)), 4.2))
    for x, (name, source, color) in enumerate(columns):
        t = source.t_sync.sel(network=name).values
        censored = source.sync_censored.sel(network=name).values
        jitter = x + np.linspace(-0.18, 0.18, t.size)
        ax.scatter(jitter[~censored], t[~censored], s=18, color=color, alpha=0.8)
        ax.scatter(jitter[censored], t[censored], s=18, facecolor="white", edgecolor=color)
        ax.hlines(np.median(t), x - 0.3, x + 0.3, color="k", lw=1.5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([name.replace(", ", ",\n") for name, _, _ in columns])
    ax.set_ylabel(r"sync offset $t_{\mathrm{sync}}$ (open: censored at $T$)")
    ax.set_title(f"reference and control networks on the same {k} inputs (bars: medians)")
    return fig


def _median_where_most(values: np.ndarray) -> np.ndarray:
    """Median over inputs (axis 0) of the finite values, NaN where fewer than half of the inputs are finite (a
    median of the few inputs not yet synchronised would not describe the inputs)."""
    finite = np.where(np.isfinite(values), values, np.nan)
    most = np.isfinite(finite).sum(0) > finite.shape[0] / 2
    out = np.full(finite.shape[1], np.nan)
    out[most] = np.nanmedian(finite[:, most], axis=0)
    return out


def transverse_vs_full(ds: xr.Dataset) -> plt.Figure:
    """The full local exponent and the transverse exponent (growth rate of sigma) of each window against the
    window's first step: medians over inputs (lines; transverse only where most inputs have not synchronised),
    the 10-90% range over inputs of the full exponent as a band. Left: the reference; right: the random
    networks, their inputs pooled."""
    ref, others = split_roles(ds)
    start = ds.window_end.values - int(ds.attrs["tau"])
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.6), sharey=True, squeeze=False)
    for ax, names, color, title in (
        (axes[0, 0], [ref], REF_COLOR, ref),
        (axes[0, 1], others, RAND_COLOR, f"{len(others)} random networks (inputs pooled)"),
    ):
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("first step of the window")
        if not names:
            continue
        full = ds.exponent.sel(network=names).values.reshape(-1, start.size)
        perp = ds.transverse_exponent.sel(network=names).values.reshape(-1, start.size)
        finite = np.where(np.isfinite(full), full, np.nan)
        shade(
            ax,
            start,
            np.nanquantile(finite, 0.1, axis=0),
            np.nanquantile(finite, 0.9, axis=0),
            color,
            0.2,
            "full: 10-90% over inputs",
        )
        ax.plot(start, _median_where_most(full), color=color, lw=2, label=r"full $\lambda_k$: median")
        ax.plot(
            start,
            _median_where_most(perp),
            color="k",
            lw=1.5,
            ls="--",
            label=r"transverse $\lambda_{\perp,k}$: median",
        )
        ax.legend()
    axes[0, 0].set_ylabel("growth rate per step")
    return fig


def offset_vs_chaos_length(ds: xr.Dataset) -> plt.Figure:
    """The transverse transient l_perp (filled) and, for the reference, the sync offset t_sync (open) against
    the chaos length l of the same input, one point per input and network; the diagonal with a +-tau band.
    Censored values sit at T."""
    ref, others = split_roles(ds)
    tau, horizon = ds.attrs["tau"], ds.attrs["n_steps"]
    fig, ax = plt.subplots(figsize=(5.6, 5))
    if others:
        ax.scatter(
            ds.chaos_length.sel(network=others).values.ravel(),
            ds.transverse_length.sel(network=others).values.ravel(),
            s=16,
            alpha=0.5,
            color=RAND_COLOR,
            label=r"random networks: $l_\perp$",
        )
    ax.scatter(
        ds.chaos_length.sel(network=ref).values,
        ds.transverse_length.sel(network=ref).values,
        s=26,
        alpha=0.85,
        color=REF_COLOR,
        label=rf"{ref}: $l_\perp$",
    )
    ax.scatter(
        ds.chaos_length.sel(network=ref).values,
        ds.t_sync.sel(network=ref).values,
        s=26,
        facecolor="white",
        edgecolor=REF_COLOR,
        label=rf"{ref}: $t_{{\mathrm{{sync}}}}$",
    )
    plotted = [ds.chaos_length.values, ds.transverse_length.values, ds.t_sync.sel(network=ref).values]
    top = min(
        float(horizon), max(float(np.max(v)) for v in plotted) + 2 * tau
    )  # zoom on where the points are
    line = np.array([0, top])
    ax.plot(line, line, color="k", lw=1)
    ax.fill_between(line, line - tau, line + tau, color="0.85", zorder=0, label=rf"$\pm\tau$ = {tau}")
    ax.set_xlim(-0.02 * top, 1.02 * top)
    ax.set_ylim(-0.02 * top, 1.02 * top)
    ax.set_xlabel(f"chaos length $l$ (steps; censored at $T$ = {horizon})")
    ax.set_ylabel(r"transverse transient $l_\perp$, sync offset $t_{\mathrm{sync}}$")
    ax.legend()
    return fig


def reduced_map(ds: xr.Dataset) -> plt.Figure:
    """Median over states of ||full - lifted R|| / ||full|| by step from an exactly synchronised state,
    per dtype, with the range over states as a band."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    steps = ds.step.values[1:]
    for i, name in enumerate(ds.dtype.values):
        error = ds.relative_error.sel(dtype=name).values[:, 1:]
        ax.fill_between(steps, error.min(0), error.max(0), color=f"C{i}", alpha=0.2, lw=0)
        ax.semilogy(
            steps, np.median(error, axis=0), marker=".", color=f"C{i}", label=f"{name}: median over states"
        )
    ax.set_xlabel("steps from the synchronised state")
    ax.set_ylabel(r"$\|x_{full} - \mathrm{lift}(y_R)\| / \|x_{full}\|$")
    ax.legend()
    return fig
