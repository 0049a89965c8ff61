"""Chapter 07's numbers for the prose come from the result's values (a small result built by hand, saved and
reloaded)."""

from __future__ import annotations

import built_results as built  # noqa: E402
import numpy as np
import pytest
import xarray as xr

from chaoslib.book.reports import readout as report


@pytest.fixture
def result(tmp_path) -> xr.Dataset:
    return built.readout_result(tmp_path)


def test_numbers_for_the_prose(result):
    got = report.numbers(result)
    assert got["hw_best_pair"] == result.best_pair_nmse.values[0]
    assert (got["hw_best_start"], got["hw_best_length"]) == (1, 21)
    assert got["hw_others_mean"] == pytest.approx(result.best_pair_nmse.values[1:].mean())
    assert got["hw_n_worse"] == 1 and got["hw_n_better"] == 0  # intervals (0.05, 0.3) and (-0.1, 0.2)
    assert got["hw_blind_pair"] == result.blind_pair_nmse.sel(length=21).item()
    assert got["hw_verdict"].startswith("not separated")
    # the interval's upper end decides against the score-blind level
    assert got["hw_blind_verdict"].startswith("not below") == (got["hw_best_high"] >= got["hw_blind_pair"])
    low_errors = result.assign(best_high=("network", [0.01, 1.0, 1.0]))
    assert report.numbers(low_errors)["hw_blind_verdict"].startswith("below")
    all_worse = result.assign(diff_low=("network", [np.nan, 0.05, 0.01]))
    assert report.numbers(all_worse)["hw_verdict"].startswith("lower than that of each of the 2")


def test_comparison_text_names_the_side_every_interval_excludes(result):
    assert report.comparison_text(result).startswith("not separated from the other networks: 1 of 2 score")
    better = result.assign(diff_low=("network", [np.nan, -0.3, -0.2]),
                           diff_high=("network", [np.nan, -0.1, -0.05]))
    assert report.comparison_text(better).startswith("higher than that of each of the 2")


def test_caption_extra_names_the_data_of_the_run(result):
    assert report.caption_extra(result) == "STS-B 10 train / 6 dev pairs, N=16, velocity targets"


def test_the_other_networks_errors_read_when_they_are_equal(result):
    got = report.numbers(result)
    scores = result.best_pair_nmse.values[1:]
    assert got["hw_others_text"] == (
        f"are {scores.mean():.3f} on average (the seeds range from {scores.min():.3f} to {scores.max():.3f})"
    )
    assert report.others_text(np.array([0.594, 0.5941])) == "are 0.594 for every seed"
    assert report.others_text(np.array([0.5])) == "is 0.500"


def test_no_paired_interval_excluding_0_is_said_in_words(result):
    within = result.assign(diff_low=("network", [np.nan, -0.1, -0.2]),
                           diff_high=("network", [np.nan, 0.1, 0.2]))
    assert report.comparison_text(within) == (
        "not separated from the other networks: every one of the 2 paired intervals includes 0"
    )
