"""Numbers and the R6 verdict of the effective-dimension chapter.

The dataset comes from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.EffectiveDimensions` (``effective_dimension``, ``relative_variance``,
``resolved`` (network, step)), run by :func:`compared`, with a ``role`` coordinate along ``network``:
``"reference"`` (the network under test on the shared inputs), ``"reference, other inputs"`` (the same
network on independent draws of M inputs: the spread that comes from sampling the inputs) and ``"comparison"``
(random networks on the shared inputs: the spread over seeds). Steps where a cloud has collapsed to rounding
noise are not read.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.verdicts import target_record
from chaoslib.errors import ChaoslibError
from chaoslib.stats import bootstrap_interval

REFERENCE, OTHER_INPUTS, COMPARISON = "reference", "reference, other inputs", "comparison"


def compared(ch, networks, analysis, input_draws: int) -> xr.Dataset:
    """``analysis`` (e.g. :class:`~chaoslib.studies.analyses.EffectiveDimensions`) of the reference
    (``networks[0]``) on ``input_draws`` independent draws of the chapter's inputs (draw d with seed
    ``seed + d``) and of the comparison networks (``networks[1:]``) on the first draw, through ``ch.compare``;
    labelled by :func:`with_roles` (the reference on draw d >= 1 as ``"<its label>, inputs #d"``)."""
    reference, comparisons = networks[0], list(networks[1:])
    draws = [ch.inputs(seed=ch.p.seed + d) for d in range(input_draws)]
    labels = [reference.label()] + [f"{reference.label()}, inputs #{d}" for d in range(1, input_draws)]
    labels += [n.label() for n in comparisons]
    ds = ch.compare([reference] * input_draws + comparisons, analysis, draws + [draws[0]] * len(comparisons),
                    labels=labels)
    return with_roles(ds, labels, input_draws, len(comparisons))


def with_roles(ds: xr.Dataset, labels: list[str], n_input_draws: int, n_comparison: int) -> xr.Dataset:
    """Relabel ``ds.network`` and mark its roles: the reference on the shared inputs first, then
    ``n_input_draws - 1`` runs of the reference on other inputs, then ``n_comparison`` networks."""
    roles = [REFERENCE] + [OTHER_INPUTS] * (n_input_draws - 1) + [COMPARISON] * n_comparison
    if len(labels) != ds.sizes["network"] or len(roles) != ds.sizes["network"]:
        raise ChaoslibError(
            f"{ds.sizes['network']} networks but {len(labels)} labels and {len(roles)} roles "
            f"(n_input_draws={n_input_draws}, n_comparison={n_comparison}); pass one label per network"
        )
    return ds.assign_coords(network=list(labels), role=("network", roles))


def members(ds: xr.Dataset, role: str) -> list[str]:
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the dataset has no 'role' coordinate; label it with reports.effective_dimension.with_roles"
        )
    return [str(n) for n, r in zip(ds.network.values, ds.role.values, strict=True) if r == role]


def readable(ds: xr.Dataset, name: str = "effective_dimension") -> xr.DataArray:
    """``ds[name]`` with NaN where the cloud has collapsed to rounding noise (``resolved`` False)."""
    return ds[name].where(ds.resolved)


def r6_numbers(ds: xr.Dataset, horizon: int, seed: int = 0) -> dict:
    """R6 numbers (``ed_`` prefixed, for ``Chapter.glue_many``).

    - ``ed_fraction_above``: fraction of steps t <= horizon at which the reference's ED exceeds
      that of EVERY random network (steps where the reference is collapsed count as not above);
    - ``ed_gap`` (mean over seeds of the median over t <= horizon of ED_ref - ED_rand_s) with a 95%
      bootstrap interval over seeds;
    - ``ed_stability``: the reference's ED at t = horizon over its largest ED for t <= horizon
      (1 = no decay), and the same for the random median;
    - ED at t = 0, 10 and horizon, with the range over input draws and over seeds.
    """
    ref, others = members(ds, REFERENCE)[0], members(ds, COMPARISON)
    draws = [ref] + members(ds, OTHER_INPUTS)
    window = readable(ds).sel(step=slice(0, horizon))
    ed_ref = window.sel(network=ref)
    out = {
        "ed_reference": ref,
        "ed_n_samples": int(ds.attrs["n_samples"]),
        "ed_n_steps": int(ds.step.values[-1]),
        "ed_horizon": int(horizon),
        "ed_n_random": len(others),
        "ed_n_draws": len(draws),
        "ed_ref_t0": float(ds.effective_dimension.sel(network=ref, step=0)),
        "ed_ref_t10": float(ed_ref.sel(step=10)),
        "ed_ref_horizon": float(ed_ref.sel(step=horizon)),
        "ed_draws_horizon_min": float(window.sel(network=draws, step=horizon).min()),
        "ed_draws_horizon_max": float(window.sel(network=draws, step=horizon).max()),
        "ed_ref_stability": float(ed_ref.sel(step=horizon) / ed_ref.max()),
        "ed_collapsed": ", ".join(
            f"{lab} (from step {int(ds.step[~ds.resolved.sel(network=lab)][0])})"
            for lab in ds.network.values
            if not bool(ds.resolved.sel(network=lab).all())
        )
        or "none",
    }
    if not others:
        return out
    rand = window.sel(network=others)
    above = (ed_ref > rand.max("network").fillna(-np.inf)).fillna(False)
    per_seed = (ed_ref - rand).median("step").values  # (seeds,)
    gap_low, gap_high = bootstrap_interval(per_seed[np.isfinite(per_seed)], np.mean, seed=seed)
    rand_median = rand.median("network")
    out.update(
        ed_fraction_above=float(above.mean()),
        ed_gap=float(np.nanmean(per_seed)),
        ed_gap_low=gap_low,
        ed_gap_high=gap_high,
        ed_rand_horizon=float(rand_median.sel(step=horizon)),
        ed_rand_horizon_min=float(rand.sel(step=horizon).min()),
        ed_rand_horizon_max=float(rand.sel(step=horizon).max()),
        ed_rand_t10=float(rand_median.sel(step=10)),
        ed_rand_stability=float(rand_median.sel(step=horizon) / rand_median.max()),
    )
    return out


STABLE = 0.5
"""Our reading of "stable": ED at the horizon keeps at least half of its largest value up to there."""


def target_r6(numbers: dict, model: str, reference_is_pretrained: bool) -> dict:
    """The record of R6 (:func:`chaoslib.book.reports.verdicts.target_record`); "most t": more than half of
    the steps t <= horizon."""
    n = numbers
    measured = (
        f"{model}: ED of {n['ed_reference']} above every one of {n['ed_n_random']} random networks at "
        f"{100 * n['ed_fraction_above']:.0f}% of steps t <= {n['ed_horizon']}; median gap "
        f"{n['ed_gap']:.3g} (95% CI over seeds {n['ed_gap_low']:.3g} to {n['ed_gap_high']:.3g}); "
        f"ED(t={n['ed_horizon']}) = {n['ed_ref_horizon']:.3g} (input draws {n['ed_draws_horizon_min']:.3g}-"
        f"{n['ed_draws_horizon_max']:.3g}) vs random median {n['ed_rand_horizon']:.3g} (seeds "
        f"{n['ed_rand_horizon_min']:.3g}-{n['ed_rand_horizon_max']:.3g}); stability ED(horizon)/max "
        f"{n['ed_ref_stability']:.2f} (random {n['ed_rand_stability']:.2f}); M={n['ed_n_samples']}"
    )
    holds = (
        bool(n["ed_fraction_above"] > 0.5 and n["ed_ref_stability"] >= STABLE)
        if reference_is_pretrained
        else None
    )
    note = (
        f"'most t' read as more than half of the steps t <= {n['ed_horizon']}; 'stable' as ED(horizon) >= "
        f"{STABLE} x its maximum up to there"
    )
    if not reference_is_pretrained:
        note += "; the reference network is random: a comparison among random networks, not the claim"
    return target_record(
        target_id="R6",
        claim="pretrained effective dimension higher and stable",
        measured=measured,
        holds=holds,
        note=note,
    )
