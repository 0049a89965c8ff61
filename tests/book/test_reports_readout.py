"""Chapter 07's numbers for the prose come from the result's values (a small result built by hand, saved and
reloaded)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from chaoslib.book.reports import readout as report
from chaoslib.store import load_dataset, save_dataset

REF, RAND = "albert-wikitext2 pretrained here", "albert-wikitext2 random tf #0"
NETWORKS = [REF, RAND, "albert-wikitext2 random tf #1"]


@pytest.fixture
def result(tmp_path) -> xr.Dataset:
    rng = np.random.default_rng(0)
    starts, lengths, pairs, shown, points = np.arange(3), np.arange(1, 23), 6, 2, 5
    grid = rng.uniform(0.1, 2.0, size=(3, 3, 22))
    grid[:, :, 0] = np.nan  # velocity: length 1 has no score
    grid[:, 2, -1] = np.nan  # a window past the recorded steps
    errors = rng.uniform(0.2, 1.5, size=(3, pairs))
    best = errors.mean(1)
    drawn = rng.uniform(size=(3, shown, points, 2))
    drawn[1, :, -1] = np.nan  # a shorter best window: padded
    ds = xr.Dataset(
        {
            "pair_nmse": (("network", "start", "length"), grid),
            "pooled_nmse": (("network", "start", "length"), grid / 2),
            "train_pooled_nmse": (("network", "start", "length"), grid / 3),
            "blind_pair_nmse": ("length", rng.uniform(0.5, 1.0, 22)),
            "blind_pooled_nmse": ("length", rng.uniform(0.5, 1.0, 22)),
            "best_start": ("network", [1, 0, 2]),
            "best_length": ("network", [21, 20, 20]),
            "best_pair_nmse": ("network", best),
            "best_pooled_nmse": ("network", best / 2),
            "best_low": ("network", best - 0.1),
            "best_high": ("network", best + 0.2),
            "diff_low": ("network", [np.nan, 0.05, -0.1]),
            "diff_high": ("network", [np.nan, 0.3, 0.2]),
            "pair_errors": (("network", "pair"), errors),
            "dev_score": ("pair", rng.uniform(0, 5, pairs)),
            "shown_pair": ("shown", [4, 1]),
            "shown_group": ("shown", ["low", "high"]),
            "drawn": (("network", "shown", "point", "xy"), drawn),
            "target_drawn": (("network", "shown", "point", "xy"), rng.uniform(size=(3, shown, points, 2))),
            "run_seconds": ("network", [1.0, 2.0, 3.0]),
            "fit_seconds": ("network", [0.5, 0.5, 0.5]),
        },
        coords={
            "network": NETWORKS,
            "start": starts,
            "length": lengths,
            "pair": np.arange(pairs),
            "xy": ["x", "y"],
        },
        attrs={"min_length": 20, "reference": REF, "confidence": 0.95, "n_train": 10, "n_dev": pairs,
               "n_tokens": 16, "targets": "velocity"},
    )
    save_dataset(ds, tmp_path / "readout.nc")
    return load_dataset(tmp_path / "readout.nc")


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
