"""Numbers and verdict of the GLUE-by-depth chapter (R7).

The dataset comes from :func:`chaoslib.tasks.glue_sweep.glue_dataset`: ``score`` with its bootstrap interval
``score_low``/``score_high`` over (arm, network, depth), the frozen heads' dev outputs ``prediction``
(network, depth, row, output) with the dev ``label`` (row), a ``role`` coordinate per network ("reference":
the network under test, "comparison": the random networks), ``weights`` ("pretrained" or "random"), and the
networks' ``chaos_length`` with its interval (``chaos_low``/``chaos_high``).

A peak picked on the rows that also give its interval is biased upwards (the highest of many noisy scores), so
R7 chooses each network's peak depth on one half of the dev rows and scores it on the other half
(:func:`held_out_peaks`); the split is seeded and the same for every network.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.effective_dimension import reference_above_others
from chaoslib.book.reports.phrasing import interval, lie_between, strip_verdict
from chaoslib.book.reports.verdicts import THRESHOLD, network_rule, target_record
from chaoslib.errors import ChaoslibError
from chaoslib.stats import PermutationTest
from chaoslib.tasks.glue import get_task
from chaoslib.tasks.glue_metrics import primary_score, score_interval

__all__ = ["networks_of", "task_name", "peaks", "split_rows", "held_out_peaks", "r7_numbers", "target_r7",
           "r7_sentence", "chaos_text"]

REFERENCE, COMPARISON = "reference", "comparison"


def networks_of(ds: xr.Dataset, role: str) -> list[str]:
    """The labels of the networks with ``role`` ("reference" or "comparison"), in the dataset's order."""
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the result has no 'role' coordinate; make it with chaoslib.tasks.glue_sweep.glue_dataset."
        )
    return [str(n) for n, r in zip(ds.network.values, ds.role.values, strict=True) if r == role]


def task_name(ds: xr.Dataset) -> str:
    """The task as GLUE writes it (``STS-B``, ``MRPC``...)."""
    return get_task(ds.attrs["task"]).folder


def peaks(ds: xr.Dataset, arm: str = "frozen") -> dict[str, dict]:
    """Per network: the depth of its highest score on all dev rows in ``arm``, that score and its interval
    (a description of the curve: the depth is chosen on the rows that give the interval)."""
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


def split_rows(n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of ``n_rows`` dev rows into a selection half (the first ``n_rows // 2`` of a permutation
    by ``numpy.random.default_rng(seed)``) and a held-out half (the rest), each sorted."""
    if n_rows < 8:
        raise ChaoslibError(
            f"{n_rows} dev rows: a split into a selection and a held-out half needs at least 8."
        )
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[: n_rows // 2]), np.sort(order[n_rows // 2 :])


def held_out_peaks(ds: xr.Dataset, split_seed: int = 0, n_boot: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Per network with frozen dev outputs: the depth of its highest score on the selection half of the dev
    rows (:func:`split_rows`), its score there (``select_score``), and that depth's score on the held-out half
    (``score``) with a 95% percentile bootstrap interval over the held-out rows (``low``, ``high``;
    :func:`chaoslib.tasks.glue_metrics.score_interval`, ``n_boot`` resamples, ``seed``)."""
    if "prediction" not in ds:
        raise ChaoslibError("the result has no dev outputs ('prediction'); rerun the frozen arm with "
                            "chaoslib.tasks.glue_sweep.glue_by_depth, which keeps them.")
    task = ds.attrs["task"]
    labels = ds.label.values
    select, held = split_rows(labels.size, split_seed)
    out = {}
    for net in ds.network.values:
        outputs = ds.prediction.sel(network=net).values  # (depth, row, output)
        if np.isnan(outputs).all():
            continue
        chosen = [primary_score(task, o[select], labels[select]) for o in outputs]
        i = int(np.nanargmax(chosen))
        low, high = score_interval(task, outputs[i : i + 1, held], labels[held], n_resamples=n_boot,
                                   seed=seed)
        out[str(net)] = {
            "depth": int(ds.depth.values[i]),
            "select_score": float(chosen[i]),
            "score": float(primary_score(task, outputs[i, held], labels[held])),
            "low": float(low[0]),
            "high": float(high[0]),
        }
    return out


def r7_numbers(ds: xr.Dataset, split_seed: int = 0, n_boot: int = 1000, seed: int = 0,
               arm: str = "frozen") -> dict:
    """The numbers the prose quotes, all from the result (keys prefixed ``glue_``): the reference's score at
    the first and last depth and its highest score on all dev rows (a description); per network the peak
    depth chosen on half of the dev rows and its score on the other half with its interval
    (:func:`held_out_peaks`): the reference's (``glue_pre_heldout_*``) and the comparison networks' range
    (``glue_rand_heldout_min/max``); the chaos lengths; and the exact permutation test over networks of the
    held-out scores (``glue_r7_p``, ``glue_r7_smallest_p``, ``glue_r7_n_networks``)."""
    pre, rand = networks_of(ds, REFERENCE), networks_of(ds, COMPARISON)
    part = ds.sel(arm=arm)
    top = peaks(ds, arm)
    held = held_out_peaks(ds, split_seed, n_boot, seed)
    select, rest = split_rows(ds.label.size, split_seed)
    out = {
        "glue_task": task_name(ds),
        "glue_n_train": int(ds.attrs["n_train"]),
        "glue_n_dev": int(ds.attrs["n_dev"]),
        "glue_n_seeds": len(rand),
        "glue_last_depth": int(part.depth.max()),
        "glue_split_seed": int(split_seed),
        "glue_n_select": int(select.size),
        "glue_n_heldout": int(rest.size),
    }
    rand_held = [held[n]["score"] for n in rand if n in held]
    if rand:
        rand_peaks = [top[n]["score"] for n in rand if n in top]
        out.update(
            glue_rand_peak_max=float(np.max(rand_peaks)),
            glue_rand_peak_min=float(np.min(rand_peaks)),
            glue_rand_last_mean=float(part.score.sel(network=rand).isel(depth=-1).mean()),
            glue_rand_heldout_max=float(np.max(rand_held)),
            glue_rand_heldout_min=float(np.min(rand_held)),
            glue_rand_heldout_depths=", ".join(str(held[n]["depth"]) for n in rand if n in held),
        )
        out["glue_rand_peak_text"] = lie_between(out["glue_rand_peak_min"], out["glue_rand_peak_max"], ".3f")
        low, high = (f"{out[f'glue_rand_heldout_{k}']:.3f}" for k in ("min", "max"))
        out["glue_rand_heldout_text"] = (
            f"score {low}" if len(rand_held) == 1 else f"all score {low}" if low == high
            else f"score from {low} to {high}"
        )
        if "chaos_length" in ds:
            out["glue_rand_chaos"] = float(np.median(ds.chaos_length.sel(network=rand)))
            out["glue_rand_chaos_text"] = chaos_text(out["glue_rand_chaos"], ds.attrs.get("chaos_n_steps"))
    if pre:
        net, p, h = pre[0], top[pre[0]], held[pre[0]]
        s = part.score.sel(network=net)
        out.update(
            glue_pre_network=net,
            glue_pre_peak_depth=p["depth"],
            glue_pre_peak_score=p["score"],
            glue_pre_peak_low=p["low"],
            glue_pre_peak_high=p["high"],
            glue_pre_score_d1=float(s.isel(depth=0)),
            glue_pre_score_last=float(s.isel(depth=-1)),
            glue_pre_heldout_depth=h["depth"],
            glue_pre_select_score=h["select_score"],
            glue_pre_heldout_score=h["score"],
            glue_pre_heldout_low=h["low"],
            glue_pre_heldout_high=h["high"],
        )
        if "chaos_length" in ds:
            out.update(
                glue_pre_chaos=float(ds.chaos_length.sel(network=net)),
                glue_pre_chaos_low=float(ds.chaos_low.sel(network=net)),
                glue_pre_chaos_high=float(ds.chaos_high.sel(network=net)),
            )
            out["glue_pre_chaos_text"] = chaos_text(
                out["glue_pre_chaos"], ds.attrs.get("chaos_n_steps"), out["glue_pre_chaos_low"],
                out["glue_pre_chaos_high"]
            )
        if rand_held:
            test = reference_above_others([h["score"], *rand_held])
            out.update(glue_r7_p=test.p_value, glue_r7_smallest_p=test.smallest_p,
                       glue_r7_n_networks=test.n_networks, glue_r7_statistic=test.statistic)
    return out


def chaos_text(median: float, horizon: int | None, low: float | None = None,
               high: float | None = None) -> str:
    """A median chaos length for the prose: ``12 steps (95% interval 10 to 20)``, or, censored at the
    ``horizon``, ``at least 200 steps (censored at the horizon)``."""
    if horizon is not None and median >= horizon:
        return f"at least {median:.0f} steps (censored at the horizon)"
    text = f"{median:.0f} steps"
    return text if low is None else f"{text} ({interval(low, high, '.0f')})"


def _parts(numbers: dict) -> tuple[bool, bool]:
    """(above, within): the reference's held-out peak score above every comparison network's (the lower end of
    its interval above their highest), and its peak depth within its chaotic transient (at most the upper end
    of the chaos length's interval; a length censored at the horizon counts as the horizon)."""
    n = numbers
    above = n["glue_pre_heldout_low"] > n["glue_rand_heldout_max"]
    within = n["glue_pre_heldout_depth"] <= n.get("glue_pre_chaos_high", np.inf)
    return bool(above), bool(within)


def target_r7(numbers: dict, edition: str) -> dict:
    """R7 (score against depth: shape, peak depth) read as a checkable criterion: the record for
    ``Chapter.verdict`` (:func:`chaoslib.book.reports.verdicts.target_record`), from the numbers alone.

    The effect: the reference's peak, chosen on half of the dev rows and scored on the other half, lies above
    every comparison network's peak chosen and scored the same way (the lower end of its interval above their
    highest), and its depth lies within the reference's chaotic transient. Networks are the unit
    (:func:`chaoslib.book.reports.verdicts.network_rule`): no effect -> does not hold; an effect whose
    smallest attainable p (1 / (K + 1) for K comparison networks) exceeds the threshold -> not testable here.
    """
    claim = "STS-B score vs depth: shape, peak depth (reference above random, peak within the transient)"
    if "glue_r7_p" not in numbers:
        return target_record("R7", claim, f"{edition}: needs the network under test and comparison networks",
                             None, unit="networks",
                             reason="not testable here: no comparison networks with held-out scores were run")
    n = numbers
    above, within = _parts(n)
    test = PermutationTest(n["glue_r7_statistic"], n["glue_r7_p"], int(n["glue_r7_n_networks"]),
                           n["glue_r7_smallest_p"], "greater", int(n["glue_r7_n_networks"]))
    holds, reason = network_rule(above and within, test)
    nan = float("nan")
    chaos = tuple(n.get(f"glue_pre_chaos{k}", nan) for k in ("", "_low", "_high"))
    measured = (
        f"{edition}: peak depths chosen on {n['glue_n_select']} dev rows, scored on the other "
        f"{n['glue_n_heldout']} (split seed {n['glue_split_seed']}): {n['glue_pre_network']} peaks at depth "
        f"{n['glue_pre_heldout_depth']}, held-out score {n['glue_pre_heldout_score']:.3f} (95% CI "
        f"{n['glue_pre_heldout_low']:.3f} to {n['glue_pre_heldout_high']:.3f}); {n['glue_n_seeds']} random "
        f"glue networks {n['glue_rand_heldout_min']:.3f} to {n['glue_rand_heldout_max']:.3f}; permutation "
        f"test over {n['glue_r7_n_networks']} networks p = {n['glue_r7_p']:.3g} (smallest attainable "
        f"{n['glue_r7_smallest_p']:.3g}); chaos length {chaos[0]:.0f} (CI {chaos[1]:.0f} to {chaos[2]:.0f})"
    )
    note = (
        f"reference above random: {'yes' if above else 'no'}; peak within the transient: "
        f"{'yes' if within else 'no'}. The paper gives no numeric criterion; the chapter states this reading."
    )
    interval = (f"held-out peak score {n['glue_pre_heldout_score']:.3f} [{n['glue_pre_heldout_low']:.3f}, "
                f"{n['glue_pre_heldout_high']:.3f}]")
    return target_record("R7", claim, measured, holds, note, unit="networks", interval=interval,
                         reason=reason)


def r7_sentence(record: dict, numbers: dict) -> str:
    """Why R7's verdict is what it is, in words for the prose."""
    if record["holds"] is None:
        return strip_verdict(record["reason"])
    above, within = _parts(numbers)
    if not (above and within):
        failed = [part for part, ok in (("above every random network's held-out peak", above),
                                        ("within its chaotic transient", within)) if not ok]
        return f"the reference's held-out peak is not {' and not '.join(failed)}"
    return (f"permutation test over {numbers['glue_r7_n_networks']} networks p = {numbers['glue_r7_p']:.3g}, "
            f"threshold {THRESHOLD:g}")
