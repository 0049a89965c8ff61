"""The trained-depth chapter's report (chaoslib.book.reports.trained_depth) on hand-built per-network values
whose findings are known: a planted power law, a flat quantity, one value everywhere, too few networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from chaoslib.book.reports import trained_depth as report
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.trained_depth import PAPER_DEPTH, trend


def values(depths=(2, 2, 4, 4, 8, 8, 16, 16), seed: int = 0) -> xr.Dataset:
    """One value per network: t_sync = 9 L (times a little noise), lambda0 falling with L, chaos length 0
    everywhere, an ED peak without trend, a top exponent rising with L."""
    rng = np.random.default_rng(seed)
    depths = np.asarray(depths)
    n = depths.size
    return xr.Dataset(
        {"t_sync": ("network", 9.0 * depths * np.exp(rng.normal(0, 0.02, n))),
         "sync_censored": ("network", np.zeros(n)),
         "lambda0": ("network", -0.1 / depths),
         "chaos_length": ("network", np.zeros(n)),
         "chaos_censored": ("network", np.zeros(n)),
         "ed_peak": ("network", np.resize([50.0, 56.0, 53.0, 51.0, 55.0], n)),
         "top_exponent": ("network", -0.05 + 0.001 * depths),
         "mlm_loss": ("network", 5.5 + 0.05 * depths),
         "checkpoint": ("network", np.full(n, 7813))},
        coords={"network": [f"albert-wt2-L{d:02d}-s{i % 2}" for i, d in enumerate(depths)],
                "depth": ("network", depths), "seed": ("network", np.arange(n) % 2)})


def described(v: xr.Dataset) -> list[dict]:
    """The series' network descriptions (name, depth, seed) of the hand-built values ``v``."""
    return [{"name": n, "depth": int(d), "seed": int(s)} for n, d, s in zip(v.network.values, v.depth.values, v.seed.values)]


def test_findings_name_a_rise_a_fall_no_trend_one_value_and_too_few_networks():
    v = values()
    results = report.trends(v)
    assert report.finding(results["t_sync"]) == "rises with L"
    assert report.finding(results["lambda0"]) == "rises with L"  # -0.1/L rises towards 0
    assert report.finding(results["chaos_length"]) == "the same for every network"
    assert report.finding(results["ed_peak"]) == "no trend"
    falling = v.assign(top_exponent=-v.top_exponent)
    assert report.finding(report.trends(falling)["top_exponent"]) == "falls with L"
    few = values((2, 4, 8))
    assert report.finding(report.trends(few)["t_sync"]) == "not testable here"  # smallest p 1/3 of 6 orders


def test_the_law_of_t_sync_is_fitted_and_extrapolated_to_albert_larges_depth():
    result = report.trends(values())["t_sync"]
    assert result.exponent == pytest.approx(1.0, abs=0.05)
    low, high = result.at_paper_depth_interval
    assert result.at_paper_depth == pytest.approx(9.0 * PAPER_DEPTH, rel=0.05)
    assert low <= result.at_paper_depth <= high and high - low < 0.2 * result.at_paper_depth
    sentence = report.law_sentence(result, "t_sync")
    assert sentence.startswith("The median t_sync grows as L^1.0") and f"L = {PAPER_DEPTH}" in sentence
    shrinking = values().assign(ed_peak=lambda v: 60.0 * v.depth.astype(float) ** -0.1)
    assert report.law_sentence(report.trends(shrinking)["ed_peak"], "ed_peak").startswith(
        "The ED peak falls as L^-0.10 (95% interval")
    assert report.law_sentence(report.trends(values())["chaos_length"], "chaos_length") == (
        "No power law is fitted to the chaos length (one value for every network)")


def test_numbers_say_each_ls_range_what_is_missing_and_where_heads_read_best():
    v = values()
    networks = described(v)
    best = pd.DataFrame({"network": ["a", "b"], "depth": [2, 4], "seed": [0, 0], "best_depth": [2, 5],
                         "best_accuracy": [0.15, 0.12], "accuracy_at_L": [0.15, 0.11],
                         "accuracy_at_last": [0.03, 0.06], "tracks": [True, False]})
    out = report.numbers(networks, [(16, 1)], report.read_outs(v, v), 6.3, best)
    assert out["td_depths"] == "2, 4, 8 and 16" and out["td_n_networks"] == 8
    assert out["td_missing"] == "not shipped yet: L = 16 seed 1"
    t_sync = v.t_sync.values
    assert out["td_t_sync_end"].startswith(
        f"{t_sync[0]:.0f} to {t_sync[1]:.0f} at L = 2, " if round(t_sync[0]) != round(t_sync[1]) else "18 at L = 2")
    assert "it rises with L (r = +" in out["td_t_sync_end"] and "over 8 networks" in out["td_t_sync_end"]
    assert out["td_chaos_length_end"] == "0 for every network, so nothing scales"
    assert out["td_chaos_reading"] == "none of the 8 networks has a positive median chaos length at the end of training"
    assert out["td_positive_lambda0"].startswith("none of the 8 networks has a positive mean first-window")
    assert out["td_summary"].startswith("the median t_sync rises with L at both read-outs; the first-window exponent "
                                        "rises with L at both read-outs; the chaos length is the same for every")
    assert out["td_kept_at_4L"] == "range from 20% to 50%"  # 0.03 / 0.15 and 0.06 / 0.12
    chaotic = v.assign(chaos_length=("network", np.r_[np.zeros(6), 3.0, 5.0]))
    assert report.numbers(networks, [], report.read_outs(chaotic, v), 6.3, best)["td_chaos_reading"] == (
        "only albert-wt2-L16-s0 (L = 16) and albert-wt2-L16-s1 (L = 16) of the 8 networks have a positive median "
        "chaos length at the end of training")
    mixed = report.read_outs(v, v.assign(t_sync=("network", v.t_sync.values[::-1] * [1, 1, 1, 1, 1, 1, 1, 0.1])))
    assert "the median t_sync rises with L at the end of training but " in report.summary_sentence(mixed)
    assert out["td_testable"].startswith("With 8 networks the smallest p an exact trend test can give is")
    assert "below the threshold 0.01, so a trend is testable wherever the networks' values differ" in out["td_testable"]
    few = values((2, 2, 4, 4, 8, 8))
    few_out = report.numbers(networks[:6], [(16, 0), (16, 1)], report.read_outs(few, few), 6.3, best)
    assert "above the threshold 0.01: no trend is testable until more networks ship (the design's networks not " \
           "shipped yet: L = 16 seed 0, L = 16 seed 1)" in few_out["td_testable"]
    assert few_out["td_t_sync_end"].startswith("18 at L = 2") and few_out["td_t_sync_end"].endswith(
        " with log2 L, not testable here: the smallest p these values allow is 0.022)")
    assert "the chaos length is the same for every network at both read-outs" in few_out["td_summary"]
    assert few_out["td_summary"].startswith("the median t_sync cannot be tested at either read-out;")
    assert report.law_sentence(report.trends(few)["t_sync"], "t_sync") == (
        "No power law is fitted before a trend is found")
    assert out["td_tracks"] == "1 of 2 networks"
    assert out["td_off_track"] == "; b (L = 4) reads best at depth 5, 12.0% against 11.0% at its own L"
    assert report.numbers(networks, [], report.read_outs(v, v), 6.3, best.iloc[:1])["td_missing"] == (
        "every network of the design is shipped")
    assert report.design_sentence([], [(16, 2)]) == "every network of the design is shipped, and beyond it L = 16 seed 2"
    assert report.design_sentence([(8, 1)], [(16, 2), (16, 3)]) == (
        "not shipped yet: L = 8 seed 1, and beyond it L = 16 seed 2, L = 16 seed 3")
    with pytest.raises(ChaoslibError, match="at least two"):
        report.numbers(networks[:1], [], report.read_outs(v, v), 6.3, best)


def test_the_trend_table_has_a_row_per_quantity_and_read_out_and_a_law_only_where_fitted():
    v = values()
    table = report.trend_table({"end of training": (v, report.trends(v)),
                                "matched held-out loss": (v, report.trends(v))}).data
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 2 * len(report.QUANTITIES)
    t_sync_row = rows[0].split(" | ")
    assert t_sync_row[4] == "rises with L" and t_sync_row[5].startswith("$L^{1.0")
    chaos_row = next(r for r in rows if r.startswith("| median chaos length"))
    assert "the same for every network | none | —" in chaos_row


def test_the_recheck_table_leaves_out_what_the_series_does_not_measure():
    frame = pd.DataFrame({"quantity": ["t_sync_median", "stsb_best"], "record": [17.0, np.nan],
                          "live": [17.0, np.nan], "difference": [0.0, np.nan], "tolerance": [2.0, 0.01],
                          "within": [True, True]})
    text = report.recheck_table(frame, "albert-wt2-L02-s0", "albert-wt2-L08-s0", control=True).data
    assert "STS-B" not in text and "median $t_{\\rm sync}$" in text and ":name: tab-td-recheck-control" in text


def test_records_with_different_settings_are_refused():
    a = xr.Dataset(attrs={"settings": {"n_inputs": 24, "n_tokens": 32, "n_steps": 1000}})
    b = xr.Dataset(attrs={"settings": {"n_inputs": 16, "n_tokens": 32, "n_steps": 1000}})
    assert report.settings_numbers({"a": a}) == {"td_n_inputs": 24, "td_n_tokens": 32, "td_horizon": 1000}
    with pytest.raises(ChaoslibError, match="different diagnostic settings"):
        report.settings_numbers({"a": a, "b": b})


def test_the_trend_uses_the_books_threshold():
    """Six networks at three L give a smallest two-sided p of 2/90, testable at 0.05 but not at the book's 0.01."""
    v = values((2, 2, 4, 4, 8, 8))
    assert trend(v, "t_sync").exponent is not None  # at the function's default 0.05
    assert report.finding(report.trends(v)["t_sync"]) == "not testable here"


def test_the_networks_table_has_one_row_per_network_with_its_cards_evaluation_against_its_baselines():
    v = values((2, 4))
    networks = described(v)
    cards = {n["name"]: {"training": {"tokens_seen": 32_014_336, "train_seconds": 5400.0, "threads": 2},
                         "test": {"evaluation": {"mlm_accuracy": 0.118, "mlm_loss": 5.94},
                                  "baselines": {"most_frequent_accuracy": 0.059, "unigram_entropy": 6.83}}}
             for n in networks}
    table = report.networks_table(networks, cards, v).data
    rows = [line for line in table.splitlines() if line.startswith("| albert-wt2")]
    assert rows[1] == ("| albert-wt2-L04-s1 | 32.0 | 1.5 (2) | 11.8% (2.00x) | 5.94 (6.83) | 7813, "
                       f"{float(v.mlm_loss[1]):.2f} |")
    assert len(rows) == 2


def test_the_bars_sentence_names_the_network_that_misses_the_accuracy_bar_and_keeps_it():
    v = values((2, 4, 8))
    networks = described(v)
    figures = {"albert-wt2-L02-s0": (0.118, 5.94), "albert-wt2-L04-s1": (0.085, 6.45), "albert-wt2-L08-s0": (0.10, 6.1)}
    cards = {name: {"test": {"evaluation": {"mlm_accuracy": acc, "mlm_loss": loss},
                             "baselines": {"most_frequent_accuracy": 0.059, "unigram_entropy": 6.83}}}
             for name, (acc, loss) in figures.items()}
    assert [n["name"] for n in networks] == list(figures)
    sentence = report.bars_sentence(networks, cards)
    # 0.085 / 0.059 = 1.44 < 1.5; the other two are 2.00x and 1.69x
    assert sentence.startswith("2 of 3 cards clear the bar the series set itself (masked-token accuracy at least 1.5")
    assert "albert-wt2-L04-s1 misses it: its accuracy is 1.44 times the baseline, while its loss (6.45 nats) is " \
           "below the entropy (6.83). It stays in the series" in sentence
    cards["albert-wt2-L04-s1"]["test"]["evaluation"]["mlm_accuracy"] = 0.09  # 1.53x
    assert report.bars_sentence(networks, cards).startswith("All 3 cards clear the bar the series set itself: ")
