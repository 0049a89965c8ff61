"""Numbers and the R6 verdict of the effective-dimension chapter.

The dataset comes from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.EffectiveDimensions` (``effective_dimension``, ``relative_variance``,
``resolved`` (network, step)), run by :func:`compared`, with a ``role`` coordinate along ``network``:
``"reference"`` (the network under test on the shared inputs), ``"reference, other inputs"`` (the same
network on independent draws of M inputs: the spread that comes from sampling the inputs), ``"comparison"``
(random networks on the shared inputs: the spread over seeds) and ``"control"`` (the control networks of
:func:`chaoslib.model.network.control_networks` on the shared inputs, their kind in the ``control``
coordinate). Steps where a cloud has collapsed to rounding noise are not read.

ED(0) is the cloud of the embedding outputs x(0): the embedding geometry, before the shared layer acts. R6
reads the dynamics as ED(t) / ED(0), each network normalised by its own ED at step 0, so that a higher ED that
the embeddings alone bring is not credited to the layer; the two hybrids (the reference's embeddings with a
random layer, and the reverse) say which half a difference in ED comes with.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from chaoslib.book.reports.phrasing import ranges_from, strip_verdict
from chaoslib.book.reports.verdicts import THRESHOLD, network_rule, target_record
from chaoslib.errors import ChaoslibError
from chaoslib.stats import PermutationTest, bootstrap_interval, reference_vs_others

REFERENCE, OTHER_INPUTS, COMPARISON, CONTROL = "reference", "reference, other inputs", "comparison", "control"
EMBEDDINGS_HYBRID = "reference embeddings, random layer"
LAYER_HYBRID = "random embeddings, reference layer"


def compared(ch, networks, analysis, input_draws: int, controls: list[str] | tuple[str, ...] = (),
             control_seed: int = 0) -> xr.Dataset:
    """``analysis`` (e.g. :class:`~chaoslib.studies.analyses.EffectiveDimensions`) of the reference
    (``networks[0]``) on ``input_draws`` independent draws of the chapter's inputs (draw d with seed
    ``seed + d``), of the comparison networks (``networks[1:]``) and of the reference's ``controls`` (roles of
    :func:`chaoslib.model.network.control_networks`, the hybrids taking the first comparison network, seed
    ``control_seed``) on the first draw, through ``ch.compare``; labelled by :func:`with_roles` (the reference
    on draw d >= 1 as ``"<its label>, inputs #d"``)."""
    from chaoslib.model.network import control_networks

    reference, comparisons = networks[0], list(networks[1:])
    made = []
    if controls and comparisons:  # the hybrids take their other half from the first comparison network
        made = control_networks(reference, comparisons[0], seed=control_seed, roles=tuple(controls))
    draws = [ch.inputs(seed=ch.p.seed + d) for d in range(input_draws)]
    labels = [reference.label()] + [f"{reference.label()}, inputs #{d}" for d in range(1, input_draws)]
    labels += [n.label() for n in comparisons] + [n.label() for _, n in made]
    runs = [reference] * input_draws + comparisons + [n for _, n in made]
    ds = ch.compare(runs, analysis, draws + [draws[0]] * (len(comparisons) + len(made)), labels=labels)
    return with_roles(ds, labels, input_draws, len(comparisons), [role for role, _ in made])


def with_roles(ds: xr.Dataset, labels: list[str], n_input_draws: int, n_comparison: int,
               controls: list[str] | tuple[str, ...] = ()) -> xr.Dataset:
    """Relabel ``ds.network`` and mark its roles: the reference on the shared inputs first, then
    ``n_input_draws - 1`` runs of the reference on other inputs, then ``n_comparison`` networks, then one
    control network per entry of ``controls`` (its kind, kept in the ``control`` coordinate)."""
    roles = [REFERENCE] + [OTHER_INPUTS] * (n_input_draws - 1) + [COMPARISON] * n_comparison
    roles += [CONTROL] * len(controls)
    if len(labels) != ds.sizes["network"] or len(roles) != ds.sizes["network"]:
        raise ChaoslibError(
            f"{ds.sizes['network']} networks but {len(labels)} labels and {len(roles)} roles "
            f"(n_input_draws={n_input_draws}, n_comparison={n_comparison}, {len(controls)} controls); "
            "pass one label per network"
        )
    kinds = [""] * (len(roles) - len(controls)) + list(controls)
    return ds.assign_coords(network=list(labels), role=("network", roles), control=("network", kinds))


def members(ds: xr.Dataset, role: str) -> list[str]:
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the dataset has no 'role' coordinate; label it with reports.effective_dimension.with_roles"
        )
    return [str(n) for n, r in zip(ds.network.values, ds.role.values, strict=True) if r == role]


def controls_of(ds: xr.Dataset) -> dict[str, str]:
    """Kind -> label of the control networks in ``ds`` (none when it has no ``control`` coordinate)."""
    if "control" not in ds.coords:
        return {}
    return {str(k): str(n) for n, k in zip(ds.network.values, ds.control.values, strict=True) if k}


def readable(ds: xr.Dataset, name: str = "effective_dimension") -> xr.DataArray:
    """``ds[name]`` with NaN where the cloud has collapsed to rounding noise (``resolved`` False)."""
    return ds[name].where(ds.resolved)


def normalised(ds: xr.Dataset) -> xr.DataArray:
    """ED(t) / ED(0) of every network (network, step): what the layer's iterations do to the spread the
    embeddings gave; NaN where the cloud has collapsed."""
    return readable(ds) / ds.effective_dimension.sel(step=0)


def reference_above_others(values) -> PermutationTest:
    """Exact one-sided permutation test over networks that the first of ``values`` (n_networks,) (the reference
    network's summary) lies above the others (:func:`chaoslib.stats.reference_vs_others`)."""
    values = np.asarray(values, dtype=float)
    return reference_vs_others(values[0], values[1:], "greater")


def _median_over(values: xr.DataArray) -> float:
    """Median over steps of a (step,) array, NaN (collapsed) steps left out; NaN when none is readable."""
    finite = values.values[np.isfinite(values.values)]
    return float(np.median(finite)) if finite.size else float("nan")


def step_summaries(ds: xr.Dataset, horizon: int) -> xr.Dataset:
    """Per network: ``level`` (median ED over 1 <= t <= horizon) and ``kept`` (median ED(t) / ED(0) over the
    same steps; the R6 summary with networks as the unit)."""
    window = slice(1, horizon)
    level = [_median_over(readable(ds).sel(network=n, step=window)) for n in ds.network.values]
    kept = [_median_over(normalised(ds).sel(network=n, step=window)) for n in ds.network.values]
    return xr.Dataset({"level": ("network", level), "kept": ("network", kept)},
                      coords={"network": ds.network.values})


def _relation(value: float, low: float, high: float) -> str:
    """Where a control's summary lies relative to the reference's range over input draws."""
    if not np.isfinite(value):
        return "collapsed"
    return "below" if value < low else "above" if value > high else "within"


def r6_numbers(ds: xr.Dataset, horizon: int, seed: int = 0) -> dict:
    """R6 numbers (``ed_`` prefixed, for ``Chapter.glue_many``).

    ED itself (as the authors): ``ed_fraction_above`` (fraction of steps t <= horizon at which the reference's
    ED exceeds that of EVERY random network; a collapsed reference step counts as not above), ``ed_gap`` (mean
    over seeds of the median over t <= horizon of ED_ref - ED_rand_s, with a 95% bootstrap interval over
    seeds), ED at t = 0, 10 and horizon with the range over input draws and over seeds, ``ed_ref_stability``
    (ED at the horizon over its largest value up to there; 1 = no decay).

    The dynamics, R6's reading: ``ed_norm_fraction_above`` (the same fraction for ED(t)/ED(0), steps
    1..horizon), per network the median of ED(t)/ED(0) over 1 <= t <= horizon (``ed_norm_ref`` with its range
    over input draws, the random median ``ed_norm_rand`` with its 95% bootstrap interval over seeds,
    ``ed_norm_gap`` their difference with its interval), and the exact permutation test over networks of that
    summary (``ed_test_p``, ``ed_test_smallest_p``, ``ed_test_n_networks``).

    Controls (where run): each control's summary and where it lies relative to the reference's range over
    input draws (``ed_controls``); the hybrids' ED level (median ED over 1 <= t <= horizon) against the
    reference's and its hybrid partner's (the first comparison network), and which hybrid the reference's
    level is closer to (``ed_hybrid_closer``: "embeddings", "layer" or "" without hybrids).
    """
    ref, others = members(ds, REFERENCE)[0], members(ds, COMPARISON)
    draws = [ref] + members(ds, OTHER_INPUTS)
    window = readable(ds).sel(step=slice(0, horizon))
    ed_ref = window.sel(network=ref)
    summary = step_summaries(ds, horizon)
    kept_draws = summary.kept.sel(network=draws).values
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
        "ed_norm_ref": float(summary.kept.sel(network=ref)),
        "ed_norm_draws_min": float(np.nanmin(kept_draws)),
        "ed_norm_draws_max": float(np.nanmax(kept_draws)),
        "ed_collapsed": ", ".join(
            f"{lab} (from step {int(ds.step[~ds.resolved.sel(network=lab)][0])})"
            for lab in ds.network.values
            if not bool(ds.resolved.sel(network=lab).all())
        )
        or "none",
    }
    out.update(_control_numbers(ds, summary, out, others))
    out["ed_draws_horizon_text"] = _over_draws(out["ed_draws_horizon_min"], out["ed_draws_horizon_max"],
                                               len(draws), ".1f")
    out["ed_norm_draws_text"] = _over_draws(out["ed_norm_draws_min"], out["ed_norm_draws_max"], len(draws),
                                            ".3g")
    if not others:
        return out
    rand = window.sel(network=others)
    above = (ed_ref > rand.max("network").fillna(-np.inf)).fillna(False)
    per_seed = (ed_ref - rand).median("step").values  # (seeds,)
    gap_low, gap_high = bootstrap_interval(per_seed[np.isfinite(per_seed)], np.mean, seed=seed)
    rand_median = rand.median("network")
    norm = normalised(ds).sel(step=slice(1, horizon))
    highest = norm.sel(network=others).max("network").fillna(-np.inf)
    norm_above = (norm.sel(network=ref) > highest).fillna(False)
    kept_rand = summary.kept.sel(network=others).values
    kept_rand = kept_rand[np.isfinite(kept_rand)]
    rand_low, rand_high = bootstrap_interval(kept_rand, np.median, seed=seed)
    test = reference_above_others(np.concatenate([[out["ed_norm_ref"]], kept_rand]))
    out.update(
        ed_fraction_above=float(above.mean()),
        ed_gap=float(np.nanmean(per_seed)),
        ed_gap_low=gap_low,
        ed_gap_high=gap_high,
        ed_rand_t0=float(ds.effective_dimension.sel(network=others, step=0).median()),
        ed_rand_horizon=float(rand_median.sel(step=horizon)),
        ed_rand_horizon_min=float(rand.sel(step=horizon).min()),
        ed_rand_horizon_max=float(rand.sel(step=horizon).max()),
        ed_rand_t10=float(rand_median.sel(step=10)),
        ed_rand_stability=float(rand_median.sel(step=horizon) / rand_median.max()),
        ed_norm_fraction_above=float(norm_above.mean()),
        ed_norm_rand=float(np.median(kept_rand)),
        ed_norm_rand_low=rand_low,
        ed_norm_rand_high=rand_high,
        ed_norm_gap=out["ed_norm_ref"] - float(np.median(kept_rand)),
        ed_norm_gap_low=out["ed_norm_ref"] - rand_high,
        ed_norm_gap_high=out["ed_norm_ref"] - rand_low,
        ed_test_p=test.p_value,
        ed_test_smallest_p=test.smallest_p,
        ed_test_n_networks=test.n_networks,
        ed_test_statistic=test.statistic,
    )
    out.update(
        ed_fraction_text=share_of_steps(out["ed_fraction_above"]),
        ed_norm_fraction_text=share_of_steps(out["ed_norm_fraction_above"]),
        ed_rand_horizon_seeds_text=(
            "the seeds "
            + ranges_from(out["ed_rand_horizon_min"], out["ed_rand_horizon_max"], ".1f", each="seed")
        ),
    )
    return out


def _over_draws(low: float, high: float, n_draws: int, spec: str) -> str:
    """The reference's spread over its input draws: ``the 4 input draws give 10.5 to 12.0``, or ``the same on
    all 4 input draws`` when both ends print the same, or ``one input draw`` when there is only one."""
    if n_draws < 2:
        return "one input draw"
    if format(low, spec) == format(high, spec):
        return f"the same on all {n_draws} input draws"
    return f"the {n_draws} input draws give {format(low, spec)} to {format(high, spec)}"


def share_of_steps(fraction: float) -> str:
    """A share of the steps in words: ``at 45% of the steps``, ``at none of the steps``, ``at every step``."""
    if fraction == 0:
        return "at none of the steps"
    if fraction == 1:
        return "at every step"
    return f"at {fraction:.0%} of the steps"


def _control_numbers(ds: xr.Dataset, summary: xr.Dataset, out: dict, others: list[str]) -> dict:
    """The controls' summaries against the reference's range over input draws, and the hybrids' reading."""
    controls = controls_of(ds)
    low, high = out["ed_norm_draws_min"], out["ed_norm_draws_max"]
    found = {
        "ed_controls": "; ".join(
            f"{kind}: {float(summary.kept.sel(network=label)):.3g} ("
            f"{_relation(float(summary.kept.sel(network=label)), low, high)} the reference's range)"
            for kind, label in controls.items()
        ) or "none run",
        "ed_control_labels": "; ".join(controls.values()),
        "ed_differs_from": "; ".join(  # "; ": the hybrids' names hold commas
            kind for kind, label in controls.items()
            if _relation(float(summary.kept.sel(network=label)), low, high) in ("above", "below")
        ) or "none of them",
        "ed_hybrid_closer": "",
    }
    if EMBEDDINGS_HYBRID not in controls or LAYER_HYBRID not in controls or not others:
        return found
    ref = members(ds, REFERENCE)[0]
    level = {name: float(summary.level.sel(network=label)) for name, label in
             (("ref", ref), ("partner", others[0]), ("emb", controls[EMBEDDINGS_HYBRID]),
              ("layer", controls[LAYER_HYBRID]))}
    emb_gap, layer_gap = abs(level["emb"] - level["ref"]), abs(level["layer"] - level["ref"])
    closer = "embeddings" if emb_gap < layer_gap else "layer"
    found.update(
        ed_level_ref=level["ref"],
        ed_level_partner=level["partner"],
        ed_level_embeddings_hybrid=level["emb"],
        ed_level_layer_hybrid=level["layer"],
        ed_partner=others[0],
        ed_hybrid_closer=closer,
        ed_norm_embeddings_hybrid=float(summary.kept.sel(network=controls[EMBEDDINGS_HYBRID])),
        ed_norm_layer_hybrid=float(summary.kept.sel(network=controls[LAYER_HYBRID])),
    )
    return found


STABLE = 0.5
"""Our reading of "stable": ED at the horizon keeps at least half of its largest value up to there."""
MOST = 0.5
"""Our reading of "most t": more than this fraction of the steps 1 <= t <= horizon."""


def _parts(numbers: dict) -> tuple[bool, bool]:
    """(higher, stable): R6's two parts as :func:`target_r6` reads them."""
    return numbers["ed_norm_fraction_above"] > MOST, numbers["ed_ref_stability"] >= STABLE


def r6_sentence(record: dict, numbers: dict) -> str:
    """Why R6's verdict is what it is, in words for the prose: the parts of the effect that failed, the test's
    p, or the reason it is not testable here."""
    if record["holds"] is None:
        return strip_verdict(record["reason"])
    if "ed_test_p" not in numbers:
        return "no comparison networks"
    higher, stable = _parts(numbers)
    if record["holds"] is False and not (higher and stable):
        failed = [part for part, ok in (("higher at most steps", higher), ("stable", stable)) if not ok]
        return f"the reference's ED is not {' and not '.join(failed)}"
    return (f"permutation test over {numbers['ed_test_n_networks']} networks p = {numbers['ed_test_p']:.3g}, "
            f"threshold {THRESHOLD:g}")


def r6_test(numbers: dict) -> PermutationTest | None:
    """The permutation test over networks of :func:`r6_numbers` (None without comparison networks)."""
    n = numbers
    if "ed_test_p" not in n:
        return None
    arrangements = int(n["ed_test_n_networks"])  # one reference among n networks: n arrangements
    return PermutationTest(n["ed_test_statistic"], n["ed_test_p"], arrangements, n["ed_test_smallest_p"],
                           "greater", int(n["ed_test_n_networks"]))


def target_r6(numbers: dict, model: str) -> dict:
    """The record of R6 (:func:`chaoslib.book.reports.verdicts.target_record`), from the numbers alone.

    The effect: the reference's ED(t)/ED(0) lies above every random network's at more than half of the steps
    1 <= t <= horizon (:data:`MOST`), and its ED keeps at least :data:`STABLE` of its largest value up to the
    horizon. Networks are the unit: the exact permutation test of the median ED(t)/ED(0) over those steps,
    one reference against K random networks (:func:`chaoslib.book.reports.verdicts.network_rule`): no
    effect -> does not hold; an effect whose smallest attainable p (1 / (K + 1)) exceeds the threshold -> not
    testable here.
    """
    n = numbers
    claim = "pretrained effective dimension higher and stable"
    controls = [c for c in n.get("ed_control_labels", "").split("; ") if c]
    if "ed_test_p" not in n:
        return target_record("R6", claim, f"{model}: no random networks to compare with", None,
                             unit="networks", controls=controls,
                             reason="not testable here: no comparison networks were run")
    higher, stable = _parts(n)
    holds, reason = network_rule(higher and stable, r6_test(n))
    h = n["ed_horizon"]
    measured = (
        f"{model}: ED(t)/ED(0) of {n['ed_reference']} above every one of {n['ed_n_random']} random networks "
        f"at {100 * n['ed_norm_fraction_above']:.0f}% of steps 1 <= t <= {h}; its median over those steps "
        f"{n['ed_norm_ref']:.3g} (input draws {n['ed_norm_draws_min']:.3g}-{n['ed_norm_draws_max']:.3g}) vs "
        f"random median {n['ed_norm_rand']:.3g} (95% CI over seeds {n['ed_norm_rand_low']:.3g}-"
        f"{n['ed_norm_rand_high']:.3g}); permutation test over {n['ed_test_n_networks']} networks p = "
        f"{n['ed_test_p']:.3g} (smallest attainable {n['ed_test_smallest_p']:.3g}). ED itself: ED(0) = "
        f"{n['ed_ref_t0']:.3g} vs random median {n['ed_rand_t0']:.3g}; ED({h}) = {n['ed_ref_horizon']:.3g} "
        f"(input draws {n['ed_draws_horizon_min']:.3g}-{n['ed_draws_horizon_max']:.3g}) vs random median "
        f"{n['ed_rand_horizon']:.3g} (seeds {n['ed_rand_horizon_min']:.3g}-{n['ed_rand_horizon_max']:.3g}); "
        f"above every random network at {100 * n['ed_fraction_above']:.0f}% of steps t <= {h}; stability "
        f"ED({h})/max {n['ed_ref_stability']:.2f} (random {n['ed_rand_stability']:.2f}); "
        f"M={n['ed_n_samples']}"
    )
    note = (
        f"'higher' read on ED(t)/ED(0) (ED(0): the embeddings' geometry) at more than {MOST:.0%} of the "
        f"steps 1 <= t <= {h}; 'stable' as ED({h}) >= {STABLE} x its maximum up to there; higher: "
        f"{'yes' if higher else 'no'}, stable: {'yes' if stable else 'no'}. Controls (median ED(t)/ED(0)): "
        f"{n.get('ed_controls', 'none run')}; the reference differs from: {n.get('ed_differs_from', 'none')}"
    )
    if n.get("ed_hybrid_closer"):
        note += (
            f". ED level (median ED, 1 <= t <= {h}): reference {n['ed_level_ref']:.3g}, {n['ed_partner']} "
            f"{n['ed_level_partner']:.3g}, reference embeddings with a random layer "
            f"{n['ed_level_embeddings_hybrid']:.3g}, random embeddings with the reference's layer "
            f"{n['ed_level_layer_hybrid']:.3g}: the reference's level is closer to the hybrid with its "
            f"{n['ed_hybrid_closer']}"
        )
    interval = (f"ED(t)/ED(0) gap {n['ed_norm_gap']:.3g} [{n['ed_norm_gap_low']:.3g}, "
                f"{n['ed_norm_gap_high']:.3g}]")
    return target_record("R6", claim, measured, holds, note, unit="networks", interval=interval,
                         controls=controls, reason=reason)
