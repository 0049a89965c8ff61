"""Chapter 08 figures draw exactly the record's values."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from chaoslib.book.figures import pretraining as figures
from chaoslib.pretraining.diagnostics import DiagnosticSettings, diagnostics_dataset, ed_summary
from chaoslib.store import load_dataset, save_dataset


@pytest.fixture
def record(tmp_path) -> xr.Dataset:
    rng = np.random.default_rng(0)
    settings = DiagnosticSettings(n_inputs=5, n_steps=40, tau=10, ed_steps=6, spectrum_inputs=2, spectrum_k=3,
                                  stsb_depths=(1, 2, 4))
    steps = [0, 16, 32]
    results = []
    for _ in steps:
        ed = rng.uniform(1, 9, size=7)
        peak, peak_step, half = ed_summary(ed)
        results.append({
            "lambda0": rng.normal(size=5), "exponents": rng.normal(size=(5, 4)),
            "chaos_length": rng.integers(0, 40, size=5), "chaos_censored": np.zeros(5, bool),
            "t_sync": rng.integers(0, 40, size=5), "sync_censored": np.zeros(5, bool),
            "effective_dimension": ed, "ed_peak": peak, "ed_peak_step": peak_step, "ed_half_step": half,
            "spectrum": rng.normal(size=(2, 3)), "kaplan_yorke": rng.uniform(0, 3, size=2),
            "mlm_accuracy": rng.uniform(), "mlm_loss": rng.uniform(5, 8), "sop_accuracy": rng.uniform(),
            "most_frequent_accuracy": 0.06, "stsb_scores": rng.uniform(size=3),
        })
    ds = diagnostics_dataset(steps, results, settings)
    save_dataset(ds, tmp_path / "record.nc")  # the figures are drawn from the file, as the book does
    return load_dataset(tmp_path / "record.nc")


def test_ed_summary_finds_the_peak_and_the_half_point():
    assert ed_summary(np.array([1.0, 4.0, 8.0, 6.0, 3.9, 2.0])) == (8.0, 2, 4)
    assert ed_summary(np.array([1.0, 2.0, 3.0])) == (3.0, 2, -1)


def test_training_curves_plot_the_log_and_the_checkpoints(record):
    log = pd.DataFrame({"step": np.arange(1, 33), "mlm_loss": np.linspace(10, 6, 32)})
    fig = figures.training_curves(log, record, unigram_entropy=7.1)
    left, right = fig.axes
    np.testing.assert_array_equal(left.lines[0].get_ydata(), log["mlm_loss"])
    np.testing.assert_array_equal(left.lines[1].get_ydata(), record.mlm_loss.values)
    np.testing.assert_array_equal(right.lines[0].get_ydata(), record.mlm_accuracy.values)
    np.testing.assert_array_equal(right.lines[2].get_ydata(), record.sop_accuracy.values)


def test_dynamics_panels_plot_medians_over_inputs_and_the_ed_peak(record):
    fig = figures.dynamics_along_training(record)
    a, b, c, d = fig.axes
    np.testing.assert_allclose(a.lines[0].get_ydata(), np.median(record.lambda0.values, axis=1))
    np.testing.assert_allclose(b.lines[0].get_ydata(), np.median(record.chaos_length.values, axis=1))
    np.testing.assert_allclose(b.lines[1].get_ydata(), np.median(record.t_sync.values, axis=1))
    np.testing.assert_array_equal(c.lines[0].get_ydata(), record.ed_peak.values)
    np.testing.assert_allclose(d.lines[0].get_ydata(), record.kaplan_yorke.values.mean(axis=1))


def test_ed_curves_and_stsb_plot_each_checkpoint(record):
    fig = figures.effective_dimension_curves(record)
    for line, row in zip(fig.axes[0].lines, record.effective_dimension.values, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), row)
    fig = figures.stsb_along_training(record)
    left, right, colourbar = fig.axes  # the colour bar names each checkpoint's step
    assert [t.get_text() for t in colourbar.get_yticklabels()] == ["0", "16", "32"]
    for line, row in zip(left.lines, record.stsb_score.values, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), row)
    np.testing.assert_array_equal(right.lines[0].get_ydata(), record.stsb_score.values.max(axis=1))


def test_dynamics_label_the_records_protocol_and_draw_the_corrected_ends(record):
    ends = xr.Dataset(
        {"lambda0": (("checkpoint", "sample"), [[-0.01, -0.02, -0.03, 0.0, 0.01], [0.1, 0.2, 0.3, 0.4, 0.5]]),
         "chaos_length": (("checkpoint", "sample"), [[0, 0, 10, 10, 10], [20, 20, 30, 40, 40]])},
        coords={"checkpoint": [0, 32]}, attrs={"protocol": "perturb x(1)"},
    )
    fig = figures.dynamics_along_training(record, ends)
    a, b, _, _ = fig.axes
    # a record without perturb_at (this one has no settings at all) perturbed x(0)
    assert a.lines[0].get_label() == r"$\lambda_0$, authors' protocol (perturb $x(0)$)"
    np.testing.assert_allclose(a.lines[0].get_ydata(), np.median(record.lambda0.values, axis=1))
    (diamonds,) = [c for c in a.containers if c.get_label() == r"$\lambda_0$, perturb $x(1)$"]  # errorbars
    np.testing.assert_array_equal(diamonds.lines[0].get_xdata(), [0, 32])
    np.testing.assert_allclose(diamonds.lines[0].get_ydata(), [-0.01, 0.3])  # medians over inputs
    (lengths,) = [c for c in b.containers if c.get_label() == "chaos length, perturb $x(1)$"]
    np.testing.assert_allclose(lengths.lines[0].get_ydata(), [10, 30])
    np.testing.assert_allclose(b.lines[1].get_ydata(), np.median(record.t_sync.values, axis=1))  # t_sync


def test_every_figure_is_legible_in_print(record):
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    log = pd.DataFrame({"step": np.arange(1, 33), "mlm_loss": np.linspace(10, 6, 32)})
    legible = {
        "training_curves": lambda: figures.training_curves(log, record, 7.1, phase_starts=[16]),
        "dynamics_along_training": lambda: figures.dynamics_along_training(record),
        "effective_dimension_curves": lambda: figures.effective_dimension_curves(record),
        "stsb_along_training": lambda: figures.stsb_along_training(record),
    }
    built.assert_legible(legible, figures)
