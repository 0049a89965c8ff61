"""The GLUE-by-depth chapter's numbers and R7 verdict, from a result like ``glue_dataset``'s."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import chaoslib.book.reports.glue as rg

DEPTHS = np.arange(1, 21)
NETS = ["small pretrained here", "small random glue #0", "small random glue #1", "small random glue #2"]


def _result(trained: bool = True, chaos_pre: float = 12.0) -> xr.Dataset:
    """Like ``glue_dataset``: 2 arms x 4 networks x 20 depths; the trained arm at depths 4 and 16 only."""
    rng = np.random.default_rng(0)
    score = np.full((2, 4, DEPTHS.size), np.nan)
    score[0, 0] = 0.6 * np.exp(-((DEPTHS - 8) ** 2) / 40)  # a peak at depth 8
    score[0, 1:] = rng.normal(0.05, 0.03, (3, DEPTHS.size))
    score[1, :2, [3, 15]] = rng.normal(0.1, 0.05, (2, 2))
    low, high = score - 0.05, score + 0.07
    ds = xr.Dataset(
        {
            "score": (("arm", "network", "depth"), score),
            "score_low": (("arm", "network", "depth"), low),
            "score_high": (("arm", "network", "depth"), high),
            "chaos_length": ("network", [chaos_pre, 30.0, 40.0, 50.0]),
            "chaos_low": ("network", [chaos_pre - 2, 20.0, 30.0, 40.0]),
            "chaos_high": ("network", [chaos_pre + 2, 40.0, 50.0, 60.0]),
            "chaos_censored": ("network", [0.0, 0.0, 0.0, 1.0]),
        },
        coords={
            "arm": ["frozen", "trained"],
            "network": NETS,
            "depth": DEPTHS,
            "weights": ("network", ["pretrained", "random", "random", "random"]),
            "init_seed": ("network", [np.nan, 0, 1, 2]),
        },
        attrs=dict(task="stsb", metric="pearson_spearman_mean", n_train=800, n_dev=400, chaos_n_steps=200),
    )
    return ds if trained else ds.sel(arm=["frozen"])


def test_peaks():
    ds = _result()
    p = rg.peaks(ds, "frozen")
    assert p[NETS[0]]["depth"] == 8 and p[NETS[0]]["score"] == pytest.approx(0.6)
    assert p[NETS[0]]["low"] == pytest.approx(0.55) and p[NETS[0]]["high"] == pytest.approx(0.67)
    assert set(rg.peaks(ds, "trained")) == set(NETS[:2])  # networks without a trained run are absent


def test_r7_numbers_and_verdict():
    ds = _result()
    n = rg.r7_numbers(ds)
    frozen = ds.score.sel(arm="frozen")
    assert n["glue_pre_peak_depth"] == 8 and n["glue_pre_score_d1"] == pytest.approx(float(frozen[0, 0]))
    assert n["glue_rand_peak_max"] == pytest.approx(float(frozen.sel(network=NETS[1:]).max()))
    assert n["glue_pre_chaos_high"] == 14.0 and n["glue_n_seeds"] == 3
    r7 = rg.target_r7(n, "test")
    assert r7["holds"] is True and r7["target_id"] == "R7"  # 0.55 > random peaks ~0.1; depth 8 <= 14
    assert rg.target_r7({**n, "glue_pre_peak_depth": 15}, "test")["holds"] is False  # beyond the transient
    assert rg.target_r7({**n, "glue_rand_peak_max": 0.6}, "test")["holds"] is False  # not above random
    assert rg.target_r7(rg.r7_numbers(ds.sel(network=NETS[1:])), "test")["holds"] is None


def test_networks_of_and_task_name():
    ds = _result()
    assert rg.networks_of(ds, "pretrained") == NETS[:1] and rg.networks_of(ds, "random") == NETS[1:]
    assert rg.task_name(ds) == "STS-B"
