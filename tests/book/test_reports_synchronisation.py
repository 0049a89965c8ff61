"""Numbers and the R5/R10 verdicts of the synchronisation chapter, the transverse exponent, the control
networks, and the reduced-map check behind R10, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import chaoslib.book.reports.synchronisation as rs
from chaoslib.book.reports.exponents import with_roles
from chaoslib.book.reports.verdicts import verdict
from chaoslib.dynamics.reduced_map import ReducedComparison
from chaoslib.store import load_dataset, save_dataset

LABELS = ["albert-wikitext2 pretrained", "albert-wikitext2 random tf #1", "albert-wikitext2 random tf #2"]
DECAY = np.array([[0.5, 1.0, 2.0, 0.01], [3.0, 3.0, 3.0, 3.0], [2.0, 4.0, 6.0, 8.0]])  # (network, sample)
LENGTH = np.array([[20, 10, 0, 40], [0, 0, 0, 0], [0, 20, 0, 0]])  # 40 = T: no negative window (censored)
TAU, T = 5, 40


def exponents_with_length(length: np.ndarray) -> np.ndarray:
    """(..., windows) +0.1 before the chaos length, -0.1 from it on: chaos_length gives back ``length``."""
    starts = np.arange(T // TAU) * TAU
    return np.where(starts < np.asarray(length)[..., None], 0.1, -0.1)


def raw(decay: np.ndarray, length: np.ndarray, names: list[str]) -> xr.Dataset:
    """A Synchronisation result: sigma(t) = exp(-decay t), the exponents of chaos length ``length``."""
    steps = np.arange(T + 1)
    return xr.Dataset(
        {
            "token_spread": (("network", "sample", "step"), np.exp(-np.asarray(decay)[..., None] * steps)),
            "exponent": (("network", "sample", "window"), exponents_with_length(length)),
            "chaos_length": (("network", "sample"), np.asarray(length, dtype=float)),
            "chaos_censored": (("network", "sample"), np.asarray(length) == T),
        },
        coords={
            "network": names,
            "step": steps,
            "window": np.arange(T // TAU),
            "window_end": ("window", (np.arange(T // TAU) + 1) * TAU),
        },
        attrs={"tau": TAU, "n_steps": T, "eps": 0.01, "seed": 0},
    )


def labelled(decay=DECAY, length=LENGTH) -> xr.Dataset:
    return rs.completed(with_roles(raw(decay, length, ["a", "b", "c"]), LABELS), 8, 1e-3, True, [1e-1, 1e-3])


@pytest.fixture
def ds(tmp_path):
    """t_sync at threshold 1e-3 (relative) = floor(ln(1000) / decay) + 1, censored at 40."""
    save_dataset(labelled(), tmp_path / "synchronisation.nc")
    return load_dataset(tmp_path / "synchronisation.nc")


def expected_offsets(threshold):
    t = np.floor(np.log(1 / threshold) / DECAY).astype(int) + 1
    return np.minimum(t, T)


def test_offsets_by_hand(ds):
    np.testing.assert_array_equal(ds.t_sync.values, expected_offsets(1e-3))
    np.testing.assert_array_equal(ds.sync_censored.values, expected_offsets(1e-3) >= T)
    np.testing.assert_array_equal(ds.sweep_offset.sel(threshold=1e-1).values, expected_offsets(1e-1))


def test_transverse_exponents_by_hand():
    # sigma doubles every step for 10 steps, then halves every step; theta = 1e-2
    t = np.arange(31)
    spread = np.where(t <= 10, 2.0**t, 2.0 ** (20 - t))[None]
    rate = rs.transverse_exponents(
        spread, np.array([1e-2]), window_end=np.array([5, 10, 15, 20, 25, 30]), tau=5
    )
    ln2 = np.log(2)
    # windows [0,5], [5,10] grow; [10,15], [15,20], [20,25] shrink; [25,30] starts at 2^-5 = 0.03 >= theta
    np.testing.assert_allclose(rate[0], [ln2, ln2, -ln2, -ln2, -ln2, -ln2])
    below = rs.transverse_exponents(spread, np.array([0.05]), np.array([5, 30]), tau=5)
    assert below[0, 0] == pytest.approx(ln2) and np.isnan(
        below[0, 1]
    )  # the window starts below theta: not read
    exact = rs.transverse_exponents(np.array([[1.0, 0.5, 0.0]]), np.array([1e-3]), np.array([1, 2]), tau=1)
    assert exact[0, 0] == pytest.approx(-ln2) and exact[0, 1] == -np.inf  # tokens exactly equal: contracting


def test_transverse_transient_by_the_chaos_length_rule(ds):
    # every spread decays from step 0: the first window already contracts, l_perp = 0, never censored
    np.testing.assert_array_equal(ds.transverse_length.values, np.zeros((3, 4)))
    assert not ds.transverse_censored.values.any()
    ref = ds.transverse_exponent.sel(network=LABELS[0]).values
    np.testing.assert_allclose(ref[0, :3], -0.5)  # decay 0.5: windows 0-2 start above theta = 1e-3
    assert np.isnan(ref[0, 3:]).all()  # window 3 starts at exp(-7.5) = 5.5e-4 < 1e-3
    np.testing.assert_allclose(ref[3], -0.01)  # decay 0.01 never synchronises: every window read
    growing = raw(np.array([[-0.1, 0.5]]), np.array([[10, 0]]), ["g"])
    growing["token_spread"][0, 0, 12:] = growing.token_spread[0, 0, 12].values * np.exp(-(np.arange(29)))
    out = rs.completed(with_roles(growing, ["g"]), 8, 1e-3, True, [1e-3])
    # sigma grows over windows [0,5], [5,10], then contracts from step 12: the window [10,15] is negative
    assert out.transverse_length.values.tolist() == [[10.0, 0.0]]


def test_sync_numbers_by_hand(ds):
    numbers = rs.sync_numbers(ds)
    t = expected_offsets(1e-3)
    assert numbers["sync_ref_median"] == np.median(t[0])
    assert numbers["sync_ref_censored"] == 1  # decay 0.01 never gets there
    assert numbers["sync_rand_median"] == np.median(t[1:])
    assert numbers["sync_rand_inputs"] == 8
    assert (numbers["sync_seed_min"], numbers["sync_seed_max"]) == (np.median(t[2]), np.median(t[1]))
    assert numbers["sync_ratio"] == pytest.approx(np.median(t[0]) / np.median(t[1:]))
    # three networks: the reference's median (10.5) is the largest; two-sided p = 2 * 1/3, the smallest p too
    assert numbers["sync_p"] == pytest.approx(2 / 3) and numbers["sync_smallest_p"] == pytest.approx(2 / 3)
    assert (
        numbers["sync_n_networks"] == 3 and "smallest p these networks can give" in numbers["sync_test_text"]
    )


def test_network_comparison_by_hand():
    reference = np.array([10.0, 12.0, 14.0])
    others = np.array([[100.0, 110.0, 120.0], [90.0, 100.0, 130.0], [105.0, 95.0, 100.0]])
    out = rs.network_comparison(reference, others)
    assert out["ratio"] == pytest.approx(12.0 / 100.0)
    # every resample: the reference's median is 10-14, the others' 90-130, so the ratio stays below 1
    assert out["ratio_high"] < 1 and out["direction"] == "shorter than"
    # four networks, the reference the smallest: two-sided p = 2 * 1/4 = 0.5, the smallest attainable too
    assert out["p"] == pytest.approx(0.5) and out["smallest_p"] == pytest.approx(0.5)
    same = rs.network_comparison(np.array([100.0, 110.0, 120.0]), others)
    assert same["direction"] == "not distinguishable from"


def test_transient_numbers_by_hand(ds):
    n = rs.transient_numbers(ds)
    # reference: l = [20, 10, 0, 40 (censored)], l_perp = 0; pairs: inputs 0-2; |l - l_perp| <= 5: input 2
    assert n["sync_ref_pairs"] == 3 and n["sync_ref_agree"] == pytest.approx(100 / 3)
    assert n["sync_ref_gap"] == 10.0  # median l - median l_perp over the pairs
    # t_sync = [14, 7, 4] vs l = [20, 10, 0] on the inputs with both uncensored: medians 7 and 10
    assert n["sync_ref_tsync_gap"] == -3.0 and n["sync_ref_tsync_pairs"] == 3
    # first window at or after t_sync: 3 (input 0, l = 20: lambda > 0), 2 (l = 10: < 0), 1 (l = 0: < 0)
    assert (n["sync_ref_after_positive"], n["sync_ref_after_inputs"]) == (1, 3)
    assert n["sync_ref_lambda_first"] == pytest.approx(0.1) and n["sync_ref_perp_first"] == pytest.approx(
        -0.75
    )
    assert n["sync_ref_synchronised"] == 75.0
    # random: network b agrees on 4 of 4, c on 3 of 4 (l = 20 against l_perp = 0)
    assert (n["sync_rand_agree_min"], n["sync_rand_agree_max"]) == (75.0, 100.0)
    assert n["sync_transient_agreement"] == "disagree"
    text = n["sync_transient_text"]
    assert text.startswith(f"For {LABELS[0]}, the Lyapunov transient and synchronisation disagree")
    assert "t_sync falls a median 3 steps before l" in text and "for 1 of 3 inputs" in text
    assert "sync_ref_inputs" not in n  # sync_numbers glues it


def r5(decay=DECAY, length=LENGTH) -> dict:
    ds = labelled(decay, length)
    return rs.target_r5({**rs.sync_numbers(ds), **rs.transient_numbers(ds)}, "offline")


def test_r5_each_verdict():
    does_not = r5()
    assert does_not["holds"] is False and verdict(does_not) == "does not hold" and does_not["reason"] == ""
    assert does_not["unit"] == "inputs of one network" and does_not["interval"].startswith(
        "|l - l_perp| <= tau for 33%"
    )
    agree = LENGTH.copy()
    agree[0] = [0, 5, 0, 40]  # |l - 0| <= 5 on all three pairs
    holds = r5(length=agree)
    assert holds["holds"] is True and verdict(holds) == "holds"
    unsynchronised = DECAY.copy()
    unsynchronised[0] = [0.01, 0.01, 0.01, 2.0]  # 1 of 4 inputs synchronises within T
    censored = r5(decay=unsynchronised)
    assert censored["holds"] is None and censored["reason"].startswith("censored at T=40: 75% of 4 inputs")
    no_pairs = LENGTH.copy()
    no_pairs[0] = [40, 40, 40, 0]  # l censored on three inputs: one pair only
    one_pair = r5(length=no_pairs)
    assert one_pair["holds"] is None and "1 of 4 inputs have both transients end" in one_pair["reason"]
    assert verdict(one_pair) == "not testable here"


def test_r5_rule_boundaries():
    base = {"synchronised": 100.0, "pairs": 4, "inputs": 4, "T": 40}
    assert rs.r5_rule({**base, "agree": 75.0}) == (True, "")
    assert rs.r5_rule({**base, "agree": 50.0}) == (False, "")  # half is not most
    assert rs.r5_rule({**base, "synchronised": 50.0, "agree": 100.0})[0] is None


def controls_dataset(decay: np.ndarray, roles: list[str]) -> xr.Dataset:
    length = np.zeros_like(decay, dtype=int)
    ds = with_roles(raw(decay, length, roles), roles, n_reference=0, n_controls=len(roles))
    ds = ds.assign_coords(label=("network", [f"net {r}" for r in roles]))
    return rs.completed(ds, 8, 1e-3, True, [1e-1, 1e-3])


def test_control_numbers_by_hand(ds):
    # the reference's first 3 inputs: t_sync = [14, 7, 4]
    controls = controls_dataset(np.array([[0.25, 0.25, 0.25], [0.5, 1.0, 2.0]]), ["untrained", "shuffled"])
    n = rs.control_numbers(ds, controls)
    assert n["sync_ctrl_n_samples"] == 3 and n["sync_ctrl_labels"] == ["net untrained", "net shuffled"]
    assert n["sync_ctrl_untrained_median"] == 28  # floor(ln(1000) / 0.25) + 1
    assert n["sync_ctrl_untrained_ratio"] == pytest.approx(7 / 28)
    assert n["sync_ctrl_untrained_ratio_high"] <= 0.5 and n["sync_ctrl_untrained_differs"] is True
    assert n["sync_ctrl_shuffled_ratio"] == 1.0 and n["sync_ctrl_shuffled_differs"] is False
    assert (n["sync_ctrl_differs"], n["sync_ctrl_same"]) == ("untrained", "shuffled")
    assert n["sync_ctrl_untrained_agree"] == 100.0  # l = 0 = l_perp
    assert (
        "The reference differs from: untrained; it is not distinguishable from: shuffled."
        in n["sync_ctrl_text"]
    )
    record = rs.target_r5({**rs.sync_numbers(ds), **rs.transient_numbers(ds)}, "offline", n)
    assert (
        record["controls"] == ["net untrained", "net shuffled"] and "differs from untrained" in record["note"]
    )
    none = rs.control_numbers(ds, None)
    assert none["sync_ctrl_n_samples"] == 0 and none["sync_ctrl_labels"] == []


def test_control_censored_on_both_sides_does_not_differ(ds):
    slow = controls_dataset(np.full((1, 4), 0.01), ["untrained"])  # never synchronises: t_sync = T
    censored_ref = ds.assign(sync_censored=ds.sync_censored | True, t_sync=ds.t_sync * 0 + T)
    n = rs.control_numbers(censored_ref, slow)
    assert n["sync_ctrl_untrained_differs"] is False
    assert "censored on most inputs: a lower bound" in n["sync_ctrl_text"]


def reduced(scale: float = 1.0) -> xr.Dataset:
    error = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]]) * scale
    spread = torch.zeros(2, 4)
    comparisons = {
        "float32": ReducedComparison(error, spread, error[:, 1]),
        "float64": ReducedComparison(error * 1e-9, spread, error[:, 1] * 1e-9),
    }
    return rs.reduced_dataset(comparisons, torch.tensor([1e-6, 2e-6]), torch.tensor([1e-7, 1e-7]))


def test_reduced_numbers_and_r10():
    error = torch.tensor([[0.0, 1e-7, 1e-6, 1e-5], [0.0, 2e-7, 4e-6, 3e-5]])
    ds = reduced()
    # the chapter's dataset stacks each comparison's own to_dataset along dtype, values unchanged
    assert ds.relative_error.dims == ("dtype", "sample", "step") and list(ds.dtype.values) == [
        "float32",
        "float64",
    ]
    np.testing.assert_array_equal(
        ds.relative_error.sel(dtype="float64").values, (error * 1e-9).double().numpy()
    )
    np.testing.assert_array_equal(ds.one_step_error.sel(dtype="float32").values, error[:, 1].double().numpy())
    np.testing.assert_array_equal(ds.natural_error.values, torch.tensor([1e-6, 2e-6]).double().numpy())
    numbers = rs.reduced_numbers(ds)
    assert numbers["red_one_step32"] == pytest.approx(2e-7) and numbers["red_spread32"] == "exactly 0"
    record = rs.target_r10(ds, "offline", LABELS[0], 8)
    assert record["holds"] is True and record["unit"] == "the layer's algebra"
    assert record["claim"] == "reduced map equals the full layer on synchronised states"
    assert "check of the machinery" in record["note"] and record["interval"].startswith(
        "max one-step error 2.0e-07"
    )
    assert rs.target_r10(reduced(100.0), "offline", LABELS[0], 8)["holds"] is False  # 2e-5 >= 1e-5


def test_theta_text_is_maths_in_the_prose_and_plain_beside():
    relative = rs.theta_text(1e-5, True)
    assert relative.data == "$\\theta = 10^{-5}\\,\\sigma(0)$"
    assert relative.plain == "theta = 1e-05 x sigma(0)"
    absolute = rs.theta_text(0.001, False)
    assert absolute.data == "$\\theta = 0.001$" and absolute.plain == "theta = 0.001"
    assert absolute._repr_markdown_() == "$\\theta = 0.001$"  # what {glue:md} pastes


def test_sync_phrases_read_with_censored_inputs_and_a_moving_threshold(ds):
    n = rs.sync_numbers(ds)
    # the reference: t_sync = [14, 7, 4, 40 (censored)] at 1e-3; the random networks' 8 inputs all synchronise
    assert n["sync_ref_text"].startswith("10 steps (95% interval ") and n["sync_ref_text"].endswith(
        "from a bootstrap over its inputs; 1 of 4 censored at the horizon)"
    )
    assert "none censored at the horizon; the networks' own medians range from 2 to 3)" in n["sync_rand_text"]
    # the sweep 1e-1 -> 1e-3 moves the reference's median offset from 4 to 10.5 steps
    assert n["sync_sweep_text"].data == (
        "Moving the threshold from $\\theta = 0.1$ to $0.001$ moves the reference's median offset from 4 "
        "to 10 steps"
    )
    assert n["sync_sweep_span"] == "went from 4 to 10 steps over the sweep"
    flat = rs._sweep_phrases({"sweep_lo": 0.1, "sweep_hi": 1e-6, "ref_sweep_lo": 40.0, "ref_sweep_hi": 40.0})
    assert flat["sweep_span"] == "stayed at 40 steps over the whole sweep"
    assert flat["sweep_text"].data.endswith("to $10^{-6}$ leaves the reference's median offset at 40 steps")


def test_agreement_and_controls_read_for_every_count():
    assert rs._agree_range(75.0, 100.0) == "for 75% to 100% of each network's inputs"
    assert rs._agree_range(100.0, 100.0) == "for 100% of every network's inputs"
    assert rs._agree_range(float("nan"), float("nan")).startswith("for no network")
    assert rs._differs_sentence(["a", "b"], []) == "The reference differs from every one of them."
    assert rs._differs_sentence([], ["a"]) == "The reference is not distinguishable from any of them."
    assert rs._differs_sentence(["a"], ["b"]) == (
        "The reference differs from: a; it is not distinguishable from: b."
    )


def test_the_transient_sentence_is_maths_in_the_prose(ds):
    n = rs.transient_numbers(ds)
    md, plain = n["sync_transient_md"].data, n["sync_transient_text"]
    assert md.replace("$l_\\perp$", "l_perp").replace("$t_{\\mathrm{sync}}$", "t_sync").replace(
        "$|l - l_\\perp| \\le \\tau = 5$", "|l - l_perp| <= tau = 5"
    ).replace("$l$", "l") == plain
    assert "$l_\\perp$ = 0 steps" in md  # l_perp is 0 for every input: the value, not "0 [0, 0]"


def test_the_reduced_maps_small_numbers_are_maths():
    n = rs.reduced_numbers(reduced())
    assert n["red_one_step32_tex"].data == "$2 \\times 10^{-7}$"
    assert n["red_one_step32_tex"].plain == "2.0e-07"


def test_reduced_check_on_a_network(tokenizer, one_thread):
    from chaoslib.data.tokenization import encode
    from chaoslib.dynamics.reduced_map import reduced_vs_full, token_mean
    from chaoslib.model.network import Network
    from chaoslib.studies.compare import network_map

    network = Network("albert-wikitext2", "random", init="tf", seed=1)
    encoded = encode(tokenizer, ["the cat sat on the mat", "a b c", "dogs bark loudly"], n_tokens=8)
    ds = rs.reduced_check(network, encoded, n_samples=2, n_steps=30, reduced_steps=5)
    assert list(ds.dtype.values) == ["float32", "float64"]
    assert ds.relative_error.shape == (2, 2, 6) and ds.natural_error.shape == (2,)
    assert float(ds.one_step_error.sel(dtype="float64").max()) < 1e-12
    assert float(ds.one_step_error.sel(dtype="float32").max()) < 1e-5
    _, full_map, x0, _ = network_map(network, encoded)
    x_end = full_map.iterate(x0[:2], 30)
    expected = reduced_vs_full(full_map, token_mean(x_end), 8, n_steps=5)
    float32 = ds.relative_error.sel(dtype="float32").values
    np.testing.assert_array_equal(float32, expected.relative_error.double().numpy())
