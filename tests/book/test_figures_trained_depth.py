"""The trained-depth chapter's figures are legible at the page's width (their values are checked in
tests/pretraining/test_trained_depth.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import numpy as np
import xarray as xr

from chaoslib.book.figures import trained_depth as figures
from chaoslib.pretraining.trained_depth import trend


def _values() -> xr.Dataset:
    """Final values of 3 seeds at each of 4 trained depths L: t_sync scales as L^0.8, the ED peak does not."""
    rng = np.random.default_rng(0)
    depths = np.repeat([2, 4, 8, 16], 3)
    seeds = np.tile([0, 1, 2], 4)
    return xr.Dataset(
        {"t_sync": ("network", 30 * depths**0.8 * np.exp(rng.normal(0, 0.05, depths.size))),
         "ed_peak": ("network", np.tile([50.0, 55.0, 45.0], 4))},  # the same three values at every L
        coords={"network": [f"L{d}-s{s}" for d, s in zip(depths, seeds, strict=True)],
                "depth": ("network", depths), "seed": ("network", seeds)},
    )


def _records() -> dict[str, xr.Dataset]:
    """Each final network's own-head masked-token accuracy at depths 1..4L."""
    out = {}
    for trained in (2, 4):
        depth = np.arange(1, 4 * trained + 1)
        accuracy = 0.15 * np.exp(-((np.log(depth) - np.log(trained)) ** 2))
        out[f"L{trained}"] = xr.Dataset({"mlm_accuracy_by_depth": ("mlm_depth", accuracy)},
                                        coords={"mlm_depth": depth},
                                        attrs={"run_config": {"num_hidden_layers": trained}})
    return out


def test_every_figure_is_legible_in_print():
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    values = _values()
    trends = {q: trend(values, q) for q in ("t_sync", "ed_peak")}
    assert trends["t_sync"].exponent is not None and trends["ed_peak"].exponent is None  # a law, and none
    panels = {"end of training": (values, trends), "matched held-out loss": (values, trends)}
    legible = {
        "against_depth": lambda: figures.against_depth(panels, ("t_sync", "ed_peak")),
        "mlm_by_depth": lambda: figures.mlm_by_depth(_records()),
    }
    built.assert_legible(legible, figures)
