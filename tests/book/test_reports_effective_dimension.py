"""Numbers and the R6 verdict of the effective-dimension chapter, and the comparison behind them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import xarray as xr

import chaoslib.book.reports.effective_dimension as red
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval

STEPS = np.arange(13)
LABELS = ["pre", "pre, inputs #1", "rand #1", "rand #2", "rand #3", "pre+rand layer", "rand+pre layer"]
CONTROLS = [red.EMBEDDINGS_HYBRID, red.LAYER_HYBRID]


def _result(collapse_rand3: bool = True) -> xr.Dataset:
    """Like ``report.compared``: the reference on 2 input draws, 3 random networks and the two hybrids."""
    rng = np.random.default_rng(0)
    ed = np.empty((7, STEPS.size))
    ed[0] = 20 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[1] = 19 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    for i in range(2, 5):
        ed[i] = 18 - 0.8 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[2, 1] = 25.0  # one step where a random network is above the reference
    ed[5] = 18 - 0.8 * STEPS  # the reference's embeddings with a random layer: the random networks' decay
    ed[6] = ed[0]  # random embeddings with the reference's layer: the reference's curve
    resolved = np.ones_like(ed, dtype=bool)
    if collapse_rand3:
        resolved[4, 9:] = False  # collapsed to rounding noise from step 9
        ed[4, 9:] = 23.0  # isotropic rounding noise: a high, meaningless ED
    ds = xr.Dataset(
        {
            "effective_dimension": (("network", "step"), ed),
            "relative_variance": (("network", "step"), np.exp(-0.1 * STEPS)[None] * np.arange(1, 8)[:, None]),
            "resolved": (("network", "step"), resolved),
            "steps_per_second": ("network", np.ones(7)),
        },
        coords={"network": [str(i) for i in range(7)], "step": STEPS},
        attrs={"n_samples": 24},
    )
    return red.with_roles(ds, LABELS, n_input_draws=2, n_comparison=3, controls=CONTROLS)


def _readable(ds):
    return np.where(ds.resolved.values, ds.effective_dimension.values, np.nan)


def test_r6_numbers_on_ed_itself_by_hand():
    ds = _result()
    n = red.r6_numbers(ds, horizon=10)
    ed = ds.effective_dimension.values
    readable = _readable(ds)
    above = [
        all(readable[0, t] > readable[j, t] for j in range(2, 5) if np.isfinite(readable[j, t]))
        for t in range(11)
    ]
    assert n["ed_fraction_above"] == pytest.approx(np.mean(above))
    assert n["ed_fraction_above"] == pytest.approx(10 / 11)  # all steps but the one where rand #1 is above
    per_seed = [np.nanmedian(readable[0, :11] - readable[j, :11]) for j in range(2, 5)]
    assert n["ed_gap"] == pytest.approx(np.mean(per_seed))
    assert (n["ed_gap_low"], n["ed_gap_high"]) == bootstrap_interval(per_seed, np.mean)
    assert n["ed_ref_stability"] == pytest.approx(ed[0, 10] / ed[0, :11].max())
    assert n["ed_draws_horizon_min"] == pytest.approx(ed[:2, 10].min())
    assert n["ed_rand_t0"] == pytest.approx(np.median(ed[2:5, 0]))
    assert n["ed_collapsed"] == "rand #3 (from step 9)"


def test_r6_numbers_on_ed_over_ed0_by_hand():
    ds = _result()
    n = red.r6_numbers(ds, horizon=10)
    ratio = _readable(ds) / ds.effective_dimension.values[:, :1]  # each network over its own ED(0)
    window = ratio[:, 1:11]
    highest = np.nanmax(window[2:5], axis=0)  # the collapsed steps of rand #3 are not read
    above = [window[0, t] > highest[t] for t in range(10)]
    assert n["ed_norm_fraction_above"] == pytest.approx(np.mean(above))
    kept = np.array([np.median(row[np.isfinite(row)]) for row in window])
    assert n["ed_norm_ref"] == pytest.approx(kept[0])
    assert (n["ed_norm_draws_min"], n["ed_norm_draws_max"]) == pytest.approx((kept[:2].min(), kept[:2].max()))
    assert n["ed_norm_rand"] == pytest.approx(np.median(kept[2:5]))
    low, high = bootstrap_interval(kept[2:5], np.median)
    assert (n["ed_norm_rand_low"], n["ed_norm_rand_high"]) == (low, high)
    assert n["ed_norm_gap"] == pytest.approx(kept[0] - np.median(kept[2:5]))
    assert (n["ed_norm_gap_low"], n["ed_norm_gap_high"]) == pytest.approx((kept[0] - high, kept[0] - low))
    # the test over networks: one reference among 4 networks, it has the largest summary -> p = 1/4
    assert n["ed_test_n_networks"] == 4 and n["ed_test_p"] == pytest.approx(0.25)
    assert n["ed_test_smallest_p"] == pytest.approx(0.25)


def test_hybrids_say_which_half_the_level_comes_with():
    ds = _result()
    n = red.r6_numbers(ds, horizon=10)
    level = np.array([np.median(row[np.isfinite(row)]) for row in _readable(ds)[:, 1:11]])
    assert n["ed_level_ref"] == pytest.approx(level[0]) and n["ed_level_partner"] == pytest.approx(level[2])
    assert n["ed_level_embeddings_hybrid"] == pytest.approx(level[5])
    assert n["ed_level_layer_hybrid"] == pytest.approx(level[6])
    assert n["ed_partner"] == "rand #1"
    assert n["ed_hybrid_closer"] == "layer"  # the layer hybrid has the reference's curve
    # the controls against the reference's range over the two input draws
    assert "random embeddings, reference layer" in n["ed_controls"]
    assert n["ed_differs_from"] == "reference embeddings, random layer"  # decays like the random networks
    assert n["ed_control_labels"] == "pre+rand layer; rand+pre layer"


def test_reference_above_others_is_scipys_exact_permutation_test():
    values = np.array([3.0, 1.0, 2.5, 0.5, 2.0])
    test = red.reference_above_others(values)
    assert test.p_value == pytest.approx(1 / 5) and test.smallest_p == pytest.approx(1 / 5)
    labels = np.array([1, 0, 0, 0, 0])

    def statistic(x, y):  # scipy's "pairings": the labels' order is permuted against the values
        return x[y == 1].mean() - x[y == 0].mean()

    ref = scipy.stats.permutation_test((values, labels), statistic, permutation_type="pairings",
                                       n_resamples=np.inf, alternative="greater")
    assert test.p_value == pytest.approx(ref.pvalue)
    assert red.reference_above_others([1.0, 3.0, 2.0]).p_value == pytest.approx(1.0)


def _numbers(**changes) -> dict:
    return {**red.r6_numbers(_result(), horizon=10), **changes}


def test_r6_verdicts_read_only_the_numbers():
    # the effect (higher at most steps, stable) with 4 networks: smallest p 1/4 -> not testable here
    n = _numbers(ed_norm_fraction_above=0.9)
    r6 = red.target_r6(n, "m")
    assert r6["holds"] is None and "one pretrained network" in r6["reason"] and r6["unit"] == "networks"
    assert r6["controls"] == ["pre+rand layer", "rand+pre layer"]
    assert r6["interval"].startswith("ED(t)/ED(0) gap")
    assert red.r6_sentence(r6, n) == r6["reason"][len("not testable here: "):]  # the verdict is said beside
    # enough networks for the threshold: the test decides
    many = dict(ed_test_n_networks=200, ed_test_smallest_p=1 / 200)
    assert red.target_r6({**n, **many, "ed_test_p": 1 / 200}, "m")["holds"] is True
    assert red.target_r6({**n, **many, "ed_test_p": 0.3}, "m")["holds"] is False
    # no effect: does not hold, whatever the test
    flat = {**n, **many, "ed_test_p": 1 / 200, "ed_norm_fraction_above": 0.5}
    assert red.target_r6(flat, "m")["holds"] is False
    assert red.target_r6({**n, **many, "ed_test_p": 1 / 200, "ed_ref_stability": 0.4}, "m")["holds"] is False
    assert "not stable" in red.r6_sentence(red.target_r6({**n, "ed_ref_stability": 0.4}, "m"),
                                           {**n, "ed_ref_stability": 0.4})
    # no comparison networks: not testable, with the reason
    alone = {k: v for k, v in n.items() if not k.startswith("ed_test")}
    assert red.target_r6(alone, "m")["reason"].startswith("not testable here")


def test_roles_are_checked():
    ds = _result().drop_vars(["role", "control"])
    with pytest.raises(ChaoslibError, match="role"):
        red.r6_numbers(ds, horizon=10)
    with pytest.raises(ChaoslibError, match="networks"):
        red.with_roles(ds, LABELS, n_input_draws=1, n_comparison=3)


def test_compared_runs_the_reference_on_every_draw_and_the_others_on_the_first(tokenizer, one_thread):
    from types import SimpleNamespace

    from chaoslib.data.tokenization import encode
    from chaoslib.model.network import Network
    from chaoslib.studies.analyses import EffectiveDimensions
    from chaoslib.studies.compare import compare_networks

    texts = ["the cat sat on the mat", "a b c", "one two three four", "dogs bark", "x y z", "hello there"]

    class Chapter:  # what compared uses of a chapter: its seed, its inputs, its compare
        p = SimpleNamespace(seed=3)
        drawn: list = []

        def inputs(self, seed):
            self.drawn.append(seed)
            return encode(tokenizer, texts[seed - 3 : seed + 2], n_tokens=8)  # draws differ by one input

        def compare(self, networks, analysis, inputs, labels):
            return compare_networks(networks, analysis, inputs, labels=labels)

    reference = Network("albert-wikitext2", "random", init="tf", seed=7)
    networks = [reference] + [Network("albert-wikitext2", "random", init="tf", seed=s) for s in (1, 2)]
    ch = Chapter()
    analysis = EffectiveDimensions(n_steps=3)
    ds = red.compared(ch, networks, analysis, input_draws=2, controls=[red.LAYER_HYBRID])
    assert ch.drawn == [3, 4]
    label = reference.label()
    hybrid = f"{networks[1].label()} with the layer of {label}"
    assert list(ds.network.values) == [label, f"{label}, inputs #1", networks[1].label(), networks[2].label(),
                                       hybrid]
    roles = [red.REFERENCE, red.OTHER_INPUTS, red.COMPARISON, red.COMPARISON, red.CONTROL]
    assert list(ds.role.values) == roles
    assert red.controls_of(ds) == {red.LAYER_HYBRID: hybrid}
    alone = compare_networks(networks[1:2], EffectiveDimensions(n_steps=3), ch.inputs(seed=3))
    np.testing.assert_array_equal(ds.effective_dimension.values[2], alone.effective_dimension.values[0])
    assert not np.allclose(ds.effective_dimension.values[0, 1:], ds.effective_dimension.values[1, 1:])
    # the hybrid has the comparison's embeddings: the same ED(0) as that network on the same inputs
    assert ds.effective_dimension.values[4, 0] == pytest.approx(ds.effective_dimension.values[2, 0])


def test_the_prose_phrases_read_for_every_share_and_spread():
    n = red.r6_numbers(_result(), horizon=10)
    assert red.share_of_steps(0.0) == "at none of the steps" and red.share_of_steps(1.0) == "at every step"
    assert red.share_of_steps(0.25) == "at 25% of the steps"
    assert n["ed_norm_fraction_text"] == red.share_of_steps(n["ed_norm_fraction_above"])
    low, high = n["ed_draws_horizon_min"], n["ed_draws_horizon_max"]
    assert n["ed_draws_horizon_text"] == f"the 2 input draws give {low:.1f} to {high:.1f}"
    assert red._over_draws(3.0, 3.0, 4, ".1f") == "the same on all 4 input draws"
    assert n["ed_rand_horizon_seeds_text"].startswith("the seeds range from ")
