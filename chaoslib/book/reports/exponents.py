"""Numbers and verdicts of the exponents chapter (R1: transient chaos; R2: chaos length, reference vs random).

The datasets come from :func:`chaoslib.studies.compare.compare_networks` with
:class:`chaoslib.studies.analyses.Exponents` (``exponent`` (network, sample, window), ``chaos_length`` and
``chaos_censored`` (network, sample), coordinate ``window_end``), labelled by :func:`with_roles` with a
``role`` coordinate along ``network``: ``"reference"`` for the network under test, ``"comparison"`` for the
random networks it is compared with, ``"control"`` for the control networks
(:func:`chaoslib.model.network.control_networks`).

Where the perturbation starts (``perturb_at``, an attribute of every dataset): 0 perturbs x(0), the embedding
projection's output (the authors' protocol); 1 perturbs x(1), one step later, after the first LayerNorm has
normalised the state. x(0) is not normalised, so under the authors' protocol the first step's LayerNorm
rescales the perturbation once by about gamma / std(x(0)), and lambda_0 carries that rescaling even for an
untrained network.

Units of the verdicts. R1 is a claim about one network's inputs (a bootstrap over inputs). R2 is a claim about
networks: one value per network (its median chaos length), an exact permutation test over networks whose
smallest attainable p is stated (1 / (K + 1) for one reference against K networks), and an interval from a
bootstrap over networks, then inputs, paired by input (:func:`chaoslib.stats.two_level_contrast`).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import xarray as xr

from chaoslib.book.reports.phrasing import (
    MarkdownText,
    censored_share,
    count_of,
    interval,
    lie_between,
    ranges_from,
)
from chaoslib.book.reports.verdicts import network_rule, target_record
from chaoslib.dynamics.lyapunov import PerturbationResolutionWarning
from chaoslib.errors import ChaoslibError
from chaoslib.stats import (
    PermutationTest,
    bootstrap_interval,
    difference_interval,
    reference_vs_others,
    two_level_bootstrap,
    two_level_contrast,
)

REFERENCE, COMPARISON, CONTROL = "reference", "comparison", "control"
RATIO_THRESHOLD = 2.0  # R2's size of effect: the reference's median at least twice the comparison networks'
PROTOCOLS = {
    0: "perturb x(0), the embedding projection's output, as the authors",
    1: "perturb x(1), one step after the embedding, after the first LayerNorm",
}
CONTROL_SLUGS = {
    "untrained": "untrained",
    "gain-matched": "gain_matched",
    "shuffled": "shuffled",
    "reference embeddings, random layer": "ref_embeddings",
    "random embeddings, reference layer": "ref_layer",
}
"""Glue-key names of the control roles of :data:`chaoslib.model.network.CONTROL_ROLES`."""


# --- labelled datasets --------------------------------------------------------------------------------------


def compared(ch, networks: list, analysis, n_samples: int, n_tokens: int, kind: str) -> xr.Dataset:
    """``analysis`` (an :class:`~chaoslib.studies.analyses.Exponents`) of the chapter's networks on
    ``n_samples`` dynamics inputs of ``n_tokens`` tokens (``kind`` ``"pair"`` or ``"paragraph"``), labelled:
    the first network is the reference. ``ch``: the :class:`~chaoslib.book.chapter.Chapter`."""
    ds = ch.compare(networks, analysis, ch.inputs(n_samples, n_tokens, kind))
    return with_roles(ds.assign_attrs(n_tokens=n_tokens, kind=kind), [str(n) for n in ds.network.values])


def with_roles(ds: xr.Dataset, labels: list[str], n_reference: int = 1, n_controls: int = 0) -> xr.Dataset:
    """Relabel ``ds.network`` with ``labels`` (e.g. ``Network.label()``) and mark the first ``n_reference``
    networks as the reference, the last ``n_controls`` as control networks, the rest as comparison
    networks."""
    if len(labels) != ds.sizes["network"]:
        raise ChaoslibError(
            f"labels has {len(labels)} entries for {ds.sizes['network']} networks; pass one each"
        )
    n_comparison = len(labels) - n_reference - n_controls
    if n_comparison < 0:
        raise ChaoslibError(
            f"{n_reference} reference and {n_controls} control networks exceed {len(labels)} labels"
        )
    roles = [REFERENCE] * n_reference + [COMPARISON] * n_comparison + [CONTROL] * n_controls
    return ds.assign_coords(network=list(labels), role=("network", roles))


def _roles(ds: xr.Dataset) -> np.ndarray:
    if "role" not in ds.coords:
        raise ChaoslibError(
            "the dataset has no 'role' coordinate; label it with reports.exponents.with_roles"
        )
    return ds.role.values


def split_roles(ds: xr.Dataset) -> tuple[str, list[str]]:
    """(the reference's label, the comparison networks' labels); control networks are left out."""
    roles = _roles(ds)
    refs = [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == REFERENCE]
    if len(refs) != 1:
        raise ChaoslibError(f"expected exactly one reference network, found {refs}")
    return refs[0], [str(n) for n, r in zip(ds.network.values, roles, strict=True) if r == COMPARISON]


def controls_of(ds: xr.Dataset) -> list[str]:
    """The labels of the control networks of ``ds`` (role ``"control"``), in order."""
    return [str(n) for n, r in zip(ds.network.values, _roles(ds), strict=True) if r == CONTROL]


def finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def protocol_text(perturb_at: int) -> str:
    return PROTOCOLS.get(int(perturb_at), f"perturb x({int(perturb_at)})")


def protocol_markdown(perturb_at: int) -> MarkdownText:
    """The protocol for the prose, its states as maths: ``perturb $x(1)$, one step after ...``."""
    plain = protocol_text(perturb_at)
    at = int(perturb_at)
    return MarkdownText(plain.replace(f"x({at})", f"$x({at})$"), plain)


def sign_change_phrase(window_end: int, last_step: int) -> str:
    """Where a mean exponent turns non-positive, as the predicate of a sentence: ``is first non-positive in
    the window ending at step 40``, or ``stays positive in every window up to step 500`` (``window_end``
    -1)."""
    if window_end < 0:
        return f"stays positive in every window up to step {last_step}"
    return f"is first non-positive in the window ending at step {window_end}"


def _inputs_of(ch, ds: xr.Dataset, n_samples: int | None = None):
    """The first ``n_samples`` inputs of a :func:`compared` dataset (drawn again: the draw is seeded)."""
    encoded = ch.inputs(ds.sizes["sample"], ds.attrs["n_tokens"], ds.attrs["kind"])
    return encoded if n_samples is None else encoded[: min(int(n_samples), len(encoded))]


def _analysis_of(ds: xr.Dataset, batch_size: int | None, **changes):
    """The :class:`~chaoslib.studies.analyses.Exponents` that made ``ds``, with ``changes``."""
    from chaoslib.studies.analyses import Exponents

    settings = dict(
        eps=float(ds.attrs["eps"]),
        tau=int(ds.attrs["tau"]),
        n_steps=int(ds.attrs["n_steps"]),
        seed=int(ds.attrs["seed"]),
        batch_size=batch_size,
        perturb_at=int(ds.attrs.get("perturb_at", 0)),
    )
    return Exponents(**{**settings, **changes})


def protocols(
    ch,
    networks: list,
    analysis,
    n_windows: int,
    n_samples: int,
    n_tokens: int,
    kind: str,
    control_seed: int = 0,
) -> xr.Dataset:
    """The artefact: ``analysis`` (the chapter's :class:`~chaoslib.studies.analyses.Exponents`) for its first
    ``n_windows`` windows under both protocols (perturb x(0), perturb x(1)) on ``n_samples`` inputs, for the
    untrained control (transformers' init, seed ``control_seed``: step 0 of pretraining) and the first
    comparison network ``networks[1]``; never on the reference ``networks[0]``: the rule is fixed on networks
    whose answer does not depend on pretraining.

    Returns ``exponent`` (perturb_at, network, sample, window) and ``chaos_length`` (perturb_at, network,
    sample); coordinates ``perturb_at`` (0, 1), ``role`` ("untrained", "comparison") along ``network``,
    ``window_end`` (perturb_at, window).
    """
    from chaoslib.model.network import control_networks

    if len(networks) < 2:
        raise ChaoslibError(
            "protocols: pass the chapter's networks (the reference and at least one comparison)"
        )
    ((_, untrained),) = control_networks(networks[0], networks[1], seed=control_seed, roles=("untrained",))
    subjects, inputs = [untrained, networks[1]], ch.inputs(n_samples, n_tokens, kind)
    short = dataclasses.replace(analysis, n_steps=int(n_windows) * int(analysis.tau))
    runs = [ch.compare(subjects, dataclasses.replace(short, perturb_at=at), inputs) for at in (0, 1)]
    ds = xr.concat([r.drop_attrs() for r in runs], dim="perturb_at", coords="different", compat="equals")
    return ds.assign_coords(perturb_at=[0, 1], role=("network", ["untrained", COMPARISON])).assign_attrs(
        eps=float(short.eps),
        tau=int(short.tau),
        n_steps=int(short.n_steps),
        n_tokens=n_tokens,
        kind=kind,
        control_seed=int(control_seed),
    )


def other_protocol(
    ch, reference, series: xr.Dataset, n_windows: int, batch_size: int | None = None
) -> xr.Dataset:
    """The ``reference`` network (a :class:`~chaoslib.model.network.Network`, the reference of ``series``) on
    the inputs of ``series`` under the other protocol (``1 - perturb_at``), for its first ``n_windows``
    windows (1: lambda_0 only)."""
    analysis = _analysis_of(
        series,
        batch_size,
        n_steps=int(n_windows) * int(series.attrs["tau"]),
        perturb_at=1 - int(series.attrs.get("perturb_at", 0)),
    )
    ds = ch.compare([reference], analysis, _inputs_of(ch, series))
    attrs = dict(n_tokens=series.attrs["n_tokens"], kind=series.attrs["kind"])
    return with_roles(ds.assign_attrs(**attrs), [split_roles(series)[0]])


def controls(
    ch,
    networks: list,
    comparison: xr.Dataset,
    n_samples: int,
    n_steps: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
) -> xr.Dataset:
    """The control networks of the chapter's reference ``networks[0]`` (hybrids with ``networks[1]``, the
    first comparison network), run with the settings of ``comparison`` (a :func:`compared` dataset of
    ``networks``) on its first ``n_samples`` inputs: the same inputs and perturbation directions, so they pair
    by input. ``n_steps``: their horizon (rounded down to whole windows, at most the comparison's; None: the
    comparison's); :func:`control_table` censors the reference's lengths at the same horizon.

    The network coordinate holds the control roles (:data:`chaoslib.model.network.CONTROL_ROLES`), a ``label``
    coordinate their networks' labels; ``role`` is ``"control"``; attrs ``resolution_warnings``: the
    :class:`~chaoslib.dynamics.lyapunov.PerturbationResolutionWarning` messages of the run ("" if none).
    """
    from chaoslib.model.network import control_networks

    if len(networks) < 2:
        raise ChaoslibError("controls: the hybrids need a comparison network; pass the chapter's networks")
    made = control_networks(networks[0], networks[1], seed=seed)
    roles, subjects = [r for r, _ in made], [n for _, n in made]
    tau, longest = int(comparison.attrs["tau"]), int(comparison.attrs["n_steps"])
    # at most the comparison's horizon, whole windows only
    horizon = longest if n_steps is None else max(tau, min(int(n_steps), longest) // tau * tau)
    analysis = _analysis_of(comparison, batch_size, n_steps=horizon)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ch.compare(subjects, analysis, _inputs_of(ch, comparison, n_samples), labels=roles)
    # a control whose state is large warns that eps is coarse against its rounding: kept with the result (the
    # saved file) rather than printed on the page; any other warning is passed on
    resolution = sorted(
        {str(w.message) for w in caught if issubclass(w.category, PerturbationResolutionWarning)}
    )
    for w in caught:
        if not issubclass(w.category, PerturbationResolutionWarning):
            warnings.warn(w.message, w.category, stacklevel=2)
    ds = ds.assign_attrs(resolution_warnings="; ".join(resolution))
    ds = ds.assign_coords(label=("network", [n.label() for n in subjects]))
    return with_roles(ds.assign_attrs(control_seed=int(seed)), roles, n_reference=0, n_controls=len(roles))


# --- numbers ------------------------------------------------------------------------------------------------


def _interval(values: np.ndarray, statistic, seed: int) -> tuple[float, float]:
    """Bootstrap interval over inputs of the finite ``values``; NaN when fewer than 2 are finite."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan")
    return bootstrap_interval(values, statistic, seed=seed)


def _network_interval(values: np.ndarray, statistic, seed: int) -> tuple[float, float]:
    """(networks, inputs) -> interval over networks then inputs (over inputs pooled when only one network)."""
    values = np.asarray(values, dtype=float)
    if values.shape[0] >= 2 and values.shape[1] >= 2:
        return two_level_bootstrap(values, statistic, seed=seed)
    return _interval(values.ravel(), statistic, seed)


def paired_difference(a: np.ndarray, b: np.ndarray, statistic, seed: int = 0) -> tuple[float, float]:
    """95% interval of ``statistic(a) - statistic(b)`` for values of two networks on the same inputs (a
    bootstrap over inputs, pairs kept together; pairs with a non-finite value are left out). (a, b):
    (inputs,). A sample without spread gives the point; fewer than 2 pairs give NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan"), float("nan")
    point = float(statistic(a) - statistic(b))
    if np.all(a == a[0]) and np.all(b == b[0]):
        return point, point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bootstrap distribution without spread
        low, high = difference_interval(a, b, statistic, paired=True, seed=seed)
    return (point, point) if np.isnan(low) or np.isnan(high) else (low, high)


def excludes(low: float, high: float, value: float = 0.0) -> bool:
    """Whether the interval [low, high] lies wholly on one side of ``value`` (an undefined bound: no)."""
    return bool((not np.isnan(low) and low > value) or (not np.isnan(high) and high < value))


def ratio_text(value: float, low: float, high: float) -> str:
    """``17 [9.5, 31]``; an infinite or undefined ratio said in words."""
    if np.isnan(value):
        return "not defined (both medians are 0)"
    if np.isinf(value):
        return "not defined (the comparison networks' median is 0)"
    bounds = ", ".join("inf" if np.isinf(v) else ("n/a" if np.isnan(v) else f"{v:.3g}") for v in (low, high))
    return f"{value:.3g} [{bounds}]"


def _mean_over_networks(ds: xr.Dataset, labels: list[str]) -> np.ndarray:
    """(networks, windows) each network's mean exponent over its inputs (merged copies left out)."""
    return np.nanmean(finite(ds.exponent.sel(network=labels).values), axis=1)


def _first_nonpositive(mean: np.ndarray, window_end: np.ndarray) -> tuple[int, str]:
    where = np.flatnonzero(mean <= 0)
    if not where.size:
        return -1, "no window"
    return int(window_end[where[0]]), f"the window ending at step {int(window_end[where[0]])}"


def network_test(reference_median: float, comparison_medians: np.ndarray) -> PermutationTest:
    """Exact permutation test over networks: is the reference's median chaos length greater than the
    comparison networks'? (:func:`chaoslib.stats.reference_vs_others`)."""
    return reference_vs_others(reference_median, comparison_medians, "greater")


def median_ratio(reference: np.ndarray, others: np.ndarray) -> float:
    """median(reference) / median(others pooled); inf when only the denominator is 0, NaN when both are."""
    a, b = float(np.median(reference)), float(np.median(others))
    if b > 0:
        return a / b
    return float("inf") if a > 0 else float("nan")


def r2_effect(reference_median: float, comparison_medians: np.ndarray, ratio: float) -> bool:
    """R2's effect: the reference's median above every comparison network's median AND the ratio of medians at
    least :data:`RATIO_THRESHOLD`; an infinite or undefined ratio (the comparison median 0) is no evidence."""
    above = bool(np.all(reference_median > np.asarray(comparison_medians, dtype=float)))
    return bool(above and np.isfinite(ratio) and ratio >= RATIO_THRESHOLD)


def effect_text(effect: bool, n_below: int, n_comparison: int, ratio: float) -> str:
    """Why R2's effect is present or not, in words: how many comparison networks' medians lie below the
    reference's, and the ratio of medians against :data:`RATIO_THRESHOLD`."""
    which = count_of(n_below, n_comparison, "random network's median", "random networks' medians")
    below = f"the reference's median lies above {which}"
    if effect:
        return f"yes: {below} and the ratio of medians, {ratio:.3g}, is at least {RATIO_THRESHOLD:g}"
    if not np.isfinite(ratio):
        return (
            f"no: {below}, but the random networks' pooled median is 0, so the ratio of medians is not "
            "defined, which the rule counts as no evidence"
        )
    reasons = [] if n_below == n_comparison else [f"{below}" + (", not all" if n_below else "")]
    if ratio < RATIO_THRESHOLD:
        reasons.append(f"the ratio of medians, {ratio:.3g}, is below {RATIO_THRESHOLD:g}")
    return "no: " + "; ".join(reasons)


def comparison_numbers(ds: xr.Dataset, seed: int = 0, prefix: str = "exp_") -> dict:
    """R1 and R2 numbers: first-window exponents, sign change, chaos lengths, the network-level test.

    Keys (``prefix`` + name, ready for ``Chapter.glue_many``; :func:`target_r1` and :func:`target_r2`
    read them via ``prefix=``): the protocol, the reference's label, its mean lambda_0 with a bootstrap
    interval over inputs, the window where its mean exponent is first <= 0 (``ref_sign_change``, -1 for none);
    the random networks' lambda_0 (mean over networks, range over networks) and sign change; median chaos
    lengths: the reference's (interval over inputs), the comparison networks' pooled (interval over networks
    then inputs) and each network's (range); the ratio of medians with its interval over networks then inputs,
    paired by input; the exact permutation test over networks (``perm_*``); censored fractions; ``effect``.
    """
    ref, others = split_roles(ds)
    perturb_at = int(ds.attrs.get("perturb_at", 0))
    lam0_ref = finite(ds.exponent.sel(network=ref).isel(window=0).values)
    out = {
        "ref_label": ref,
        "n_random": len(others),
        "eps": ds.attrs["eps"],
        "tau": ds.attrs["tau"],
        "T": ds.attrs["n_steps"],
        "n_samples": ds.sizes["sample"],
        "perturb_at": perturb_at,
        "protocol": protocol_text(perturb_at),
        "protocol_md": protocol_markdown(perturb_at),
        "ref_lambda0": float(np.nanmean(lam0_ref)),
    }
    out["ref_lambda0_low"], out["ref_lambda0_high"] = _interval(lam0_ref, np.mean, seed)
    window_end = ds.window_end.values
    ref_mean = np.nanmean(finite(ds.exponent.sel(network=ref).values), axis=0)  # (windows,)
    out["ref_sign_change"], out["ref_sign_change_text"] = _first_nonpositive(ref_mean, window_end)
    out["ref_sign_change_phrase"] = sign_change_phrase(out["ref_sign_change"], int(window_end[-1]))
    out["ref_window_max"] = float(np.nanmax(ref_mean))
    out["ref_window_min"] = float(np.nanmin(ref_mean))
    out["ref_window_text"] = lie_between(out["ref_window_min"], out["ref_window_max"])
    lengths_ref = ds.chaos_length.sel(network=ref).values
    out["median_ref"] = float(np.median(lengths_ref))
    out["median_ref_low"], out["median_ref_high"] = _interval(lengths_ref, np.median, seed)
    out["median_ref_text"] = (
        f"{out['median_ref']:.0f} steps for {ref} ("
        f"{interval(out['median_ref_low'], out['median_ref_high'], '.0f', 'its inputs')})"
    )
    out["censored_ref"] = float(np.mean(ds.chaos_censored.sel(network=ref).values))
    if not others:
        out["censored_text"] = censored_share({"the reference's": out["censored_ref"]})
        return {prefix + k: v for k, v in out.items()}
    per_seed = _mean_over_networks(ds, others)  # (networks, windows)
    seed_mean = per_seed.mean(0)
    out["rand_sign_change"], out["rand_sign_change_text"] = _first_nonpositive(seed_mean, window_end)
    lengths_rand = ds.chaos_length.sel(network=others).values  # (networks, inputs)
    seed_medians = np.median(lengths_rand, axis=1)
    ratio = median_ratio(lengths_ref, lengths_rand)
    if len(others) >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all draws undefined (both medians 0)
            ratio_low, ratio_high = two_level_contrast(
                lengths_ref, lengths_rand, np.median, "ratio", seed=seed
            )
    else:
        ratio_low = ratio_high = float("nan")
    test = network_test(out["median_ref"], seed_medians)
    out.update(
        rand_lambda0=float(seed_mean[0]),
        rand_lambda0_min=float(per_seed[:, 0].min()),
        rand_lambda0_max=float(per_seed[:, 0].max()),
        rand_positive_windows=int((seed_mean > 0).sum()),
        median_rand=float(np.median(lengths_rand)),
        seed_median_min=float(seed_medians.min()),
        seed_median_max=float(seed_medians.max()),
        n_below=int((seed_medians < out["median_ref"]).sum()),
        median_ratio=ratio,
        ratio_low=ratio_low,
        ratio_high=ratio_high,
        ratio_text=ratio_text(ratio, ratio_low, ratio_high),
        perm_statistic=test.statistic,
        perm_p=test.p_value,
        perm_smallest_p=test.smallest_p,
        perm_n_arrangements=test.n_arrangements,
        perm_n_networks=test.n_networks,
        censored_rand=float(np.mean(ds.chaos_censored.sel(network=others).values)),
        effect=r2_effect(out["median_ref"], seed_medians, ratio),
    )
    out["median_rand_low"], out["median_rand_high"] = _network_interval(lengths_rand, np.median, seed)
    out["effect_text"] = effect_text(out["effect"], out["n_below"], len(others), ratio)
    out.update(_comparison_phrases(out, len(others), int(window_end[-1])))
    return {prefix + k: v for k, v in out.items()}


def _comparison_phrases(n: dict, n_random: int, last_step: int) -> dict:
    """The phrases of :func:`comparison_numbers` that must read for every value (equal ends, zero counts)."""
    below = count_of(n["n_below"], n_random, "network")
    verb = "lies" if n["n_below"] == 1 or n_random == 1 else "lie"
    return {
        "rand_sign_change_phrase": sign_change_phrase(n["rand_sign_change"], last_step),
        "rand_lambda0_range_text": (
            "the networks' own values "
            + ranges_from(n["rand_lambda0_min"], n["rand_lambda0_max"], each="network")
            if n_random > 1 else "one network"
        ),
        "seed_median_text": (
            f"{ranges_from(n['seed_median_min'], n['seed_median_max'], '.0f', 'steps', each='network')} "
            f"({below} {verb} below the reference's)"
        ),
        "median_rand_text": (
            f"{n['median_rand']:.0f} "
            f"({interval(n['median_rand_low'], n['median_rand_high'], '.0f', 'networks, then inputs')})"
        ),
        "censored_text": censored_share(
            {"the reference's": n["censored_ref"], "the random networks'": n["censored_rand"]}
        ),
    }


def other_protocol_numbers(
    series: xr.Dataset, other: xr.Dataset, seed: int = 0, prefix: str = "exp_other_"
) -> dict:
    """The reference's lambda_0 under the other protocol (``other``, from :func:`other_protocol`) beside the
    series' value, on the same inputs: its mean with an interval over inputs, the paired difference (series
    minus other) with its interval, and the window where its mean exponent is first <= 0 (if it ran that
    far)."""
    ref, _ = split_roles(series)
    lam_series = finite(series.exponent.sel(network=ref).isel(window=0).values)
    lam_other = finite(other.exponent.isel(network=0, window=0).values)
    mean_other = np.nanmean(finite(other.exponent.isel(network=0).values), axis=0)
    at = int(other.attrs.get("perturb_at", 0))
    out = {
        "perturb_at": at,
        "protocol": protocol_text(at),
        "protocol_md": protocol_markdown(at),
        "lambda0": float(np.nanmean(lam_other)),
        "n_windows": int(other.sizes["window"]),
    }
    out["lambda0_low"], out["lambda0_high"] = _interval(lam_other, np.mean, seed)
    out["difference_low"], out["difference_high"] = paired_difference(lam_series, lam_other, np.mean, seed)
    out["difference"] = float(np.nanmean(lam_series) - np.nanmean(lam_other))
    sign_change, text = _first_nonpositive(mean_other, other.window_end.values)
    out["sign_change"] = sign_change
    if sign_change >= 0:
        out["sign_change_text"] = f"its mean exponent is first non-positive in {text}"
    elif other.sizes["window"] > 1:
        out["sign_change_text"] = f"its mean exponent stays positive up to step {int(other.window_end[-1])}"
    else:
        out["sign_change_text"] = "only its first window was run"
    return {prefix + k: v for k, v in out.items()}


def protocol_numbers(ds: xr.Dataset, seed: int = 0, prefix: str = "exp_art_") -> dict:
    """Numbers of :func:`protocols`: for the untrained network (``untrained_*``) and the comparison network
    (``random_*``), under each protocol (``_x0``, ``_x1``): mean lambda_0 with its interval over inputs, and
    the largest and smallest window mean; the labels, the inputs and the horizon."""
    out = {
        "n_samples": int(ds.sizes["sample"]),
        "T": int(ds.attrs["n_steps"]),
        "tau": int(ds.attrs["tau"]),
        "untrained_label": str(ds.network.values[0]),
        "random_label": str(ds.network.values[1]),
    }
    for name, label in zip(("untrained", "random"), ds.network.values, strict=True):
        for at in (0, 1):
            lam = finite(ds.exponent.sel(perturb_at=at, network=label).values)  # (sample, window)
            key = f"{name}_x{at}"
            out[f"{key}_lambda0"] = float(np.nanmean(lam[:, 0]))
            out[f"{key}_lambda0_low"], out[f"{key}_lambda0_high"] = _interval(lam[:, 0], np.mean, seed)
            means = np.nanmean(lam, axis=0)
            out[f"{key}_max"], out[f"{key}_min"] = float(np.nanmax(means)), float(np.nanmin(means))
            out[f"{key}_later_max"] = float(np.nanmax(means[1:])) if means.size > 1 else float("nan")
            out[f"{key}_window_text"] = lie_between(out[f"{key}_min"], out[f"{key}_max"])
    return {prefix + k: v for k, v in out.items()}


def _row(lam: np.ndarray, length: np.ndarray, seed: int) -> dict:
    """One row of :func:`control_table`: mean lambda_0 and median chaos length with their 95% intervals (over
    inputs for (inputs,) values; over networks then inputs for (networks, inputs) values)."""
    interval = _network_interval if lam.ndim == 2 else _interval
    row = {"lambda0": float(np.nanmean(lam)), "median": float(np.median(length))}
    row["lambda0_low"], row["lambda0_high"] = interval(lam, np.nanmean if lam.ndim == 2 else np.mean, seed)
    row["median_low"], row["median_high"] = interval(length, np.median, seed)
    return row


def _differences(lam_diff: tuple[float, float], median_diff: tuple[float, float]) -> dict:
    return {
        "lambda0_diff_low": lam_diff[0],
        "lambda0_diff_high": lam_diff[1],
        "median_diff_low": median_diff[0],
        "median_diff_high": median_diff[1],
    }


def control_table(comparison: xr.Dataset, controls: xr.Dataset, seed: int = 0) -> xr.Dataset:
    """The reference, each control network and the comparison networks on the controls' inputs (the first
    ``controls.sizes["sample"]`` inputs of ``comparison``) and horizon (the chaos lengths of ``comparison``
    censored at the controls' ``n_steps``), for readers and for the verdicts.

    Rows (``row``, with ``role`` and ``label``): lambda_0 (mean over inputs) and the median chaos length, each
    with its 95% interval (over inputs; over networks then inputs for the comparison networks); the difference
    reference minus row with its 95% interval paired by input (for the comparison networks: over networks,
    then inputs, paired by input), and whether that interval excludes 0 (``differs_lambda0``,
    ``differs_median``).
    """
    ref, others = split_roles(comparison)
    k = controls.sizes["sample"]
    horizon = int(controls.attrs.get("n_steps", comparison.attrs["n_steps"]))
    first = comparison.isel(sample=slice(0, k))
    # a length beyond the controls' horizon is censored there, as theirs are
    first["chaos_length"] = np.minimum(first.chaos_length, horizon)
    ref_lam = finite(first.exponent.sel(network=ref).isel(window=0).values)
    ref_len = first.chaos_length.sel(network=ref).values
    nan2 = (float("nan"), float("nan"))
    rows = {REFERENCE: {**_row(ref_lam, ref_len, seed), **_differences(nan2, nan2)}}
    roles, labels = [REFERENCE], [ref]
    for name in controls_of(controls):
        lam = finite(controls.exponent.sel(network=name).isel(window=0).values)
        length = controls.chaos_length.sel(network=name).values
        rows[name] = {
            **_row(lam, length, seed),
            **_differences(
                paired_difference(ref_lam, lam, np.mean, seed),
                paired_difference(ref_len, length, np.median, seed),
            ),
        }
        roles.append(CONTROL)
        labels.append(str(controls.label.sel(network=name).values) if "label" in controls.coords else name)
    if others:
        lam = finite(first.exponent.sel(network=others).isel(window=0).values)  # (networks, inputs)
        length = first.chaos_length.sel(network=others).values
        diffs = (nan2, nan2)
        if len(others) >= 2 and k >= 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                diffs = (
                    two_level_contrast(ref_lam, lam, np.nanmean, "difference", seed=seed),
                    two_level_contrast(ref_len, length, np.median, "difference", seed=seed),
                )
        rows[f"{len(others)} random networks"] = {**_row(lam, length, seed), **_differences(*diffs)}
        roles.append(COMPARISON)
        labels.append(", ".join(others))
    columns = next(iter(rows.values())).keys()
    table = xr.Dataset(
        {c: ("row", np.array([r[c] for r in rows.values()], dtype=float)) for c in columns},
        coords={"row": list(rows), "role": ("row", roles), "label": ("row", labels)},
        attrs={
            "n_samples": int(k),
            "n_comparison": len(others),
            "T": horizon,
            "tau": int(comparison.attrs["tau"]),
            "perturb_at": int(comparison.attrs.get("perturb_at", 0)),
            "control_seed": int(controls.attrs.get("control_seed", 0)),
        },
    )
    for q in ("lambda0", "median"):
        table[f"differs_{q}"] = (
            "row",
            [
                excludes(lo, hi)
                for lo, hi in zip(table[f"{q}_diff_low"].values, table[f"{q}_diff_high"].values, strict=True)
            ],
        )
    return table


def _list_text(names: list[str]) -> str:
    """Control roles for prose, separated by semicolons (the hybrids' names hold commas)."""
    return "; ".join(names) if names else "none of them"


def differs_text(names: list[str], differs: list[str]) -> str:
    """``differs from every control``, ``differs from none of the controls``, or ``differs from A; B, and not
    from C``: which of the controls ``names`` the reference differs from."""
    if differs and len(differs) == len(names):
        return f"differs from every control ({_list_text(names)})"
    if not differs:
        return f"differs from none of the controls ({_list_text(names)})"
    same = [n for n in names if n not in differs]
    return f"differs from: {_list_text(differs)}; and not from: {_list_text(same)}"


def control_numbers(table: xr.Dataset, prefix: str = "ctrl_") -> dict:
    """Glue numbers of :func:`control_table`: the inputs and horizon; which controls the reference differs
    from in lambda_0 and in the median chaos length, and which not (lists, and the sentences ``lambda0_text``
    and ``median_text``); each control's lambda_0 and median with their intervals (keys ``<slug>_lambda0``,
    ``..._low``, ``..._high``, ``<slug>_median``, ..., slugs in :data:`CONTROL_SLUGS`)."""
    ctrl = table.sel(row=table.role == CONTROL)
    names = [str(n) for n in ctrl.row.values]
    differs_lam = [n for n, d in zip(names, ctrl.differs_lambda0.values, strict=True) if d]
    differs_len = [n for n, d in zip(names, ctrl.differs_median.values, strict=True) if d]
    out = {
        "n_samples": int(table.attrs["n_samples"]),
        "T": int(table.attrs["T"]),
        "seed": int(table.attrs["control_seed"]),
        "roles": _list_text(names),
        "differs_lambda0": _list_text(differs_lam),
        "same_lambda0": _list_text([n for n in names if n not in differs_lam]),
        "differs_median": _list_text(differs_len),
        "same_median": _list_text([n for n in names if n not in differs_len]),
        "lambda0_text": differs_text(names, differs_lam),
        "median_text": differs_text(names, differs_len),
    }
    for name in names:
        slug = CONTROL_SLUGS.get(name, name.replace(" ", "_").replace(",", ""))
        r = table.sel(row=name)
        for key in ("lambda0", "lambda0_low", "lambda0_high", "median", "median_low", "median_high"):
            out[f"{slug}_{key}"] = float(r[key])
    return {prefix + k: v for k, v in out.items()}


def _strip(numbers: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in numbers.items() if k.startswith(prefix)}


def _controls_summary(table: xr.Dataset | None, quantity: str) -> tuple[list[str], str]:
    """(the control roles, a sentence: which controls the reference differs from in ``quantity``)."""
    if table is None:
        return [], ""
    ctrl = table.sel(row=table.role == CONTROL)
    names = [str(n) for n in ctrl.row.values]
    differs = [n for n, d in zip(names, ctrl[f"differs_{quantity}"].values, strict=True) if d]
    what = "mean lambda_0" if quantity == "lambda0" else "median chaos length"
    values = "; ".join(
        f"{n}: {r[quantity]:.3g} [{r[quantity + '_low']:.3g}, {r[quantity + '_high']:.3g}]"
        for n, r in (
            (n, {k: float(ctrl.sel(row=n)[k]) for k in (quantity, quantity + "_low", quantity + "_high")})
            for n in names
        )
    )
    sentence = (
        f"control networks on the first {table.attrs['n_samples']} inputs (horizon {table.attrs['T']}), "
        f"{what} [95% CI]: {values}; "
        f"the reference differs (paired 95% interval of the difference excludes 0) from: "
        f"{_list_text(differs)}"
    )
    return names, sentence


def target_r1(numbers: dict, model: str, prefix: str = "exp_", controls: xr.Dataset | None = None) -> dict:
    """The record of R1 (transient chaos), a claim about one network's inputs.

    Holds when the reference's mean lambda_0 has its 95% interval above 0 AND its mean exponent is <= 0 in a
    window within the horizon; not testable here (censored) when lambda_0 > 0 is established but no window
    within the horizon is <= 0; otherwise does not hold. ``numbers``: :func:`comparison_numbers` (``prefix``),
    optionally :func:`other_protocol_numbers` (``exp_other_``); ``controls``: :func:`control_table`.
    """
    n = _strip(numbers, prefix)
    other = _strip(numbers, "exp_other_")
    established = bool(n["ref_lambda0_low"] > 0)
    turns = n["ref_sign_change"] >= 0
    censored = ""
    if established and not turns:
        censored = (
            f"lambda_0 > 0 is established but no window within the horizon T = {n['T']} has a mean "
            "exponent <= 0 (censored)"
        )
    holds, reason = network_rule(established and turns, None, censored=censored)
    roles, control_sentence = _controls_summary(controls, "lambda0")
    measured = (
        f"{model}, {n['protocol']}: mean lambda_0 = {n['ref_lambda0']:.3g} per step (95% CI "
        f"{n['ref_lambda0_low']:.3g} to {n['ref_lambda0_high']:.3g}, {n['n_samples']} inputs) for "
        f"{n['ref_label']}, whose mean exponent is first <= 0 in {n['ref_sign_change_text']}"
    )
    if "rand_lambda0" in n:
        measured += (
            f"; {n['n_random']} random networks: lambda_0 = {n['rand_lambda0']:.3g} (range over networks "
            f"{n['rand_lambda0_min']:.3g} to {n['rand_lambda0_max']:.3g}), mean exponent first <= 0 in "
            f"{n['rand_sign_change_text']}"
        )
    measured += f" (eps={n['eps']:g}, tau={n['tau']}, T={n['T']})"
    notes = []
    if other:
        notes.append(
            f"under the other protocol ({other['protocol']}) the same inputs give lambda_0 = "
            f"{other['lambda0']:.3g} (95% CI {other['lambda0_low']:.3g} to {other['lambda0_high']:.3g})"
        )
    if n["ref_lambda0"] > 0 >= n["ref_lambda0_low"]:
        notes.append(
            "the point estimate is positive but its 95% interval includes 0: transient chaos not established"
        )
    if control_sentence:
        notes.append(control_sentence)
    return target_record(
        target_id="R1",
        claim="transient chaos: lambda_k > 0 early, <= 0 later",
        measured=measured,
        holds=holds,
        note="; ".join(notes),
        unit="inputs of one network",
        interval=(
            f"mean lambda_0 {n['ref_lambda0']:.3g} [{n['ref_lambda0_low']:.3g}, "
            f"{n['ref_lambda0_high']:.3g}] per step"
        ),
        controls=roles,
        reason=reason,
    )


def target_r2(numbers: dict, model: str, prefix: str = "cl_", controls: xr.Dataset | None = None) -> dict:
    """The record of R2 (the reference's transient longer than random networks'), a claim about networks.

    Effect: the reference's median chaos length above every comparison network's median AND the ratio of the
    reference's median to the comparison networks' pooled median at least :data:`RATIO_THRESHOLD` (an infinite
    ratio is no evidence). Test: the exact permutation test over networks; the verdict is
    :func:`chaoslib.book.reports.verdicts.network_rule`'s. Not testable here also when the effect fails only
    because the reference's median is censored at the horizon (the ratio is then a lower bound).
    """
    n = _strip(numbers, prefix)
    test = PermutationTest(
        n["perm_statistic"],
        n["perm_p"],
        n["perm_n_arrangements"],
        n["perm_smallest_p"],
        "greater",
        n["perm_n_networks"],
    )
    censored = ""
    if not n["effect"] and n["median_ref"] >= n["T"] and n["median_rand"] > 0:
        censored = (
            f"the reference's median chaos length is censored at the horizon T = {n['T']}, so its ratio "
            f"to the comparison networks' ({n['median_ratio']:.3g}) is only a lower bound"
        )
    holds, reason = network_rule(bool(n["effect"]), test, censored=censored)
    roles, control_sentence = _controls_summary(controls, "median")
    measured = (
        f"{model}, {n['protocol']}: median chaos length {n['median_ref']:.0f} steps (95% CI "
        f"{n['median_ref_low']:.0f}-{n['median_ref_high']:.0f}, over inputs) for {n['ref_label']}; "
        f"{n['n_random']} random networks pooled {n['median_rand']:.0f} ({n['median_rand_low']:.0f}-"
        f"{n['median_rand_high']:.0f}, over networks then inputs), their own medians "
        f"{n['seed_median_min']:.0f} to {n['seed_median_max']:.0f} ({n['n_below']} of {n['n_random']} below "
        f"the reference's); ratio of medians {n['ratio_text']}; exact permutation test over "
        f"{n['perm_n_networks']} networks p = {n['perm_p']:.3g} "
        f"(smallest attainable {n['perm_smallest_p']:.3g}); T={n['T']}, {n['n_samples']} inputs"
    )
    notes = [
        f"effect (median above every comparison network's and ratio >= {RATIO_THRESHOLD:g}): "
        f"{'yes' if n['effect'] else 'no'}"
    ]
    if not np.isfinite(n["median_ratio"]):
        notes.append("an undefined or infinite ratio (comparison median 0) counts as no evidence")
    if control_sentence:
        notes.append(control_sentence)
    return target_record(
        target_id="R2",
        claim="pretrained transient significantly longer than random",
        measured=measured,
        holds=holds,
        note="; ".join(notes),
        unit="networks",
        interval=f"median ratio {n['ratio_text']}",
        controls=roles,
        reason=reason,
    )


# --- beyond the paper ---------------------------------------------------------------------------------------


def eps_sensitivity(ch, reference, analysis, eps_values, inputs) -> xr.Dataset:
    """``analysis`` (the chapter's :class:`~chaoslib.studies.analyses.Exponents`, its protocol included) of
    the reference network for each perturbation size in ``eps_values``, on the same inputs and directions.

    Returns ``exponent`` (eps, sample, window), ``chaos_length`` and ``chaos_censored`` (eps, sample);
    coordinates ``eps``, ``window_end``; attrs tau, n_steps, perturb_at."""
    runs = [
        ch.compare([reference], dataclasses.replace(analysis, eps=float(e)), inputs).isel(network=0)
        for e in eps_values
    ]
    ds = xr.concat([r.drop_vars("network").drop_attrs() for r in runs], dim="eps")
    return ds.assign_coords(eps=[float(e) for e in eps_values]).assign_attrs(
        tau=int(analysis.tau), n_steps=int(analysis.n_steps), perturb_at=int(analysis.perturb_at)
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
        "exp_spec_positive_text": _positive_text(int((lam.mean(0) > 0).sum()), int(ds.attrs["k"])),
        "exp_ky": ky_text,
    }


def _positive_text(count: int, k: int) -> str:
    """How many of the top ``k`` exponents are positive on average, as a clause: ``none of the top 8 is
    positive``, ``all 8 of the top 8 are positive``, ``3 of the top 8 are positive``."""
    if count == 0:
        return f"none of the top {k} is positive"
    if count == k:
        return f"all of the top {k} are positive"
    return f"{count} of the top {k} {'is' if count == 1 else 'are'} positive"


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
        "exp_sens_protocol": protocol_text(int(ds.attrs.get("perturb_at", 0))),
        "exp_sens_protocol_md": protocol_markdown(int(ds.attrs.get("perturb_at", 0))),
        "exp_sens_eps_md": MarkdownText(
            "$\\varepsilon \\in \\{" + ", ".join(f"{e:g}" for e in ds.eps.values) + "\\}$",
            "eps in {" + ", ".join(f"{e:g}" for e in ds.eps.values) + "}",
        ),
        "exp_sens_text": MarkdownText(*(
            f"the mean first-window exponent {over_eps(lam0_by_eps.min(), lam0_by_eps.max(), '.3g', '', md)} "
            f"and the median chaos length {over_eps(medians.min(), medians.max(), '.0f', 'steps', md)}"
            for md in (True, False)
        )),
    }


def over_eps(low: float, high: float, spec: str, unit: str, markdown: bool) -> str:
    """How a quantity varies over the perturbation sizes: ``ranges from 20 to 40 steps``, or ``is 35 steps
    for every $\\varepsilon$`` (``eps`` without ``markdown``) when both ends print the same."""
    phrase = ranges_from(low, high, spec, unit)
    if phrase.startswith("are all "):
        return f"is {phrase[len('are all '):]} for every " + ("$\\varepsilon$" if markdown else "eps")
    return "ranges" + phrase[len("range"):]
