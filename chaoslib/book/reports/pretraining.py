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

from chaoslib.book.reports.phrasing import (
    MarkdownText,
    at_least,
    bracketed,
    count_of,
    markdown_table,
    tex_number,
)
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.study import protocol_label, record_settings
from chaoslib.stats import bootstrap_interval, difference_interval

RECHECK_ENTRIES = ("final", "control")
QUANTITY_NAMES = {
    "lambda0_mean": "mean $\\lambda_0$ per step",
    "chaos_length_median": "median chaos length (steps)",
    "t_sync_median": "median $t_{\\rm sync}$ (steps)",
    "ed_peak": "peak effective dimension",
    "mlm_accuracy": "held-out masked-token accuracy",
    "sop_accuracy": "held-out SOP accuracy",
    "stsb_best": "best frozen STS-B score",
}
"""The recheck's and the rebuild check's quantities as the page names them."""
CHANCE_SOP = 0.5  # sentence-order prediction: two orders, shown equally often


def _interval_text(values: np.ndarray, digits: str = ".3g", censored: np.ndarray | None = None,
                   horizon: int | None = None) -> str:
    """The median over inputs with its bootstrap 95% interval, ``0.0605 [0.0571, 0.0648]``; the median alone
    where the interval has no spread at this precision; ``more than 400 (censored at the horizon)`` where the
    median input is censored at ``horizon`` (more than half of the inputs are)."""
    if censored is not None and np.mean(censored) > 0.5:
        return at_least(float(horizon), True, digits)
    low, high = bootstrap_interval(values, np.median)
    return bracketed(float(np.median(values)), low, high, digits)


def _goes(first: str, last: str, unit: str = "") -> str:
    """``goes from A to B steps``, or ``stays at A steps`` when both texts are the same."""
    tail = f" {unit}" if unit else ""
    if first == last:
        return f"stays at {first}{tail}"
    return f"goes from {first} to {last}{tail}"


def _censored_text(first: int, last: int, n: int, horizon: int) -> MarkdownText:
    """How many inputs never synchronised within the horizon at the two ends, for the prose."""
    if not first and not last:
        text = f"every input synchronised within the horizon of {horizon} steps at both ends"
        return MarkdownText(text)
    joint = "but" if (first == 0) != (last == 0) else "and"
    ends = (f"{count_of(first, n, 'input') if first else 'none'} at step 0 {joint} "
            f"{count_of(last, n, 'input') if last else 'none'} at the end")
    text = (f"{ends} did not synchronise within the horizon of {horizon} steps; such an input's "
            "{t} counts as the horizon, a lower bound")
    return MarkdownText(text.format(t="$t_{\\rm sync}$"), text.format(t="t_sync"))


def sop_text(accuracy: np.ndarray, chance: float = CHANCE_SOP) -> str:
    """SOP accuracy along the run for the prose, against chance: ``SOP accuracy ends at 48.8%, below the 50%
    of chance, and stays between 48.8% and 52.3% over the run``."""
    last, low, high = float(accuracy[-1]), float(np.min(accuracy)), float(np.max(accuracy))
    side = ("below" if last < chance else "above") if f"{last:.1%}" != f"{chance:.1%}" else "at"
    text = f"SOP accuracy ends at {last:.1%}, {side} the {chance:.0%} of chance"
    if accuracy.size > 1:
        text += (f", and stays at {low:.1%} over the run" if f"{low:.1%}" == f"{high:.1%}"
                 else f", and stays between {low:.1%} and {high:.1%} over the run")
    return text


def numbers(record: xr.Dataset) -> dict:
    """The chapter's glued numbers: first and last checkpoint, medians with bootstrap 95% intervals; the
    exponents and chaos lengths under the record's protocol (``pre_record_protocol``)."""
    first, last = record.isel(checkpoint=0), record.isel(checkpoint=-1)
    changes = np.abs(np.diff(record.chaos_length.median("sample").values))
    biggest = int(np.argmax(changes)) if len(changes) else 0
    horizon = int(record_settings(record).n_steps)
    out = {
        "pre_n_checkpoints": int(record.sizes["checkpoint"]),
        "pre_record_protocol": protocol_label(record_settings(record).perturb_at),
        "pre_record_protocol_md": MarkdownText(_maths(protocol_label(record_settings(record).perturb_at)),
                                               protocol_label(record_settings(record).perturb_at)),
        "pre_last_step": int(record.checkpoint[-1]),
        "pre_lambda0_first": _interval_text(first.lambda0.values),
        "pre_lambda0_last": _interval_text(last.lambda0.values),
        "pre_chaos_first": _interval_text(first.chaos_length.values, ".0f", first.chaos_censored.values,
                                          horizon),
        "pre_chaos_last": _interval_text(last.chaos_length.values, ".0f", last.chaos_censored.values,
                                         horizon),
        "pre_sync_first": _interval_text(first.t_sync.values, ".0f", first.sync_censored.values, horizon),
        "pre_sync_last": _interval_text(last.t_sync.values, ".0f", last.sync_censored.values, horizon),
        # a censored t_sync is the horizon, a lower bound: the prose says for how many inputs
        "pre_sync_censored_first": f"{int(first.sync_censored.sum())} of {first.sizes['sample']}",
        "pre_sync_censored_last": f"{int(last.sync_censored.sum())} of {last.sizes['sample']}",
        "pre_horizon": horizon,
        "pre_chaos_jump_from": int(record.checkpoint[biggest]),
        "pre_chaos_jump_to": int(record.checkpoint[min(biggest + 1, record.sizes["checkpoint"] - 1)]),
        "pre_ed_first": float(first.ed_peak),
        "pre_ed_last": float(last.ed_peak),
        "pre_mlm_first": float(first.mlm_accuracy),
        "pre_mlm_last": float(last.mlm_accuracy),
        "pre_sop_last": float(last.sop_accuracy),
        "pre_sop_text": sop_text(record.sop_accuracy.values),
        "pre_stsb_first": float(first.stsb_score.max()),
        "pre_stsb_last": float(last.stsb_score.max()),
    }
    out.update(
        pre_chaos_text=_goes(out["pre_chaos_first"], out["pre_chaos_last"], "steps"),
        pre_sync_text=_goes(out["pre_sync_first"], out["pre_sync_last"]),
        pre_sync_censored_text=_censored_text(int(first.sync_censored.sum()), int(last.sync_censored.sum()),
                                              first.sizes["sample"], horizon),
        pre_ed_text=_goes(f"{out['pre_ed_first']:.1f}", f"{out['pre_ed_last']:.1f}"),
        pre_stsb_text=_goes(f"{out['pre_stsb_first']:.3f}", f"{out['pre_stsb_last']:.3f}"),
        pre_chaos_jump_text=(
            "the largest change of the median chaos length between two saved checkpoints falls between "
            f"steps {out['pre_chaos_jump_from']} and {out['pre_chaos_jump_to']}"
            if len(changes) and changes.max() > 0
            else "the median chaos length is the same at every saved checkpoint"
        ),
    )
    return out


def _positive_count(values: np.ndarray) -> str:
    """'32 of 32': how many inputs have a first-window exponent above 0 (a table cell)."""
    return f"{int(np.sum(values > 0))} of {values.size}"


def _positive_text(values: np.ndarray) -> str:
    """'all 32 inputs', '3 of 32 inputs', 'none of the 32 inputs': those whose first-window exponent is above
    0."""
    return count_of(int(np.sum(values > 0)), values.size, "input")


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
        out[f"pre_chaos_{end}_corrected"] = _interval_text(
            now.chaos_length.values, ".0f", now.chaos_censored.values,
            int(corrected.attrs.get("n_steps", record_settings(record).n_steps)),
        )
        out[f"pre_positive_{end}_corrected"] = _positive_text(now.lambda0.values)
        out[f"pre_positive_{end}_record"] = _positive_text(then.lambda0.values)
        out[f"pre_protocol_gap_{end}"] = _gap_text(then.lambda0.values, now.lambda0.values)
    first, last = (corrected.sel(checkpoint=step).lambda0.values for step in ends.values())
    out["pre_corrected_change"] = _gap_text(last, first)
    rows = rebuild.set_index("quantity")
    out["pre_rebuild_lambda0_mean"] = float(rows.loc["lambda0_mean", "rebuilt"])
    out["pre_record_lambda0_mean"] = float(rows.loc["lambda0_mean", "record"])
    out["pre_rebuild_largest_difference"] = float(rebuild["difference"].iloc[-1])  # one exponent, any window
    largest = out["pre_rebuild_largest_difference"]
    out["pre_rebuild_largest_difference_tex"] = MarkdownText(f"${tex_number(largest, 2)}$", f"{largest:.1e}")
    out["pre_rebuild_windows"] = int(rebuild.attrs.get("windows", 1))
    out["pre_init_control"] = "is" if corrected.attrs.get("untrained_control") else "is not"
    out["pre_init_seed"] = int(corrected.attrs.get("seed", 0))
    return out


def ends_frame(record: xr.Dataset, corrected: xr.Dataset) -> pd.DataFrame:
    """Step 0 and the final network under both protocols: one row per (step, protocol) with the median
    lambda_0 [95% interval], inputs with lambda_0 > 0, the median chaos length [95% interval] and how many
    inputs it is censored for (no contracting window before the horizon)."""
    record_protocol = protocol_label(record_settings(record).perturb_at)
    rows = []
    for step in corrected.checkpoint.values:
        for protocol, ds in ((record_protocol, record), (corrected.attrs.get("protocol", ""), corrected)):
            row = ds.sel(checkpoint=step)
            rows.append({
                "step": int(step), "protocol": protocol,
                "lambda_0 per step, median [95% CI]": _interval_text(row.lambda0.values),
                "inputs with lambda_0 > 0": _positive_count(row.lambda0.values),
                "chaos length, median [95% CI]": _interval_text(row.chaos_length.values, ".0f"),
                "censored at the horizon": int(row.chaos_censored.values.sum()),
            })
    return pd.DataFrame(rows)


def _maths(text: str) -> str:
    """A protocol label or a quantity for a table cell, its states and symbols as maths."""
    return text.replace("x(0)", "$x(0)$").replace("x(1)", "$x(1)$").replace("lambda_0", "$\\lambda_0$")


def ends_table(record: xr.Dataset, corrected: xr.Dataset, name: str = "tab-pre-ends") -> MarkdownText:
    """:func:`ends_frame` as a numbered table for the page
    (:func:`chaoslib.book.reports.phrasing.markdown_table`)."""
    frame = ends_frame(record, corrected)
    header = ["Step", "Perturbation", "$\\lambda_0$ per step, median [95% CI]",
              "Inputs with $\\lambda_0 > 0$", "Chaos length, median [95% CI]", "Censored at the horizon"]
    rows = [[str(r["step"]), _maths(r["protocol"]), r["lambda_0 per step, median [95% CI]"],
             r["inputs with lambda_0 > 0"], r["chaos length, median [95% CI]"],
             str(r["censored at the horizon"])]
            for _, r in frame.iterrows()]
    final = int(corrected.checkpoint[-1])
    caption = (f"Step 0 and the final network (step {final}) under both protocols, on the same "
               f"{corrected.sizes['sample']} inputs: medians over the inputs with bootstrap 95% intervals; "
               "the chaos length is counted from step 0 under both protocols.")
    return markdown_table(header, rows, caption, name, "rlrrrr")


def _quantity(name: str) -> str:
    if name in QUANTITY_NAMES:
        return QUANTITY_NAMES[name]
    one = "largest difference of one exponent"
    return _maths(name.replace(one, "largest difference of one input's exponent"))


def _number_cell(value: float) -> str:
    """A table cell for a recorded or live value, a difference or a tolerance: five significant digits, small
    numbers as maths."""
    value = float(value)
    if np.isnan(value):
        return "not measured"
    if value != 0 and abs(value) < 1e-3:
        return f"${tex_number(value, 3)}$"
    return f"{value:.5g}"


def check_table(frame: pd.DataFrame, other: str, caption: str, name: str) -> MarkdownText:
    """A check's table (the rebuild's or the recheck's: columns quantity, record, ``other``, difference,
    tolerance, within) as a numbered table for the page, quantities named in words."""
    header = ["Quantity", "Record", other.capitalize(), "Difference", "Tolerance", "Within tolerance"]
    rows = [[_quantity(str(r["quantity"])), *(_number_cell(r[k]) for k in ("record", other, "difference",
                                                                          "tolerance")),
             "yes" if bool(r["within"]) else "no"] for _, r in frame.iterrows()]
    return markdown_table(header, rows, caption, name, "lrrrrl")


def rebuild_table(rebuild: pd.DataFrame, name: str = "tab-pre-rebuild") -> MarkdownText:
    """The step-0 rebuild check (:func:`chaoslib.pretraining.study.rebuild_check`) as a numbered table."""
    caption = ("Step 0 rebuilt from the run's configuration and seed, measured with the record's protocol, "
               "against the record's step 0. The build fails when a difference exceeds its tolerance.")
    return check_table(rebuild, "rebuilt", caption, name)


def recheck_table(checks: tuple | None, entry: str = "final", record: xr.Dataset | None = None):
    """One table of the live recheck (:func:`chaoslib.pretraining.study.live_recheck`) as a numbered table for
    the page: the record's final entry against the live values (``"final"``), or its penultimate entry, the
    negative control (``"control"``); ``record`` names their steps in the caption. None when the recheck did
    not run (``recheck_final = False``): the page then shows nothing."""
    if entry not in RECHECK_ENTRIES:
        raise ChaoslibError(f"entry={entry!r}; use one of {list(RECHECK_ENTRIES)}.")
    if checks is None:
        return None
    steps = [] if record is None else [int(s) for s in record.checkpoint.values]
    if entry == "final":
        at = f" (step {steps[-1]})" if steps else ""
        caption = (f"The shipped network recomputed now against the record's final entry{at}: every quantity "
                   "must lie within its tolerance.")
    else:
        at = f" (step {steps[-2]})" if len(steps) > 1 else ""
        caption = (f"Negative control: the record's penultimate entry{at} against the same live values; at "
                   "least one quantity must lie outside its tolerance.")
    return check_table(checks[RECHECK_ENTRIES.index(entry)], "live", caption, f"tab-pre-recheck-{entry}")
