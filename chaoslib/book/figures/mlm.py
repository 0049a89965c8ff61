"""Figures of the MLM-by-depth chapter.

They draw the summary of :func:`chaoslib.book.reports.mlm.mlm_summary`: ``accuracy`` (the authors'
per-block mean) with its bootstrap interval ``accuracy_low``/``accuracy_high`` over (encoder,
mode, depth), ``perplexity``, a ``role`` coordinate per encoder ("reference": the network under test,
"comparison": the random encoders), the majority-token baseline ``majority_accuracy`` (with its
interval) and attrs ``trained_depth`` (the depth the pretrained network was trained at). The reference
is drawn with its band over test blocks; the random encoders one thin line per seed, their mean thick and
their range over seeds as a band.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.bands import shade
from chaoslib.errors import ChaoslibError
from chaoslib.tasks.mlm_networks import MODE_DESCRIPTIONS
from chaoslib.tasks.mlm_results import roles

PRE_COLOR, RAND_COLOR, BASE_COLOR = "C0", "C1", "0.45"
PANEL_TITLES = {
    "trained": "own head, trained",
    "reinit": "head + tied embeddings re-drawn, trained",
    "reinit_untied": "head re-drawn (embeddings kept), trained",
    "untrained": "own head, untrained",
}


def encoders_of(ds: xr.Dataset, role: str) -> list[str]:
    """The labels of the encoders with ``role`` ("reference" or "comparison"), in the dataset's order."""
    return [str(e) for e, r in zip(ds.encoder.values, roles(ds), strict=True) if r == role]


def _modes(ds: xr.Dataset) -> list[str]:
    return [str(m) for m in ds.mode.values if not bool(ds.accuracy.sel(mode=m).isnull().all())]


def _depth_mark(ax, ds: xr.Dataset) -> None:
    depth = ds.attrs.get("trained_depth")
    if depth is not None and float(ds.depth.min()) <= depth <= float(ds.depth.max()):
        ax.axvline(depth, color="0.6", ls=":", lw=1, label=f"pretraining depth {depth}")


def accuracy_by_depth(ds: xr.Dataset) -> plt.Figure:
    """One panel per mode, two panels a row: masked-token accuracy against depth, the reference vs the random
    encoders, the baseline beside; one legend above the panels.

    Line order in each panel: the reference (if any), the random seeds' mean (if any), then each seed.
    """
    modes = _modes(ds)
    if not modes:
        raise ChaoslibError("the summary holds no accuracy; run mlm_by_depth and mlm_summary first.")
    ncols = min(2, len(modes))  # two panels a row: each wide enough to read at the page's width
    nrows = -(-len(modes) // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows + 0.4), sharex=True, sharey=True,
                             squeeze=False)
    for ax in grid.flat[len(modes):]:
        fig.delaxes(ax)  # an odd number of read-outs leaves one cell empty
    axes = grid.flat[: len(modes)]
    depth = ds.depth.values
    pre, rnd = encoders_of(ds, "reference"), encoders_of(ds, "comparison")
    for ax, mode in zip(axes, modes, strict=True):
        sel = ds.sel(mode=mode)
        for enc in pre:
            a = sel.sel(encoder=enc)
            ax.plot(depth, a.accuracy, color=PRE_COLOR, marker="o", ms=3, lw=1.6, label=enc)
            shade(ax, depth, a.accuracy_low, a.accuracy_high, PRE_COLOR, 0.2)
        runs = sel.accuracy.sel(encoder=rnd).dropna("encoder", how="all") if rnd else None
        if runs is not None and runs.sizes["encoder"]:
            n = runs.sizes["encoder"]
            ax.plot(
                depth,
                runs.mean("encoder"),
                color=RAND_COLOR,
                marker="s",
                ms=3,
                lw=1.6,
                label=f"random, mean of {n}",
            )
            shade(ax, depth, runs.min("encoder"), runs.max("encoder"), RAND_COLOR, 0.2)
            for enc in runs.encoder.values:
                ax.plot(depth, runs.sel(encoder=enc), color=RAND_COLOR, lw=0.6, alpha=0.6)
        base = float(ds.majority_accuracy)
        ax.axhline(base, color=BASE_COLOR, lw=1, ls="--", label="majority token")
        ax.axhspan(float(ds.majority_low), float(ds.majority_high), color=BASE_COLOR, alpha=0.15, lw=0)
        _depth_mark(ax, ds)
        ax.set_title(PANEL_TITLES[mode])
    for i, ax in enumerate(axes):
        if i % ncols == 0:
            ax.set_ylabel("masked-token accuracy")
        if i + ncols >= len(modes):  # the lowest panel of its column
            ax.set_xlabel("depth $d$ (layer applications)")
            ax.xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[0].get_legend_handles_labels()
    wide = sum(len(label) for label in labels) > 70  # long network names: two legend columns, not four
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(2 if wide else 4,
                                                                                       len(labels)))
    fig.tight_layout()
    return fig


def difference_by_depth(cmp: xr.Dataset) -> plt.Figure:
    """The reference's accuracy minus the random encoders' mean against depth, per mode, with its interval
    (resampling random encoders, then test blocks, paired by block: ``cmp.attrs["interval"]``); zero marked.
    ``cmp``: dims (mode, depth) from :func:`chaoslib.book.reports.mlm.comparisons`. Line i of the axes is mode
    i."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    depth = cmp.depth.values
    for i, mode in enumerate(cmp.mode.values):
        c = cmp.sel(mode=mode)
        ax.plot(
            depth,
            c.difference,
            color=f"C{i + 2}",
            marker="o",
            ms=3,
            lw=1.4,
            label=MODE_DESCRIPTIONS[str(mode)],
        )
        shade(ax, depth, c.low, c.high, f"C{i + 2}", 0.2)
    ax.axhline(0.0, color="k", lw=0.8)
    _depth_mark(ax, cmp)
    ax.set_xlabel("depth $d$ (layer applications)")
    ax.set_ylabel("accuracy: reference − random")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
    fig.tight_layout()
    return fig


def perplexity_by_depth(ds: xr.Dataset) -> plt.Figure:
    """Perplexity on the masked test tokens against depth (log scale), one line per (encoder, mode);
    the unigram baseline dashed. Lines in the order of ``ds.encoder`` x modes run."""
    fig, ax = plt.subplots(figsize=(7.2, 3.8))
    styles = dict(
        zip(("trained", "reinit", "reinit_untied", "untrained"), ("-", "--", "-.", ":"), strict=True)
    )
    for enc, role in zip(ds.encoder.values, roles(ds), strict=True):
        for mode in _modes(ds):
            ppl = ds.perplexity.sel(encoder=enc, mode=mode)
            if bool(ppl.isnull().all()):
                continue
            color = PRE_COLOR if role == "reference" else RAND_COLOR
            lw = 1.5 if role == "reference" else 0.8
            ax.semilogy(ds.depth.values, ppl, color=color, ls=styles[mode], lw=lw, label=f"{enc}, {mode}")
    ax.axhline(float(ds.unigram_perplexity), color=BASE_COLOR, ls="--", lw=1, label="unigram model")
    _depth_mark(ax, ds)
    ax.set_xlabel("depth $d$ (layer applications)")
    ax.set_ylabel("perplexity on masked tokens")
    # one legend entry per colour (encoder kind) and per line style (read-out), not per line
    from matplotlib.lines import Line2D

    ran = _modes(ds)
    handles = [Line2D([], [], color=PRE_COLOR, lw=1.5, label="network under test"),
               Line2D([], [], color=RAND_COLOR, lw=0.8, label="random encoders")]
    handles += [Line2D([], [], color="0.2", ls=styles[m], lw=1.2, label=PANEL_TITLES[m]) for m in ran]
    handles.append(Line2D([], [], color=BASE_COLOR, ls="--", lw=1, label="unigram model"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    fig.tight_layout()
    return fig


def bands_of(ax) -> list[np.ndarray]:
    """The vertices of the filled bands of an axes (for tests and checks)."""
    return [c.get_paths()[0].vertices for c in ax.collections]
