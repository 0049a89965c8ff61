"""Numbers and verdicts of the synchronisation chapter (sync offsets; R5: sync at the end of the transient;
R10: the reduced map, a check of the machinery).

The dataset comes from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.Synchronisation` (``token_spread`` (network, sample, step), ``exponent``
(network, sample, window), ``chaos_length`` / ``chaos_censored`` (network, sample)), labelled with
:func:`chaoslib.book.reports.exponents.with_roles` (one ``reference`` network, the network under test,
``comparison`` random networks, or ``control`` networks of :func:`chaoslib.model.network.control_networks`)
and completed by :func:`completed` (cheap: thresholds and ratios of sigma, so the saved file holds every
plotted value): ``t_sync``, ``sync_censored``, ``theta`` (network, sample), the threshold sweep, and the
transverse exponent with its transient (:func:`with_transverse`). The reduced-map check
(:func:`reduced_check`) is a dataset of its own.

R5 compares like with like. The chaos length l is where the first window's local exponent lambda_k turns
negative: lambda_k is the growth rate per step, over the window [k tau, (k+1) tau], of a small perturbation
of the whole state. Its counterpart for synchronisation is the *transverse exponent* lambda_perp_k =
log(sigma((k+1) tau) / sigma(k tau)) / tau, the growth rate over the same window of the tokens' spread
sigma, i.e. of the state's own distance from the synchronised manifold (all tokens equal). Both are
finite-window log growth rates of a distance, on the same windows, inputs and trajectory (both carry the
first step's LayerNorm rescaling of x(0) in window 0), and the transverse transient l_perp is read from
lambda_perp by the very rule that reads l from lambda (:func:`chaoslib.dynamics.lyapunov.chaos_length`). If
the tokens synchronised because the chaotic transient ends, the expanding direction during the transient
would be the transverse one and the two rates would turn negative together: l_perp = l within a window. The
sync offset t_sync (sigma below theta) is not that counterpart: it moves with theta (the sweep), while l
does not; it is reported beside l as a description, with their paired difference.

Units. R5 is a claim about one network's inputs (bootstrap intervals over inputs). Comparisons of the
reference with the random networks are about networks: an exact permutation test over the networks' medians
with its smallest attainable p, and an interval from a bootstrap over networks, then inputs, paired by input
(:func:`chaoslib.stats.two_level_contrast`). Each control network is one network on the same inputs: paired
intervals over inputs. R10 is an identity of the layer's algebra, a check of the machinery."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
import xarray as xr

from chaoslib.book.reports.exponents import (
    CONTROL_SLUGS,
    controls_of,
    split_roles,
    with_roles,
)
from chaoslib.book.reports.phrasing import (
    MarkdownText,
    bracketed,
    median_steps,
    ranges_from,
    tex_number,
)
from chaoslib.book.reports.verdicts import target_record
from chaoslib.dynamics.lyapunov import chaos_length
from chaoslib.dynamics.sync import offsets_by_threshold, sync_offset
from chaoslib.stats import (
    PermutationTest,
    bootstrap_interval,
    ratio_interval,
    reference_vs_others,
    two_level_bootstrap,
    two_level_contrast,
)

__all__ = [
    "with_offsets",
    "transverse_exponents",
    "with_transverse",
    "completed",
    "control_runs",
    "theta_text",
    "reduced_check",
    "reduced_dataset",
    "reduced_numbers",
    "network_comparison",
    "sync_numbers",
    "transient_numbers",
    "control_numbers",
    "r5_rule",
    "target_r5",
    "target_r10",
]

MOST = 0.5  # "most inputs": more than this fraction


# --- the dataset --------------------------------------------------------------------------------------------


def with_offsets(ds: xr.Dataset, threshold: float, relative: bool, thresholds) -> xr.Dataset:
    """Add ``t_sync``, ``sync_censored``, ``theta`` (network, sample) for ``threshold`` and
    ``sweep_offset`` / ``sweep_censored`` (network, threshold, sample) for ``thresholds``
    (``chaoslib.dynamics.sync.sync_offset`` per network)."""
    per = [sync_offset(ds.token_spread.sel(network=n), threshold, relative) for n in ds.network.values]
    sweeps = [
        offsets_by_threshold(ds.token_spread.sel(network=n), thresholds, relative) for n in ds.network.values
    ]
    return (
        ds.assign(
            t_sync=(("network", "sample"), np.stack([p.offset for p in per])),
            sync_censored=(("network", "sample"), np.stack([p.censored for p in per])),
            theta=(("network", "sample"), np.stack([p.theta for p in per])),
            sweep_offset=(("network", "threshold", "sample"), np.stack([s.offset.values for s in sweeps])),
            sweep_censored=(
                ("network", "threshold", "sample"),
                np.stack([s.censored.values for s in sweeps]),
            ),
        )
        .assign_coords(threshold=np.asarray(thresholds, dtype=float))
        .assign_attrs(sync_threshold=float(threshold), relative_threshold=int(relative))
    )


def transverse_exponents(
    spread: np.ndarray, theta: np.ndarray, window_end: np.ndarray, tau: int
) -> np.ndarray:
    """The transverse exponent lambda_perp = log(sigma(end) / sigma(end - tau)) / tau of each window.

    Args:
        spread: (samples, steps) sigma(t), column t = step t; theta: (samples,) each input's sync threshold;
        window_end: (windows,) the last step of each window (as the exponents' ``window_end``);
        tau: the window length.

    Returns:
        (samples, windows) float64. NaN for a window that starts below theta (the tokens have synchronised:
        the ratio would measure float32 rounding, not the dynamics); -inf where sigma reaches exactly 0.
    """
    spread = np.asarray(spread, dtype=np.float64)
    end = np.asarray(window_end, dtype=int)
    start_values, end_values = spread[:, end - int(tau)], spread[:, end]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.log(end_values / start_values) / int(tau)
    return np.where(start_values >= np.asarray(theta, dtype=float)[:, None], rate, np.nan)


def with_transverse(ds: xr.Dataset) -> xr.Dataset:
    """Add ``transverse_exponent`` (network, sample, window) (:func:`transverse_exponents`, the windows of
    ``exponent``) and its transient ``transverse_length`` / ``transverse_censored`` (network, sample), read by
    :func:`chaoslib.dynamics.lyapunov.chaos_length`, the rule that gives ``chaos_length``. Needs ``theta``
    (:func:`with_offsets`)."""
    tau, horizon = int(ds.attrs["tau"]), int(ds.attrs["n_steps"])
    rates = np.stack(
        [
            transverse_exponents(
                ds.token_spread.sel(network=n).transpose("sample", "step").values,
                ds.theta.sel(network=n).values,
                ds.window_end.values,
                tau,
            )
            for n in ds.network.values
        ]
    )
    lengths = [chaos_length(torch.from_numpy(r), tau, horizon) for r in rates]
    return ds.assign(
        transverse_exponent=(("network", "sample", "window"), rates),
        transverse_length=(("network", "sample"), np.stack([length.numpy() for length, _ in lengths])),
        transverse_censored=(("network", "sample"), np.stack([c.numpy() for _, c in lengths])),
    )


def completed(ds: xr.Dataset, n_tokens: int, threshold: float, relative: bool, thresholds) -> xr.Dataset:
    """A labelled :class:`~chaoslib.studies.analyses.Synchronisation` dataset with its sync offsets
    (:func:`with_offsets`) and transverse exponents (:func:`with_transverse`); ``n_tokens`` in its attrs."""
    return with_transverse(
        with_offsets(ds.assign_attrs(n_tokens=int(n_tokens)), threshold, relative, thresholds)
    )


def control_runs(
    ch, networks: list, analysis, inputs, like: xr.Dataset, n_samples: int, seed: int = 0
) -> xr.Dataset | None:
    """``analysis`` on the control networks of the reference ``networks[0]``
    (:func:`chaoslib.model.network.control_networks`, the hybrids taking ``networks[1]``, seed ``seed``), on
    the first ``n_samples`` of ``inputs`` (the reference's first inputs: comparisons pair by input), completed
    with the thresholds of ``like`` (:func:`completed`) and saved as ``controls``. The network coordinate
    holds the control roles, role ``"control"``, a ``label`` coordinate their networks' labels. None when
    ``n_samples`` is 0 or there is no comparison network for the hybrids."""
    from chaoslib.model.network import control_networks

    if n_samples <= 0 or len(networks) < 2:
        return None
    made = control_networks(networks[0], networks[1], seed=seed)
    roles, subjects = [r for r, _ in made], [n for _, n in made]
    ds = ch.compare(subjects, analysis, inputs[: min(int(n_samples), len(inputs))], labels=roles)
    ds = with_roles(
        ds.assign_coords(label=("network", [n.label() for n in subjects])),
        roles,
        n_reference=0,
        n_controls=len(roles),
    ).assign_attrs(control_seed=int(seed))
    ds = completed(
        ds,
        like.attrs["n_tokens"],
        like.attrs["sync_threshold"],
        bool(like.attrs["relative_threshold"]),
        like.threshold.values,
    )
    return ch.save(ds, "controls")


def theta_text(threshold: float, relative: bool) -> MarkdownText:
    """The threshold for the prose, as maths: ``$\\theta = 10^{-5}\\,\\sigma(0)$`` (relative) or
    ``$\\theta = 10^{-5}$``; its plain form ``theta = 1e-05 x sigma(0)``."""
    tex = f"$\\theta = {tex_number(threshold)}" + ("\\,\\sigma(0)$" if relative else "$")
    return MarkdownText(tex, f"theta = {threshold:g}" + (" x sigma(0)" if relative else ""))


# --- the reduced map (R10) ----------------------------------------------------------------------------------


def reduced_check(
    network: Any,
    inputs: Any,
    n_samples: int,
    n_steps: int,
    reduced_steps: int,
    device: Any = "cpu",
    dtype: Any = "float32",
    data_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The reduced map against the full layer of ``network`` (a :class:`~chaoslib.model.network.Network`),
    pads active: the first ``n_samples`` inputs are iterated ``n_steps`` steps in ``dtype``; their token means
    are lifted to exactly synchronised states and iterated ``reduced_steps`` steps by both maps side by side,
    in ``dtype`` (``"float32"`` in the dataset) and in float64 (``"float64"``); and one full step from the
    run's own end states x(T) is compared with the reduced map (:func:`reduced_dataset`)."""
    from chaoslib.dynamics.reduced_map import reduced_vs_full, reduction_error, token_mean
    from chaoslib.dynamics.sync import token_spread
    from chaoslib.studies.compare import network_map

    _, full_map, x0, _ = network_map(network, inputs, device=device, dtype=dtype, data_dir=data_dir)
    x_end = full_map.iterate(x0[:n_samples], n_steps)
    y0 = token_mean(x_end)
    full_map64 = network_map(network, inputs, device=device, dtype="float64", data_dir=data_dir)[1]
    n_tokens = x_end.shape[1]
    return reduced_dataset(
        {
            "float32": reduced_vs_full(full_map, y0, n_tokens, n_steps=reduced_steps),
            "float64": reduced_vs_full(full_map64, y0.double(), n_tokens, n_steps=reduced_steps),
        },
        reduction_error(full_map, x_end),
        token_spread(x_end),
    )


def reduced_dataset(comparisons: dict, natural_error, end_spread) -> xr.Dataset:
    """``reduced_vs_full`` results by dtype name -> Dataset: ``relative_error`` and ``full_spread``
    (dtype, sample, step), ``one_step_error`` (dtype, sample); ``natural_error`` (sample): one step from
    the run's own (nearly) synchronised end states x(T), whose spread sigma(T) is ``end_spread`` (sample)."""
    names = list(comparisons)

    def array(t):
        return np.asarray(t.double().cpu().numpy() if hasattr(t, "cpu") else t, dtype=float)

    by_dtype = xr.concat([comparisons[n].to_dataset().drop_vars("step") for n in names], dim="dtype")
    return by_dtype.assign(
        natural_error=("sample", array(natural_error)), end_spread=("sample", array(end_spread))
    ).assign_coords(dtype=names)


def reduced_numbers(ds: xr.Dataset) -> dict:
    """Prose numbers of the reduced-map check (keys prefixed ``red_``)."""
    e = ds.one_step_error
    spread32 = float(ds.full_spread.sel(dtype="float32").max())
    return {
        "red_one_step32": float(e.sel(dtype="float32").max()),
        "red_one_step64": float(e.sel(dtype="float64").max())
        if "float64" in ds.dtype.values
        else float("nan"),
        "red_natural": float(ds.natural_error.max()),
        "red_end_spread": float(ds.end_spread.max()),
        "red_spread32": f"{spread32:.1g}" if spread32 > 0 else "exactly 0",
        "red_last32": float(np.median(ds.relative_error.sel(dtype="float32").values[:, -1])),
        "red_steps": int(ds.sizes["step"] - 1),
        "red_samples": int(ds.sizes["sample"]),
    } | _tex_keys(ds)


def _tex_keys(ds: xr.Dataset) -> dict:
    """The reduced-map check's small numbers as maths for the prose (``red_<name>_tex``: ``$3.2 \\times
    10^{-7}$``, not ``3.2e-07``)."""
    e = ds.one_step_error
    values = {
        "one_step32": float(e.sel(dtype="float32").max()),
        "one_step64": float(e.sel(dtype="float64").max()) if "float64" in ds.dtype.values else float("nan"),
        "natural": float(ds.natural_error.max()),
        "end_spread": float(ds.end_spread.max()),
        "last32": float(np.median(ds.relative_error.sel(dtype="float32").values[:, -1])),
    }
    return {f"red_{k}_tex": MarkdownText(f"${tex_number(v, 2)}$", f"{v:.1e}") for k, v in values.items()}


# --- intervals that tolerate degenerate samples -------------------------------------------------------------


def _interval(values, statistic=np.median, seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval over inputs of the finite ``values``; the point for a sample without spread, NaN for
    fewer than 2 finite values."""
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan")
    return bootstrap_interval(values, statistic, seed=seed)


def _paired_ratio(a, b, seed: int = 0) -> tuple[float, float, float]:
    """median(a) / median(b) with its bootstrap interval over inputs, pairs kept together: (ratio, low, high).
    a, b: (inputs,) non-negative values of two networks on the same inputs. A pair of samples without spread
    gives the point; a zero denominator gives inf (NaN when both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ma, mb = float(np.median(a)), float(np.median(b))
    ratio = ma / mb if mb > 0 else (float("inf") if ma > 0 else float("nan"))
    if a.size < 2:
        return ratio, float("nan"), float("nan")
    if np.all(a == a[0]) and np.all(b == b[0]):
        return ratio, ratio, ratio
    low, high = ratio_interval(a, b, np.median, paired=True, seed=seed)
    return ratio, low, high


def _paired_difference(a, b, seed: int = 0) -> tuple[float, float, float]:
    """median(a) - median(b) over the pairs where both are finite, with its paired bootstrap interval:
    (difference, low, high); NaN for fewer than 2 pairs, the point for samples without spread."""
    from chaoslib.stats import difference_interval

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan"), float("nan"), float("nan")
    point = float(np.median(a) - np.median(b))
    if np.all(a == a[0]) and np.all(b == b[0]):
        return point, point, point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bootstrap distribution without spread
        low, high = difference_interval(a, b, np.median, paired=True, seed=seed)
    return point, low, high


def _bounds(low: float, high: float, fmt: str = ".3g") -> str:
    return ", ".join(
        "inf" if np.isinf(v) else ("n/a" if np.isnan(v) else format(v, fmt)) for v in (low, high)
    )


def _direction(low: float, high: float) -> str:
    """A ratio's direction in words, decided by its interval: longer, shorter, or not distinguishable."""
    if not np.isnan(low) and low > 1:
        return "longer than"
    if not np.isnan(high) and high < 1:
        return "shorter than"
    return "not distinguishable from"


# --- the reference against the random networks (networks as the unit) ---------------------------------------


def apart_test(values: np.ndarray) -> PermutationTest:
    """Exact two-sided permutation test over networks: does the first network's value (the reference's median)
    stand apart from the others'? values: (n_networks,), the reference first. With one reference against K
    networks the smallest attainable p is 2 / (K + 1)."""
    values = np.asarray(values, dtype=float)
    return reference_vs_others(values[0], values[1:], "two-sided")


def network_comparison(reference, others, seed: int = 0) -> dict:
    """The reference's sync offsets against K random networks' on the same inputs, networks as the unit.

    Args:
        reference: (inputs,) t_sync through the reference; others: (K, inputs) through the random networks.

    Returns:
        ``rand_median`` (pooled) with ``rand_median_low`` / ``_high`` (bootstrap over networks, then inputs),
        ``seed_min`` / ``seed_max`` (the networks' medians), ``ratio`` (median reference / median others) with
        ``ratio_low`` / ``_high`` (over networks, then inputs, paired by input), ``direction`` (from the
        interval), ``p``, ``smallest_p``, ``n_networks`` (exact two-sided permutation test over the networks'
        medians) and ``test_text``. Intervals are NaN with fewer than 2 networks or inputs.
    """
    ref, oth = np.asarray(reference, dtype=float), np.asarray(others, dtype=float)
    medians = np.median(oth, axis=1)
    rand_median, ref_median = float(np.median(oth)), float(np.median(ref))
    ratio = ref_median / rand_median if rand_median > 0 else float("inf") if ref_median > 0 else float("nan")
    nan2 = (float("nan"), float("nan"))
    enough = oth.shape[0] >= 2 and oth.shape[1] >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median_interval = two_level_bootstrap(oth, np.median, seed=seed) if enough else nan2
        ratio_low, ratio_high = (
            two_level_contrast(ref, oth, np.median, "ratio", seed=seed) if enough else nan2
        )
    test = apart_test(np.concatenate([[ref_median], medians]))
    return {
        "rand_median": rand_median,
        "rand_median_low": median_interval[0],
        "rand_median_high": median_interval[1],
        "seed_min": float(medians.min()),
        "seed_max": float(medians.max()),
        "ratio": ratio,
        "ratio_low": ratio_low,
        "ratio_high": ratio_high,
        "direction": _direction(ratio_low, ratio_high),
        "p": test.p_value,
        "smallest_p": test.smallest_p,
        "n_networks": test.n_networks,
        "test_text": (
            f"ratio of medians {ratio:.3g} [{_bounds(ratio_low, ratio_high)}] (95% bootstrap over networks, "
            f"then inputs, paired by input); exact two-sided permutation test over the {test.n_networks} "
            f"networks' medians: {_p_text(test.p_value, test.smallest_p)}"
        ),
    }


def _p_text(p: float, smallest: float) -> str:
    """``p = 0.33, which is the smallest p these networks can give`` when p is that smallest, else ``p = 0.5
    (the smallest p these networks can give is 0.33)``."""
    if f"{p:.2g}" == f"{smallest:.2g}":
        return f"p = {p:.2g}, which is the smallest p these networks can give"
    return f"p = {p:.2g} (the smallest p these networks can give is {smallest:.2g})"


def sync_numbers(ds: xr.Dataset, seed: int = 0) -> dict:
    """Numbers of the sync offsets (keys prefixed ``sync_``): the reference's median t_sync with a bootstrap
    interval over inputs and its censored count; the random networks' (:func:`network_comparison`: networks as
    the unit); the threshold sweep of the reference's median."""
    ref, others = split_roles(ds)
    t_ref = ds.t_sync.sel(network=ref).values
    out: dict = {
        "ref_label": ref,
        "n_random": len(others),
        "n_samples": ds.sizes["sample"],
        "tau": int(ds.attrs["tau"]),
        "T": int(ds.attrs["n_steps"]),
        "ref_median": float(np.median(t_ref)),
        "ref_censored": int(ds.sync_censored.sel(network=ref).values.sum()),
        "ref_inputs": int(t_ref.size),
        "ref_floor": float(np.median(ds.token_spread.sel(network=ref).isel(step=-1).values)),
    }
    out["ref_median_low"], out["ref_median_high"] = _interval(t_ref, np.median, seed)
    out["ref_text"] = median_steps(out["ref_median"], out["ref_median_low"], out["ref_median_high"],
                                   out["ref_censored"], out["ref_inputs"], out["T"], "its inputs")
    if others:
        t_rand = ds.t_sync.sel(network=others).values  # (networks, inputs)
        out.update(network_comparison(t_ref, t_rand, seed))
        out["rand_censored"] = int(ds.sync_censored.sel(network=others).values.sum())
        out["rand_inputs"] = int(t_rand.size)
        spread = ranges_from(out["seed_min"], out["seed_max"], ".0f", each="network")
        own = f"the networks' own medians {spread}"
        out["rand_text"] = median_steps(out["rand_median"], out["rand_median_low"], out["rand_median_high"],
                                        out["rand_censored"], out["rand_inputs"], out["T"],
                                        "networks, then inputs", own)
    sweep = np.median(ds.sweep_offset.sel(network=ref).values, axis=1)
    out.update(
        sweep_lo=float(ds.threshold.values[0]),
        sweep_hi=float(ds.threshold.values[-1]),
        ref_sweep_lo=float(sweep[0]),
        ref_sweep_hi=float(sweep[-1]),
    )
    out.update(_sweep_phrases(out))
    return {"sync_" + k: v for k, v in out.items()}


def _sweep_phrases(n: dict) -> dict:
    """The threshold sweep in words: ``sweep_text`` (Markdown: moving theta from ... to ... moves, or leaves,
    the reference's median offset) and ``sweep_span`` (``went from 5 to 40 steps over the sweep``, or
    ``stayed at 40 steps over the whole sweep``)."""
    lo, hi = tex_number(n["sweep_lo"]), tex_number(n["sweep_hi"])
    same = f"{n['ref_sweep_lo']:.0f}" == f"{n['ref_sweep_hi']:.0f}"
    effect = (
        f"leaves the reference's median offset at {n['ref_sweep_lo']:.0f} steps"
        if same
        else f"moves the reference's median offset from {n['ref_sweep_lo']:.0f} to "
        f"{n['ref_sweep_hi']:.0f} steps"
    )
    return {
        "sweep_text": MarkdownText(
            f"Moving the threshold from $\\theta = {lo}$ to ${hi}$ {effect}",
            f"Moving the threshold from theta = {n['sweep_lo']:g} to {n['sweep_hi']:g} {effect}",
        ),
        "sweep_span": (
            f"stayed at {n['ref_sweep_lo']:.0f} steps over the whole sweep"
            if same
            else f"went from {n['ref_sweep_lo']:.0f} to {n['ref_sweep_hi']:.0f} steps over the sweep"
        ),
    }


# --- R5: the Lyapunov transient against synchronisation, like with like -------------------------------------


def _first_window_after(t_sync: np.ndarray, tau: int, n_windows: int) -> np.ndarray:
    """(inputs,) index of the first window that starts at or after t_sync (n_windows where none does)."""
    return np.minimum(np.ceil(np.asarray(t_sync, dtype=float) / tau).astype(int), n_windows)


def _transients(ds: xr.Dataset, name: str, seed: int) -> dict:
    """One network's numbers for R5 (see :func:`transient_numbers`)."""
    tau = int(ds.attrs["tau"])
    lam = ds.exponent.sel(network=name).values
    perp = ds.transverse_exponent.sel(network=name).values
    length, perp_length = (
        ds.chaos_length.sel(network=name).values,
        ds.transverse_length.sel(network=name).values,
    )
    both = ~ds.chaos_censored.sel(network=name).values & ~ds.transverse_censored.sel(network=name).values
    agree = (np.abs(length - perp_length) <= tau)[both].astype(float)
    t_sync, synced = ds.t_sync.sel(network=name).values, ~ds.sync_censored.sel(network=name).values
    after = _first_window_after(t_sync, tau, lam.shape[1])
    inside = synced & (after < lam.shape[1])
    lam_after = np.array([lam[i, k] for i, k in enumerate(after) if inside[i]])
    out = {
        "inputs": int(length.size),
        "synchronised": float(100 * synced.mean()),
        "lambda_first": float(np.nanmedian(np.where(np.isfinite(lam[:, 0]), lam[:, 0], np.nan))),
        "perp_first": float(np.nanmedian(np.where(np.isfinite(perp[:, 0]), perp[:, 0], np.nan))),
        "chaos_median": float(np.median(length)),
        "chaos_censored": int(ds.chaos_censored.sel(network=name).values.sum()),
        "perp_median": float(np.median(perp_length)),
        "perp_censored": int(ds.transverse_censored.sel(network=name).values.sum()),
        "pairs": int(both.sum()),
        "agree": float(100 * agree.mean()) if agree.size else float("nan"),
        "after_inputs": int(inside.sum()),
        "after_positive": int((lam_after > 0).sum()),
    }
    out["lambda_first_low"], out["lambda_first_high"] = _interval(lam[:, 0], np.median, seed)
    out["perp_first_low"], out["perp_first_high"] = _interval(perp[:, 0], np.median, seed)
    out["chaos_median_low"], out["chaos_median_high"] = _interval(length, np.median, seed)
    out["perp_median_low"], out["perp_median_high"] = _interval(perp_length, np.median, seed)
    agree_interval = tuple(100 * v for v in _interval(agree, np.mean, seed))
    out["agree_low"], out["agree_high"] = agree_interval
    out["gap"], out["gap_low"], out["gap_high"] = _paired_difference(
        np.where(both, length, np.nan), np.where(both, perp_length, np.nan), seed
    )
    uncensored = synced & ~ds.chaos_censored.sel(network=name).values
    out["tsync_gap"], out["tsync_gap_low"], out["tsync_gap_high"] = _paired_difference(
        np.where(uncensored, t_sync, np.nan), np.where(uncensored, length, np.nan), seed
    )
    out["tsync_pairs"] = int(uncensored.sum())
    return out


def r5_rule(n: dict) -> tuple[bool | None, str]:
    """(holds, reason) of R5 from one network's numbers (:func:`transient_numbers` without the ``sync_ref_``
    prefix): not testable (censored) when most inputs have not synchronised within T or fewer than 2 inputs
    have both transients end within it; otherwise holds when more than half of those inputs have
    |l - l_perp| <= tau."""
    if n["synchronised"] <= 100 * MOST:
        return None, (
            f"censored at T={n['T']}: {100 - n['synchronised']:.0f}% of {n['inputs']} inputs have not "
            "synchronised within the horizon"
        )
    if n["pairs"] < 2:
        return None, (
            f"censored at T={n['T']}: {n['pairs']} of {n['inputs']} inputs have both transients end "
            "within the horizon"
        )
    return bool(n["agree"] > 100 * MOST), ""


AGREEMENT = {True: "agree", False: "disagree", None: "cannot be compared here"}


SYMBOLS = {  # name: (plain, Markdown maths)
    "l": ("l", "$l$"),
    "l_perp": ("l_perp", "$l_\\perp$"),
    "t_sync": ("t_sync", "$t_{\\mathrm{sync}}$"),
    "agree": ("|l - l_perp| <= tau = {tau}", "$|l - l_\\perp| \\le \\tau = {tau}$"),
}


def _symbols(markdown: bool) -> dict[str, str]:
    return {name: pair[int(markdown)] for name, pair in SYMBOLS.items()}


def _transient_text(n: dict, agreement: str, markdown: bool = False) -> str:
    """The sentence that says whether the Lyapunov transient and synchronisation agree, with the numbers;
    ``markdown``: its symbols as maths (for the prose), else plain (for the target's record)."""
    y = _symbols(markdown)

    def iv(key, fmt=".0f"):
        return bracketed(n[key], n[key + "_low"], n[key + "_high"], fmt)

    text = (
        f"For {n['ref_label']}, the Lyapunov transient and synchronisation {agreement} when compared like "
        f"with like: the tokens' spread contracts from {y['l_perp']} = {iv('perp_median')} steps (median; "
        f"transverse exponent of the first window {iv('perp_first', '+.3f')} per step) while the full local "
        f"exponent stays non-negative for {y['l']} = {iv('chaos_median')} steps (first window "
        f"{iv('lambda_first', '+.3f')} per step); {y['agree'].format(tau=n['tau'])} for "
        + (
            f"{n['agree']:.0f}% [{_bounds(n['agree_low'], n['agree_high'], '.0f')}] of the {n['pairs']} "
            "inputs with both inside the horizon"
            if n["pairs"]
            else "none of the inputs (both censored)"
        )
    )
    if n["tsync_pairs"] >= 2:
        gap = n["tsync_gap"]
        text += (
            f". The threshold time {y['t_sync']} falls a median {abs(gap):.0f} steps "
            f"{'after' if gap >= 0 else 'before'} {y['l']} (difference of medians, 95% interval "
            f"[{_bounds(n['tsync_gap_low'], n['tsync_gap_high'], '.0f')}])"
        )
    if n["after_inputs"]:
        text += (
            f"; the full exponent is still positive in the first window after {y['t_sync']} for "
            f"{n['after_positive']} of {n['after_inputs']} inputs"
        )
    return text + "."


def transient_numbers(ds: xr.Dataset, seed: int = 0) -> dict:
    """Numbers of R5 and the sentence on the Lyapunov transient vs synchronisation (keys prefixed ``sync_``).

    For the reference (``ref_``): the median full and transverse exponents of the first window with
    intervals over inputs; the median chaos length l and transverse transient l_perp with intervals, censored
    counts; the inputs with both inside the horizon (``pairs``) and the percentage of them with
    |l - l_perp| <= tau (``agree``, with its interval); median l - l_perp and median t_sync - l with paired
    intervals; the inputs whose full exponent is still positive in the first window after t_sync
    (``after_positive`` of ``after_inputs``). For the random networks (``rand_``): each network's agreement
    percentage (range over networks) and the pooled medians. ``transient_agreement`` ("agree", "disagree",
    "cannot be compared here", from :func:`r5_rule`) and ``transient_text`` state whether the two measures of
    the transient agree.
    """
    ref, others = split_roles(ds)
    ref_numbers = _transients(ds, ref, seed)
    out = {f"ref_{k}": v for k, v in ref_numbers.items() if k != "inputs"}  # sync_ref_inputs: sync_numbers
    if others:
        per = [_transients(ds, name, seed) for name in others]
        agree = np.array([p["agree"] for p in per])
        out.update(
            rand_agree_min=float(np.nanmin(agree)) if np.isfinite(agree).any() else float("nan"),
            rand_agree_max=float(np.nanmax(agree)) if np.isfinite(agree).any() else float("nan"),
            rand_chaos_median=float(np.median(ds.chaos_length.sel(network=others).values)),
            rand_perp_median=float(np.median(ds.transverse_length.sel(network=others).values)),
            rand_lambda_first=float(np.nanmedian(ds.exponent.sel(network=others).isel(window=0).values)),
            rand_perp_first=float(
                np.nanmedian(ds.transverse_exponent.sel(network=others).isel(window=0).values)
            ),
        )
    holds, _ = r5_rule({**ref_numbers, "T": int(ds.attrs["n_steps"])})
    out["transient_agreement"] = AGREEMENT[holds]
    facts = {**ref_numbers, "ref_label": ref, "tau": int(ds.attrs["tau"])}
    out["transient_text"] = _transient_text(facts, AGREEMENT[holds])
    out["transient_md"] = MarkdownText(
        _transient_text(facts, AGREEMENT[holds], markdown=True), out["transient_text"]
    )
    if others:
        out["rand_agree_text"] = _agree_range(out["rand_agree_min"], out["rand_agree_max"])
    return {"sync_" + k: v for k, v in out.items()}


def _agree_range(low: float, high: float) -> str:
    """The random networks' agreement percentages as the end of a sentence: ``for 20% to 80% of each network's
    inputs``, ``for 100% of every network's inputs``, or ``for no network (no input of theirs has both
    transients inside the horizon)``."""
    if np.isnan(low):
        return "for no network (no input of theirs has both transients inside the horizon)"
    if f"{low:.0f}" == f"{high:.0f}":
        return f"for {low:.0f}% of every network's inputs"
    return f"for {low:.0f}% to {high:.0f}% of each network's inputs"


# --- control networks ---------------------------------------------------------------------------------------


def _list_text(names: list[str]) -> str:
    return "; ".join(names) if names else "none of them"  # the hybrids' roles hold commas


def control_numbers(ds: xr.Dataset, controls: xr.Dataset | None, seed: int = 0) -> dict:
    """The reference's t_sync against each control network on the controls' inputs (the first
    ``controls.sizes["sample"]`` of ``ds``), keys prefixed ``sync_ctrl_``.

    Per control (slug of :data:`chaoslib.book.reports.exponents.CONTROL_SLUGS`): its median t_sync, censored
    count, the ratio of medians reference / control with its bootstrap interval over inputs, paired by input
    (``<slug>_ratio``, ``_low``, ``_high``), whether that interval excludes 1 (``<slug>_differs``), and its
    R5 agreement percentage (|l - l_perp| <= tau). ``differs`` / ``same`` list the controls; ``text`` says it
    in one sentence; ``labels`` lists the controls' network labels. Where a control is censored on most
    inputs, its t_sync is a lower bound and the sentence says so.
    """
    if controls is None:
        return {
            "sync_ctrl_n_samples": 0,
            "sync_ctrl_roles": "none",
            "sync_ctrl_differs": "none of them",
            "sync_ctrl_same": "none of them",
            "sync_ctrl_labels": [],
            "sync_ctrl_text": "No control networks were run in this edition.",
            "sync_ctrl_md": MarkdownText("No control networks were run in this edition."),
        }
    ref, _ = split_roles(ds)
    k = controls.sizes["sample"]
    t_ref = ds.t_sync.sel(network=ref).values[:k]
    ref_censored = ds.sync_censored.sel(network=ref).values[:k]
    names = controls_of(controls)
    out: dict = {
        "n_samples": int(k),
        "seed": int(controls.attrs.get("control_seed", 0)),
        "roles": _list_text(names),
        "labels": [str(controls.label.sel(network=n).values) for n in names]
        if "label" in controls.coords
        else names,
    }
    differs, parts = [], []
    for name in names:
        slug = CONTROL_SLUGS.get(name, name.replace(" ", "_").replace(",", ""))
        t = controls.t_sync.sel(network=name).values
        censored = controls.sync_censored.sel(network=name).values
        ratio, low, high = _paired_ratio(t_ref, t, seed)
        both_censored = ref_censored.mean() > MOST and censored.mean() > MOST
        differ = not both_censored and _direction(low, high) != "not distinguishable from"
        agree = _transients(controls, name, seed)["agree"]
        out.update(
            {
                f"{slug}_median": float(np.median(t)),
                f"{slug}_censored": int(censored.sum()),
                f"{slug}_ratio": ratio,
                f"{slug}_ratio_low": low,
                f"{slug}_ratio_high": high,
                f"{slug}_differs": bool(differ),
                f"{slug}_agree": agree,
            }
        )
        differs += [name] if differ else []
        bound = " (censored on most inputs: a lower bound)" if censored.mean() > MOST else ""
        parts.append(
            f"{name}: median t_sync {np.median(t):.0f}{bound}, ratio {ratio:.3g} [{_bounds(low, high)}]"
        )
    out["differs"] = _list_text(differs)
    out["same"] = _list_text([n for n in names if n not in differs])
    out["text"] = (
        f"On the first {k} inputs, the reference's median t_sync is {np.median(t_ref):.0f} steps; the "
        "control networks' (ratio reference / control, 95% bootstrap interval over inputs, paired by input): "
        + "; ".join(parts)
        + ". "
        + _differs_sentence(differs, [n for n in names if n not in differs])
    )
    out["md"] = MarkdownText(out["text"].replace("t_sync", SYMBOLS["t_sync"][1]), out["text"])
    return {"sync_ctrl_" + k: v for k, v in out.items()}


def _differs_sentence(differs: list[str], same: list[str]) -> str:
    """Which controls the reference differs from, in one sentence that reads when either list is empty."""
    if not same:
        return "The reference differs from every one of them."
    if not differs:
        return "The reference is not distinguishable from any of them."
    return (f"The reference differs from: {_list_text(differs)}; it is not distinguishable from: "
            f"{_list_text(same)}.")


# --- verdicts -----------------------------------------------------------------------------------------------


def target_r5(numbers: dict, model: str, controls: dict | None = None) -> dict:
    """R5 (tokens synchronise at the end of the transient) on the reference network, inputs of one network.

    ``numbers``: :func:`transient_numbers` merged with :func:`sync_numbers` (both ``sync_``-prefixed);
    ``controls``: :func:`control_numbers`. Rule: :func:`r5_rule` (not testable when most inputs have not
    synchronised within T or fewer than 2 have both transients end within it; otherwise holds when more than
    half of the inputs with both inside the horizon have |l - l_perp| <= tau).
    """
    n = {k[len("sync_") :]: v for k, v in numbers.items() if k.startswith("sync_")}
    ref = {k[len("ref_") :]: v for k, v in n.items() if k.startswith("ref_")}
    holds, reason = r5_rule({**ref, "T": n["T"]})
    interval = (
        f"|l - l_perp| <= tau for {ref['agree']:.0f}% "
        f"[{_bounds(ref['agree_low'], ref['agree_high'], '.0f')}] of {ref['pairs']} inputs"
        if ref["pairs"]
        else "no input with both transients inside the horizon"
    )
    measured = (
        f"{model}, {n['ref_label']}, {ref['inputs']} inputs of one network: {ref['synchronised']:.0f}% "
        f"synchronise within T={n['T']}. {n['transient_text']}"
    )
    ctrl = controls or {}
    note = (
        "l (full local exponent) and l_perp (transverse exponent, the growth rate of the tokens' spread over "
        "the same windows) are read by the same rule; holds = more than half of the inputs with both inside "
        f"the horizon have |l - l_perp| <= tau={n['tau']}. t_sync (theta-dependent) is reported beside l, "
        "not tested."
    )
    if ctrl.get("sync_ctrl_n_samples"):
        note += f" Control networks: t_sync of the reference differs from {ctrl['sync_ctrl_differs']}."
    return target_record(
        target_id="R5",
        claim="tokens synchronise at the end of the transient",
        measured=measured,
        holds=holds,
        note=note,
        unit="inputs of one network",
        interval=interval,
        controls=list(ctrl.get("sync_ctrl_labels", [])),
        reason=reason,
    )


R10_TOLERANCE = 1e-5  # float32 one-step relative error; float32 rounding of unit-scale states is ~1e-7


def target_r10(ds: xr.Dataset, model: str, label: str, n_tokens: int) -> dict:
    """R10, a check of the machinery (the layer's algebra), not a claim of the paper: one full step from an
    exactly synchronised state equals the reduced map's step, float32 relative error < 1e-5."""
    e32 = float(ds.one_step_error.sel(dtype="float32").max())
    e64 = (
        float(ds.one_step_error.sel(dtype="float64").max()) if "float64" in ds.dtype.values else float("nan")
    )
    measured = (
        f"{model}, {label}: one-step relative error {e32:.1e} (float32), {e64:.1e} (float64) on exactly "
        f"synchronised states; {float(ds.natural_error.max()):.1e} from the run's end states; N={n_tokens}"
    )
    return target_record(
        target_id="R10",
        claim="reduced map equals the full layer on synchronised states",
        measured=measured,
        holds=bool(e32 < R10_TOLERANCE),
        note=(
            "a check of the machinery, not a claim of the paper: an identity of the layer's algebra (uniform "
            "attention on equal tokens), so it holds for any weights; holds = float32 one-step error < "
            f"{R10_TOLERANCE:g}"
        ),
        unit="the layer's algebra",
        interval=(
            f"max one-step error {e32:.1e} (float32), {e64:.1e} (float64) over {ds.sizes['sample']} states"
        ),
    )
