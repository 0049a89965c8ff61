"""The GLUE-by-depth chapter's numbers and R7 verdict, from a result like ``glue_dataset``'s."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import chaoslib.book.reports.glue as rg
from chaoslib.tasks.glue_metrics import primary_score, score_interval

DEPTHS = np.arange(1, 21)
NETS = ["small pretrained here", "small random glue #0", "small random glue #1", "small random glue #2"]
N_ROWS = 80


def _result(trained: bool = True, chaos_pre: float = 12.0) -> xr.Dataset:
    """Like ``glue_dataset``: 2 arms x 4 networks x 20 depths; the trained arm at depths 4 and 16 only; the
    frozen heads' dev outputs: the reference's track the labels best at depth 8, the random ones are noise."""
    rng = np.random.default_rng(0)
    labels = rng.uniform(0, 5, N_ROWS)
    noise = 0.5 + 0.3 * np.abs(DEPTHS - 8)  # (depths,): the reference's outputs are closest at depth 8
    prediction = np.empty((4, DEPTHS.size, N_ROWS, 1))
    prediction[0, :, :, 0] = labels + noise[:, None] * rng.normal(0, 1, (DEPTHS.size, N_ROWS))
    prediction[1:, :, :, 0] = rng.uniform(0, 5, (3, DEPTHS.size, N_ROWS))
    score = np.full((2, 4, DEPTHS.size), np.nan)
    score[0] = [[primary_score("stsb", p, labels) for p in net] for net in prediction]
    score[1, :2, [3, 15]] = rng.normal(0.1, 0.05, (2, 2))
    low, high = score - 0.05, score + 0.07
    ds = xr.Dataset(
        {
            "score": (("arm", "network", "depth"), score),
            "score_low": (("arm", "network", "depth"), low),
            "score_high": (("arm", "network", "depth"), high),
            "prediction": (("network", "depth", "row", "output"), prediction),
            "label": ("row", labels),
            "chaos_length": ("network", [chaos_pre, 30.0, 40.0, 50.0]),
            "chaos_low": ("network", [chaos_pre - 2, 20.0, 30.0, 40.0]),
            "chaos_high": ("network", [chaos_pre + 2, 40.0, 50.0, 60.0]),
            "chaos_censored": ("network", [0.0, 0.0, 0.0, 1.0]),
        },
        coords={
            "arm": ["frozen", "trained"],
            "network": NETS,
            "depth": DEPTHS,
            "role": ("network", ["reference", "comparison", "comparison", "comparison"]),
            "weights": ("network", ["pretrained", "random", "random", "random"]),
            "init_seed": ("network", [np.nan, 0, 1, 2]),
        },
        attrs=dict(task="stsb", metric="pearson_spearman_mean", n_train=800, n_dev=N_ROWS, chaos_n_steps=200),
    )
    return ds if trained else ds.sel(arm=["frozen"])


def test_peaks_on_all_rows():
    ds = _result()
    p = rg.peaks(ds, "frozen")
    frozen = ds.score.sel(arm="frozen", network=NETS[0])
    assert p[NETS[0]]["depth"] == int(frozen.idxmax("depth")) and p[NETS[0]]["score"] == float(frozen.max())
    assert p[NETS[0]]["low"] == pytest.approx(float(frozen.max()) - 0.05)
    assert set(rg.peaks(ds, "trained")) == set(NETS[:2])  # networks without a trained run are absent


def test_split_rows_is_seeded_and_disjoint():
    a, b = rg.split_rows(11, seed=3)
    assert a.size == 5 and b.size == 6 and not set(a) & set(b) and set(a) | set(b) == set(range(11))
    np.testing.assert_array_equal(a, np.sort(np.random.default_rng(3).permutation(11)[:5]))
    assert not np.array_equal(rg.split_rows(11, seed=4)[0], a)


def test_held_out_peaks_choose_on_one_half_and_score_on_the_other():
    ds = _result()
    held = rg.held_out_peaks(ds, split_seed=1, n_boot=200, seed=5)
    select, rest = rg.split_rows(N_ROWS, 1)
    labels = ds.label.values
    for net in NETS:
        outputs = ds.prediction.sel(network=net).values
        chosen = [primary_score("stsb", o[select], labels[select]) for o in outputs]
        i = int(np.argmax(chosen))
        h = held[net]
        assert h["depth"] == DEPTHS[i] and h["select_score"] == pytest.approx(chosen[i])
        assert h["score"] == pytest.approx(primary_score("stsb", outputs[i, rest], labels[rest]))
        low, high = score_interval("stsb", outputs[i : i + 1, rest], labels[rest], n_resamples=200, seed=5)
        assert (h["low"], h["high"]) == pytest.approx((low[0], high[0]))
    assert abs(held[NETS[0]]["depth"] - 8) <= 2  # the reference's outputs are best near depth 8


def test_r7_numbers():
    ds = _result()
    n = rg.r7_numbers(ds, split_seed=1, n_boot=200)
    held = rg.held_out_peaks(ds, split_seed=1, n_boot=200)
    assert n["glue_pre_heldout_depth"] == held[NETS[0]]["depth"]
    assert n["glue_pre_heldout_low"] == pytest.approx(held[NETS[0]]["low"])
    assert n["glue_rand_heldout_max"] == pytest.approx(max(held[k]["score"] for k in NETS[1:]))
    assert n["glue_n_select"] == 40 and n["glue_n_heldout"] == 40 and n["glue_split_seed"] == 1
    frozen = ds.score.sel(arm="frozen")
    assert n["glue_pre_score_d1"] == pytest.approx(float(frozen[0, 0]))
    assert n["glue_rand_peak_max"] == pytest.approx(float(frozen.sel(network=NETS[1:]).max()))
    assert n["glue_pre_chaos_high"] == 14.0 and n["glue_n_seeds"] == 3
    # the test over networks: the reference's held-out score is the highest of 4 -> p = 1/4, its smallest
    assert n["glue_r7_p"] == pytest.approx(0.25) and n["glue_r7_smallest_p"] == pytest.approx(0.25)


def test_r7_verdicts_read_only_the_numbers():
    n = rg.r7_numbers(_result(), split_seed=1, n_boot=200)
    r7 = rg.target_r7(n, "test")
    # the effect holds (above every random network, peak within the transient) but 1 vs 3 networks: p >= 1/4
    assert r7["holds"] is None and "one pretrained network" in r7["reason"] and r7["unit"] == "networks"
    assert r7["interval"].startswith("held-out peak score") and r7["target_id"] == "R7"
    # the prose states the verdict beside the sentence: the sentence gives the reason without repeating it
    assert r7["reason"].startswith("not testable here: ") and rg.r7_sentence(r7, n) == r7["reason"][19:]
    many = dict(glue_r7_n_networks=150, glue_r7_smallest_p=1 / 150)
    assert rg.target_r7({**n, **many, "glue_r7_p": 1 / 150}, "test")["holds"] is True
    assert rg.target_r7({**n, **many, "glue_r7_p": 0.2}, "test")["holds"] is False
    beyond = {**n, **many, "glue_r7_p": 1 / 150, "glue_pre_heldout_depth": 15}  # chaos_high is 14
    assert rg.target_r7(beyond, "test")["holds"] is False
    assert "within its chaotic transient" in rg.r7_sentence(rg.target_r7(beyond, "test"), beyond)
    below = {**n, **many, "glue_r7_p": 1 / 150, "glue_rand_heldout_max": n["glue_pre_heldout_low"]}
    assert rg.target_r7(below, "test")["holds"] is False
    # without comparison networks: not testable, with the reason
    alone = rg.r7_numbers(_result().isel(network=[0]), split_seed=1, n_boot=200)
    assert rg.target_r7(alone, "test")["reason"].startswith("not testable here")


def test_a_random_reference_is_read_by_its_role_not_its_weights():
    ds = _result().assign_coords(weights=("network", ["random"] * 4))
    n = rg.r7_numbers(ds, split_seed=1, n_boot=200)
    assert n["glue_pre_network"] == NETS[0] and rg.target_r7(n, "test")["holds"] is None


def test_networks_of_and_task_name():
    ds = _result()
    assert rg.networks_of(ds, "reference") == NETS[:1] and rg.networks_of(ds, "comparison") == NETS[1:]
    assert rg.task_name(ds) == "STS-B"


def test_the_prose_phrases_read_for_equal_and_censored_values():
    n = rg.r7_numbers(_result(), split_seed=1, n_boot=200)
    low, high = n["glue_rand_peak_min"], n["glue_rand_peak_max"]
    assert n["glue_rand_peak_text"] == f"lie between {low:.3f} and {high:.3f}"
    assert n["glue_rand_heldout_text"] == (
        f"score from {n['glue_rand_heldout_min']:.3f} to {n['glue_rand_heldout_max']:.3f}"
    )
    assert n["glue_pre_chaos_text"] == "12 steps (95% interval 10 to 14)"
    assert n["glue_rand_chaos_text"] == "40 steps"  # the median over the random networks' 30, 40 and 50
    assert rg.chaos_text(200.0, 200, 150.0, 200.0) == "at least 200 steps (censored at the horizon)"
    flat = _result().assign(score=_result().score.where(_result().role == "reference", 0.1))
    same = rg.r7_numbers(flat, split_seed=1, n_boot=200)  # every random network's curve at 0.1
    assert same["glue_rand_peak_text"] == "are all 0.100"
