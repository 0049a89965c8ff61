"""The exponents chapter's numbers and verdicts against hand-computed cases (R1: one network's inputs; R2:
networks as the unit, an exact permutation test, an infinite ratio is no evidence; control networks paired by
input)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import chaoslib.book.reports.exponents as report
from chaoslib.book.reports.verdicts import verdict
from chaoslib.errors import ChaoslibError

TAU, T = 10, 40


def _dataset(exponent: np.ndarray, lengths: np.ndarray, perturb_at: int = 1) -> xr.Dataset:
    """A compared() dataset: exponent (networks, inputs, windows), lengths (networks, inputs); network 0 is
    the reference."""
    n_net, _, n_win = exponent.shape
    ds = xr.Dataset(
        {
            "exponent": (("network", "sample", "window"), exponent),
            "chaos_length": (("network", "sample"), lengths.astype(float)),
            "chaos_censored": (("network", "sample"), lengths >= T),
        },
        coords={
            "window": np.arange(n_win),
            "window_end": ("window", perturb_at + (np.arange(n_win) + 1) * TAU),
        },
        attrs={
            "eps": 0.01,
            "tau": TAU,
            "n_steps": T,
            "seed": 0,
            "perturb_at": perturb_at,
            "n_tokens": 8,
            "kind": "pair",
        },
    )
    return report.with_roles(ds, ["ref"] + [f"random #{i}" for i in range(1, n_net)])


def _exponents(first: float, later: float, n_net: int = 3, n_inputs: int = 6, spread: float = 0.001):
    """Every network's windows: ``first`` in window 0, ``later`` after, plus a little input noise."""
    rng = np.random.default_rng(0)
    values = np.full((n_net, n_inputs, 4), later) + spread * rng.standard_normal((n_net, n_inputs, 4))
    values[:, :, 0] = first + spread * rng.standard_normal((n_net, n_inputs))
    return values


# --- roles --------------------------------------------------------------------------------------------------


def test_controls_are_a_role_that_split_roles_leaves_out():
    ds = _dataset(_exponents(0.1, -0.1, n_net=4), np.zeros((4, 6)))
    ds = report.with_roles(ds, ["ref", "random #1", "untrained", "shuffled"], n_controls=2)
    assert report.split_roles(ds) == ("ref", ["random #1"])
    assert report.controls_of(ds) == ["untrained", "shuffled"]
    assert list(ds.role.values) == ["reference", "comparison", "control", "control"]
    with pytest.raises(ChaoslibError, match="exceed"):
        report.with_roles(ds, ["a", "b", "c", "d"], n_reference=2, n_controls=3)


# --- R1 -----------------------------------------------------------------------------------------------------


def _r1(first: float, later: float):
    ds = _dataset(_exponents(first, later), np.zeros((3, 6)))
    return report.target_r1(report.comparison_numbers(ds), "m")


def test_r1_holds_when_lambda0_is_established_and_turns_negative():
    record = _r1(0.05, -0.02)
    assert record["holds"] is True and record["unit"] == "inputs of one network" and record["reason"] == ""
    assert record["interval"].startswith("mean lambda_0 0.05")
    assert "window ending at step 21" in record["measured"]  # perturb x(1): window 1 ends at 1 + 2 tau


def test_r1_is_censored_when_no_window_turns_within_the_horizon():
    record = _r1(0.05, 0.02)
    assert record["holds"] is None and "censored" in record["reason"] and "T = 40" in record["reason"]
    assert verdict(record) == "not testable here"


def test_r1_does_not_hold_for_a_network_that_contracts_from_the_start():
    """The untrained network perturbed at x(1): every window about -0.008."""
    record = _r1(-0.008, -0.008)
    assert record["holds"] is False and verdict(record) == "does not hold"


def test_r1_a_positive_point_estimate_with_0_in_its_interval_does_not_hold():
    ds = _dataset(_exponents(0.002, -0.1, spread=0.05), np.zeros((3, 6)))
    n = report.comparison_numbers(ds)
    assert n["exp_ref_lambda0_low"] <= 0
    record = report.target_r1(n, "m")
    assert record["holds"] is False


def test_r1_reports_the_other_protocol_beside_it():
    series = _dataset(_exponents(0.05, -0.02), np.zeros((3, 6)))
    other = _dataset(_exponents(0.15, -0.02)[:1, :, :1], np.zeros((1, 6)), perturb_at=0)
    numbers = {**report.comparison_numbers(series), **report.other_protocol_numbers(series, other)}
    assert numbers["exp_other_lambda0"] == pytest.approx(other.exponent.values[0, :, 0].mean())
    assert numbers["exp_other_difference"] == pytest.approx(
        series.exponent.values[0, :, 0].mean() - other.exponent.values[0, :, 0].mean()
    )
    assert numbers["exp_other_difference_high"] < 0  # paired by input: clearly below 0
    assert numbers["exp_other_sign_change_text"] == "only its first window was run"
    record = report.target_r1(numbers, "m")
    assert "other protocol (perturb x(0)" in record["note"] and record["holds"] is True


# --- R2 -----------------------------------------------------------------------------------------------------


def _r2(lengths: np.ndarray):
    ds = _dataset(_exponents(0.05, -0.02, n_net=lengths.shape[0], n_inputs=lengths.shape[1]), lengths)
    numbers = report.comparison_numbers(ds, prefix="cl_")
    return numbers, report.target_r2(numbers, "m")


def test_r2_an_infinite_ratio_cannot_pass():
    lengths = np.zeros((11, 6))
    lengths[0] = 30  # every random network contracts at once: median 0, the ratio infinite
    numbers, record = _r2(lengths)
    assert np.isinf(numbers["cl_median_ratio"]) and numbers["cl_effect"] is False
    assert record["holds"] is False and "no evidence" in record["note"] and "inf" not in record["measured"]


def test_r2_does_not_hold_when_a_comparison_network_is_above_the_reference():
    lengths = np.tile(np.array([[30.0], [10.0], [10.0], [10.0], [35.0]]), (1, 6))
    numbers, record = _r2(lengths)
    assert numbers["cl_median_ratio"] == pytest.approx(3.0)  # pooled median 10: the ratio alone would pass
    assert numbers["cl_n_below"] == 3 and numbers["cl_effect"] is False
    assert record["holds"] is False and record["unit"] == "networks"


def test_r2_with_the_effect_and_one_against_ten_is_not_testable_here():
    lengths = np.tile(np.array([[30.0]] + [[10.0 + i] for i in range(10)]), (1, 6))
    numbers, record = _r2(lengths)
    assert numbers["cl_effect"] is True
    assert numbers["cl_perm_p"] == pytest.approx(1 / 11) and numbers["cl_perm_smallest_p"] == pytest.approx(
        1 / 11
    )
    assert record["holds"] is None and "one pretrained network" in record["reason"]
    assert "smallest attainable p is 0.0909" in record["reason"]


def test_r2_holds_with_enough_networks():
    lengths = np.tile(np.array([[39.0]] + [[5.0 + (i % 10)] for i in range(120)]), (1, 2))
    numbers, record = _r2(lengths)
    assert numbers["cl_perm_p"] == pytest.approx(1 / 121) and record["holds"] is True


def test_r2_a_censored_reference_below_the_ratio_is_not_testable():
    lengths = np.tile(np.array([[40.0], [30.0], [30.0], [25.0]]), (1, 6))  # the reference at the horizon
    numbers, record = _r2(lengths)
    assert numbers["cl_effect"] is False and record["holds"] is None and "censored" in record["reason"]


def test_r2_ratio_interval_is_over_networks_then_inputs():
    rng = np.random.default_rng(3)
    lengths = rng.choice([0.0, 10.0, 20.0, 30.0, 40.0], size=(5, 8))
    numbers, _ = _r2(lengths)
    from chaoslib.stats import two_level_contrast

    assert (numbers["cl_ratio_low"], numbers["cl_ratio_high"]) == two_level_contrast(
        lengths[0], lengths[1:], np.median, "ratio"
    )


def test_network_test_matches_scipy_exact_permutation_test():
    medians = np.array([25.0, 10.0, 30.0, 5.0, 12.0])
    ours = report.network_test(medians[0], medians[1:])

    def statistic(x, axis=-1):  # the network in the reference's place against the others' mean
        x = np.moveaxis(x, axis, -1)
        return x[..., 0] - x[..., 1:].mean(-1)

    theirs = stats.permutation_test(
        (medians,), statistic, permutation_type="pairings", alternative="greater", n_resamples=np.inf
    )
    assert ours.p_value == pytest.approx(theirs.pvalue) and ours.p_value == pytest.approx(2 / 5)


# --- controls -----------------------------------------------------------------------------------------------


def test_paired_difference_excludes_0_for_a_constant_shift_and_keeps_the_point_without_spread():
    b = np.linspace(0, 1, 8)
    low, high = report.paired_difference(b + 1, b, np.mean)
    assert low == pytest.approx(1) and high == pytest.approx(1) and report.excludes(low, high)
    assert report.paired_difference(np.zeros(5), np.zeros(5), np.median) == (0.0, 0.0)
    assert not report.excludes(*report.paired_difference(np.zeros(5), np.zeros(5), np.median))
    assert np.isnan(report.paired_difference(np.array([1.0, np.inf]), np.array([0.0, 0.0]), np.mean)[0])


def test_control_table_pairs_controls_with_the_reference_on_their_inputs():
    comparison = _dataset(_exponents(0.05, -0.02, n_net=3, n_inputs=8), np.tile([30.0], (3, 8)))
    k = 5
    lam = np.stack([comparison.exponent.values[0, :k], comparison.exponent.values[0, :k] - 0.2])
    controls = xr.Dataset(
        {
            "exponent": (("network", "sample", "window"), lam),
            "chaos_length": (("network", "sample"), np.array([[30.0] * k, [0.0] * k])),
            "chaos_censored": (("network", "sample"), np.zeros((2, k), bool)),
        },
        coords={"label": ("network", ["net hf #0", "net shuffled #0"])},
        attrs={"control_seed": 0},
    )
    controls = report.with_roles(controls, ["untrained", "shuffled"], n_reference=0, n_controls=2)
    table = report.control_table(comparison, controls)
    assert list(table.row.values) == ["reference", "untrained", "shuffled", "2 random networks"]
    assert table.attrs["n_samples"] == k
    assert table.lambda0.sel(row="reference") == pytest.approx(comparison.exponent.values[0, :k, 0].mean())
    assert bool(table.differs_lambda0.sel(row="shuffled")) and not bool(
        table.differs_lambda0.sel(row="untrained")
    )
    assert bool(table.differs_median.sel(row="shuffled")) and table["median"].sel(row="shuffled") == 0
    numbers = report.control_numbers(table)
    assert numbers["ctrl_differs_lambda0"] == "shuffled" and numbers["ctrl_same_median"] == "untrained"
    assert numbers["ctrl_shuffled_median"] == 0
    r2 = report.target_r2(report.comparison_numbers(comparison, prefix="cl_"), "m", controls=table)
    assert (
        r2["controls"] == ["untrained", "shuffled"]
        and "differs" in r2["note"]
        and "from: shuffled" in r2["note"]
    )


def test_protocol_numbers_read_each_protocol_and_network():
    ex = np.stack([_exponents(0.15, -0.01, n_net=2), _exponents(-0.008, -0.008, n_net=2)])  # (protocol, ...)
    ds = xr.Dataset(
        {"exponent": (("perturb_at", "network", "sample", "window"), ex)},
        coords={
            "perturb_at": [0, 1],
            "network": ["net hf #0", "net tf #1"],
            "role": ("network", ["untrained", "comparison"]),
            "window_end": (
                ("perturb_at", "window"),
                np.stack([(np.arange(4) + 1) * TAU, 1 + (np.arange(4) + 1) * TAU]),
            ),
        },
        attrs={"n_steps": 40, "tau": TAU},
    )
    n = report.protocol_numbers(ds)
    assert n["exp_art_untrained_x0_lambda0"] == pytest.approx(ex[0, 0, :, 0].mean())
    assert n["exp_art_untrained_x1_lambda0_high"] < 0 < n["exp_art_untrained_x0_lambda0_low"]
    assert n["exp_art_untrained_x0_later_max"] == pytest.approx(ex[0, 0, :, 1:].mean(0).max())
    assert n["exp_art_random_label"] == "net tf #1"


def test_control_table_censors_the_reference_at_the_controls_horizon():
    comparison = _dataset(_exponents(0.05, -0.02, n_net=3, n_inputs=4), np.tile([30.0], (3, 4)))
    controls = xr.Dataset(
        {
            "exponent": (("network", "sample", "window"), comparison.exponent.values[:1, :, :2]),
            "chaos_length": (("network", "sample"), np.full((1, 4), 20.0)),
            "chaos_censored": (("network", "sample"), np.ones((1, 4), bool)),
        },
        attrs={"control_seed": 0, "n_steps": 20},
    )
    controls = report.with_roles(controls, ["untrained"], n_reference=0, n_controls=1)
    table = report.control_table(comparison, controls)
    assert table.attrs["T"] == 20 and table["median"].sel(row="reference") == 20  # 30 is "at least 20" here
    assert not bool(table.differs_median.sel(row="untrained"))
    assert float(comparison.chaos_length.values[0, 0]) == 30  # the comparison itself is left as it was


def test_effect_text_says_why():
    assert report.effect_text(True, 10, 10, 3.0) == (
        "yes: the reference's median lies above all 10 random networks' medians and the ratio of medians, 3, "
        "is at least 2"
    )
    assert "not defined" in report.effect_text(False, 10, 10, float("inf"))
    text = report.effect_text(False, 9, 10, 1.5)
    assert "above 9 of 10 random networks' medians, not all" in text and "1.5, is below 2" in text
    assert report.effect_text(False, 0, 10, 0.5).startswith(
        "no: the reference's median lies above none of the 10 random networks' medians;"
    )


def test_the_prose_reads_when_every_length_is_the_same_and_none_is_censored():
    # every random network's lengths are 0, the reference's 10 or 20: no length reaches the horizon T = 40
    lengths = np.zeros((3, 6))
    lengths[0] = [10, 10, 20, 20, 10, 20]
    n = report.comparison_numbers(_dataset(_exponents(0.1, -0.1), lengths), prefix="cl_")
    assert n["cl_censored_text"] == "No length is censored at the horizon."
    assert n["cl_seed_median_text"] == (
        "are 0 steps for every network (both networks lie below the reference's)"
    )
    assert n["cl_median_ref_text"].startswith("15 steps for ref (95% interval ")
    censored = lengths.copy()
    censored[0, :3] = T
    n = report.comparison_numbers(_dataset(_exponents(0.1, -0.1), censored), prefix="cl_")
    assert n["cl_censored_text"] == (
        "50% of the reference's lengths and none of the random networks' are censored at the horizon."
    )


def test_where_the_mean_exponent_turns_is_a_predicate():
    n = report.comparison_numbers(_dataset(_exponents(0.1, -0.1), np.zeros((3, 6))))
    # window 0 positive, window 1 (ending at step 1 + 2 tau = 21) the first non-positive
    assert n["exp_ref_sign_change_phrase"] == "is first non-positive in the window ending at step 21"
    positive = report.comparison_numbers(_dataset(_exponents(0.1, 0.1), np.full((3, 6), T)))
    assert positive["exp_ref_sign_change_phrase"] == "stays positive in every window up to step 41"
    assert positive["exp_protocol_md"].data.startswith("perturb $x(1)$, one step after the embedding")
    assert n["exp_ref_window_text"] == report.lie_between(n["exp_ref_window_min"], n["exp_ref_window_max"])


def test_the_sensitivity_says_when_a_quantity_does_not_move_with_eps():
    sens = _dataset(_exponents(0.1, -0.1), np.full((3, 6), 20.0)).isel(network=[0, 1, 2])
    sens = sens.rename(network="eps").drop_vars("role").assign_coords(eps=[0.01, 0.1, 1.0])
    n = report.sensitivity_numbers(sens)  # lambda_0 about 0.1 and every length 20, whatever eps
    assert n["exp_sens_text"].data == (
        "the mean first-window exponent is 0.1 for every $\\varepsilon$ and the median chaos length is 20 "
        "steps for every $\\varepsilon$"
    )
    moved = sens.assign(chaos_length=sens.chaos_length + sens.eps * 10)  # 20.1, 21, 30 steps
    assert report.sensitivity_numbers(moved)["exp_sens_text"].plain.endswith(
        "and the median chaos length ranges from 20 to 30 steps"
    )
    assert n["exp_sens_eps_md"].data == "$\\varepsilon \\in \\{0.01, 0.1, 1\\}$"


def test_how_many_exponents_are_positive_reads_for_every_count():
    assert report._positive_text(0, 8) == "none of the top 8 is positive"
    assert report._positive_text(1, 8) == "1 of the top 8 is positive"
    assert report._positive_text(3, 8) == "3 of the top 8 are positive"
    assert report._positive_text(8, 8) == "all of the top 8 are positive"


def test_differs_text_reads_as_a_sentence():
    names = ["untrained", "shuffled"]
    assert report.differs_text(names, names) == "differs from every control (untrained; shuffled)"
    assert report.differs_text(names, []).startswith("differs from none of the controls")
    assert report.differs_text(names, ["shuffled"]) == "differs from: shuffled; and not from: untrained"
