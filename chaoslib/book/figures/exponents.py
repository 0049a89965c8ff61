"""Figures and numbers of the exponents chapter (local Lyapunov exponents, chaos length, spectrum).

The datasets come from ``chaoslib.dynamics.lyapunov.network_exponents`` (``exponent`` (network,
sample, window), ``chaos_length`` and ``censored`` (network, sample), coordinate ``step``) with a
``role`` coordinate along ``network``: ``"reference"`` for the network under test (the pretrained
one) and ``"comparison"`` for the random networks. Uncertainty: bootstrap intervals over inputs
(``chaoslib.stats``) for one network, the spread over seeds for the random networks.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_band, bootstrap_interval, ratio_interval

REFERENCE, COMPARISON = "reference", "comparison"
REF_COLOR, RAND_COLOR = "C0", "C1"


def with_roles(ds: xr.Dataset, labels: list[str], n_reference: int = 1) -> xr.Dataset:
    """Relabel ``ds.network`` with ``labels`` (e.g. ``ModelInfo.label()``) and mark the first
    ``n_reference`` networks as the reference, the rest as comparison networks."""
    if len(labels) != ds.sizes["network"]:
        raise ChaoslibError(
            f"labels has {len(labels)} entries for {ds.sizes['network']} networks; pass one each"
        )
    roles = [REFERENCE] * n_reference + [COMPARISON] * (len(labels) - n_reference)
    return ds.assign_coords(network=list(labels), role=("network", roles))


def _split(ds: xr.Dataset) -> tuple[str, list[str]]:
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the dataset has no 'role' coordinate; label it with figures.exponents.with_roles"
        )
    roles = ds.role.values
    refs = [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == REFERENCE]
    if len(refs) != 1:
        raise ChaoslibError(f"expected exactly one reference network, found {refs}")
    return refs[0], [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == COMPARISON]


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


# figures ------------------------------------------------------------------------------------------
def local_exponents(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window: the reference with a 95% bootstrap band over inputs; each
    comparison network's mean (thin), their mean over seeds (thick) and its range over seeds (band)."""
    ref, others = _split(ds)
    steps = ds.step.values
    fig, ax = plt.subplots(figsize=(8, 4.4))
    lam_ref = ds.exponent.sel(network=ref).values
    low, high = bootstrap_band(lam_ref, np.mean, seed=seed)
    ax.fill_between(
        steps, low, high, color=REF_COLOR, alpha=0.25, lw=0, label="95% bootstrap interval (inputs)"
    )
    ax.plot(steps, np.nanmean(_finite(lam_ref), 0), color=REF_COLOR, lw=2, label=f"{ref}: mean over inputs")
    if others:
        per_seed = np.nanmean(_finite(ds.exponent.sel(network=others).values), axis=1)  # (seeds, windows)
        for i, row in enumerate(per_seed):
            ax.plot(
                steps,
                row,
                color=RAND_COLOR,
                lw=0.6,
                alpha=0.5,
                label="each random network" if i == 0 else None,
            )
        ax.fill_between(
            steps,
            per_seed.min(0),
            per_seed.max(0),
            color=RAND_COLOR,
            alpha=0.15,
            lw=0,
            label=f"range over {len(others)} random seeds",
        )
        ax.plot(steps, per_seed.mean(0), color=RAND_COLOR, lw=2, label="random: mean over seeds")
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel(f"step t (end of each window of tau = {ds.attrs['tau']})")
    ax.set_ylabel(r"local exponent $\lambda_k$ per step")
    ax.set_title(f"Local Lyapunov exponents, eps = {ds.attrs['eps']:g}, {ds.sizes['sample']} inputs")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def chaos_lengths(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Chaos length of every input per network (dots), the median (bar) with its 95% bootstrap
    interval (error bar), and the comparison networks pooled; dotted: the horizon (censored)."""
    ref, others = _split(ds)
    columns = [(ref, ds.chaos_length.sel(network=ref).values)]
    columns += [(o, ds.chaos_length.sel(network=o).values) for o in others]
    if others:
        columns.append((f"{len(others)} random pooled", ds.chaos_length.sel(network=others).values.ravel()))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(columns) + 3), 4.2))
    for i, (_, values) in enumerate(columns):
        color = REF_COLOR if i == 0 else RAND_COLOR
        jitter = np.random.default_rng(i).uniform(-0.18, 0.18, values.size)
        ax.scatter(i + jitter, values, s=9, alpha=0.5, color=color)
        median = np.median(values)
        low, high = bootstrap_interval(values, np.median, seed=seed)
        ax.errorbar(
            i,
            median,
            yerr=[[median - low], [high - median]],
            fmt="_",
            ms=22,
            mew=2.5,
            color="k",
            capsize=4,
            lw=1.5,
        )
    ax.axhline(
        ds.attrs["n_steps"], color="0.5", ls=":", lw=1, label=f"horizon T = {ds.attrs['n_steps']} (censored)"
    )
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([name for name, _ in columns], rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("chaos length (steps)")
    ax.set_title("Chaos length per input; bar: median with 95% bootstrap interval")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def spectra_dataset(spectra: Mapping[str, object]) -> xr.Dataset:
    """``{label: LyapunovSpectrum}`` -> one dataset with a ``network`` dimension (for :func:`spectrum`)."""
    return xr.concat([s.to_dataset() for s in spectra.values()], dim="network").assign_coords(
        network=list(spectra)
    )


def spectrum(ds: xr.Dataset) -> plt.Figure:
    """Left: top-k spectrum per network (mean over inputs; band: range over inputs). Right: the
    finite-time largest exponent per window (mean over inputs; band: range over inputs)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for i, label in enumerate(ds.network.values):
        color = f"C{i}"
        lam = ds.exponent.sel(network=label).values  # (sample, index)
        ax1.plot(ds.index, lam.mean(0), "o-", ms=3, color=color, label=str(label))
        ax1.fill_between(ds.index, lam.min(0), lam.max(0), color=color, alpha=0.2, lw=0)
        top = ds.window_exponent.sel(network=label).isel(index=0).values  # (sample, window)
        ax2.plot(ds.step, top.mean(0), color=color, lw=1.6, label=str(label))
        ax2.fill_between(ds.step, top.min(0), top.max(0), color=color, alpha=0.2, lw=0)
    for ax in (ax1, ax2):
        ax.axhline(0, color="0.3", lw=0.8)
    ax1.set_xlabel("index i")
    ax1.set_ylabel(r"$\lambda_i$ per step")
    ax1.set_title(f"Top-{ds.attrs['k']} spectrum over {ds.attrs['n_steps']} steps")
    ax2.set_xlabel("step t (end of window)")
    ax2.set_ylabel(r"finite-time $\lambda_1$")
    ax2.set_title(f"Largest finite-time exponent, windows of {ds.attrs['window']}")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def eps_sensitivity(ds: xr.Dataset, seed: int = 0) -> plt.Figure:
    """Mean local exponent per window for each perturbation size eps, 95% bootstrap band over inputs
    (``ds`` from ``chaoslib.dynamics.lyapunov.eps_sensitivity``)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, e in enumerate(ds.eps.values):
        lam = ds.exponent.sel(eps=e).values
        low, high = bootstrap_band(lam, np.mean, seed=seed)
        rounding = float(ds.resolution.sel(eps=e).max())
        ax.plot(
            ds.step,
            np.nanmean(_finite(lam), 0),
            "o-",
            ms=3,
            color=f"C{i}",
            label=f"eps = {e:g} (rounding/eps = {rounding:.1e})",
        )
        ax.fill_between(ds.step, low, high, color=f"C{i}", alpha=0.2, lw=0)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xlabel("step t (end of window)")
    ax.set_ylabel(r"mean $\lambda_k$")
    ax.set_title(
        f"Sensitivity to eps, {ds.sizes['sample']} inputs ({ds.attrs.get('dtype', '')}); band: 95% bootstrap"
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# numbers for the prose and the targets ---------------------------------------------------------------
def comparison_numbers(ds: xr.Dataset, seed: int = 0, prefix: str = "exp_") -> dict:
    """R1 and R2 numbers: first-window exponents, sign change, chaos lengths, test and intervals.

    Keys (``prefix`` + name, ready for ``Chapter.glue_many``; :func:`target_r1` and :func:`target_r2`
    read them without the prefix via ``prefix=``): reference label, mean lambda_0 of the
    reference with a bootstrap interval over inputs, of the random networks (mean over seeds) with
    the range over seeds; the first window where the seeds' mean exponent is <= 0; median chaos
    lengths with bootstrap intervals; the ratio of medians with its interval; the one-sided
    Mann-Whitney U test (``chaoslib.dynamics.lyapunov.compare_chaos_lengths``); censored fractions.
    """
    from chaoslib.dynamics.lyapunov import compare_chaos_lengths

    ref, others = _split(ds)
    lam0_ref = _finite(ds.exponent.sel(network=ref).isel(window=0).values)
    out = {
        "ref_label": ref,
        "n_random": len(others),
        "eps": ds.attrs["eps"],
        "tau": ds.attrs["tau"],
        "T": ds.attrs["n_steps"],
        "n_samples": ds.sizes["sample"],
        "ref_lambda0": float(np.nanmean(lam0_ref)),
    }
    out["ref_lambda0_low"], out["ref_lambda0_high"] = bootstrap_interval(
        lam0_ref[np.isfinite(lam0_ref)], np.mean, seed=seed
    )
    ref_mean = np.nanmean(_finite(ds.exponent.sel(network=ref).values), axis=0)  # (windows,)
    ref_nonpositive = np.flatnonzero(ref_mean <= 0)
    out["ref_sign_change"] = int(ds.step.values[ref_nonpositive[0]]) if ref_nonpositive.size else -1
    out["ref_sign_change_text"] = (
        f"the window ending at step {out['ref_sign_change']}" if ref_nonpositive.size else "no window"
    )
    lengths_ref = ds.chaos_length.sel(network=ref).values
    out["median_ref"] = float(np.median(lengths_ref))
    out["median_ref_low"], out["median_ref_high"] = bootstrap_interval(lengths_ref, np.median, seed=seed)
    if not others:
        return {prefix + k: v for k, v in out.items()}
    per_seed = np.nanmean(_finite(ds.exponent.sel(network=others).values), axis=1)  # (seeds, windows)
    seed_mean = per_seed.mean(0)
    nonpositive = np.flatnonzero(seed_mean <= 0)
    lengths_rand = ds.chaos_length.sel(network=others).values
    test = compare_chaos_lengths(lengths_ref, lengths_rand, n_steps=ds.attrs["n_steps"])
    ratio_low, ratio_high = ratio_interval(lengths_ref, lengths_rand.ravel(), np.median, seed=seed)
    rand_low, rand_high = bootstrap_interval(lengths_rand.ravel(), np.median, seed=seed)
    seed_medians = np.median(lengths_rand, axis=1)
    out.update(
        rand_lambda0=float(seed_mean[0]),
        rand_lambda0_min=float(per_seed[:, 0].min()),
        rand_lambda0_max=float(per_seed[:, 0].max()),
        rand_sign_change=int(ds.step.values[nonpositive[0]]) if nonpositive.size else -1,
        rand_positive_windows=int((seed_mean > 0).sum()),
        median_rand=test.median_others,
        median_rand_low=rand_low,
        median_rand_high=rand_high,
        seed_median_min=float(seed_medians.min()),
        seed_median_max=float(seed_medians.max()),
        median_ratio=test.median_ratio,
        ratio_low=ratio_low,
        ratio_high=ratio_high,
        ratio_text=(
            f"{test.median_ratio:.3g} (95% bootstrap interval {ratio_low:.3g} to {ratio_high:.3g})"
            if test.median_others > 0
            else "not a number: the random networks' median is 0 (their first window already contracts)"
        ),
        p_value=test.p_value,
        u=test.statistic,
        censored_ref=test.censored_reference,
        censored_rand=test.censored_others,
        rand_sign_change_text=(
            f"the window ending at step {int(ds.step.values[nonpositive[0]])}"
            if nonpositive.size
            else "no window"
        ),
    )
    return {prefix + k: v for k, v in out.items()}


def _strip(numbers: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in numbers.items() if k.startswith(prefix)}


def target_r1(numbers: dict, model: str, prefix: str = "exp_") -> dict:
    """``Chapter.target`` arguments for R1 on the reference network (transient chaos: its mean
    lambda_0 > 0 with the 95% interval above 0, and its mean exponent turns non-positive within the
    horizon); the random networks' first-window exponent and sign change are reported beside it."""
    n = _strip(numbers, prefix)
    # lambda_0 > 0 must be established, not just a positive point estimate: the interval's lower end above 0
    holds = bool(n["ref_lambda0_low"] > 0 and n["ref_sign_change"] >= 0)
    measured = (
        f"{model}: mean lambda_0 = {n['ref_lambda0']:.3g} per step (95% CI {n['ref_lambda0_low']:.3g} to "
        f"{n['ref_lambda0_high']:.3g}) for {n['ref_label']}, whose mean exponent is first <= 0 in "
        f"{n['ref_sign_change_text']}; {n['n_random']} random networks: lambda_0 = {n['rand_lambda0']:.3g} "
        f"(range over seeds {n['rand_lambda0_min']:.3g} to {n['rand_lambda0_max']:.3g}), mean exponent first "
        f"<= 0 in {n['rand_sign_change_text']} (eps={n['eps']:g}, tau={n['tau']}, T={n['T']}, "
        f"{n['n_samples']} inputs)"
    )
    note = (
        "checked on the reference network; SPEC 3 also asks for the random networks' sign change (reported)"
    )
    if n["ref_lambda0"] > 0 >= n["ref_lambda0_low"]:
        note += "; the point estimate is positive but its 95% interval includes 0: transient chaos not established"
    if n["rand_lambda0"] <= 0:
        note += "; here the random networks contract from the first window on (no transient chaos at all)"
    return dict(
        target_id="R1",
        claim="transient chaos: lambda_k > 0 early, <= 0 later",
        measured=measured,
        holds=holds,
        note=note,
    )


def target_r2(numbers: dict, model: str, reference_is_pretrained: bool, prefix: str = "exp_") -> dict:
    """``Chapter.target`` arguments for R2 (one-sided Mann-Whitney p < 0.01 and median ratio >= 2)."""
    n = _strip(numbers, prefix)
    measured = (
        f"{model}: median chaos length {n['median_ref']:.0f} (95% CI {n['median_ref_low']:.0f}-"
        f"{n['median_ref_high']:.0f}) for {n['ref_label']} vs {n['median_rand']:.0f} "
        f"({n['median_rand_low']:.0f}-{n['median_rand_high']:.0f}) for {n['n_random']} random networks "
        f"pooled; ratio of medians {n['ratio_text']}; "
        f"one-sided Mann-Whitney p = {n['p_value']:.3g} (T={n['T']}, {n['n_samples']} inputs)"
    )
    holds = bool(n["p_value"] < 0.01 and n["median_ratio"] >= 2) if reference_is_pretrained else None
    note = (
        "" if reference_is_pretrained else "the reference network is random: a null comparison, not the claim"
    )
    return dict(
        target_id="R2",
        claim="pretrained transient significantly longer than random",
        measured=measured,
        holds=holds,
        note=note,
    )


def verdict(target: dict) -> str:
    """Prose for a target's verdict: ``holds``, ``does not hold`` or ``cannot be checked here``."""
    return {True: "holds", False: "does not hold", None: "cannot be checked here"}[target["holds"]]


def spectrum_numbers(ds: xr.Dataset) -> dict:
    """Numbers of the first network in a :func:`spectra_dataset`: lambda_1 and lambda_k (mean over
    inputs, with the range over inputs), how many of the top k are positive, the Kaplan-Yorke dimension."""
    first = ds.isel(network=0)
    lam = first.exponent.values  # (sample, index)
    ky = first.kaplan_yorke.values
    if np.isnan(ky).all():
        ky_text = f"at least {ds.attrs['k']} (the top-{ds.attrs['k']} partial sums stay non-negative)"
    else:
        ky_text = f"{np.nanmean(ky):.3g}" + (
            f" (defined for {np.isfinite(ky).sum()} of {ky.size} inputs)" if np.isnan(ky).any() else ""
        )
    return {
        "exp_spec_label": str(first.network.values),
        "exp_spec_k": int(ds.attrs["k"]),
        "exp_spec_steps": int(ds.attrs["n_steps"]),
        "exp_spec_samples": int(ds.sizes["sample"]),
        "exp_spec_lambda1": float(lam[:, 0].mean()),
        "exp_spec_lambda1_min": float(lam[:, 0].min()),
        "exp_spec_lambda1_max": float(lam[:, 0].max()),
        "exp_spec_lambdak": float(lam[:, -1].mean()),
        "exp_spec_positive": int((lam.mean(0) > 0).sum()),
        "exp_ky": ky_text,
    }


def sensitivity_numbers(ds: xr.Dataset) -> dict:
    """Range over eps of the mean first-window exponent and of the median chaos length."""
    lam0 = _finite(ds.exponent.isel(window=0).values)
    lam0_by_eps = np.nanmean(lam0, axis=1)
    medians = ds.chaos_length.median("sample").values
    return {
        "exp_sens_eps": ", ".join(f"{e:g}" for e in ds.eps.values),
        "exp_sens_lambda0_min": float(lam0_by_eps.min()),
        "exp_sens_lambda0_max": float(lam0_by_eps.max()),
        "exp_sens_median_min": float(medians.min()),
        "exp_sens_median_max": float(medians.max()),
        "exp_sens_samples": int(ds.sizes["sample"]),
    }
