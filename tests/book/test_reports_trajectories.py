"""Numbers and the R3 verdict of the trajectories chapter; the runs of several networks behind them."""

from __future__ import annotations

import built_results as built  # noqa: E402
import numpy as np
import pytest
from built_results import LABELS  # noqa: E402

import chaoslib.book.reports.trajectories as rt
from chaoslib.book.reports.verdicts import verdict


@pytest.fixture
def ds(tmp_path):
    return built.trajectories_long_run(tmp_path)


def test_by_network_labels_from_the_runs():
    rng = np.random.default_rng(0)
    runs = {label: built.trajectory_run(rng, 2, 1.0) for label in LABELS}
    ds = rt.by_network(runs)
    assert list(ds.network.values) == LABELS
    assert list(ds.role.values) == ["reference", "comparison", "comparison"]
    np.testing.assert_array_equal(ds.steps_per_second.values, [123.0] * 3)


def test_long_run_numbers_by_hand(ds):
    numbers = rt.long_run_numbers(ds, threshold=1e-2, relative=True)
    # sigma(t)/sigma(0) = exp(-d t) < 1e-2  <=>  t > ln(100)/d: d=0.1 -> never within 10 steps (censored);
    # d=2 -> t=3 (exp(-6)=2.5e-3 < 1e-2, exp(-4)=1.8e-2 not); d=3 -> t=2 (exp(-6))
    assert numbers["long_authors_ref_censored"] and numbers["long_authors_ref"] == 10
    assert numbers["long_authors_ref_text"] == "no synchronisation within 10 steps"
    assert (numbers["long_authors_rand_min"], numbers["long_authors_rand_max"]) == (2, 3)
    assert numbers["long_authors_rand_text"] == "it synchronises in both networks, between steps 2 and 3"
    assert numbers["long_ref_censored"] == 3 and numbers["long_rand_censored"] == 0
    # every input of the reference censored: its median is the horizon, a lower bound, and reads as one
    assert numbers["long_ref_text"] == "more than 10 steps (all 3 censored at the horizon)"
    assert numbers["long_rand_text"].startswith("2 steps (95% interval ")
    assert numbers["long_rand_text"].endswith(
        "from a bootstrap over networks, then inputs; none censored at the horizon; the networks' own "
        "medians range from 2 to 3)"
    )
    assert numbers["long_rand_median"] == 2.5 and numbers["long_ratio"] == pytest.approx(4.0)
    assert (numbers["long_seed_min"], numbers["long_seed_max"]) == (2, 3)
    # networks then inputs: every resample's ratio is 10 / (2, 2.5 or 3) > 1
    assert numbers["long_ratio_low"] >= 10 / 3 and numbers["long_direction"] == "longer than"
    # three networks, the reference's median the largest: two-sided p = 2/3, also the smallest attainable
    assert numbers["long_p"] == pytest.approx(2 / 3) and numbers["long_smallest_p"] == pytest.approx(2 / 3)
    assert numbers["long_n_networks"] == 3
    assert numbers["long_steps_per_s"] == 123.0


@pytest.mark.parametrize(
    ("t_sync", "censored", "horizon", "holds", "reason"),
    [
        (46, False, 2500, False, ""),  # measured inside the horizon, below 10^4: does not hold
        (12_000, False, 100_000, True, ""),  # measured at 10^4 or more: holds
        (2500, True, 2500, None, "censored at T=2500 < 10000 steps"),  # censored short of the claim
        (100_000, True, 100_000, True, ""),  # censored beyond 10^4: the transient lasts at least that long
        (10_000, True, 10_000, True, ""),  # censored exactly at the claim
    ],
)
def test_r3_rule_each_case(t_sync, censored, horizon, holds, reason):
    got_holds, got_reason = rt.r3_rule(t_sync, censored, horizon)
    assert got_holds is holds and got_reason.startswith(reason)


def test_target_r3_decides_only_what_the_horizon_allows(ds):
    numbers = rt.long_run_numbers(ds, threshold=1e-2)
    censored_short = rt.target_r3(numbers, "offline", "albert-wikitext2")
    assert censored_short["holds"] is None and censored_short["reason"].startswith("censored at T=10 < 10000")
    assert verdict(censored_short) == "not testable here"
    assert censored_short["unit"] == "inputs of one network" and "one input" in censored_short["note"]
    assert "albert-large-v2" in censored_short["note"] and censored_short["interval"].startswith(
        "t_sync >= 10"
    )
    assert rt.target_r3(numbers, "offline", "albert-wikitext2", claimed=10)["holds"] is True
    synchronised = {**numbers, "long_authors_ref_censored": False, "long_authors_ref": 4}
    short = rt.target_r3(synchronised, "offline", "albert-wikitext2")
    assert (
        short["holds"] is False
        and verdict(short) == "does not hold"
        and short["interval"].startswith("t_sync = 4")
    )
    long = rt.target_r3({**synchronised, "long_authors_ref": 20_000}, "paper", "albert-large-v2")
    assert long["holds"] is True and verdict(long) == "holds" and "albert-large-v2 itself" in long["note"]
    assert "reference_is_pretrained" not in rt.target_r3.__code__.co_varnames


def test_short_run_numbers(ds):
    numbers = rt.short_run_numbers(ds)
    assert numbers["traj_ref_sigma0"] == 1.0
    assert numbers["traj_ref_sigmaT"] == pytest.approx(np.exp(-1.0))
    assert numbers["traj_rand_sigmaT_min"] == pytest.approx(np.exp(-30.0))


def test_edition_text_names_the_reference():
    assert "random (x)" in rt.edition_text("offline", "albert-wikitext2", "random", "x")
    assert "published" in rt.edition_text("paper", "albert-large-v2", "pretrained", "x")
    assert "pretrained here" in rt.edition_text("offline", "albert-wikitext2", "pretrained", "x")


def test_network_trajectories_runs_each_network_once_for_every_run(tmp_path, tokenizer, one_thread):
    from chaoslib.data.corpus import encode_authors
    from chaoslib.dynamics.probes import TokenSpread, Units
    from chaoslib.dynamics.runner import run_trajectory
    from chaoslib.model.albert_map import AlbertMap
    from chaoslib.model.network import Network
    from chaoslib.studies.trajectories import Run, network_trajectories

    networks = [Network("albert-wikitext2", "random", init="tf", seed=s) for s in (1, 2)]
    short = encode_authors(tokenizer, [["ALBERT stands for A Lite BERT.", "Hello world!"]], 16)
    long = encode_authors(tokenizer, [["ALBERT stands for A Lite BERT.", "Hello world!"], "a b c"], 8)
    loaded = []

    def load(network):
        loaded.append(network)
        return network.load()

    probes = [Units(tokens=[0, 1], units=[0, 2]), TokenSpread()]
    runs = network_trajectories(
        networks,
        {"short": Run(short, 5), "long": Run(long, 12, tmp_path / "long")},
        probes,
        load=load,
        save_every=4,
    )
    assert loaded == networks  # one load per network, in order
    labels = [n.label() for n in networks]
    assert list(runs) == ["short", "long"] and list(runs["long"]) == labels
    assert (tmp_path / "long" / labels[1].replace(" ", "_")).is_dir()  # streamed, resumable
    model, _ = networks[1].load()
    the_map = AlbertMap(model)
    direct = run_trajectory(the_map, the_map.embed(long), 12, probes=[TokenSpread()], progress=False)
    streamed = runs["long"][labels[1]].token_spread.values
    np.testing.assert_allclose(streamed, direct.token_spread.values, rtol=1e-6)
    assert runs["short"][labels[0]].units.shape == (1, 6, 2, 2)
    assert not np.allclose(runs["long"][labels[0]].token_spread, runs["long"][labels[1]].token_spread)
    ds = rt.by_network(runs["long"])
    assert list(ds.network.values) == labels and ds.token_spread.dims == ("network", "sample", "step")


def test_where_the_random_networks_synchronise_reads_for_every_count():
    authors, horizon = np.array([7, 7, 9]), 50
    assert rt._authors_rand_text(authors, np.array([True] * 3), horizon) == (
        "it synchronises in all 3 networks, between steps 7 and 9"
    )
    assert rt._authors_rand_text(authors[:2], np.array([True, True]), horizon) == (
        "it synchronises in both networks, at step 7"
    )
    assert rt._authors_rand_text(authors, np.array([True, False, False]), horizon) == (
        "it synchronises in 1 of 3 networks, at step 7; the others not within 50 steps"
    )
    assert rt._authors_rand_text(authors, np.array([False] * 3), horizon) == (
        "it synchronises in none of the 3 within 50 steps"
    )


def test_the_spread_is_written_as_maths(ds):
    numbers = rt.short_run_numbers(ds)
    # sigma: 1 at t = 0, exp(-1) after 10 steps through the reference; exp(-20) and exp(-30) for the others,
    # whose median is their mean, 1.03e-9
    assert numbers["traj_ref_sigma_text"].data == "goes from $1$ at $t=0$ to $0.368$ after 10 steps"
    assert numbers["traj_rand_sigma_text"].data == (
        "$1.03 \\times 10^{-9}$ (median; the networks range from $9.36 \\times 10^{-14}$ to "
        "$2.06 \\times 10^{-9}$)"
    )
    one = rt.short_run_numbers(ds.isel(network=[0, 1]))
    assert one["traj_rand_sigma_text"].data == "$2.06 \\times 10^{-9}$"


def test_the_basis_of_r3_says_whether_the_pair_synchronised(ds):
    numbers = rt.long_run_numbers(ds, threshold=1e-2)
    record = rt.target_r3(numbers, "offline", "albert-wikitext2")
    assert rt.r3_basis(record, numbers).data == (
        "the pair has not synchronised within the horizon: $t_{\\mathrm{sync}} > 10$ steps, short of the "
        "claim's $10^4$"
    )
    synchronised = {**numbers, "long_authors_ref_censored": False, "long_authors_ref": 4}
    basis = rt.r3_basis(rt.target_r3(synchronised, "offline", "albert-wikitext2"), synchronised)
    assert basis.data == "the pair synchronises inside the horizon of 10 steps, at $t_{\\mathrm{sync}} = 4$"
    assert basis.plain == "the pair synchronises inside the horizon of 10 steps, at t_sync = 4"
