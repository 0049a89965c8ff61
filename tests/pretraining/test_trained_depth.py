"""The trained-depth analysis on synthetic records with known answers: the fitted exponent of a planted power
law, no law where nothing scales, the matched-loss read-out."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

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


def test_values_are_read_at_the_first_checkpoint_below_a_common_loss():
    losses = {2: [[9.0, 7.5, 6.5]], 4: [[9.0, 6.4, 6.0]]}
    ds = synthetic({2: [1.0], 4: [2.0]}, losses)
    ds["t_sync"] = (("network", "checkpoint"), np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]]))
    matched, level = at_matched_loss(ds)
    assert level == 6.5
    assert matched.t_sync.values.tolist() == [30.0, 50.0] and matched.checkpoint.values.tolist() == [2, 1]


def test_the_figure_draws_one_point_per_network_and_the_law_only_where_fitted():
    import matplotlib

    matplotlib.use("agg")
    from chaoslib.book.figures.trained_depth import against_depth

    rng = np.random.default_rng(0)
    values = synthetic({d: [30 * d**0.8 * np.exp(rng.normal(0, 0.05)) for _ in range(3)] for d in (2, 4, 8, 16)})
    values = values.isel(checkpoint=-1)
    values["flat"] = ("network", np.tile([50.0, 55.0, 45.0], 4))  # the same three values at every L
    trends = {q: trend(values, q) for q in ("t_sync", "flat")}
    fig = against_depth({"end of training": (values, trends)}, ("t_sync", "flat"))
    law_axis, flat_axis = fig.axes
    assert len(law_axis.collections[0].get_offsets()) == 12 and len(flat_axis.collections[0].get_offsets()) == 12
    assert any(line.get_label().startswith("fit: L^0.") for line in law_axis.get_lines())
    assert not any(line.get_label().startswith("fit") for line in flat_axis.get_lines())
