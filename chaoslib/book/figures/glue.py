"""Figures of the GLUE-by-depth chapter (its numbers and R7: :mod:`chaoslib.book.reports.glue`).

The dataset comes from ``chaoslib.tasks.glue_sweep.glue_dataset``: ``score`` with its bootstrap
interval ``score_low``/``score_high`` over (arm, network, depth), a ``role`` coordinate per
network ("reference": the network under test, "comparison": the random networks), and the networks'
``chaos_length`` with its interval. The reference is drawn with its bootstrap band over dev rows; the
random networks one thin line per seed, their mean over seeds thick and their range over seeds as a band.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.book.reports.glue import networks_of, task_name
from chaoslib.errors import ChaoslibError

PRE_COLOR, RAND_COLOR = "C0", "C1"
METRIC_NAMES = {"pearson_spearman_mean": "(Pearson + Spearman) / 2", "f1": "F1", "matthews": "Matthews"}


def _metric_label(ds: xr.Dataset) -> str:
    return f"{task_name(ds)} dev {METRIC_NAMES.get(ds.attrs['metric'], ds.attrs['metric'])}"


def _chaos_marks(ax, ds: xr.Dataset, nets: list[str], color: str, name: str) -> None:
    """The chaos length (median over inputs) as a dashed line and its bootstrap interval as a band."""
    if "chaos_length" not in ds or not nets:
        return
    lengths = ds.chaos_length.sel(network=nets).values
    low, high = ds.chaos_low.sel(network=nets).values, ds.chaos_high.sel(network=nets).values
    median = float(np.median(lengths))
    horizon = ds.attrs.get("chaos_n_steps")
    at_least = "≥ " if horizon is not None and median >= horizon else ""  # censored at the horizon
    mark = f"chaos length {name}: {at_least}{median:.0f}"
    if median <= float(ds.depth.max()):
        ax.axvline(median, color=color, ls="--", lw=1.2, label=mark)
        ax.axvspan(float(np.min(low)), float(np.max(high)), color=color, alpha=0.08, lw=0)
    else:
        ax.annotate(
            f"{mark} > depth {int(ds.depth.max())}" + (f" (horizon {horizon})" if horizon else ""),
            xy=(0.99, 0.03 if color == PRE_COLOR else 0.10),
            xycoords="axes fraction",
            ha="right",
            color=color,
        )


def score_by_depth(ds: xr.Dataset, arm: str = "frozen") -> plt.Figure:
    """Score against depth in one arm: the reference network with its 95% bootstrap band over dev
    rows; each random seed thin, their mean thick, their range over seeds as a band; each kind's
    chaos length (dashed, with its interval shaded)."""
    if arm not in ds.arm.values:
        raise ChaoslibError(f"arm={arm!r} is not in the result (arms: {list(ds.arm.values)}).")
    part = ds.sel(arm=arm).dropna("depth", how="all", subset=["score"])
    depths = part.depth.values
    many = len(depths) > 12
    style = dict(lw=1.6) if many else dict(lw=1.6, marker="o", ms=4)
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    for net in networks_of(part, "reference"):
        s = part.sel(network=net)
        shade(ax, depths, s.score_low, s.score_high, PRE_COLOR, 0.25, "95% bootstrap interval (dev rows)")
        ax.plot(depths, s.score, color=PRE_COLOR, label=net, **style)
    rand = networks_of(part, "comparison")
    if rand:
        scores = part.score.sel(network=rand)
        if len(rand) > 1:
            label = f"range over {len(rand)} random seeds"
            shade(ax, depths, scores.min("network"), scores.max("network"), RAND_COLOR, 0.2, label)
        for net in rand:
            # "_" keeps each seed out of the legend (the band and the mean speak for them)
            ax.plot(depths, scores.sel(network=net), color=RAND_COLOR, lw=0.6, alpha=0.6, label=f"_{net}")
        ax.plot(
            depths,
            scores.mean("network"),
            color=RAND_COLOR,
            label=f"random ({len(rand)} seeds): mean",
            **style,
        )
    _chaos_marks(ax, ds, networks_of(ds, "reference"), PRE_COLOR, "reference")
    _chaos_marks(ax, ds, rand, RAND_COLOR, "random (median over seeds)")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel("depth $d$ (applications of the shared layer)")
    ax.set_ylabel(_metric_label(ds))
    ax.set_title(f"{arm} encoder: {ds.attrs['n_train']} train / {ds.attrs['n_dev']} dev rows")
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


def arms_compared(ds: xr.Dataset) -> plt.Figure:
    """Frozen against trained encoder at the depths the trained arm ran: every network's score
    with its 95% bootstrap interval (error bars), one panel per role (the reference, the comparison
    networks)."""
    if "trained" not in ds.arm.values:
        raise ChaoslibError("the result has no trained arm; run trained_depths first.")
    depths = ds.depth.values[ds.score.sel(arm="trained").notnull().any("network").values]
    kinds = [k for k in ("reference", "comparison") if networks_of(ds, k)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.8 * len(kinds), 4.0), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        nets = networks_of(ds, kind)
        for k, arm in enumerate(("frozen", "trained")):
            for j, net in enumerate(nets):
                s = ds.sel(arm=arm, network=net, depth=depths)
                score, low, high = s.score.values, s.score_low.values, s.score_high.values
                x = np.arange(len(depths)) + (k - 0.5) * 0.35 + (j - (len(nets) - 1) / 2) * 0.05
                ax.errorbar(
                    x,
                    score,
                    yerr=[score - low, high - score],
                    fmt="o" if arm == "frozen" else "s",
                    ms=4,
                    capsize=2,
                    color=f"C{2 + k}",
                    label=f"{arm} encoder" if j == 0 else None,
                )
        ax.set_xticks(np.arange(len(depths)), [str(d) for d in depths])
        ax.set_xlabel("depth $d$")
        ax.set_title(f"{kind}: {', '.join(nets) if len(nets) == 1 else f'{len(nets)} seeds'}")
        ax.axhline(0.0, color="0.5", lw=0.6)
    axes[0, 0].set_ylabel(_metric_label(ds))
    axes[0, -1].legend()
    fig.tight_layout()
    return fig
