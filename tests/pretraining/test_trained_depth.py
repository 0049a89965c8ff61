"""The trained-depth analysis on synthetic records with known answers: the fitted exponent of a planted power
law, no law where nothing scales, the matched-loss read-out."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.trained_depth import PAPER_DEPTH, at_matched_loss, scaling_law, trend


def synthetic(values_by_depth: dict[int, list[float]], losses: dict[int, list[list[float]]] | None = None) -> xr.Dataset:
    names, depths, seeds, rows = [], [], [], []
    for depth, values in values_by_depth.items():
        for seed, value in enumerate(values):
            names.append(f"L{depth}-s{seed}")
            depths.append(depth)
            seeds.append(seed)
            rows.append(value)
    n = len(rows)
    loss = np.array([losses[d][s] for d, s in zip(depths, seeds)]) if losses else np.tile([9.0, 7.0, 6.0], (n, 1))
    return xr.Dataset(
        {"t_sync": (("network", "checkpoint"), np.repeat(np.array(rows)[:, None], loss.shape[1], 1)),
         "sync_censored": (("network", "checkpoint"), np.zeros_like(loss)),
         "mlm_loss": (("network", "checkpoint"), loss)},
        coords={"network": names, "depth": ("network", depths), "seed": ("network", seeds),
                "checkpoint": np.arange(loss.shape[1])})


def test_a_planted_power_law_is_recovered_with_its_extrapolation():
    rng = np.random.default_rng(0)
    depths = {d: [30 * d**0.8 * np.exp(rng.normal(0, 0.05)) for _ in range(3)] for d in (2, 4, 8, 16)}
    result = trend(synthetic(depths).isel(checkpoint=-1), "t_sync", censored="sync_censored")
    assert result.test.p_value < 0.01 and result.why_no_law == ""
    assert result.exponent == pytest.approx(0.8, abs=0.1)
    assert result.exponent_interval[0] < 0.8 < result.exponent_interval[1]
    assert result.at_paper_depth_interval[0] < 30 * PAPER_DEPTH**0.8 < result.at_paper_depth_interval[1]


def test_no_law_is_fitted_where_nothing_scales():
    rng = np.random.default_rng(1)
    flat = {d: list(50 + rng.normal(0, 5, 2)) for d in (2, 4, 8, 16)}
    result = trend(synthetic(flat).isel(checkpoint=-1), "t_sync")
    assert result.exponent is None and result.why_no_law.startswith("no trend")


def test_two_networks_cannot_test_a_trend():
    result = trend(synthetic({2: [10.0], 4: [20.0]}).isel(checkpoint=-1), "t_sync")
    assert result.test.smallest_p == 1.0 and result.why_no_law.startswith("not testable")


def test_the_bootstrap_over_networks_keeps_every_depth():
    b, (low, high), _, _ = scaling_law(np.array([2, 2, 4, 4]), np.array([2.0, 2.0, 4.0, 4.0]))
    assert b == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)


def test_values_are_read_at_the_checkpoint_whose_loss_is_nearest_a_common_level():
    losses = {2: [[9.0, 7.5, 6.5]], 4: [[9.0, 6.4, 6.0]], 8: [[9.0, 6.9, 5.0]]}
    ds = synthetic({2: [1.0], 4: [2.0], 8: [3.0]}, losses)
    ds["t_sync"] = (("network", "checkpoint"), np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [1.0, 2.0, 3.0]]))
    matched, level = at_matched_loss(ds)
    assert level == 6.5  # the highest final loss
    # L = 2 ends at 6.5 itself; L = 4 is nearer at 6.4 than at 6.0; L = 8 is nearer at 6.9 than at 5.0
    assert matched.checkpoint.values.tolist() == [2, 1, 1] and matched.t_sync.values.tolist() == [30.0, 50.0, 2.0]
    assert at_matched_loss(ds, 7.0)[0].checkpoint.values.tolist() == [1, 1, 1]  # L = 2's tie takes the earlier
    with pytest.raises(ChaoslibError, match="level=12.000"):
        at_matched_loss(ds, 12.0)


def test_the_figure_draws_one_point_per_network_and_the_law_only_where_fitted():
    import matplotlib

    matplotlib.use("agg")
    from matplotlib.collections import PathCollection

    from chaoslib.book.figures.trained_depth import against_depth

    rng = np.random.default_rng(0)
    values = synthetic({d: [30 * d**0.8 * np.exp(rng.normal(0, 0.05)) for _ in range(3)] for d in (2, 4, 8, 16)})
    values = values.isel(checkpoint=-1)
    values["flat"] = ("network", np.tile([50.0, 55.0, 45.0], 4))  # the same three values at every L
    trends = {q: trend(values, q) for q in ("t_sync", "flat")}
    fig = against_depth({"end of training": (values, trends)}, ("t_sync", "flat"))
    law_axis, flat_axis = fig.axes
    def points(ax):  # one scatter per seed
        return sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))

    assert points(law_axis) == 12 and points(flat_axis) == 12
    assert any(line.get_label().startswith("fit: L^0.") for line in law_axis.get_lines())
    assert not any(line.get_label().startswith("fit") for line in flat_axis.get_lines())


# ------------------------------------------------------------------ the shipped series (real networks)

from chaoslib.pretraining import trained_depth as td  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    networks = td.select()
    if len({n["depth"] for n in networks}) < 2:
        pytest.fail("the series ships networks of at least two L (chaoslib/checkpoints/albert-wt2-L*)")
    return networks


def test_networks_are_selected_by_name_and_an_unknown_name_is_refused(shipped):
    assert [n["name"] for n in td.select([shipped[-1]["name"], shipped[0]["name"]])] == [
        shipped[0]["name"], shipped[-1]["name"]]  # by L, then seed
    with pytest.raises(ChaoslibError, match=r"networks=\['albert-wt2-L99-s0'\]"):
        td.select(["albert-wt2-L99-s0"])
    assert all(n.pretrained_here and n.weights == "pretrained" for n in td.series_networks(shipped))


def test_the_negative_control_is_a_network_of_another_l(shipped):
    checked, control = td.recheck_pair(shipped)
    depth = {n["name"]: n["depth"] for n in shipped}
    assert checked == shipped[0]["name"] and depth[control] == max(depth.values()) != depth[checked]
    same = next((n["name"] for n in shipped[1:] if n["depth"] == shipped[0]["depth"]), None)
    if same is not None:
        with pytest.raises(ChaoslibError, match="same L"):
            td.recheck_pair(shipped, checked, same)
    with pytest.raises(ChaoslibError, match="control_network='nope'"):
        td.recheck_pair(shipped, None, "nope")


def test_the_best_mlm_depth_is_read_from_each_record(shipped):
    records = td.load_records(shipped)
    best = td.best_mlm_depth(records).set_index("network")
    for name, record in records.items():
        accuracy = record.mlm_accuracy_by_depth.values
        assert best.loc[name, "best_depth"] == int(np.argmax(accuracy)) + 1  # depths 1..4L
        assert best.loc[name, "best_accuracy"] == accuracy.max()
        assert len(accuracy) == 4 * best.loc[name, "depth"]
    design = [{"depth": d, "seed": s} for d in (2, 4, 8, 16) for s in (0, 1)]
    assert td.missing_from_design(design) == [] and td.beyond_design(design) == []
    more = design[1:] + [{"depth": 16, "seed": 2}, {"depth": 2, "seed": 2}]
    assert td.missing_from_design(more) == [(2, 0)] and td.beyond_design(more) == [(2, 2), (16, 2)]


@pytest.fixture(scope="module")
def live(shipped):
    """The recheck's inputs: the checked network, its control, the records, and its "live" values. The live
    values here are the record's own final entry (the chapter recomputes them from the weights on every build,
    which takes a minute: chapter 9's live recheck); these tests check what the recheck concludes from them."""
    checked, control = td.recheck_pair(shipped)
    records = td.load_records(shipped)
    return checked, control, records, records[checked].isel(checkpoint=-1)


def test_the_live_recheck_matches_its_record_and_not_another_ls(live, monkeypatch):
    checked, control, records, values = live
    monkeypatch.setattr("chaoslib.pretraining.study.checkpoint_diagnostics", lambda *a, **k: values)
    final, negative = td.live_recheck(checked, control, records)
    assert final["within"].all()
    t_sync = final.set_index("quantity").loc["t_sync_median"]
    assert t_sync["record"] == float(np.median(records[checked].t_sync.isel(checkpoint=-1)))
    assert not negative["within"].all()
    assert not negative.set_index("quantity").loc["t_sync_median", "within"]  # the quantity that scales with L


def test_a_stale_record_or_an_indistinguishable_control_fails_the_build(live, monkeypatch):
    checked, control, records, values = live
    monkeypatch.setattr("chaoslib.pretraining.study.checkpoint_diagnostics", lambda *a, **k: values)
    stale = records[checked].copy(deep=True)
    stale["t_sync"][-1] = stale["t_sync"][-1] + 5
    with pytest.raises(ChaoslibError, match="stale"):
        td.live_recheck(checked, control, {**records, checked: stale})
    with pytest.raises(ChaoslibError, match="cannot tell"):
        td.live_recheck(checked, control, {**records, control: records[checked]})
