"""Figures and numbers of the GLUE-by-depth chapter.

The dataset comes from ``chaoslib.tasks.glue_sweep.glue_dataset``: ``score`` with its bootstrap
interval ``score_low``/``score_high`` over (arm, network, depth), a ``weights`` coordinate per
network ("pretrained" or "random"), and the networks' ``chaos_length`` with its interval.
The pretrained network is drawn with its bootstrap band over dev rows; the random networks one
thin line per seed, their mean over seeds thick and their range over seeds as a band.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.tasks.glue import get_task

PRE_COLOR, RAND_COLOR = "C0", "C1"
METRIC_NAMES = {"pearson_spearman_mean": "(Pearson + Spearman) / 2", "f1": "F1", "matthews": "Matthews"}


def networks_of(ds: xr.Dataset, weights: str) -> list[str]:
    """The labels of the networks with ``weights`` ("pretrained" or "random"), in the dataset's order."""
    return [str(n) for n, w in zip(ds.network.values, ds.weights.values, strict=True) if w == weights]


def task_name(ds: xr.Dataset) -> str:
    """The task as GLUE writes it (``STS-B``, ``MRPC``...)."""
    return get_task(ds.attrs["task"]).folder


def _metric_label(ds: xr.Dataset) -> str:
    return f"{task_name(ds)} dev {METRIC_NAMES.get(ds.attrs['metric'], ds.attrs['metric'])}"


def peaks(ds: xr.Dataset, arm: str = "frozen") -> dict[str, dict]:
    """Per network: the depth of its highest score in ``arm``, that score and its interval."""
    out = {}
    for net in ds.network.values:
        score = ds.score.sel(arm=arm, network=net)
        if bool(score.isnull().all()):
            continue
        depth = int(score.idxmax("depth"))
        at = dict(arm=arm, network=net, depth=depth)
        out[str(net)] = {
            "depth": depth,
            "score": float(ds.score.sel(at)),
            "low": float(ds.score_low.sel(at)),
            "high": float(ds.score_high.sel(at)),
        }
    return out


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
            fontsize=8,
        )


def score_by_depth(ds: xr.Dataset, arm: str = "frozen") -> plt.Figure:
    """Score against depth in one arm: the pretrained network with its 95% bootstrap band over dev
    rows; each random seed thin, their mean thick, their range over seeds as a band; each kind's
    chaos length (dashed, with its interval shaded)."""
    if arm not in ds.arm.values:
        raise ChaoslibError(f"arm={arm!r} is not in the result (arms: {list(ds.arm.values)}).")
    part = ds.sel(arm=arm).dropna("depth", how="all", subset=["score"])
    depths = part.depth.values
    many = len(depths) > 12
    style = dict(lw=1.6) if many else dict(lw=1.6, marker="o", ms=4)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for net in networks_of(part, "pretrained"):
        s = part.sel(network=net)
        ax.fill_between(
            depths,
            s.score_low,
            s.score_high,
            color=PRE_COLOR,
            alpha=0.25,
            lw=0,
            label="95% bootstrap interval (dev rows)",
        )
        ax.plot(depths, s.score, color=PRE_COLOR, label=net, **style)
    rand = networks_of(part, "random")
    if rand:
        scores = part.score.sel(network=rand)
        if len(rand) > 1:
            ax.fill_between(
                depths,
                scores.min("network"),
                scores.max("network"),
                color=RAND_COLOR,
                alpha=0.2,
                lw=0,
                label=f"range over {len(rand)} random seeds",
            )
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
    _chaos_marks(ax, ds, networks_of(ds, "pretrained"), PRE_COLOR, "pretrained")
    _chaos_marks(ax, ds, rand, RAND_COLOR, "random (median over seeds)")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel("depth d (applications of the shared layer)")
    ax.set_ylabel(_metric_label(ds))
    ax.set_title(f"{arm} encoder: {ds.attrs['n_train']} train / {ds.attrs['n_dev']} dev rows")
    ax.legend(fontsize=7, loc="best")
    return fig


def arms_compared(ds: xr.Dataset) -> plt.Figure:
    """Frozen against trained encoder at the depths the trained arm ran: every network's score
    with its 95% bootstrap interval (error bars), one panel per kind of network."""
    if "trained" not in ds.arm.values:
        raise ChaoslibError("the result has no trained arm; run trained_depths first.")
    depths = ds.depth.values[ds.score.sel(arm="trained").notnull().any("network").values]
    kinds = [k for k in ("pretrained", "random") if networks_of(ds, k)]
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.2), sharey=True, squeeze=False)
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
        ax.set_xlabel("depth d")
        ax.set_title(f"{kind}: {', '.join(nets) if len(nets) == 1 else f'{len(nets)} seeds'}", fontsize=9)
        ax.axhline(0.0, color="0.5", lw=0.6)
    axes[0, 0].set_ylabel(_metric_label(ds))
    axes[0, -1].legend(fontsize=8)
    return fig


def r7_numbers(ds: xr.Dataset, arm: str = "frozen") -> dict:
    """The numbers the prose quotes, all from the result: the pretrained network's score at the
    first and last depth and at its peak (with the bootstrap interval), the random seeds' peaks,
    and the chaos lengths. Keys are prefixed ``glue_``."""
    pre, rand = networks_of(ds, "pretrained"), networks_of(ds, "random")
    part = ds.sel(arm=arm)
    top = peaks(ds, arm)
    out = {
        "glue_task": task_name(ds),
        "glue_n_train": int(ds.attrs["n_train"]),
        "glue_n_dev": int(ds.attrs["n_dev"]),
        "glue_n_seeds": len(rand),
        "glue_last_depth": int(part.depth.max()),
    }
    if rand:
        rand_peaks = [top[n]["score"] for n in rand if n in top]
        out.update(
            glue_rand_peak_max=float(np.max(rand_peaks)),
            glue_rand_peak_min=float(np.min(rand_peaks)),
            glue_rand_last_mean=float(part.score.sel(network=rand).isel(depth=-1).mean()),
        )
        if "chaos_length" in ds:
            out["glue_rand_chaos"] = float(np.median(ds.chaos_length.sel(network=rand)))
    if pre:
        net, p = pre[0], top[pre[0]]
        s = part.score.sel(network=net)
        out.update(
            glue_pre_network=net,
            glue_pre_peak_depth=p["depth"],
            glue_pre_peak_score=p["score"],
            glue_pre_peak_low=p["low"],
            glue_pre_peak_high=p["high"],
            glue_pre_score_d1=float(s.isel(depth=0)),
            glue_pre_score_last=float(s.isel(depth=-1)),
        )
        if "chaos_length" in ds:
            out.update(
                glue_pre_chaos=float(ds.chaos_length.sel(network=net)),
                glue_pre_chaos_low=float(ds.chaos_low.sel(network=net)),
                glue_pre_chaos_high=float(ds.chaos_high.sel(network=net)),
            )
    return out


def target_r7(numbers: dict, edition: str) -> dict:
    """R7 (score against depth: shape, peak depth) read as a checkable criterion, for ``Chapter.target``.

    Holds when the pretrained network's peak score is above every random seed's peak (the lower end
    of its bootstrap interval above their highest peak) AND its peak depth lies within its chaotic
    transient (at most the upper end of the chaos length's interval). None without both kinds.
    """
    claim = "STS-B score vs depth: shape, peak depth (pretrained above random, peak within the transient)"
    if "glue_pre_peak_depth" not in numbers or "glue_rand_peak_max" not in numbers:
        return dict(
            target_id="R7", claim=claim, measured="needs a pretrained and a random network", holds=None
        )
    n = numbers
    above = n["glue_pre_peak_low"] > n["glue_rand_peak_max"]
    within = n["glue_pre_peak_depth"] <= n.get("glue_pre_chaos_high", np.inf)
    nan = float("nan")
    chaos = (
        n.get("glue_pre_chaos", nan),
        n.get("glue_pre_chaos_low", nan),
        n.get("glue_pre_chaos_high", nan),
    )
    measured = (
        f"{edition}: {n['glue_pre_network']} peaks at depth {n['glue_pre_peak_depth']} with "
        f"{n['glue_pre_peak_score']:.3f} (95% CI {n['glue_pre_peak_low']:.3f} to "
        f"{n['glue_pre_peak_high']:.3f}); {n['glue_n_seeds']} random glue seeds peak at "
        f"{n['glue_rand_peak_min']:.3f} to {n['glue_rand_peak_max']:.3f}; chaos length "
        f"{chaos[0]:.0f} (CI {chaos[1]:.0f} to {chaos[2]:.0f})"
    )
    note = (
        f"pretrained above random: {'yes' if above else 'no'}; peak within the transient: "
        f"{'yes' if within else 'no'}. SPEC gives no numeric criterion; the chapter states this reading."
    )
    return dict(target_id="R7", claim=claim, measured=measured, holds=bool(above and within), note=note)
