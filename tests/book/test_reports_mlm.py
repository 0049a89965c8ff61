"""The MLM-by-depth chapter's summary numbers, table and R8 verdict (hand-made counts, saved and reloaded)."""

from __future__ import annotations

import built_results as built  # noqa: E402
import numpy as np
import pytest

from chaoslib.book.reports.mlm import (
    accuracy_frame,
    accuracy_table,
    chapter_numbers,
    comparisons,
    mlm_summary,
    r8_numbers,
    r8_sentence,
    target_r8,
)
from chaoslib.model.network import Network
from chaoslib.tasks.mlm_results import reference_vs_comparisons


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    return built.mlm_counts(tmp_path_factory.mktemp("mlm"))

@pytest.fixture(scope="module")
def baseline(counts):
    return built.mlm_baseline(counts)

def _numbers(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    timed = counts.assign(fit_seconds=(("encoder", "mode"), np.full((4, 3), 2.0)))
    return summary, cmp, chapter_numbers(summary, cmp, timed)

def test_chapter_numbers_quote_the_summary(counts, baseline):
    summary, cmp, numbers = _numbers(counts, baseline)
    a = summary.sel(mode="trained", depth=2).isel(encoder=0)
    want = f"{float(a.accuracy):.3f} [{float(a.accuracy_low):.3f}, {float(a.accuracy_high):.3f}]"
    assert numbers["mlm_pre_trained_at_trained"] == want
    assert numbers["mlm_pre_reinit_untied_best"] == "not run" and numbers["mlm_rnd_reinit_best"] == "not run"
    assert numbers["mlm_fit_seconds"] == "24" and numbers["mlm_trained_depth"] == "2"
    assert numbers["mlm_r8_n_above"] == 3 and numbers["mlm_r8_n_depths"] == 3
    assert numbers["mlm_r8_mode"] == "trained"
    assert numbers["mlm_r8_above_text"] == "all 3 depths"
    low, high = numbers["mlm_r8_diff_min"], numbers["mlm_r8_diff_max"]
    assert numbers["mlm_r8_diff_text"] == f"ranges from {low:.3f} to {high:.3f}"
    # the random encoders' best with their spread over seeds, as the prose reads it
    assert numbers["mlm_rnd_trained_best"].count("seeds ") == 1 and " to " in numbers["mlm_rnd_trained_best"]


def test_a_flat_curve_has_no_best_depth(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    flat = summary.copy(deep=True)
    flat["accuracy"].loc[dict(mode="untrained")] = 0.0  # every encoder at 0 at every depth
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    numbers = chapter_numbers(flat, cmp, counts.assign(fit_seconds=(("encoder", "mode"), np.ones((4, 3)))))
    assert numbers["mlm_rnd_untrained_best"] == "0.000 (every depth; every seed 0.000)"
    assert numbers["mlm_pre_untrained_best"] == "0.000 (every depth)"

def test_r8_numbers_by_hand(counts, baseline):
    _, cmp, numbers = _numbers(counts, baseline)
    trained = cmp.sel(mode="trained")
    acc = (counts.correct / counts.n_masked).sel(mode="trained")  # (encoder, depth, block)
    per_encoder = acc.mean("block").mean("depth").values
    assert per_encoder[0] > per_encoder[1:].max()  # the reference is the highest of 4: p = 1/4, its smallest
    assert numbers["mlm_r8_p"] == pytest.approx(0.25) and numbers["mlm_r8_smallest_p"] == pytest.approx(0.25)
    assert numbers["mlm_r8_n_networks"] == 4 and numbers["mlm_r8_at"] == 2
    diff = acc.isel(encoder=0) - acc.isel(encoder=[1, 2, 3]).mean("encoder")
    diff = float(diff.sel(depth=2).mean("block"))
    assert numbers["mlm_r8_diff_at"] == pytest.approx(diff)
    assert numbers["mlm_r8_low_at"] == pytest.approx(float(trained.low.sel(depth=2)))
    assert numbers["mlm_r8_interval_over"] == "random encoders, then test blocks"
    # without the trained depth among the depths, the headline is at the reference's peak
    alone = r8_numbers(trained.assign_attrs(mode="trained", n_random=3, interval="x", confidence=0.95), 7)
    assert alone["mlm_r8_at"] == alone["mlm_r8_peak_depth"]

def test_accuracy_frame_is_the_summary_accuracy_by_depth(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    table = accuracy_frame(summary)
    assert list(table.columns) == [1, 2, 4] and table.index.names == ["encoder", "mode"]
    a = summary.accuracy.sel(mode="untrained", depth=4).isel(encoder=1)
    assert table.loc[("net random mlm #0", "untrained"), 4] == round(float(a), 3)


def test_accuracy_table_is_a_numbered_table_for_readers(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    text = accuracy_table(summary).data
    lines = text.splitlines()
    assert lines[0].startswith("```{table} Accuracy on the masked test tokens")
    assert lines[1] == ":name: tab-mlm-accuracy"
    assert lines[3] == "| Encoder | Read-out | depth 1 | depth 2 | depth 4 |"
    rows = [line for line in lines[5:] if line.startswith("| ")]
    # 3 read-outs of the reference, 2 of each random encoder (the re-initialised head was not run for them)
    assert len(rows) == 3 + 2 * 3 and "nan" not in text.lower()
    a = float(summary.accuracy.sel(mode="untrained", depth=4).isel(encoder=1))
    assert "| net random mlm #0 | model's head, untrained | " in text and f"| {a:.3f} |" in text
    partly = summary.copy(deep=True)
    partly["accuracy"].loc[dict(mode="trained", depth=4)] = np.nan  # a depth a run skipped
    assert "| not run |" in accuracy_table(partly).data

def test_target_r8_verdicts_read_only_the_numbers(counts, baseline):
    _, _, numbers = _numbers(counts, baseline)
    nets = [Network("net", "pretrained"), Network("net", "random", init="mlm", seed=0)]
    record = target_r8(numbers, nets)
    # the effect holds at every depth, but one reference against 3 random encoders cannot reach p < 0.01
    assert record["target_id"] == "R8" and record["holds"] is None and record["unit"] == "networks"
    assert "one pretrained network" in record["reason"]
    assert r8_sentence(record, numbers) == record["reason"][len("not testable here: "):]  # said beside it
    assert record["measured"].endswith("(net pretrained, net random mlm #0)")
    assert record["claim"] == "MLM accuracy vs depth: shape, pretrained above random"
    assert record["interval"].startswith("difference at depth 2")
    many = dict(mlm_r8_n_networks=120, mlm_r8_smallest_p=1 / 120)
    assert target_r8({**numbers, **many, "mlm_r8_p": 1 / 120}, nets)["holds"] is True
    assert target_r8({**numbers, **many, "mlm_r8_p": 0.5}, nets)["holds"] is False
    fewer = {**numbers, **many, "mlm_r8_p": 1 / 120, "mlm_r8_share": 2 / 3, "mlm_r8_n_above": 2}
    assert target_r8(fewer, nets)["holds"] is False  # 2 of 3 depths < 90%
    assert "2 of 3 depths" in r8_sentence(target_r8(fewer, nets), fewer)

def test_the_rule_fails_when_the_reference_is_a_random_encoder(counts, baseline):
    """The same counts with a low-accuracy encoder as the reference: the interval is not above 0."""
    swapped = counts.assign_coords(role=("encoder", ["comparison", "reference", "comparison", "comparison"]))
    _, _, numbers = _numbers(swapped, baseline)
    assert numbers["mlm_r8_n_above"] == 0
    assert target_r8(numbers, [Network("net", "random", init="mlm", seed=0)])["holds"] is False
    cmp = reference_vs_comparisons(swapped, n_resamples=100)
    assert float(cmp.difference.max()) < 0
