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


def _along() -> xr.Dataset:
    """Per (network, checkpoint) values of 2 seeds at 3 trained depths over 4 log-spaced checkpoints."""
    depths, seeds = np.repeat([2, 4, 8], 2), np.tile([0, 1], 3)
    steps = np.array([0, 16, 256, 4096])
    grow = np.log1p(steps)[None, :]
    return xr.Dataset(
        {"t_sync": (("network", "checkpoint"), 600 / (1 + grow) + depths[:, None] * grow),
         "lambda0": (("network", "checkpoint"), -0.1 * grow / depths[:, None]),
         "mlm_loss": (("network", "checkpoint"), 9 - 0.4 * grow + 0.01 * depths[:, None])},
        coords={"network": [f"L{d}-s{s}" for d, s in zip(depths, seeds, strict=True)], "checkpoint": steps,
                "depth": ("network", depths), "seed": ("network", seeds)},
    )


def test_along_training_draws_every_network_at_every_checkpoint():
    values = _along()
    fig = figures.along_training(values)
    t_sync_axis, lambda_axis, loss_axis = fig.axes
    lines = t_sync_axis.get_lines()
    assert len(lines) == 6 and all(len(line.get_xdata()) == 4 for line in lines)
    np.testing.assert_allclose(loss_axis.get_lines()[5].get_ydata(), values.mlm_loss.isel(network=5))
    assert [t.get_text() for t in loss_axis.get_legend().get_texts()] == ["$L$ = 2", "$L$ = 4", "$L$ = 8"]
    assert t_sync_axis.get_yscale() == "log" and lambda_axis.get_yscale() == "linear"
    assert lines[1].get_linestyle() == "--" and lines[0].get_linestyle() == "-"  # seed 1 dashed


def test_every_figure_is_legible_in_print():
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    values = _values()
    trends = {q: trend(values, q) for q in ("t_sync", "ed_peak")}
    assert trends["t_sync"].exponent is not None and trends["ed_peak"].exponent is None  # a law, and none
    panels = {"end of training": (values, trends), "matched held-out loss": (values, trends)}
    legible = {
        "against_depth": lambda: figures.against_depth(panels, ("t_sync", "ed_peak")),
        "mlm_by_depth": lambda: figures.mlm_by_depth(_records()),
        "along_training": lambda: figures.along_training(_along()),
    }
    built.assert_legible(legible, figures)
