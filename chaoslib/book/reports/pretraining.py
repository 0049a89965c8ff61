"""Numbers of the pretraining-dynamics chapter: the diagnostics record's first and last checkpoints, and the
tables of the live recheck.

The record comes from :func:`chaoslib.pretraining.study.load_study` (``chaoslib.pretraining.diagnostics``:
dims ``checkpoint``, ``sample``, ``ed_step``, ``depth``, ...).
Uncertainty: medians over inputs with bootstrap 95% intervals (``chaoslib.stats``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval

RECHECK_ENTRIES = ("final", "control")


def _interval_text(values: np.ndarray, digits: str = ".3g") -> str:
    low, high = bootstrap_interval(values, np.median)
    return f"{np.median(values):{digits}} [{low:{digits}}, {high:{digits}}]"


def numbers(record: xr.Dataset) -> dict:
    """The chapter's glued numbers: first and last checkpoint, medians with bootstrap 95% intervals."""
    first, last = record.isel(checkpoint=0), record.isel(checkpoint=-1)
    changes = np.abs(np.diff(record.chaos_length.median("sample").values))
    biggest = int(np.argmax(changes)) if len(changes) else 0
    return {
        "pre_n_checkpoints": int(record.sizes["checkpoint"]),
        "pre_last_step": int(record.checkpoint[-1]),
        "pre_lambda0_first": _interval_text(first.lambda0.values),
        "pre_lambda0_last": _interval_text(last.lambda0.values),
        "pre_chaos_first": _interval_text(first.chaos_length.values, ".0f"),
        "pre_chaos_last": _interval_text(last.chaos_length.values, ".0f"),
        "pre_sync_first": _interval_text(first.t_sync.values, ".0f"),
        "pre_sync_last": _interval_text(last.t_sync.values, ".0f"),
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


def recheck_table(checks: tuple | None, entry: str = "final"):
    """One table of the live recheck (:func:`chaoslib.pretraining.study.live_recheck`), as it is shown: the
    record's final entry against the live values (``"final"``), or its penultimate entry, the negative control
    (``"control"``). Columns: quantity, record, live, difference, tolerance, within. None when the recheck did
    not run (``recheck_final = False``): the page then shows nothing."""
    if entry not in RECHECK_ENTRIES:
        raise ChaoslibError(f"entry={entry!r}; use one of {list(RECHECK_ENTRIES)}.")
    return None if checks is None else checks[RECHECK_ENTRIES.index(entry)]
