"""Small chapter results built by hand, shared by the figure and report tests of a chapter (each saved and
reloaded, as the book reads them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

import chaoslib.book.reports.trajectories as rt
from chaoslib.store import load_dataset, save_dataset

# chapter 07 --------------------------------------------------------------------------------
REF, RAND = "albert-wikitext2 pretrained here", "albert-wikitext2 random tf #0"
NETWORKS = [REF, RAND, "albert-wikitext2 random tf #1"]


def readout_result(folder: Path) -> xr.Dataset:
    """Chapter 07's result for 3 networks on a 3 x 22 window grid, built by hand, saved and reloaded."""
    rng = np.random.default_rng(0)
    starts, lengths, pairs, shown, points = np.arange(3), np.arange(1, 23), 6, 2, 5
    grid = rng.uniform(0.1, 2.0, size=(3, 3, 22))
    grid[:, :, 0] = np.nan  # velocity: length 1 has no score
    grid[:, 2, -1] = np.nan  # a window past the recorded steps
    errors = rng.uniform(0.2, 1.5, size=(3, pairs))
    best = errors.mean(1)
    drawn = rng.uniform(size=(3, shown, points, 2))
    drawn[1, :, -1] = np.nan  # a shorter best window: padded
    ds = xr.Dataset(
        {
            "pair_nmse": (("network", "start", "length"), grid),
            "pooled_nmse": (("network", "start", "length"), grid / 2),
            "train_pooled_nmse": (("network", "start", "length"), grid / 3),
            "blind_pair_nmse": ("length", rng.uniform(0.5, 1.0, 22)),
            "blind_pooled_nmse": ("length", rng.uniform(0.5, 1.0, 22)),
            "best_start": ("network", [1, 0, 2]),
            "best_length": ("network", [21, 20, 20]),
            "best_pair_nmse": ("network", best),
            "best_pooled_nmse": ("network", best / 2),
            "best_low": ("network", best - 0.1),
            "best_high": ("network", best + 0.2),
            "diff_low": ("network", [np.nan, 0.05, -0.1]),
            "diff_high": ("network", [np.nan, 0.3, 0.2]),
            "pair_errors": (("network", "pair"), errors),
            "dev_score": ("pair", rng.uniform(0, 5, pairs)),
            "shown_pair": ("shown", [4, 1]),
            "shown_group": ("shown", ["low", "high"]),
            "drawn": (("network", "shown", "point", "xy"), drawn),
            "target_drawn": (("network", "shown", "point", "xy"), rng.uniform(size=(3, shown, points, 2))),
            "run_seconds": ("network", [1.0, 2.0, 3.0]),
            "fit_seconds": ("network", [0.5, 0.5, 0.5]),
        },
        coords={
            "network": NETWORKS,
            "start": starts,
            "length": lengths,
            "pair": np.arange(pairs),
            "xy": ["x", "y"],
        },
        attrs={"min_length": 20, "reference": REF, "confidence": 0.95, "n_train": 10, "n_dev": pairs,
               "n_tokens": 16, "targets": "velocity"},
    )
    save_dataset(ds, folder / "readout.nc")
    return load_dataset(folder / "readout.nc")


# chapter 06 --------------------------------------------------------------------------------
MODES = ["trained", "reinit", "untrained"]


def mlm_counts(folder: Path) -> xr.Dataset:
    """Correct counts of a pretrained and three random encoders, 3 modes x 3 depths x 12 blocks, saved and
    reloaded."""
    rng = np.random.default_rng(0)
    n_blocks, depths = 12, [1, 2, 4]
    n = rng.integers(15, 22, n_blocks)
    p = np.array([0.4, 0.1, 0.12, 0.08])[:, None, None, None]  # pretrained, three random seeds
    correct = rng.binomial(n, np.broadcast_to(p, (4, 3, 3, n_blocks))).astype(float)
    correct[1:, 1] = np.nan  # random encoders without the re-initialised mode: not drawn there
    ds = xr.Dataset(
        {
            "correct": (("encoder", "mode", "depth", "block"), correct),
            "loss_sum": (("encoder", "mode", "depth", "block"), correct * 0 + n * 3.0),
            "n_masked": (("block",), n),
        },
        coords={
            "encoder": ["net pretrained here", "net random mlm #0", "net random mlm #1", "net random mlm #2"],
            "mode": MODES,
            "depth": depths,
            "block": np.arange(n_blocks),
            "weights": ("encoder", ["pretrained", "random", "random", "random"]),
        },
    )
    path = save_dataset(ds, folder / "counts.nc")
    return load_dataset(path)


def mlm_baseline(counts: xr.Dataset) -> xr.Dataset:
    """The majority-token baseline of the same blocks."""
    n = counts.n_masked.values
    return xr.Dataset(
        {"correct": ("block", np.minimum(n, 2.0)), "loss_sum": ("block", n * 6.0), "n_masked": ("block", n)},
        coords={"block": counts.block.values},
        attrs={"token": 13},
    )


# chapter 01 --------------------------------------------------------------------------------
LABELS = ["albert-wikitext2 pretrained", "albert-wikitext2 random tf #1", "albert-wikitext2 random tf #2"]


def trajectory_run(rng, n_samples: int, decay: float) -> xr.Dataset:
    """A hand-made run_trajectory result: sigma(t) = exp(-decay * t) per sample, random units."""
    steps = np.arange(11)
    spread = np.exp(-decay * steps)[None] * (1 + np.arange(n_samples))[:, None]
    return xr.Dataset(
        {
            "units": (
                ("sample", "step", "units_token", "units_unit"),
                rng.normal(size=(n_samples, 11, 2, 3)),
            ),
            "token_spread": (("sample", "step"), spread),
        },
        coords={"step": steps, "units_token": [0, 1], "units_unit": [0, 1, 2]},
        attrs={"steps_per_second": 123.0},
    )


def trajectories_long_run(folder: Path) -> xr.Dataset:
    """Three networks' hand-made runs labelled by network, saved and reloaded."""
    rng = np.random.default_rng(0)
    decays = (0.1, 2.0, 3.0)
    runs = {label: trajectory_run(rng, 3, decay) for label, decay in zip(LABELS, decays, strict=True)}
    result = rt.by_network(runs, LABELS).assign_attrs(n_tokens=16)
    save_dataset(result, folder / "long_run.nc")  # figures and numbers read the saved file
    return load_dataset(folder / "long_run.nc")


# legibility ---------------------------------------------------------------------------------
CAPTION = (
    "albert-wikitext2 pretrained weights (pretrained here: albert-wikitext2); "
    "albert-wikitext2 RANDOM weights (tf init, seeds 1,2,3,4,5,6,7,8,9,10) · data seed 0 · profile offline · "
    "device cpu (x86_64, 2 cores) · torch 2.9.1, transformers 4.57.3 · commit 621fb84abcde+dirty"
)
"""A provenance line as long as the book's, stamped under every figure the legibility checks measure."""


def figure_functions(module) -> set[str]:
    """The public functions of a figure module that return a figure (annotated ``-> plt.Figure``)."""
    import inspect

    return {
        name for name, f in inspect.getmembers(module, inspect.isfunction)
        if f.__module__ == module.__name__ and not name.startswith("_")
        and "Figure" in str(inspect.signature(f).return_annotation)
    }


def assert_legible(makers: dict, module) -> None:
    """Every figure function of ``module`` is in ``makers`` (name -> a call drawing it), and each figure's smallest
    text is at least 7 pt as printed (:func:`smallest_printed_pt`)."""
    assert set(makers) == figure_functions(module)
    sizes = {name: smallest_printed_pt(make) for name, make in makers.items()}
    assert all(size >= 7 for size in sizes.values()), sizes


def smallest_printed_pt(make) -> float:
    """The smallest text (points, as printed at the PDF's text width) of the figure ``make()`` draws in the
    book's style, stamped with :data:`CAPTION` as every chapter figure is."""
    import matplotlib.pyplot as plt

    from chaoslib.book import plotting

    with plt.rc_context():
        plotting.setup_style()
        fig = make()
        plotting.stamp(fig, CAPTION)
        size = plotting.smallest_text_pt(fig)
        plt.close(fig)
    return size
