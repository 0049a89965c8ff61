"""Numbers and the R6 verdict of the effective-dimension chapter, and the comparison behind them."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import chaoslib.book.reports.effective_dimension as red
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval

STEPS = np.arange(13)
LABELS = ["pre", "pre, inputs #1", "rand #1", "rand #2", "rand #3"]


def _result(collapse_rand3: bool = True) -> xr.Dataset:
    """Like ``report.compared``: the reference on 2 input draws and 3 random networks."""
    rng = np.random.default_rng(0)
    ed = np.empty((5, STEPS.size))
    ed[0] = 20 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[1] = 19 - 0.05 * STEPS + rng.normal(0, 0.3, STEPS.size)
    for i in range(2, 5):
        ed[i] = 18 - 0.8 * STEPS + rng.normal(0, 0.3, STEPS.size)
    ed[2, 1] = 25.0  # one step where a random network is above the reference
    resolved = np.ones_like(ed, dtype=bool)
    if collapse_rand3:
        resolved[4, 9:] = False  # collapsed to rounding noise from step 9
        ed[4, 9:] = 23.0  # isotropic rounding noise: a high, meaningless ED
    ds = xr.Dataset(
        {
            "effective_dimension": (("network", "step"), ed),
            "relative_variance": (("network", "step"), np.exp(-0.1 * STEPS)[None] * np.arange(1, 6)[:, None]),
            "resolved": (("network", "step"), resolved),
            "steps_per_second": ("network", np.ones(5)),
        },
        coords={"network": [str(i) for i in range(5)], "step": STEPS},
        attrs={"n_samples": 24},
    )
    return red.with_roles(ds, LABELS, n_input_draws=2, n_comparison=3)


def test_r6_numbers_by_hand():
    ds = _result()
    n = red.r6_numbers(ds, horizon=10)
    ed = ds.effective_dimension.values
    readable = np.where(ds.resolved.values, ed, np.nan)
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
    assert n["ed_collapsed"] == "rand #3 (from step 9)"
    r6 = red.target_r6(n, "m", True)
    assert r6["holds"] is True and "10 random" not in r6["measured"]
    assert red.target_r6({**n, "ed_fraction_above": 0.4}, "m", True)["holds"] is False
    assert red.target_r6(n, "m", False)["holds"] is None


def test_roles_are_checked():
    ds = _result().drop_vars("role")
    with pytest.raises(ChaoslibError, match="role"):
        red.r6_numbers(ds, horizon=10)
    with pytest.raises(ChaoslibError, match="networks"):
        red.with_roles(ds, LABELS, n_input_draws=1, n_comparison=3)


def test_compared_runs_the_reference_on_every_draw_and_the_comparisons_on_the_first(tokenizer, one_thread):
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
    ds = red.compared(ch, networks, EffectiveDimensions(n_steps=3), input_draws=2)
    assert ch.drawn == [3, 4]
    label = reference.label()
    assert list(ds.network.values) == [label, f"{label}, inputs #1", networks[1].label(), networks[2].label()]
    assert list(ds.role.values) == [red.REFERENCE, red.OTHER_INPUTS, red.COMPARISON, red.COMPARISON]
    alone = compare_networks(networks[1:2], EffectiveDimensions(n_steps=3), ch.inputs(seed=3))
    np.testing.assert_array_equal(ds.effective_dimension.values[2], alone.effective_dimension.values[0])
    assert not np.allclose(ds.effective_dimension.values[0, 1:], ds.effective_dimension.values[1, 1:])
