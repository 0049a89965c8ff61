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
    key = fig.legends[0]
    assert [t.get_text() for t in key.get_texts()] == ["$L$ = 2", "$L$ = 4", "$L$ = 8", "seed 0", "seed 1"]
    assert [line.get_linestyle() for line in key.get_lines()[3:]] == ["-", "--"]
    assert t_sync_axis.get_yscale() == "log" and lambda_axis.get_yscale() == "linear"
    assert lines[1].get_linestyle() == "--" and lines[0].get_linestyle() == "-"  # seed 1 dashed


def test_against_depth_keys_each_seed_in_one_colour_across_panels():
    """Three seeds: one scatter per seed in every panel, the same colour for a seed everywhere, one key above the
    panels naming every seed in its colour, and each seed's points exactly its networks' values; the along-training key
    names the seeds present with their line styles."""
    values = _values()
    trends = {q: trend(values, q) for q in ("t_sync", "ed_peak")}
    fig = figures.against_depth({"end": (values, trends), "matched": (values, trends)}, ("t_sync", "ed_peak"))
    colours = []
    for ax, quantity in zip(fig.axes, ("t_sync", "t_sync", "ed_peak", "ed_peak"), strict=True):
        scatters = ax.collections[:3]
        colours.append([tuple(np.round(sc.get_facecolor()[0], 6)) for sc in scatters])
        for seed, sc in enumerate(scatters):
            np.testing.assert_allclose(sc.get_offsets()[:, 1], values[quantity].values[values.seed.values == seed])
    assert all(c == colours[0] for c in colours) and len(set(colours[0])) == 3
    key = fig.legends[0]
    assert [t.get_text() for t in key.get_texts()] == ["seed 0", "seed 1", "seed 2"]
    assert [tuple(np.round(line.get_color(), 6)) for line in key.get_lines()] == colours[0]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0].startswith("fit: L^")  # no seeds
    along = _along().assign_coords(seed=("network", np.tile([0, 2], 3)))
    key = figures.along_training(along).legends[0]
    assert [t.get_text() for t in key.get_texts()][-2:] == ["seed 0", "seed 2"]
    assert [line.get_linestyle() for line in key.get_lines()][-2:] == ["-", ":"]


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
