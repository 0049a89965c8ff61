"""Figures of the exponents chapter (the two protocols, local Lyapunov exponents, chaos length, control
networks, spectrum, eps sensitivity).

Each draws a labelled dataset of :mod:`chaoslib.book.reports.exponents` (which says what the datasets hold and
computes the chapter's numbers and verdicts).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.book.reports.exponents import COMPARISON, CONTROL, REFERENCE, finite, split_roles
from chaoslib.book.reports.phrasing import bracketed
from chaoslib.stats import bootstrap_band, bootstrap_interval

REF_COLOR, RAND_COLOR, CONTROL_COLOR = "C0", "C1", "C2"
PROTOCOL_COLORS = {0: "#c0392b", 1: "#1f5fa8"}  # red: the authors' protocol; blue: this edition's
PROTOCOL_LABELS = {0: "perturb $x(0)$ (authors)", 1: "perturb $x(1)$ (this edition)"}


def _protocol(ds: xr.Dataset) -> str:
    at = ds.attrs.get("perturb_at", 0)
    return PROTOCOL_LABELS.get(int(at), f"perturb $x({at})$")


# figures ------------------------------------------------------------------------------------------
def local_exponents(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window: the reference with a 95% bootstrap band over inputs; each
    comparison network's mean (thin), their mean over seeds (thick) and its range over seeds (band)."""
    ref, others = split_roles(ds)
    steps = ds.window_end.values
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
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
    ax.set_xlabel(rf"step $t$ (end of each window of $\tau$ = {ds.attrs['tau']})")
    ax.set_ylabel(r"local exponent $\lambda_k$ per step")
    ax.set_title(rf"$\varepsilon$ = {ds.attrs['eps']:g}, {ds.sizes['sample']} inputs, {_protocol(ds)}")
    ax.legend(ncol=2)
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
    fig, ax = plt.subplots(figsize=(min(7.5, max(5.0, 0.45 * len(columns) + 2.5)), 4.2))
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
    horizon = ds.attrs["n_steps"]
    if bool(ds.chaos_censored.any()):  # censored lengths sit on the horizon: draw it
        ax.axhline(horizon, color="0.5", ls=":", lw=1, label=f"horizon $T$ = {horizon} (censored)")
        ax.legend(loc="lower right")
    else:  # the axis ends at the data, not at a horizon no length reaches
        top = max(float(np.max(v)) for _, v in columns)
        ax.set_ylim(-0.04 * max(top, 1), 1.08 * max(top, 1))
        ax.text(0.99, 0.98, f"horizon $T$ = {horizon}: no length censored", transform=ax.transAxes,
                ha="right", va="top")
    names = [name for name, _ in columns]
    stem = _common_model(names[: len(names) - bool(others)])
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([n[len(stem) + 1:] if stem and n.startswith(stem + " ") else n for n in names],
                       rotation=35, ha="right")
    ax.set_xlabel(f"network ({stem})" if stem else "network")
    ax.set_ylabel("chaos length (steps)")
    ax.set_title(_protocol(ds))
    fig.tight_layout()
    return fig


def _common_model(labels: list[str]) -> str:
    """The model name every network label starts with (``albert-wikitext2`` of ``albert-wikitext2 random tf
    #1``), written once under the axis instead of under every tick; "" when they differ."""
    first = {label.split(" ", 1)[0] for label in labels}
    return first.pop() if len(first) == 1 and all(" " in label for label in labels) else ""


def spectrum(ds: xr.Dataset) -> plt.Figure:
    """Left: top-k spectrum per network (mean over inputs; band: range over inputs). Right: the
    finite-time largest exponent per window (mean over inputs; band: range over inputs)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.6, 3.8))
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
    ax1.set_xlabel("index $i$")
    ax1.set_ylabel(r"$\lambda_i$ per step")
    ax1.set_title(f"top-{ds.attrs['k']} spectrum over {ds.attrs['n_steps']} steps")
    ax2.set_xlabel("step $t$ (end of window)")
    ax2.set_ylabel(r"finite-time $\lambda_1$")
    ax2.set_title(f"largest exponent, windows of {ds.attrs['window']}")
    ax1.legend()
    fig.tight_layout()
    return fig


def eps_sensitivity(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window for each perturbation size eps, 95% bootstrap band over inputs
    (``ds`` from :func:`chaoslib.book.reports.exponents.eps_sensitivity`; the legend gives the rounding of the
    state relative to eps where ``ds`` records it, as ``chaoslib.dynamics.lyapunov.eps_sensitivity`` does)."""
    fig, ax = plt.subplots(figsize=(7.2, 4))
    for i, e in enumerate(ds.eps.values):
        lam = ds.exponent.sel(eps=e).values
        low, high = bootstrap_band(lam, np.mean, seed=seed)
        label = rf"$\varepsilon$ = {e:g}"
        if "resolution" in ds:
            label += rf" (rounding/$\varepsilon$ = {float(ds.resolution.sel(eps=e).max()):.1e})"
        ax.plot(ds.window_end, np.nanmean(finite(lam), 0), "o-", ms=3, color=f"C{i}", label=label)
        shade(ax, ds.window_end, low, high, f"C{i}", 0.2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("step $t$ (end of window)")
    ax.set_ylabel(r"mean $\lambda_k$")
    ax.set_title(f"{ds.sizes['sample']} inputs, {_protocol(ds)}; band: 95% bootstrap")
    ax.legend()
    fig.tight_layout()
    return fig


def protocols(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """The artefact: local exponents of the untrained network (left) and of a random comparison network
    (right) under both protocols (``ds`` from :func:`chaoslib.book.reports.exponents.protocols`): each input
    (thin), the mean over inputs (thick) with its 95% bootstrap band, against the step at the end of each
    window."""
    fig, axes = plt.subplots(1, ds.sizes["network"], figsize=(7.6, 4.2), sharey=True, squeeze=False)
    for ax, label, role in zip(axes[0], ds.network.values, ds.role.values, strict=True):
        for at in ds.perturb_at.values:
            lam = finite(ds.exponent.sel(perturb_at=at, network=label).values)  # (sample, window)
            steps = ds.window_end.sel(perturb_at=at).values
            color = PROTOCOL_COLORS.get(int(at), "C7")
            for row in lam:
                ax.plot(steps, row, color=color, lw=0.5, alpha=0.4)
            low, high = bootstrap_band(lam, np.mean, seed=seed)
            shade(ax, steps, low, high, color, 0.2)
            ax.plot(
                steps,
                np.nanmean(lam, 0),
                "o-",
                ms=3,
                color=color,
                lw=2,
                label=f"{PROTOCOL_LABELS.get(int(at), at)}: mean, 95% band",
            )
        ax.axhline(0, color="0.3", lw=0.8)
        kind = "untrained (transformers init)" if role == "untrained" else "random comparison"
        ax.set_title(f"{kind}:\n{label}")
        ax.set_xlabel(rf"step $t$ (window end, $\tau$ = {ds.attrs['tau']})")
    axes[0, 0].set_ylabel(r"local exponent $\lambda_k$ per step")
    axes[0, 0].legend()
    fig.suptitle(f"{ds.sizes['sample']} inputs (thin: each input)")
    fig.tight_layout()
    return fig


def _interval_label(value: float, low: float, high: float, digits: str) -> str:
    """``0.05 [0.04, 0.06]``; the value alone without an interval or where the interval has no spread."""
    return bracketed(value, low, high, digits)


def controls(table: xr.Dataset) -> plt.Figure:
    """The reference, its control networks and the comparison networks (``table`` from
    :func:`chaoslib.book.reports.exponents.control_table`): mean lambda_0 (top) and median chaos length
    (bottom), each with its 95% interval, the numbers written beside; a filled marker where the paired 95%
    interval of the difference from the reference excludes 0, an open one where it does not."""
    names = [str(n) for n in table.row.values]
    roles = [str(r) for r in table.role.values]
    colors = {REFERENCE: REF_COLOR, CONTROL: CONTROL_COLOR, COMPARISON: RAND_COLOR}
    y = np.arange(len(names))[::-1]
    fig, axes = plt.subplots(2, 1, figsize=(7.0, 0.8 * len(names) + 2.4), sharey=True)
    panels = (
        ("lambda0", r"mean $\lambda_0$ per step", ".3g"),
        ("median", "median chaos length (steps)", ".0f"),
    )
    for ax, (q, xlabel, digits) in zip(axes, panels, strict=True):
        for yi, name, role in zip(y, names, roles, strict=True):
            r = {k: float(table[k].sel(row=name)) for k in (q, f"{q}_low", f"{q}_high")}
            differs = bool(table[f"differs_{q}"].sel(row=name))
            color = colors.get(role, "C7")
            if not np.isnan(r[f"{q}_low"]):
                ax.plot([r[f"{q}_low"], r[f"{q}_high"]], [yi, yi], color=color, lw=2)
            ax.plot(
                r[q],
                yi,
                "o",
                ms=7,
                color=color,
                mfc=color if differs or role == REFERENCE else "white",
                label=None,
            )
            text = _interval_label(r[q], r[f"{q}_low"], r[f"{q}_high"], digits) + (
                "  differs" if differs else ""
            )
            ax.annotate(text, (1.02, yi), xycoords=("axes fraction", "data"), va="center")
        ax.annotate("value [95% CI]", (1.02, 1.0), xycoords="axes fraction", va="bottom", style="italic")
        reference = float(table[q].sel(row=names[roles.index(REFERENCE)])) if REFERENCE in roles else None
        if reference is not None:
            ax.axvline(reference, color=REF_COLOR, lw=0.8, ls="--")
        if q == "lambda0":
            ax.axvline(0, color="0.3", lw=0.8)
        else:
            ax.axvline(table.attrs["T"], color="0.5", lw=1, ls=":")
        ax.set_xlabel(xlabel)
    for ax in axes:
        ax.set_yticks(y)
        ax.set_yticklabels([name.replace(", ", ",\n") for name in names])
    fig.suptitle(f"the same {table.attrs['n_samples']} inputs; dotted: horizon $T$ = {table.attrs['T']}")
    fig.tight_layout()
    return fig
