"""Chapter 08's numbers and recheck tables come from the diagnostics record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from chaoslib.book.reports import pretraining as report
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.diagnostics import DiagnosticSettings, diagnostics_dataset, ed_summary
from chaoslib.stats import bootstrap_interval
from chaoslib.store import load_dataset, save_dataset


@pytest.fixture
def record(tmp_path) -> xr.Dataset:
    rng = np.random.default_rng(0)
    settings = DiagnosticSettings(n_inputs=5, n_steps=40, tau=10, ed_steps=6, spectrum_inputs=2, spectrum_k=3,
                                  stsb_depths=(1, 2, 4))
    steps = [0, 16, 32]
    results = []
    for chaos in ([3, 4, 5, 6, 7], [4, 5, 6, 7, 8], [20, 21, 22, 23, 24]):  # the biggest change: 16 -> 32
        ed = rng.uniform(1, 9, size=7)
        peak, peak_step, half = ed_summary(ed)
        results.append({
            "lambda0": rng.normal(size=5), "exponents": rng.normal(size=(5, 4)),
            "chaos_length": np.array(chaos), "chaos_censored": np.zeros(5, bool),
            "t_sync": rng.integers(0, 40, size=5), "sync_censored": np.zeros(5, bool),
            "effective_dimension": ed, "ed_peak": peak, "ed_peak_step": peak_step, "ed_half_step": half,
            "spectrum": rng.normal(size=(2, 3)), "kaplan_yorke": rng.uniform(0, 3, size=2),
            "mlm_accuracy": rng.uniform(), "mlm_loss": rng.uniform(5, 8), "sop_accuracy": rng.uniform(),
            "most_frequent_accuracy": 0.06, "stsb_scores": rng.uniform(size=3),
        })
    ds = diagnostics_dataset(steps, results, settings)
    save_dataset(ds, tmp_path / "record.nc")  # the numbers are read from the file, as the book does
    return load_dataset(tmp_path / "record.nc")


def test_numbers_are_the_first_and_last_checkpoints(record):
    got = report.numbers(record)
    first, last = record.isel(checkpoint=0), record.isel(checkpoint=-1)
    assert (got["pre_n_checkpoints"], got["pre_last_step"]) == (3, 32)
    low, high = bootstrap_interval(first.lambda0.values, np.median)
    assert got["pre_lambda0_first"] == f"{np.median(first.lambda0.values):.3g} [{low:.3g}, {high:.3g}]"
    assert got["pre_chaos_first"].startswith("5 [") and got["pre_chaos_last"].startswith("22 [")
    assert got["pre_chaos_text"] == f"goes from {got['pre_chaos_first']} to {got['pre_chaos_last']} steps"
    sop = record.sop_accuracy.values
    side = "below" if sop[-1] < 0.5 else "above"
    assert got["pre_sop_text"] == (
        f"SOP accuracy ends at {sop[-1]:.1%}, {side} the 50% of chance, and stays between {sop.min():.1%} "
        f"and {sop.max():.1%} over the run"
    )
    assert got["pre_chaos_jump_text"].endswith("falls between steps 16 and 32")
    assert (got["pre_chaos_jump_from"], got["pre_chaos_jump_to"]) == (16, 32)
    assert got["pre_ed_first"] == float(first.ed_peak) and got["pre_ed_last"] == float(last.ed_peak)
    assert got["pre_mlm_last"] == float(last.mlm_accuracy) and got["pre_sop_last"] == float(last.sop_accuracy)
    assert got["pre_stsb_first"] == record.stsb_score.values[0].max()
    assert got["pre_stsb_last"] == record.stsb_score.values[-1].max()


def test_a_record_of_one_checkpoint_has_no_jump(record):
    got = report.numbers(record.isel(checkpoint=[0]))
    assert got["pre_chaos_jump_from"] == got["pre_chaos_jump_to"] == 0


def _check(within: bool) -> pd.DataFrame:
    """A recheck table as ``chaoslib.pretraining.diagnostics.recheck`` returns it."""
    return pd.DataFrame({"quantity": ["lambda0_mean", "stsb_best"], "record": [0.060485, 0.41],
                         "live": [0.060492, 0.41 if within else 0.45],
                         "difference": [6.3e-6, 0.0 if within else 0.04],
                         "tolerance": [2e-3, 1e-2], "within": [True, within]})


def test_recheck_tables_are_numbered_tables_with_named_quantities(record):
    final, control = _check(True), _check(False)
    shown = report.recheck_table((final, control), "final", record).data
    assert shown.startswith(
        "```{table} The shipped network recomputed now against the record's final entry (step 32)"
    )
    assert ":name: tab-pre-recheck-final" in shown
    assert "| Quantity | Record | Live | Difference | Tolerance | Within tolerance |" in shown
    # quantities in words, small differences as maths, no code names and no NaN
    row = "| mean $\\lambda_0$ per step | 0.060485 | 0.060492 | $6.3 \\times 10^{-6}$ | 0.002 | yes |"
    assert row in shown
    assert "stsb_best" not in shown and "best frozen STS-B score" in shown
    negative = report.recheck_table((final, control), "control", record).data
    assert "Negative control: the record's penultimate entry (step 16)" in negative
    assert "| best frozen STS-B score | 0.41 | 0.45 | 0.04 | 0.01 | no |" in negative
    assert report.recheck_table(None, "final") is None  # recheck_final = False: nothing on the page
    with pytest.raises(ChaoslibError, match="entry='penultimate'"):
        report.recheck_table((final, control), "penultimate")


def test_the_rebuild_check_is_a_numbered_table():
    shown = report.rebuild_table(REBUILD).data
    assert shown.startswith("```{table} Step 0 rebuilt from the run's configuration and seed")
    assert ":name: tab-pre-rebuild" in shown and "| Rebuilt |" in shown
    assert "| median chaos length (steps) | 20 | 20 | 0 | 10 | yes |" in shown
    assert "| largest exponent difference | 0 | $3 \\times 10^{-4}$ |" in shown


def _ends(record: xr.Dataset, lambda0, chaos) -> xr.Dataset:
    """The two ends measured with x(1) perturbed, as study.corrected_ends returns them."""
    steps = [int(record.checkpoint[0]), int(record.checkpoint[-1])]
    return xr.Dataset(
        {"lambda0": (("checkpoint", "sample"), np.asarray(lambda0, float)),
         "chaos_length": (("checkpoint", "sample"), np.asarray(chaos, float)),
         "chaos_censored": (("checkpoint", "sample"), np.asarray(chaos) >= 40)},
        coords={"checkpoint": steps},
        attrs={"perturb_at": 1, "protocol": "perturb x(1)", "untrained_control": 1, "seed": 4},
    )


REBUILD = pd.DataFrame({"quantity": ["lambda0_mean", "chaos_length_median", "largest exponent difference"],
                        "record": [0.07, 20.0, 0.0], "rebuilt": [0.0701, 20.0, 3e-4],
                        "difference": [1e-4, 0.0, 3e-4], "tolerance": [2e-3, 10.0, 2e-3],
                        "within": [True, True, True]})
REBUILD.attrs["windows"] = 3


def test_corrected_numbers_are_the_ends_beside_the_record(record):
    lambda0 = [[-0.01, -0.02, -0.03, -0.04, 0.05], [0.1, 0.2, 0.3, 0.4, 0.5]]
    ends = _ends(record, lambda0, [[0, 0, 0, 10, 10], [20, 20, 30, 40, 40]])
    got = report.corrected_numbers(record, ends, REBUILD)
    low, high = bootstrap_interval(np.array(lambda0[0]), np.median)
    assert got["pre_lambda0_init_corrected"] == f"-0.02 [{low:.3g}, {high:.3g}]"
    assert got["pre_lambda0_final_corrected"].startswith("0.3 [")
    assert got["pre_chaos_init_corrected"].startswith("0 [")
    assert got["pre_chaos_final_corrected"].startswith("30 [")
    assert (got["pre_positive_init_corrected"], got["pre_positive_final_corrected"]) == ("1 of 5 inputs",
                                                                                        "all 5 inputs")
    first = record.lambda0.values[0]
    assert got["pre_positive_init_record"].startswith(f"{int((first > 0).sum())} of 5")
    # the protocols' gap: median(record) - median(x(1)) on the same inputs; the change: final - step 0
    assert got["pre_protocol_gap_init"].startswith(f"{np.median(first) - (-0.02):.3g} [")
    assert got["pre_corrected_change"].startswith(f"{0.3 - (-0.02):.3g} [")
    assert got["pre_n_inputs"] == 5 and got["pre_corrected_protocol"] == "perturb x(1)"
    assert (got["pre_rebuild_lambda0_mean"], got["pre_record_lambda0_mean"]) == (0.0701, 0.07)
    assert (got["pre_rebuild_largest_difference"], got["pre_rebuild_windows"]) == (3e-4, 3)
    assert (got["pre_init_control"], got["pre_init_seed"]) == ("is", 4)
    ends.attrs["untrained_control"] = 0
    assert report.corrected_numbers(record, ends, REBUILD)["pre_init_control"] == "is not"


def test_the_record_is_labelled_with_its_protocol_and_an_old_one_with_the_authors(record):
    from dataclasses import asdict

    now = record.copy()
    now.attrs["settings"] = asdict(DiagnosticSettings(perturb_at=1))
    assert report.numbers(now)["pre_record_protocol"] == "perturb x(1)"
    old = record.copy()  # written before perturb_at was a setting
    old.attrs["settings"] = {k: v for k, v in now.attrs["settings"].items() if k != "perturb_at"}
    assert report.numbers(old)["pre_record_protocol"] == "authors' protocol (perturb x(0))"


def test_ends_table_puts_both_protocols_at_both_ends(record):
    ends = _ends(record, [[-0.01] * 5, [0.02] * 5], [[0] * 5, [20, 20, 20, 40, 40]])
    table = report.ends_frame(record, ends)
    assert list(table["step"]) == [0, 0, 32, 32]
    assert list(table["protocol"]) == ["authors' protocol (perturb x(0))", "perturb x(1)"] * 2
    assert table["lambda_0 per step, median [95% CI]"][1] == "-0.01"  # no spread: the value alone
    assert list(table["inputs with lambda_0 > 0"])[1::2] == ["0 of 5", "5 of 5"]
    assert table["censored at the horizon"][3] == 2
    shown = report.ends_table(record, ends).data
    assert ":name: tab-pre-ends" in shown and "final network (step 32)" in shown
    assert "| 0 | perturb $x(1)$ | -0.01 | 0 of 5 | 0 | 0 |" in shown


def test_a_censored_median_reads_as_a_lower_bound(record):
    never = record.assign(t_sync=record.t_sync.where(record.checkpoint > 0, 40),
                          sync_censored=record.sync_censored | (record.checkpoint == 0))
    got = report.numbers(never)  # no input synchronises within the 40 steps at step 0
    horizon = got["pre_horizon"]
    assert got["pre_sync_first"] == f"more than {horizon} (censored at the horizon)"
    assert got["pre_sync_text"].startswith(f"goes from more than {horizon} (censored at the horizon) to ")
    assert got["pre_sync_censored_text"].data == (
        f"all 5 inputs at step 0 but none at the end did not synchronise within the horizon of {horizon} "
        "steps; such an input's $t_{\\rm sync}$ counts as the horizon, a lower bound"
    )
    assert report._goes("40", "40", "steps") == "stays at 40 steps"


def test_censored_sync_offsets_are_counted_for_the_prose(record):
    censored = record.sync_censored.copy(data=np.array([[True] * 5, [False] * 5, [True, False, False, False, False]]))
    got = report.numbers(record.assign(sync_censored=censored))
    assert (got["pre_sync_censored_first"], got["pre_sync_censored_last"]) == ("5 of 5", "1 of 5")
    assert got["pre_horizon"] == DiagnosticSettings().n_steps  # no settings: the defaults' horizon
