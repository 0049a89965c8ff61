"""The MLM-by-depth chapter's summary numbers, table and R8 verdict (hand-made counts, saved and reloaded)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from chaoslib.book.reports.mlm import (
    accuracy_table,
    chapter_numbers,
    comparisons,
    mlm_summary,
    r8_verdict,
    target_r8,
)
from chaoslib.model.network import Network
from chaoslib.store import load_dataset, save_dataset
from chaoslib.tasks.mlm_results import pretrained_vs_random

MODES = ["trained", "reinit", "untrained"]


@pytest.fixture(scope="module")
def counts(tmp_path_factory):
    rng = np.random.default_rng(0)
    n_blocks, depths = 12, [1, 2, 4]
    n = rng.integers(15, 22, n_blocks)
    p = np.array([0.4, 0.1, 0.12, 0.08])[:, None, None, None]  # pretrained, three random seeds
    correct = rng.binomial(n, np.broadcast_to(p, (4, 3, 3, n_blocks))).astype(float)
    correct[1:, 1] = np.nan  # random encoders without the re-initialised mode: not drawn there
    ds = xr.Dataset(
        {
            "correct": (("encoder", "mode", "depth", "block"), correct),
            "loss_sum": (("encoder", "mode", "depth", "block"), correct * 0 + n * 3.0),
            "n_masked": (("block",), n),
        },
        coords={
            "encoder": ["net pretrained here", "net random mlm #0", "net random mlm #1", "net random mlm #2"],
            "mode": MODES,
            "depth": depths,
            "block": np.arange(n_blocks),
            "weights": ("encoder", ["pretrained", "random", "random", "random"]),
        },
    )
    path = save_dataset(ds, tmp_path_factory.mktemp("mlm") / "counts.nc")
    return load_dataset(path)


@pytest.fixture(scope="module")
def baseline(counts):
    n = counts.n_masked.values
    return xr.Dataset(
        {"correct": ("block", np.minimum(n, 2.0)), "loss_sum": ("block", n * 6.0), "n_masked": ("block", n)},
        coords={"block": counts.block.values},
        attrs={"token": 13},
    )


def test_chapter_numbers_quote_the_summary(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    timed = counts.assign(fit_seconds=(("encoder", "mode"), np.full((4, 3), 2.0)))
    numbers = chapter_numbers(summary, cmp, timed)
    a = summary.sel(mode="trained", depth=2).isel(encoder=0)
    want = f"{float(a.accuracy):.3f} [{float(a.accuracy_low):.3f}, {float(a.accuracy_high):.3f}]"
    assert numbers["mlm_pre_trained_at_trained"] == want
    assert numbers["mlm_pre_reinit_untied_best"] == "not run" and numbers["mlm_rnd_reinit_best"] == "not run"
    assert numbers["mlm_fit_seconds"] == "24" and numbers["mlm_trained_depth"] == "2"
    assert numbers["mlm_r8_holds"] == "holds" and "3 of 3 depths" in numbers["mlm_r8_measured"]


def test_accuracy_table_is_the_summary_accuracy_by_depth(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    table = accuracy_table(summary)
    assert list(table.columns) == [1, 2, 4] and table.index.names == ["encoder", "mode"]
    a = summary.accuracy.sel(mode="untrained", depth=4).isel(encoder=1)
    assert table.loc[("net random mlm #0", "untrained"), 4] == round(float(a), 3)


def test_target_r8_record(counts, baseline):
    summary = mlm_summary(counts, baseline, trained_depth=2, n_resamples=200)
    cmp = comparisons(counts, trained_depth=2, n_resamples=200)
    timed = counts.assign(fit_seconds=(("encoder", "mode"), np.full((4, 3), 2.0)))
    numbers = chapter_numbers(summary, cmp, timed)
    nets = [Network("net", "pretrained"), Network("net", "random", init="mlm", seed=0)]
    record = target_r8(numbers, nets)
    assert record["target_id"] == "R8" and record["holds"] is True
    assert record["measured"] == f"{numbers['mlm_r8_measured']} (net pretrained, net random mlm #0)"
    assert record["claim"] == "MLM accuracy vs depth: shape, pretrained above random"
    assert target_r8({**numbers, "mlm_r8_holds": "does not hold"}, nets)["holds"] is False


def test_r8_verdict_rule():
    rng = np.random.default_rng(1)
    n = np.full(40, 10)
    pre = rng.binomial(10, 0.5, (3, 40)).astype(float)  # depths 1, 2, 3
    rnd = rng.binomial(10, 0.2, (2, 3, 40)).astype(float)  # two seeds
    correct = np.stack([pre, *rnd])[:, None]  # (encoder, mode, depth, block)
    ds = xr.Dataset(
        {"correct": (("encoder", "mode", "depth", "block"), correct), "n_masked": (("block",), n)},
        coords={
            "encoder": ["p", "r0", "r1"],
            "mode": ["trained"],
            "depth": [1, 2, 3],
            "block": np.arange(40),
            "weights": ("encoder", ["pretrained", "random", "random"]),
        },
    )
    cmp = pretrained_vs_random(ds, n_resamples=300, seed=2)
    text, holds = r8_verdict(cmp, cmp.pretrained)
    assert holds and "3 of 3 depths" in text
    flipped = ds.assign_coords(weights=("encoder", ["random", "pretrained", "random"]))
    assert not r8_verdict(pretrained_vs_random(flipped, n_resamples=300), cmp.pretrained)[1]
