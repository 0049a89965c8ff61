"""Chapter 08 figures: the pretraining run and the dynamics of its checkpoints, against pretraining step.

Every function takes the diagnostics record (``chaoslib.pretraining.diagnostics``: dims ``checkpoint``,
``sample``, ``ed_step``, ``depth``, ...) and, for the loss curve, the run's per-step log; step 0 (the
initialisation) sits on a symmetric-log axis, linear up to the first saved step. The record's exponents are
labelled with its protocol (the authors': x(0) perturbed); the two ends measured again with x(1) perturbed
(:func:`chaoslib.pretraining.study.corrected_ends`) are drawn beside them where given.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from chaoslib.pretraining.study import protocol_label, record_settings

CORRECTED_COLOUR = "C3"


def _maths(label: str) -> str:
    """A protocol's label with its states as maths: ``perturb $x(1)$``."""
    return label.replace("x(0)", "$x(0)$").replace("x(1)", "$x(1)$")


def _step_axis(ax, record: xr.Dataset) -> None:
    steps = record.checkpoint.values
    first = steps[steps > 0].min() if (steps > 0).any() else 1
    ax.set_xscale("symlog", linthresh=float(first))
    ax.set_xlim(left=0)
    ax.set_xlabel("pretraining step")


def training_curves(log: pd.DataFrame, record: xr.Dataset, unigram_entropy: float,
                    phase_starts: list[int] = ()) -> plt.Figure:
    """Left: masked-LM loss (training, per step; held-out all-[MASK] at the checkpoints) with the unigram
    entropy. Right: held-out masked-token and SOP accuracy at the checkpoints with their baselines.
    phase_starts: steps where a later phase began with a fresh optimizer (dotted lines)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.4))
    for ax in (left, right):
        for i, start in enumerate(phase_starts):
            label = "new phase, fresh optimizer" if i == 0 else None
            ax.axvline(start, ls=":", color="0.3", lw=1, label=label)
    left.plot(log["step"], log["mlm_loss"], lw=0.5, alpha=0.5, color="0.5", label="training batch (80/10/10)")
    left.plot(record.checkpoint, record.mlm_loss, "o-", color="C0", label="held out, all [MASK]")
    left.axhline(unigram_entropy, ls="--", color="C3", lw=1, label="unigram entropy (train)")
    left.set_ylabel("masked-LM loss (nats)")
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22))
    right.plot(record.checkpoint, record.mlm_accuracy, "o-", color="C0", label="masked-token accuracy")
    right.plot(
        record.checkpoint, record.most_frequent_accuracy, "--", color="C0", lw=1, label="most frequent token"
    )
    right.plot(record.checkpoint, record.sop_accuracy, "s-", color="C1", label="SOP accuracy")
    right.axhline(0.5, ls="--", color="C1", lw=1, label="SOP chance")
    right.set_ylabel("held-out accuracy")
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22))
    for ax in (left, right):
        _step_axis(ax, record)
    fig.tight_layout()
    return fig


def _median_band(
    ax, record: xr.Dataset, values: xr.DataArray, label: str, color: str, marker: str = "o"
) -> None:
    """Median over inputs with the interquartile range as a band."""
    q = values.quantile([0.25, 0.5, 0.75], dim="sample")
    ax.fill_between(record.checkpoint, q.sel(quantile=0.25), q.sel(quantile=0.75), color=color, alpha=0.25)
    ax.plot(record.checkpoint, q.sel(quantile=0.5), marker + "-", color=color, label=label)


def _median_bars(ax, values: xr.DataArray, label: str, color: str) -> None:
    """Median over inputs with the interquartile range as bars, at the steps of ``values``
    (checkpoint, sample)."""
    q = values.quantile([0.25, 0.5, 0.75], dim="sample")
    mid = q.sel(quantile=0.5).values
    ax.errorbar(values.checkpoint.values, mid, yerr=[mid - q.sel(quantile=0.25).values,
                                                      q.sel(quantile=0.75).values - mid],
                fmt="D", ms=6, color=color, capsize=4, label=label, zorder=3)


def dynamics_along_training(record: xr.Dataset, corrected: xr.Dataset | None = None) -> plt.Figure:
    """Four panels against pretraining step: the first window's local exponent, the chaos length and the
    sync offset t_sync (median over inputs, band = interquartile range), the peak effective dimension and
    the Kaplan-Yorke dimension of the top-k spectrum (mean over its inputs, bars = range).

    The record's exponent and chaos length carry its protocol in their labels; ``corrected`` (dims
    (checkpoint, sample): ``lambda0``, ``chaos_length``; attr ``protocol``) adds the ends measured with x(1)
    perturbed as diamonds (median, bars = interquartile range)."""
    fig, axes = plt.subplots(2, 2, figsize=(7.6, 6.6), sharex=True)
    (a, b), (c, d) = axes
    protocol = _maths(protocol_label(record_settings(record).perturb_at))
    _median_band(a, record, record.lambda0, rf"$\lambda_0$, {protocol}", "C0")
    a.axhline(0, color="0.4", lw=0.8)
    a.set_ylabel(r"local exponent $\lambda_0$ per step")
    _median_band(b, record, record.chaos_length, f"chaos length, {protocol}", "C2")
    _median_band(b, record, record.t_sync, r"$t_{\rm sync}$", "C4", marker="s")
    if corrected is not None:
        label = _maths(corrected.attrs.get("protocol", "perturb x(1)"))
        _median_bars(a, corrected.lambda0, rf"$\lambda_0$, {label}", CORRECTED_COLOUR)
        _median_bars(b, corrected.chaos_length, f"chaos length, {label}", CORRECTED_COLOUR)
    b.set_ylabel("steps")
    c.plot(record.checkpoint, record.ed_peak, "o-", color="C1")
    c.set_ylabel("peak effective dimension")
    ky = record.kaplan_yorke.values  # (checkpoint, spectrum_input)
    mean = ky.mean(axis=1)
    d.errorbar(
        record.checkpoint.values,
        mean,
        yerr=[mean - ky.min(axis=1), ky.max(axis=1) - mean],
        fmt="o-",
        color="C5",
        capsize=3,
    )
    d.set_ylabel("Kaplan-Yorke dimension")
    for ax in axes.flat:
        _step_axis(ax, record)
    for ax in axes[0]:
        ax.set_xlabel("")  # the bottom row names the shared axis
    fig.tight_layout()
    # one legend above the panels for the top row's curves: none of them hides a curve
    (ha, la), (hb, lb) = a.get_legend_handles_labels(), b.get_legend_handles_labels()
    handles, labels = ha + hb, la + lb
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    return fig


def _step_colours(record: xr.Dataset) -> np.ndarray:
    """One colour per checkpoint, in order (viridis: dark early, light late)."""
    return plt.cm.viridis(np.linspace(0, 1, record.sizes["checkpoint"]))


def _step_colourbar(fig, ax, record: xr.Dataset) -> None:
    """A colour bar that names the pretraining step of each checkpoint's colour (instead of a legend entry per
    checkpoint)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    n = record.sizes["checkpoint"]
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=ListedColormap(_step_colours(record))), ax=ax,
                       ticks=np.arange(n), pad=0.02)
    bar.ax.set_yticklabels([f"{int(s):,}" for s in record.checkpoint.values])
    bar.set_label("pretraining step")


def effective_dimension_curves(record: xr.Dataset) -> plt.Figure:
    """ED(t) over the map's steps t, one curve per checkpoint, coloured by pretraining step."""
    fig, ax = plt.subplots(figsize=(7.2, 4))
    for colour, step in zip(_step_colours(record), record.checkpoint.values, strict=True):
        ax.plot(
            record.ed_step,
            record.effective_dimension.sel(checkpoint=step),
            color=colour,
            lw=1.2,
            label=f"step {int(step)}",
        )
    ax.set_xlabel("step $t$ of the map")
    ax.set_ylabel("effective dimension")
    _step_colourbar(fig, ax, record)
    return fig


def stsb_along_training(record: xr.Dataset) -> plt.Figure:
    """Left: frozen-feature STS-B dev score against encoder depth, one curve per checkpoint. Right: the best
    depth's score against pretraining step."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.6), layout="constrained")
    for colour, step in zip(_step_colours(record), record.checkpoint.values, strict=True):
        left.plot(
            record.depth,
            record.stsb_score.sel(checkpoint=step),
            "o-",
            ms=3,
            color=colour,
            label=f"step {int(step)}",
        )
    left.set_xscale("log")
    left.set_xlabel("encoder depth (applications of the layer)")
    left.set_ylabel("STS-B dev score")
    _step_colourbar(fig, left, record)
    right.plot(record.checkpoint, record.stsb_score.max("depth"), "o-", color="C3")
    right.set_ylabel("best STS-B dev score over depths")
    _step_axis(right, record)
    return fig
