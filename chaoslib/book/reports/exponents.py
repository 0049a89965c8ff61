"""Numbers and verdicts of the exponents chapter (R1: transient chaos; R2: chaos length, reference vs random).

The datasets come from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.Exponents` (``exponent`` (network, sample, window), ``chaos_length`` and
``chaos_censored`` (network, sample), coordinate ``window_end``), labelled by :func:`with_roles` with a ``role``
coordinate along ``network``: ``"reference"`` for the network under test and ``"comparison"`` for the random
networks. Uncertainty: bootstrap intervals over inputs (``chaoslib.stats``) for one network, the spread over seeds
for the random networks.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.verdicts import target_record
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval, ratio_interval

REFERENCE, COMPARISON = "reference", "comparison"


def compared(ch, networks: list, analysis, n_samples: int, n_tokens: int, kind: str) -> xr.Dataset:
    """``analysis`` (an :class:`~chaoslib.studies.analyses.Exponents`) of the chapter's networks on
    ``n_samples`` dynamics inputs of ``n_tokens`` tokens (``kind`` ``"pair"`` or ``"paragraph"``), labelled: the
    first network is the reference. ``ch``: the :class:`~chaoslib.book.chapter.Chapter`."""
    ds = ch.compare(networks, analysis, ch.inputs(n_samples, n_tokens, kind))
    return with_roles(ds.assign_attrs(n_tokens=n_tokens, kind=kind), [str(n) for n in ds.network.values])


def with_roles(ds: xr.Dataset, labels: list[str], n_reference: int = 1) -> xr.Dataset:
    """Relabel ``ds.network`` with ``labels`` (e.g. ``Network.label()``) and mark the first
    ``n_reference`` networks as the reference, the rest as comparison networks."""
    if len(labels) != ds.sizes["network"]:
        raise ChaoslibError(
            f"labels has {len(labels)} entries for {ds.sizes['network']} networks; pass one each"
        )
    roles = [REFERENCE] * n_reference + [COMPARISON] * (len(labels) - n_reference)
    return ds.assign_coords(network=list(labels), role=("network", roles))


def split_roles(ds: xr.Dataset) -> tuple[str, list[str]]:
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the dataset has no 'role' coordinate; label it with figures.exponents.with_roles"
        )
    roles = ds.role.values
    refs = [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == REFERENCE]
    if len(refs) != 1:
        raise ChaoslibError(f"expected exactly one reference network, found {refs}")
    return refs[0], [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == COMPARISON]


def finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


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

    ref, others = split_roles(ds)
    lam0_ref = finite(ds.exponent.sel(network=ref).isel(window=0).values)
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
    ref_mean = np.nanmean(finite(ds.exponent.sel(network=ref).values), axis=0)  # (windows,)
    ref_nonpositive = np.flatnonzero(ref_mean <= 0)
    out["ref_sign_change"] = int(ds.window_end.values[ref_nonpositive[0]]) if ref_nonpositive.size else -1
    out["ref_sign_change_text"] = (
        f"the window ending at step {out['ref_sign_change']}" if ref_nonpositive.size else "no window"
    )
    lengths_ref = ds.chaos_length.sel(network=ref).values
    out["median_ref"] = float(np.median(lengths_ref))
    out["median_ref_low"], out["median_ref_high"] = bootstrap_interval(lengths_ref, np.median, seed=seed)
    if not others:
        return {prefix + k: v for k, v in out.items()}
    per_seed = np.nanmean(finite(ds.exponent.sel(network=others).values), axis=1)  # (seeds, windows)
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
        rand_sign_change=int(ds.window_end.values[nonpositive[0]]) if nonpositive.size else -1,
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
            f"the window ending at step {int(ds.window_end.values[nonpositive[0]])}"
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
    return target_record(
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
    return target_record(
        target_id="R2",
        claim="pretrained transient significantly longer than random",
        measured=measured,
        holds=holds,
        note=note,
    )


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
    lam0 = finite(ds.exponent.isel(window=0).values)
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
