"""The trained-depth chapter's figures: each diagnostic against L, one point per network, and the final
networks' masked-token accuracy against depth. They only draw: values, tests and laws come from
:mod:`chaoslib.pretraining.trained_depth`."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib import ticker
from matplotlib.lines import Line2D
import numpy as np
import xarray as xr

from chaoslib.pretraining.series import MLM_DEPTH_FACTOR

LOG_SCALE = {"t_sync", "chaos_length"}  # step counts: a power law is a line on log axes


def _log_steps(ax: plt.Axes) -> None:
    """A logarithmic y axis of step counts labelled in plain numbers (10, 20, 50, ...), not powers of ten."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


SEED_LINES = ("-", "--", ":", "-.")  # along a run, seed s is drawn with SEED_LINES[s % 4]


def _seed_colours(seeds) -> dict[int, tuple]:
    """One colour per seed, the same in every panel: viridis from dark (the smallest seed) to light."""
    seeds = sorted({int(s) for s in seeds})
    return {s: plt.cm.viridis(0.85 * i / max(len(seeds) - 1, 1)) for i, s in enumerate(seeds)}


LABELS = {
    "lambda0": r"$\lambda_0$ ($x(1)$ perturbed)",
    "chaos_length": "chaos length (median, steps)",
    "t_sync": r"$t_\mathrm{sync}$ (median, steps)",
    "ed_peak": "peak effective dimension",
    "top_exponent": "top exponent of the spectrum",
}


def against_depth(panels: dict[str, tuple[xr.Dataset, dict]], quantities: tuple[str, ...]) -> plt.Figure:
    """One row per quantity, one column per read-out (e.g. "end of training", "matched held-out loss").

    panels: title -> (per-network values with coords ``depth`` and ``seed``, {quantity: Trend}); a Trend with a
    fitted law adds the law as a line over L = 2..24 with the 95% band of its value at L = 24 marked at 24.
    """
    fig, axes = plt.subplots(len(quantities), len(panels), figsize=(min(7.6, 3.6 * len(panels) + 0.6),
                                                                    2.6 * len(quantities)),
                             squeeze=False, sharex=True)
    colours = _seed_colours([s for values, _ in panels.values() for s in values.seed.values])
    for column, (title, (values, trends)) in enumerate(panels.items()):
        for row, quantity in enumerate(quantities):
            ax = axes[row, column]
            seeds = values.seed.values
            for seed in sorted(set(seeds.tolist())):
                one = seeds == seed
                ax.scatter(values.depth.values[one], values[quantity].values[one], color=colours[seed], s=28,
                           zorder=3)
            law = trends.get(quantity)
            if law is not None and law.exponent is not None:
                grid = np.geomspace(2, 24, 50)
                scale = law.at_paper_depth / 24**law.exponent
                ax.plot(grid, scale * grid**law.exponent, color="C1", lw=1.2,
                        label=f"fit: L^{law.exponent:.2f}")
                ax.errorbar([24], [law.at_paper_depth], yerr=[[law.at_paper_depth - law.at_paper_depth_interval[0]],
                            [law.at_paper_depth_interval[1] - law.at_paper_depth]], fmt="s", color="C1", capsize=3,
                            label="extrapolated to $L$ = 24")
            ax.set_xscale("log", base=2)
            ax.set_xticks([2, 4, 8, 16, 24], labels=["2", "4", "8", "16", "24"])
            if quantity in LOG_SCALE and np.all(values[quantity].values > 0):
                _log_steps(ax)
            if row == 0:
                ax.set_title(title)
            if column == 0:
                ax.set_ylabel(LABELS.get(quantity, quantity))
            if row == len(quantities) - 1:
                ax.set_xlabel("$L$ (layer applications in pretraining)")
            if law is not None and law.exponent is not None:
                ax.legend(loc="best")  # the fitted law and its value at L = 24
    _key_above(fig, [Line2D([], [], ls="", marker="o", ms=5.5, color=colour, label=f"seed {seed}")
                     for seed, colour in colours.items()])
    return fig


def _key_above(fig: plt.Figure, handles: list) -> None:
    """One key for the whole figure, in a row above the panels: below them the book stamps the provenance, and
    inside them a key hides points."""
    fig.tight_layout()
    top = fig.subplotpars.top
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, handlelength=2.2,
               columnspacing=1.2)
    fig.tight_layout(rect=(0, 0, 1, top - 0.35 / fig.get_figheight()))


def along_training(values: xr.Dataset, quantities: tuple[str, ...] = ("t_sync", "lambda0")) -> plt.Figure:
    """Each network's values at every checkpoint of its run (x: pretraining step, 0 drawn at the left edge of a
    symmetric-log axis; colour: L; line style: seed), one panel per quantity, with the held-out loss last.

    values: per (network, checkpoint) values (:func:`chaoslib.pretraining.trained_depth.network_values`)."""
    panels = (*quantities, "mlm_loss")
    fig, axes = plt.subplots(1, len(panels), figsize=(7.6, 3.0), squeeze=False)
    depths = sorted({int(d) for d in values.depth.values})
    colours = {d: plt.cm.viridis(i / max(len(depths) - 1, 1)) for i, d in enumerate(depths)}
    line_style = {int(s): SEED_LINES[int(s) % len(SEED_LINES)] for s in values.seed.values}
    for ax, quantity in zip(axes[0], panels):
        for name in values.network.values:
            net = values.sel(network=name)
            ax.plot(net.checkpoint, net[quantity], line_style[int(net.seed)], color=colours[int(net.depth)],
                    lw=1.2, marker="o", ms=2.5)
        ax.set_xscale("symlog", linthresh=16)
        if quantity in LOG_SCALE and np.all(values[quantity].values > 0):
            _log_steps(ax)
        ax.set_xlabel("pretraining step")
        ax.set_ylabel({**LABELS, "mlm_loss": "held-out MLM loss (nats)"}.get(quantity, quantity))
    # colour for L, line style for the seed
    key = [Line2D([], [], color=colours[d], lw=1.2, marker="o", ms=2.5, label=f"$L$ = {d}") for d in depths]
    key += [Line2D([], [], color="0.35", ls=style, lw=1.2, label=f"seed {seed}")
            for seed, style in sorted(line_style.items())]
    _key_above(fig, key)
    return fig


def mlm_by_depth(records: dict[str, xr.Dataset]) -> plt.Figure:
    """Masked-token accuracy of each final network's own head at depths 1..4L (colour: L); a marker at L."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    depths_trained = sorted({int(r.attrs["run_config"]["num_hidden_layers"]) for r in records.values()})
    colours = {d: plt.cm.viridis(i / max(len(depths_trained) - 1, 1)) for i, d in enumerate(depths_trained)}
    labelled = set()
    for record in records.values():
        trained = int(record.attrs["run_config"]["num_hidden_layers"])
        accuracy = record.mlm_accuracy_by_depth
        ax.plot(accuracy.mlm_depth, accuracy, color=colours[trained], lw=1.2,
                label=f"$L$ = {trained}" if trained not in labelled else None)
        ax.plot([trained], [float(accuracy.sel(mlm_depth=trained))], "o", color=colours[trained])
        labelled.add(trained)
    ax.set_xscale("log", base=2)
    ticks = [2**k for k in range(0, int(np.log2(MLM_DEPTH_FACTOR * max(depths_trained))) + 1)]
    ax.set_xticks(ticks, labels=[str(t) for t in ticks])
    ax.set_xlabel("depth at which the network's own head reads (layer applications)")
    ax.set_ylabel("masked-token accuracy")
    ax.legend(title="trained with")
    fig.tight_layout()
    return fig
