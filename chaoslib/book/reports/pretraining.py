"""Numbers of the pretraining-dynamics chapter: the diagnostics record's first and last checkpoints, the
exponents without the rescaling artefact at the two ends (step 0 rebuilt, and the shipped network), and the
tables of the live recheck.

The record comes from :func:`chaoslib.pretraining.study.load_study` (``chaoslib.pretraining.diagnostics``:
dims ``checkpoint``, ``sample``, ``ed_step``, ``depth``, ...), measured with the record's protocol (the
authors': x(0) perturbed); the two ends from :func:`chaoslib.pretraining.study.corrected_ends` (x(1)
perturbed).
Uncertainty: medians over the inputs of one network with bootstrap 95% intervals (``chaoslib.stats``); the
difference between the protocols is paired by input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.study import protocol_label, record_settings
from chaoslib.stats import bootstrap_interval, difference_interval

RECHECK_ENTRIES = ("final", "control")


def _interval_text(values: np.ndarray, digits: str = ".3g") -> str:
    low, high = bootstrap_interval(values, np.median)
    return f"{np.median(values):{digits}} [{low:{digits}}, {high:{digits}}]"


def numbers(record: xr.Dataset) -> dict:
    """The chapter's glued numbers: first and last checkpoint, medians with bootstrap 95% intervals; the
    exponents and chaos lengths under the record's protocol (``pre_record_protocol``)."""
    first, last = record.isel(checkpoint=0), record.isel(checkpoint=-1)
    changes = np.abs(np.diff(record.chaos_length.median("sample").values))
    biggest = int(np.argmax(changes)) if len(changes) else 0
    return {
        "pre_n_checkpoints": int(record.sizes["checkpoint"]),
        "pre_record_protocol": protocol_label(record_settings(record).perturb_at),
        "pre_last_step": int(record.checkpoint[-1]),
        "pre_lambda0_first": _interval_text(first.lambda0.values),
        "pre_lambda0_last": _interval_text(last.lambda0.values),
        "pre_chaos_first": _interval_text(first.chaos_length.values, ".0f"),
        "pre_chaos_last": _interval_text(last.chaos_length.values, ".0f"),
        "pre_sync_first": _interval_text(first.t_sync.values, ".0f"),
        "pre_sync_last": _interval_text(last.t_sync.values, ".0f"),
        # a censored t_sync is the horizon, a lower bound: the prose says for how many inputs
        "pre_sync_censored_first": f"{int(first.sync_censored.sum())} of {first.sizes['sample']}",
        "pre_sync_censored_last": f"{int(last.sync_censored.sum())} of {last.sizes['sample']}",
        "pre_horizon": int(record_settings(record).n_steps),
        "pre_chaos_jump_from": int(record.checkpoint[biggest]),
        "pre_chaos_jump_to": int(record.checkpoint[min(biggest + 1, record.sizes["checkpoint"] - 1)]),
        "pre_ed_first": float(first.ed_peak),
        "pre_ed_last": float(last.ed_peak),
        "pre_mlm_first": float(first.mlm_accuracy),
        "pre_mlm_last": float(last.mlm_accuracy),
        "pre_sop_last": float(last.sop_accuracy),
        "pre_stsb_first": float(first.stsb_score.max()),
        "pre_stsb_last": float(last.stsb_score.max()),
    }


def _positive_text(values: np.ndarray) -> str:
    """'32 of 32': how many inputs have a first-window exponent above 0."""
    return f"{int(np.sum(values > 0))} of {values.size}"


def _gap_text(a: np.ndarray, b: np.ndarray) -> str:
    """median(a) - median(b) with its paired bootstrap 95% interval (a and b: (inputs,), the same inputs):
    '0.0771 [0.0764, 0.0779]'."""
    gap = float(np.median(a) - np.median(b))
    low, high = difference_interval(a, b, np.median, paired=True)
    return f"{gap:.3g} [{low:.3g}, {high:.3g}]"


def corrected_numbers(record: xr.Dataset, corrected: xr.Dataset, rebuild: pd.DataFrame) -> dict:
    """The glued numbers of the two ends measured with x(1) perturbed (``corrected``: dims (checkpoint: [0,
    final], sample), from :func:`chaoslib.pretraining.study.corrected_ends`) beside the record's, and of the
    step-0 rebuild check (``rebuild``: :func:`chaoslib.pretraining.study.rebuild_check`'s table).

    Keys ``pre_*_init_*`` (step 0) and ``pre_*_final_*``: the corrected first-window exponent and chaos length
    (median [bootstrap 95% interval] over inputs), how many inputs have lambda_0 > 0 under each protocol, the
    paired difference record - corrected of the median lambda_0 (``pre_protocol_gap_*``), the paired change of
    the corrected median lambda_0 from step 0 to the final network (``pre_corrected_change``); the rebuild's
    mean lambda_0 and largest difference of one exponent from the record; whether step 0 is ("is" / "is not")
    the untrained control network at the run's seed (``pre_init_control``, ``pre_init_seed``).
    """
    ends = {"init": record.checkpoint.values[0], "final": record.checkpoint.values[-1]}
    out: dict = {"pre_corrected_protocol": corrected.attrs.get("protocol", protocol_label(1)),
                 "pre_n_inputs": int(corrected.sizes["sample"])}
    for end, step in ends.items():
        now, then = corrected.sel(checkpoint=step), record.sel(checkpoint=step)
        out[f"pre_lambda0_{end}_corrected"] = _interval_text(now.lambda0.values)
        out[f"pre_chaos_{end}_corrected"] = _interval_text(now.chaos_length.values, ".0f")
        out[f"pre_positive_{end}_corrected"] = _positive_text(now.lambda0.values)
        out[f"pre_positive_{end}_record"] = _positive_text(then.lambda0.values)
        out[f"pre_protocol_gap_{end}"] = _gap_text(then.lambda0.values, now.lambda0.values)
    first, last = (corrected.sel(checkpoint=step).lambda0.values for step in ends.values())
    out["pre_corrected_change"] = _gap_text(last, first)
    rows = rebuild.set_index("quantity")
    out["pre_rebuild_lambda0_mean"] = float(rows.loc["lambda0_mean", "rebuilt"])
    out["pre_record_lambda0_mean"] = float(rows.loc["lambda0_mean", "record"])
    out["pre_rebuild_largest_difference"] = float(rebuild["difference"].iloc[-1])  # one exponent, any window
    out["pre_rebuild_windows"] = int(rebuild.attrs.get("windows", 1))
    out["pre_init_control"] = "is" if corrected.attrs.get("untrained_control") else "is not"
    out["pre_init_seed"] = int(corrected.attrs.get("seed", 0))
    return out


def ends_table(record: xr.Dataset, corrected: xr.Dataset) -> pd.DataFrame:
    """Step 0 and the final network under both protocols, as the page shows them: one row per (step,
    protocol) with the median lambda_0 [95% interval], inputs with lambda_0 > 0, the median chaos length
    [95% interval] and how many inputs it is censored for (no contracting window before the horizon)."""
    record_protocol = protocol_label(record_settings(record).perturb_at)
    rows = []
    for step in corrected.checkpoint.values:
        for protocol, ds in ((record_protocol, record), (corrected.attrs.get("protocol", ""), corrected)):
            row = ds.sel(checkpoint=step)
            rows.append({
                "step": int(step), "protocol": protocol,
                "lambda_0 per step, median [95% CI]": _interval_text(row.lambda0.values),
                "inputs with lambda_0 > 0": _positive_text(row.lambda0.values),
                "chaos length, median [95% CI]": _interval_text(row.chaos_length.values, ".0f"),
                "censored at the horizon": int(row.chaos_censored.values.sum()),
            })
    return pd.DataFrame(rows)


def recheck_table(checks: tuple | None, entry: str = "final"):
    """One table of the live recheck (:func:`chaoslib.pretraining.study.live_recheck`), as it is shown: the
    record's final entry against the live values (``"final"``), or its penultimate entry, the negative control
    (``"control"``). Columns: quantity, record, live, difference, tolerance, within. None when the recheck did
    not run (``recheck_final = False``): the page then shows nothing."""
    if entry not in RECHECK_ENTRIES:
        raise ChaoslibError(f"entry={entry!r}; use one of {list(RECHECK_ENTRIES)}.")
    return None if checks is None else checks[RECHECK_ENTRIES.index(entry)]
