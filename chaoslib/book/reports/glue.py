"""Numbers and verdict of the GLUE-by-depth chapter (R7).

The dataset comes from :func:`chaoslib.tasks.glue_sweep.glue_dataset`: ``score`` with its bootstrap interval
``score_low``/``score_high`` over (arm, network, depth), a ``weights`` coordinate per network ("pretrained" or
"random"), and the networks' ``chaos_length`` with its interval (``chaos_low``/``chaos_high``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.verdicts import target_record
from chaoslib.tasks.glue import get_task

__all__ = ["networks_of", "task_name", "peaks", "r7_numbers", "target_r7"]


def networks_of(ds: xr.Dataset, weights: str) -> list[str]:
    """The labels of the networks with ``weights`` ("pretrained" or "random"), in the dataset's order."""
    return [str(n) for n, w in zip(ds.network.values, ds.weights.values, strict=True) if w == weights]


def task_name(ds: xr.Dataset) -> str:
    """The task as GLUE writes it (``STS-B``, ``MRPC``...)."""
    return get_task(ds.attrs["task"]).folder


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
    """R7 (score against depth: shape, peak depth) read as a checkable criterion: the record for
    ``Chapter.verdict`` (:func:`chaoslib.book.reports.verdicts.target_record`).

    Holds when the pretrained network's peak score is above every random seed's peak (the lower end
    of its bootstrap interval above their highest peak) AND its peak depth lies within its chaotic
    transient (at most the upper end of the chaos length's interval). None without both kinds.
    """
    claim = "STS-B score vs depth: shape, peak depth (pretrained above random, peak within the transient)"
    if "glue_pre_peak_depth" not in numbers or "glue_rand_peak_max" not in numbers:
        return target_record("R7", claim, "needs a pretrained and a random network", None)
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
    return target_record("R7", claim, measured, bool(above and within), note)
