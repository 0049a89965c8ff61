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
    assert (got["pre_chaos_jump_from"], got["pre_chaos_jump_to"]) == (16, 32)
    assert got["pre_ed_first"] == float(first.ed_peak) and got["pre_ed_last"] == float(last.ed_peak)
    assert got["pre_mlm_last"] == float(last.mlm_accuracy) and got["pre_sop_last"] == float(last.sop_accuracy)
    assert got["pre_stsb_first"] == record.stsb_score.values[0].max()
    assert got["pre_stsb_last"] == record.stsb_score.values[-1].max()


def test_a_record_of_one_checkpoint_has_no_jump(record):
    got = report.numbers(record.isel(checkpoint=[0]))
    assert got["pre_chaos_jump_from"] == got["pre_chaos_jump_to"] == 0


def test_recheck_tables_are_shown_as_the_recheck_returns_them():
    final = pd.DataFrame({"quantity": ["lambda0"], "within": [True]})
    control = pd.DataFrame({"quantity": ["lambda0"], "within": [False]})
    assert report.recheck_table((final, control), "final") is final
    assert report.recheck_table((final, control), "control") is control
    assert report.recheck_table(None, "final") is None  # recheck_final = False: nothing on the page
    with pytest.raises(ChaoslibError, match="entry='penultimate'"):
        report.recheck_table((final, control), "penultimate")
