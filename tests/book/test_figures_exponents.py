"""Figures of the exponents chapter draw the result's values (read back from the axes)."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import built_results as built  # noqa: E402
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr

import chaoslib.book.figures.exponents as fx
import chaoslib.book.reports.exponents as report
from chaoslib.book.reports.verdicts import verdict
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_band, bootstrap_interval

TAU, T = 10, 40


def _series() -> xr.Dataset:
    """Like ``compare_networks`` with ``Exponents``: 1 reference and 3 random networks, 6 inputs, 4
    windows."""
    rng = np.random.default_rng(0)
    exponent = rng.normal(0.0, 0.05, (4, 6, 4))
    exponent[0] += 0.05  # the reference expands for longer
    exponent[0, 2, 1] = -np.inf  # merged copies: left out of the means
    lengths = rng.choice([0.0, 10.0, 20.0, 40.0], size=(4, 6))
    ds = xr.Dataset(
        {
            "exponent": (("network", "sample", "window"), exponent),
            "chaos_length": (("network", "sample"), lengths),
            "chaos_censored": (("network", "sample"), lengths >= T),
        },
        coords={
            "network": ["a", "b", "c", "d"],
            "window": np.arange(4),
            "window_end": ("window", (np.arange(4) + 1) * TAU),
        },
        attrs={"eps": 0.01, "tau": TAU, "n_steps": T, "seed": 0},
    )
    return report.with_roles(
        ds, ["net pretrained here", "net random tf #1", "net random tf #2", "net random tf #3"]
    )


def _line(ax, label):
    return next(line for line in ax.lines if line.get_label() == label)


def test_local_exponents_plots_means_and_bands():
    ds = _series()
    fig = fx.local_exponents(ds)
    ax = fig.axes[0]
    ref = ds.exponent.values[0]
    finite = np.where(np.isfinite(ref), ref, np.nan)
    np.testing.assert_allclose(
        _line(ax, "net pretrained here: mean over inputs").get_ydata(), np.nanmean(finite, 0)
    )
    assert np.isfinite(_line(ax, "net pretrained here: mean over inputs").get_ydata()).all()  # -inf left out
    per_seed = ds.exponent.values[1:].mean(1)
    np.testing.assert_allclose(_line(ax, "random: mean over seeds").get_ydata(), per_seed.mean(0))
    thin = [line.get_ydata() for line in ax.lines if line.get_lw() == 0.6]
    np.testing.assert_allclose(np.array(thin), per_seed)
    # the reference band is the bootstrap interval of the mean, window by window
    low, high = bootstrap_band(ref, np.mean)
    band = ax.collections[0].get_paths()[0].vertices
    ys = band[:, 1]
    np.testing.assert_allclose(
        np.sort(ys[np.isin(band[:, 0], ds.window_end.values)])[[0, -1]], [low.min(), high.max()]
    )
    # the seeds' band spans their range
    seeds_band = ax.collections[1].get_paths()[0].vertices[:, 1]
    assert seeds_band.min() == pytest.approx(per_seed.min()) and seeds_band.max() == pytest.approx(
        per_seed.max()
    )
    plt.close(fig)


def test_chaos_lengths_plots_every_length_and_median_intervals():
    ds = _series()
    fig = fx.chaos_lengths(ds)
    ax = fig.axes[0]
    columns = [ds.chaos_length.values[i] for i in range(4)] + [ds.chaos_length.values[1:].ravel()]
    scatters = [c for c in ax.collections if c.get_offsets().shape[0] > 0 and not hasattr(c, "get_segments")]
    for values, dots in zip(columns, scatters, strict=True):
        np.testing.assert_array_equal(dots.get_offsets()[:, 1], values)
    for i, (values, bar) in enumerate(zip(columns, ax.containers, strict=True)):
        assert bar.lines[0].get_ydata()[0] == np.median(values)
        low, high = bootstrap_interval(values, np.median)
        segment = bar.lines[2][0].get_segments()[0]
        np.testing.assert_allclose(segment, [[i, low], [i, high]])
    # the model name all labels share is written once, under the axis
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["pretrained here", "random tf #1", "random tf #2", "random tf #3", "3 random pooled"]
    assert ax.get_xlabel() == "network (net)"
    plt.close(fig)


def test_chaos_lengths_draw_the_horizon_only_where_a_length_is_censored():
    ds = _series()  # lengths up to the horizon T = 40, some censored: the horizon is drawn
    fig = fx.chaos_lengths(ds)
    ax = fig.axes[0]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [T]
    plt.close(fig)
    short = ds.assign(chaos_length=ds.chaos_length.clip(max=20), chaos_censored=ds.chaos_censored & False)
    fig = fx.chaos_lengths(short)  # nothing censored: the axis ends at the data, and says why
    ax = fig.axes[0]
    assert not [line for line in ax.lines if line.get_linestyle() == ":"]
    assert ax.get_ylim()[1] < 0.6 * T
    assert f"horizon $T$ = {T}: no length censored" in [t.get_text() for t in ax.texts]
    plt.close(fig)


def _spectra():
    """Two networks' hand-made Lyapunov spectra (k = 4, 3 windows of 5 steps, 2 inputs): (spectra, data)."""
    from chaoslib.dynamics.spectrum import LyapunovSpectrum

    rng = np.random.default_rng(1)
    spectra = {}
    for label in ("ref", "rand"):
        window = torch.from_numpy(np.sort(rng.normal(size=(2, 3, 4)), axis=-1)[..., ::-1].copy())
        spectra[label] = LyapunovSpectrum(window.mean(1), window, torch.arange(1, 4) * 5, 4, 15, 0, 5, 1)
    ds = xr.concat([s.to_dataset() for s in spectra.values()], dim="network").assign_coords(
        network=list(spectra)
    )
    return spectra, ds


def _sensitivity() -> xr.Dataset:
    """Three perturbation sizes on the series' inputs, with the rounding of the state relative to eps."""
    sens = _series().isel(network=slice(0, 3)).rename(network="eps").drop_vars("role")
    sens = sens.assign_coords(eps=[0.01, 0.1, 1.0])
    sens["resolution"] = (("eps", "sample"), np.full((3, 6), 1e-4))
    return sens


def test_spectrum_and_sensitivity_plot_the_dataset():
    spectra, ds = _spectra()
    fig = fx.spectrum(ds)
    left, right = fig.axes
    for label in ("ref", "rand"):
        np.testing.assert_allclose(_line(left, label).get_ydata(), spectra[label].exponents.mean(0).numpy())
    np.testing.assert_allclose(
        _line(right, "rand").get_ydata(), spectra["rand"].window_exponents[..., 0].mean(0)
    )
    numbers = report.spectrum_numbers(ds)
    assert numbers["exp_spec_label"] == "ref"
    assert numbers["exp_spec_lambda1"] == pytest.approx(float(spectra["ref"].exponents[:, 0].mean()))
    plt.close(fig)

    sens = _sensitivity()
    fig = fx.eps_sensitivity(sens)
    for line, e in zip(fig.axes[0].lines, sens.eps.values, strict=False):
        lam = sens.exponent.sel(eps=e).values
        np.testing.assert_allclose(line.get_ydata(), np.nanmean(np.where(np.isfinite(lam), lam, np.nan), 0))
    assert r"rounding/$\varepsilon$ = 1.0e-04" in fig.axes[0].lines[0].get_label()
    plt.close(fig)
    # the chapter's own sensitivity run (reports.exponents.eps_sensitivity) records no rounding
    fig = fx.eps_sensitivity(sens.drop_vars("resolution").assign_attrs(perturb_at=1))
    assert fig.axes[0].lines[0].get_label() == r"$\varepsilon$ = 0.01"
    assert "perturb $x(1)$" in fig.axes[0].get_title()
    plt.close(fig)


def test_comparison_numbers_against_numpy_and_the_network_test():
    ds = _series()
    n = report.comparison_numbers(ds, prefix="cl_")
    ref, rand = ds.chaos_length.values[0], ds.chaos_length.values[1:]
    assert n["cl_median_ref"] == np.median(ref) and n["cl_median_rand"] == np.median(rand.ravel())
    test = report.network_test(np.median(ref), np.median(rand, axis=1))
    assert n["cl_perm_p"] == test.p_value and n["cl_perm_smallest_p"] == test.smallest_p == pytest.approx(
        1 / 4
    )
    assert "cl_p_value" not in n  # no test that pools inputs as if they were networks
    assert n["cl_ref_lambda0"] == pytest.approx(ds.exponent.values[0, :, 0].mean())
    assert n["cl_ref_lambda0_low"] < n["cl_ref_lambda0"] < n["cl_ref_lambda0_high"]
    seed_mean = ds.exponent.values[1:].mean(1).mean(0)
    first = np.flatnonzero(seed_mean <= 0)
    assert n["cl_rand_sign_change"] == (ds.window_end.values[first[0]] if first.size else -1)
    r2 = report.target_r2(n, "test model", prefix="cl_")
    assert r2["holds"] is (False if not n["cl_effect"] else None)  # 1 against 3: never below 0.01
    if n["cl_median_rand"] > 0:
        assert n["cl_ratio_text"].startswith(f"{np.median(ref) / np.median(rand):.3g} [")


def test_a_zero_random_median_gives_no_infinite_ratio_in_the_prose():
    ds = _series()
    ds["chaos_length"] = ds.chaos_length.where(ds.network == ds.network[0], 0.0)  # random: no transient
    n = report.comparison_numbers(ds, prefix="cl_")
    assert n["cl_median_rand"] == 0 and np.isinf(n["cl_median_ratio"])
    record = report.target_r2(n, "m", prefix="cl_")
    assert n["cl_ratio_text"].startswith("not defined") and "inf" not in record["measured"]
    assert record["holds"] is False


def test_target_r1_verdicts():
    base = dict(
        ref_label="x",
        n_random=3,
        eps=0.01,
        tau=10,
        T=40,
        n_samples=6,
        ref_lambda0_low=0,
        ref_lambda0_high=1,
        rand_lambda0_min=0,
        rand_lambda0_max=1,
        rand_lambda0=0.05,
        rand_sign_change_text="w",
        ref_sign_change_text="w",
        protocol="perturb x(1)",
    )
    good = {
        f"exp_{k}": v
        for k, v in {**base, "ref_lambda0": 0.1, "ref_lambda0_low": 0.02, "ref_sign_change": 30}.items()
    }
    assert report.target_r1(good, "m")["holds"] is True
    # a positive point estimate whose interval reaches 0 does not establish transient chaos
    unsure = report.target_r1({**good, "exp_ref_lambda0_low": -0.01}, "m")
    assert unsure["holds"] is False and "includes 0" in unsure["note"]
    # established, but no window turns non-positive within the horizon: censored
    censored = report.target_r1({**good, "exp_ref_sign_change": -1}, "m")
    assert verdict(censored) == "not testable here" and "censored" in censored["reason"]
    assert (
        report.target_r1({**good, "exp_ref_lambda0": -0.01, "exp_ref_lambda0_low": -0.03}, "m")["holds"]
        is False
    )
    ds = _series()
    n = report.comparison_numbers(ds)
    ref_mean = ds.exponent.values[0].copy()
    ref_mean[~np.isfinite(ref_mean)] = np.nan
    first = np.flatnonzero(np.nanmean(ref_mean, 0) <= 0)
    assert n["exp_ref_sign_change"] == (ds.window_end.values[first[0]] if first.size else -1)


def _protocols() -> xr.Dataset:
    """``reports.exponents.protocols``' dataset by hand: an untrained and a random network, both protocols."""
    rng = np.random.default_rng(2)
    ex = rng.normal(0, 0.05, (2, 2, 3, 4))  # (perturb_at, network, sample, window)
    return xr.Dataset(
        {"exponent": (("perturb_at", "network", "sample", "window"), ex)},
        coords={
            "perturb_at": [0, 1],
            "network": ["u", "r"],
            "role": ("network", ["untrained", "comparison"]),
            "window_end": (
                ("perturb_at", "window"),
                np.stack([(np.arange(4) + 1) * TAU, 1 + (np.arange(4) + 1) * TAU]),
            ),
        },
        attrs={"tau": TAU, "n_steps": T},
    )


def test_protocols_draws_both_protocols_per_network():
    ds = _protocols()
    ex = ds.exponent.values
    fig = fx.protocols(ds)
    for ax, net in zip(fig.axes, range(2), strict=True):
        for at in (0, 1):
            line = _line(ax, f"{fx.PROTOCOL_LABELS[at]}: mean, 95% band")
            np.testing.assert_allclose(line.get_ydata(), ex[at, net].mean(0))
            np.testing.assert_array_equal(line.get_xdata(), ds.window_end.values[at])
    plt.close(fig)


def _control_table() -> xr.Dataset:
    """``reports.exponents.control_table``'s table by hand: the reference, a control, the random networks."""
    return xr.Dataset(
        {
            "lambda0": ("row", [0.05, -0.008, 0.01]),
            "lambda0_low": ("row", [0.04, -0.009, 0.0]),
            "lambda0_high": ("row", [0.06, -0.007, 0.02]),
            "median": ("row", [30.0, 0.0, 10.0]),
            "median_low": ("row", [20.0, 0.0, 0.0]),
            "median_high": ("row", [40.0, 0.0, 20.0]),
            "differs_lambda0": ("row", [False, True, False]),
            "differs_median": ("row", [False, True, False]),
        },
        coords={
            "row": ["reference", "untrained", "2 random networks"],
            "role": ("row", ["reference", "control", "comparison"]),
        },
        attrs={"n_samples": 8, "T": T},
    )


def test_controls_figure_shows_each_row_with_its_numbers():
    table = _control_table()
    fig = fx.controls(table)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_yticklabels()] == ["reference", "untrained", "2 random networks"]
    texts = [t.get_text() for t in left.texts]
    assert "-0.008 [-0.009, -0.007]  differs" in texts and "0.05 [0.04, 0.06]" in texts
    assert "0  differs" in [t.get_text() for t in right.texts]  # no spread: the value alone
    markers = [line for line in left.lines if line.get_marker() == "o"]
    np.testing.assert_allclose([m.get_xdata()[0] for m in markers], [0.05, -0.008, 0.01])
    plt.close(fig)


def test_roles_are_required():
    ds = _series().drop_vars("role")
    with pytest.raises(ChaoslibError, match="role"):
        fx.local_exponents(ds)
    with pytest.raises(ChaoslibError, match="labels"):
        report.with_roles(ds, ["only one"])


LEGIBLE = {
    "local_exponents": lambda: fx.local_exponents(_series()),
    "chaos_lengths": lambda: fx.chaos_lengths(_series()),
    "spectrum": lambda: fx.spectrum(_spectra()[1]),
    "eps_sensitivity": lambda: fx.eps_sensitivity(_sensitivity()),
    "protocols": lambda: fx.protocols(_protocols()),
    "controls": lambda: fx.controls(_control_table()),
}


def test_every_figure_is_legible_in_print():
    """No text below 7 pt once the figure, stamped as in the book, is scaled to the PDF's text width."""
    built.assert_legible(LEGIBLE, fx)
