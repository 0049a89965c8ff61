"""Figures and numbers of the trajectories chapter (hidden units over time, token spread, the long run).

The datasets are ``chaoslib.dynamics.runner.run_trajectory`` results of several networks on the same
inputs, concatenated along ``network`` and labelled with ``chaoslib.book.figures.exponents.with_roles``
(one ``reference``: the pretrained network; ``comparison``: random networks): ``units`` (network,
sample, step, units_token, units_unit) and ``token_spread`` (network, sample, step). Sample 0 is the
authors' input ("ALBERT stands for A Lite BERT." / "Hello world!"). Uncertainty: bootstrap intervals
over inputs for the reference, the spread over seeds for the random networks.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from chaoslib.book.figures.exponents import RAND_COLOR, REF_COLOR, _split, verdict, with_roles
from chaoslib.dynamics.sync import sync_offset
from chaoslib.stats import bootstrap_interval, ratio_interval

__all__ = [
    "with_roles",
    "by_network",
    "unit_trajectories",
    "token_spread",
    "short_run_numbers",
    "long_run_numbers",
    "target_r3",
    "verdict",
]


def by_network(runs: dict[str, xr.Dataset], labels: list[str]) -> xr.Dataset:
    """``run_trajectory`` results (one per network, same inputs) -> one dataset along ``network``, the
    first network the reference (:func:`with_roles`); each run's ``steps_per_second`` kept per network."""
    speeds = [float(r.attrs.get("steps_per_second", np.nan)) for r in runs.values()]
    ds = xr.concat(list(runs.values()), dim="network", combine_attrs="drop")
    return with_roles(ds.assign(steps_per_second=("network", speeds)), labels)


def edition_text(profile: str, model_name: str, reference_weights: str, reference_label: str) -> str:
    """One sentence for the prose: which network this edition runs as its reference."""
    if reference_weights != "pretrained":
        return (
            f"The {profile} edition's reference network is random ({reference_label}): no pretrained "
            "network takes part in this run."
        )
    if model_name == "albert-large-v2":
        return f"The {profile} edition runs albert-large-v2 with its published pretrained weights."
    return (
        f"The {profile} edition runs {model_name}, a small ALBERT pretrained here on WikiText-2 (hidden size "
        "128, 4 heads, at most 128 positions), not albert-large-v2, whose weights are not available offline."
    )


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)


def unit_trajectories(ds: xr.Dataset, sample: int = 0) -> plt.Figure:
    """Chosen hidden units (rows) of the first tokens (lines) over the steps, for the reference network
    (left) and the first random network (right), input ``sample``."""
    ref, others = _split(ds)
    names = [ref] + others[:1]
    units = ds.units_unit.values
    fig, axes = plt.subplots(
        len(units), len(names), figsize=(5 * len(names), 1.8 * len(units) + 0.8), sharex=True, squeeze=False
    )
    for col, name in enumerate(names):
        for row, unit in enumerate(units):
            ax = axes[row, col]
            for token in ds.units_token.values:
                values = ds.units.sel(network=name, units_token=token, units_unit=unit).isel(sample=sample)
                ax.plot(ds.step.values, values.values, lw=0.8, label=f"token {token}")
            ax.set_ylabel(f"unit {unit}")
        axes[0, col].set_title(name, fontsize=9)
        axes[-1, col].set_xlabel("step t")
    axes[0, 0].legend(ncol=len(ds.units_token), fontsize=7, loc="upper right")
    return fig


def token_spread(ds: xr.Dataset, sample: int = 0) -> plt.Figure:
    """sigma(t) on a log axis. Left: input ``sample`` through the reference (thick) and each random
    network (thin). Right (when there are several inputs): the median over inputs of the reference,
    with the 10-90% range over inputs as a band, and the median over inputs of each random network."""
    ref, others = _split(ds)
    several = ds.sizes["sample"] > 1
    fig, axes = plt.subplots(
        1, 2 if several else 1, figsize=(11 if several else 7, 4), sharey=True, squeeze=False
    )
    steps = ds.step.values
    ax = axes[0, 0]
    for i, n in enumerate(others):
        ax.semilogy(
            steps,
            _positive(ds.token_spread.sel(network=n).isel(sample=sample).values),
            color=RAND_COLOR,
            lw=0.7,
            alpha=0.7,
            label="each random network" if i == 0 else None,
        )
    ax.semilogy(
        steps,
        _positive(ds.token_spread.sel(network=ref).isel(sample=sample).values),
        color=REF_COLOR,
        lw=1.6,
        label=ref,
    )
    ax.set_title("the authors' input" if sample == 0 else f"input {sample}", fontsize=9)
    ax.set_ylabel(r"token spread $\sigma(t)$")
    ax.legend(fontsize=7)
    if several:
        ax = axes[0, 1]
        spread = ds.token_spread.sel(network=ref).values
        ax.fill_between(
            steps,
            np.quantile(spread, 0.1, axis=0),
            np.quantile(spread, 0.9, axis=0),
            color=REF_COLOR,
            alpha=0.2,
            lw=0,
            label="10-90% of inputs",
        )
        ax.semilogy(
            steps, _positive(np.median(spread, axis=0)), color=REF_COLOR, lw=1.6, label=f"{ref}: median"
        )
        for i, n in enumerate(others):
            ax.semilogy(
                steps,
                _positive(np.median(ds.token_spread.sel(network=n).values, axis=0)),
                color=RAND_COLOR,
                lw=0.7,
                alpha=0.8,
                label="each random network: median" if i == 0 else None,
            )
        ax.set_title(f"median over {ds.sizes['sample']} inputs", fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("step t")
    return fig


def short_run_numbers(ds: xr.Dataset, sample: int = 0) -> dict:
    """sigma at t=0 and at the last step for input ``sample`` (keys prefixed ``traj_``): the reference,
    and the median and range over the random networks; the reference's steps per second."""
    ref, others = _split(ds)
    spread = ds.token_spread.isel(sample=sample)
    out = {
        "ref_label": ref,
        "n_random": len(others),
        "steps": int(ds.step.values[-1]),
        "tokens": int(ds.attrs.get("n_tokens", 0)),
        "active": int(ds.attrs.get("active_tokens", 0)),
        "ref_sigma0": float(spread.sel(network=ref).isel(step=0)),
        "ref_sigmaT": float(spread.sel(network=ref).isel(step=-1)),
        "steps_per_s": float(ds.steps_per_second.sel(network=ref)),
    }
    if others:
        end = spread.sel(network=others).isel(step=-1).values
        out.update(
            rand_sigmaT=float(np.median(end)),
            rand_sigmaT_min=float(end.min()),
            rand_sigmaT_max=float(end.max()),
        )
    return {"traj_" + k: v for k, v in out.items()}


def long_run_numbers(ds: xr.Dataset, threshold: float = 1e-5, relative: bool = True, seed: int = 0) -> dict:
    """Sync offsets of the long run (keys prefixed ``long_``): t_sync of the authors' input (sample 0)
    through the reference and through each random network; medians over inputs with bootstrap
    intervals; the ratio of medians reference / random with its interval; censored counts."""
    ref, others = _split(ds)
    horizon = int(ds.step.values[-1])

    def offsets(name):
        return sync_offset(ds.token_spread.sel(network=name), threshold, relative)

    r = offsets(ref)
    out = {
        "ref_label": ref,
        "n_random": len(others),
        "steps": horizon,
        "n_samples": ds.sizes["sample"],
        "tokens": int(ds.attrs.get("n_tokens", 0)),
        "authors_ref": int(r.offset[0]),
        "authors_ref_censored": bool(r.censored[0]),
        "ref_median": float(np.median(r.offset)),
        "ref_censored": int(r.censored.sum()),
        "steps_per_s": float(ds.steps_per_second.sel(network=ref)),
    }
    out["authors_ref_text"] = (
        f"no synchronisation within {horizon} steps"
        if r.censored[0]
        else f"tokens synchronise at step {int(r.offset[0])}"
    )
    out["ref_median_low"], out["ref_median_high"] = bootstrap_interval(r.offset, np.median, seed=seed)
    if others:
        rand = [offsets(n) for n in others]
        authors = np.array([o.offset[0] for o in rand])
        synced = np.array([not o.censored[0] for o in rand])
        out["authors_rand_text"] = (
            f"it synchronises between step {authors[synced].min()} and {authors[synced].max()} in "
            f"{synced.sum()} of {len(rand)}"
            if synced.any()
            else f"it synchronises in none of the {len(rand)}"
        ) + f" within {horizon} steps"
        pooled = np.concatenate([o.offset for o in rand])
        out.update(
            authors_rand_min=int(authors.min()),
            authors_rand_max=int(authors.max()),
            authors_rand_median=float(np.median(authors)),
            rand_median=float(np.median(pooled)),
            rand_censored=int(sum(o.censored.sum() for o in rand)),
            rand_inputs=int(pooled.size),
        )
        out["rand_median_low"], out["rand_median_high"] = bootstrap_interval(pooled, np.median, seed=seed)
        out["ratio"] = out["ref_median"] / out["rand_median"] if out["rand_median"] > 0 else float("inf")
        out["ratio_low"], out["ratio_high"] = ratio_interval(r.offset, pooled, np.median, seed=seed)
        # the direction of the comparison in words, decided by the interval of the ratio, not its point value
        out["direction"] = (
            "longer than"
            if out["ratio_low"] > 1
            else "shorter than"
            if out["ratio_high"] < 1
            else "not distinguishable from"
        )
    return {"long_" + k: v for k, v in out.items()}


def target_r3(numbers: dict, model: str, reference_is_pretrained: bool, claimed: int = 10_000) -> dict:
    """R3 on the reference network: the authors' 16-token input stays unsynchronised for ``claimed``
    steps or more. Undecidable (None) when the horizon is shorter than the claim and the tokens have
    not synchronised, or when the reference is not pretrained."""
    n = {k[len("long_") :]: v for k, v in numbers.items()}
    measured = (
        f"{model}, {n['ref_label']}, authors' input at N={n['tokens']}: {n['authors_ref_text']}; median "
        f"t_sync over {n['n_samples']} inputs {n['ref_median']:.0f} [{n['ref_median_low']:.0f}, "
        f"{n['ref_median_high']:.0f}] ({n['ref_censored']} censored at {n['steps']})"
    )
    if "rand_median" in n:
        measured += (
            f"; {n['n_random']} random networks: median {n['rand_median']:.0f} [{n['rand_median_low']:.0f}, "
            f"{n['rand_median_high']:.0f}]"
        )
    if not reference_is_pretrained:
        holds, note = None, "needs a pretrained network; the reference here is random"
    elif not n["authors_ref_censored"]:
        holds, note = bool(n["authors_ref"] >= claimed), f"holds = t_sync of the authors' input >= {claimed}"
    elif n["steps"] >= claimed:
        holds, note = True, f"no synchronisation within {n['steps']} >= {claimed} steps"
    else:
        holds, note = None, f"censored at {n['steps']} < {claimed} steps: the horizon is too short to decide"
    return dict(
        target_id="R3",
        claim="pretrained transient of order 10^4 steps or more (16 tokens)",
        measured=measured,
        holds=holds,
        note=note,
    )
