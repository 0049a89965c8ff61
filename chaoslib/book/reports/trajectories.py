"""Numbers and the verdict of the trajectories chapter (token spread of the short run, sync offsets of the
long run, R3).

The runs come from :func:`chaoslib.studies.trajectories.network_trajectories` (``run_trajectory`` results of
several networks on the same inputs); :func:`by_network` concatenates them along ``network`` and labels them
with :func:`chaoslib.book.reports.exponents.with_roles` (one ``reference``: the network under test;
``comparison``: random networks): ``units`` (network, sample, step, units_token, units_unit) and
``token_spread`` (network, sample, step). Sample 0 is the authors' input ("ALBERT stands for A Lite BERT." /
"Hello world!").

Units. R3 is a claim about one input (the authors' pair in 16 tokens) of one network: its t_sync, measured
or censored at the horizon, decides it; the other inputs give the spread around it (a bootstrap over
inputs). The comparison of the reference with the random networks is about networks: an interval from a
bootstrap over networks, then inputs, paired by input, and an exact permutation test over the networks'
medians whose smallest attainable p is stated. The control networks (weight scale, shuffled weights,
hybrids) are run in the synchronisation chapter, not here: this chapter's long run is the book's slowest.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import xarray as xr

from chaoslib.book.reports.exponents import split_roles, with_roles
from chaoslib.book.reports.phrasing import (
    MarkdownText,
    count_of,
    median_steps,
    ranges_from,
    tex_number,
)
from chaoslib.book.reports.synchronisation import network_comparison
from chaoslib.book.reports.verdicts import target_record
from chaoslib.dynamics.sync import sync_offset
from chaoslib.stats import bootstrap_interval

__all__ = [
    "with_roles",
    "chapter_inputs",
    "short_and_long_runs",
    "by_network",
    "edition_text",
    "short_run_numbers",
    "long_run_numbers",
    "r3_rule",
    "target_r3",
    "r3_basis",
]


def chapter_inputs(
    texts: Sequence,
    n_tokens: int,
    long_run_tokens: int,
    long_run_samples: int,
    seed: int = 0,
    corpus: str = "wikitext-2",
    data_dir: str | os.PathLike | None = None,
):
    """The chapter's inputs, encoded as the authors did (:func:`chaoslib.data.corpus.encode_authors`):
    ``texts`` in ``n_tokens`` tokens (the short run), and ``texts`` followed by ``long_run_samples`` sampled
    sentence pairs of the corpus in ``long_run_tokens`` tokens (the long run). Returns (short, long)."""
    from chaoslib.data.corpus import encode_authors, sample_sentence_pairs
    from chaoslib.data.tokenization import load_tokenizer

    tokenizer = load_tokenizer(data_dir=data_dir)
    pairs = (
        sample_sentence_pairs(long_run_samples, seed, 4 * long_run_tokens, corpus, data_dir=data_dir)
        if long_run_samples
        else []
    )
    short_inputs = encode_authors(tokenizer, texts, n_tokens)
    long_inputs = encode_authors(tokenizer, [*texts, *pairs], long_run_tokens)
    return short_inputs, long_inputs


def short_and_long_runs(ch) -> tuple[xr.Dataset, xr.Dataset]:
    """The chapter's two runs of every network (``ch.networks()``, each loaded once by ``ch.load``, which
    records it): the short run (``texts`` in ``n_tokens`` tokens, ``n_steps`` steps) and the long run
    (``texts`` and the sampled pairs in ``long_run_tokens`` tokens, ``long_run_steps`` steps; with
    ``long_run_resume`` streamed to ``<chapter>/long_run/<network>`` and resumed), both recording the units
    ``plot_units`` of the tokens ``plot_tokens`` and sigma(t). Returns the two labelled datasets
    (:func:`by_network`), short and long."""
    from chaoslib.dynamics.probes import TokenSpread, Units
    from chaoslib.studies.trajectories import Run, network_trajectories

    p = ch.p
    short_inputs, long_inputs = chapter_inputs(
        p.texts, p.n_tokens, p.long_run_tokens, p.long_run_samples, p.seed, p.corpus, p.data_dir
    )
    runs = network_trajectories(
        ch.networks(),
        {
            "short": Run(short_inputs, p.n_steps),
            "long": Run(long_inputs, p.long_run_steps, ch.path("long_run") if p.long_run_resume else None),
        },
        probes=[Units(tokens=p.plot_tokens, units=p.plot_units), TokenSpread()],
        load=ch.load,
        attention_mask=p.attention_mask,
        save_every=p.long_run_save_every,
    )
    short = by_network(runs["short"]).assign_attrs(
        n_tokens=p.n_tokens, active_tokens=int(short_inputs.attention_mask.sum())
    )
    return short, by_network(runs["long"]).assign_attrs(n_tokens=p.long_run_tokens)


def by_network(runs: dict[str, xr.Dataset], labels: list[str] | None = None) -> xr.Dataset:
    """``run_trajectory`` results (one per network, same inputs) -> one dataset along ``network``, the
    first network the reference (:func:`with_roles`; ``labels`` default: the keys of ``runs``); each run's
    ``steps_per_second`` kept per network."""
    labels = list(runs) if labels is None else labels
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
        "128, 4 heads, pretrained on 64-token examples), not albert-large-v2, whose weights are not available offline."
    )


def short_run_numbers(ds: xr.Dataset, sample: int = 0) -> dict:
    """sigma at t=0 and at the last step for input ``sample`` (keys prefixed ``traj_``): the reference,
    and the median and range over the random networks; the reference's steps per second."""
    ref, others = split_roles(ds)
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
    out["ref_sigma_text"] = MarkdownText(
        f"goes from ${tex_number(out['ref_sigma0'])}$ at $t=0$ to ${tex_number(out['ref_sigmaT'])}$ after "
        f"{out['steps']} steps",
        f"goes from {out['ref_sigma0']:.3g} at t=0 to {out['ref_sigmaT']:.3g} after {out['steps']} steps",
    )
    if others:
        end = spread.sel(network=others).isel(step=-1).values
        out.update(
            rand_sigmaT=float(np.median(end)),
            rand_sigmaT_min=float(end.min()),
            rand_sigmaT_max=float(end.max()),
        )
        out["rand_sigma_text"] = _ends_text(end)
    return {"traj_" + k: v for k, v in out.items()}


def _ends_text(end: np.ndarray) -> MarkdownText:
    """Where sigma ends through the random networks: ``$6.4 \\times 10^{-4}$ (median; the networks range from
    ... to ...)``, or the one value when every network ends there (at three digits)."""
    small = bool(end.min() < 1e-3)  # one notation for the three numbers of the phrase
    tex = [tex_number(v, scientific=small) for v in (np.median(end), end.min(), end.max())]
    plain = [f"{v:.3g}" for v in (np.median(end), end.min(), end.max())]
    if len(end) == 1:
        return MarkdownText(f"${tex[0]}$", plain[0])
    if tex[1] == tex[2]:
        return MarkdownText(f"${tex[0]}$ for every network", f"{plain[0]} for every network")
    return MarkdownText(
        f"${tex[0]}$ (median; the networks range from ${tex[1]}$ to ${tex[2]}$)",
        f"{plain[0]} (median; the networks range from {plain[1]} to {plain[2]})",
    )


def long_run_numbers(ds: xr.Dataset, threshold: float = 1e-5, relative: bool = True, seed: int = 0) -> dict:
    """Sync offsets of the long run (keys prefixed ``long_``): t_sync of the authors' input (sample 0)
    through the reference and through each random network; the reference's median over inputs with a
    bootstrap interval over inputs; against the random networks, networks as the unit
    (:func:`chaoslib.book.reports.synchronisation.network_comparison`: the ratio of medians with an interval
    over networks then inputs, paired by input, and an exact permutation test over the networks' medians, with
    the smallest p it can give); censored counts."""
    ref, others = split_roles(ds)
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
    out["ref_median_low"], out["ref_median_high"] = (
        bootstrap_interval(r.offset, np.median, seed=seed) if r.offset.size >= 2 else (float("nan"),) * 2
    )
    out["ref_text"] = median_steps(out["ref_median"], out["ref_median_low"], out["ref_median_high"],
                                   out["ref_censored"], out["n_samples"], horizon, "its inputs")
    if others:
        rand = [offsets(n) for n in others]
        authors = np.array([o.offset[0] for o in rand])
        synced = np.array([not o.censored[0] for o in rand])
        out["authors_rand_text"] = _authors_rand_text(authors, synced, horizon)
        out.update(
            authors_rand_min=int(authors.min()),
            authors_rand_max=int(authors.max()),
            authors_rand_median=float(np.median(authors)),
            rand_censored=int(sum(o.censored.sum() for o in rand)),
            rand_inputs=int(sum(o.offset.size for o in rand)),
        )
        out.update(network_comparison(r.offset, np.stack([o.offset for o in rand]), seed))
        spread = ranges_from(out["seed_min"], out["seed_max"], ".0f", each="network")
        own = f"the networks' own medians {spread}"
        out["rand_text"] = median_steps(out["rand_median"], out["rand_median_low"], out["rand_median_high"],
                                        out["rand_censored"], out["rand_inputs"], horizon,
                                        "networks, then inputs", own)
    return {"long_" + k: v for k, v in out.items()}


def _authors_rand_text(authors: np.ndarray, synced: np.ndarray, horizon: int) -> str:
    """Where the authors' pair synchronises through the random networks, in words: ``it synchronises in all
    5, between steps 673 and 1133``, ``... at step 700 in all 5``, ``in 3 of 5 (between ...); the others not
    within 2500 steps``, ``in none of the 5 within 2500 steps``."""
    n, k = len(synced), int(synced.sum())
    if not k:
        return f"it synchronises in none of the {n} within {horizon} steps"
    low, high = int(authors[synced].min()), int(authors[synced].max())
    where = f"at step {low}" if low == high else f"between steps {low} and {high}"
    if k == n:
        return f"it synchronises in {count_of(k, n, 'network')}, {where}" if n > 1 else (
            f"it synchronises {where}")
    return f"it synchronises in {count_of(k, n, 'network')}, {where}; the others not within {horizon} steps"


def r3_basis(record: dict, numbers: dict) -> MarkdownText:
    """What R3's verdict rests on, for the prose beside it: the authors' pair's t_sync (measured inside the
    horizon, or censored at it), or why it is not testable here."""
    n = {k[len("long_") :]: v for k, v in numbers.items()}
    if n["authors_ref_censored"]:
        short = record["holds"] is None  # censored before the claimed length: r3_rule's only untestable case
        return MarkdownText(
            f"the pair has not synchronised within the horizon: $t_{{\\mathrm{{sync}}}} > {n['steps']}$ steps"
            + (", short of the claim's $10^4$" if short else ""),
            f"the pair has not synchronised within the horizon: t_sync > {n['steps']} steps"
            + (", short of the claim's 10^4" if short else ""),
        )
    return MarkdownText(
        f"the pair synchronises inside the horizon of {n['steps']} steps, at $t_{{\\mathrm{{sync}}}} = "
        f"{n['authors_ref']}$",
        f"the pair synchronises inside the horizon of {n['steps']} steps, at t_sync = {n['authors_ref']}",
    )


CLAIMED_STEPS = 10_000  # R3: "of order 10^4 steps or more"


def r3_rule(
    t_sync: int, censored: bool, horizon: int, claimed: int = CLAIMED_STEPS
) -> tuple[bool | None, str]:
    """(holds, reason) of R3 from the authors' input's t_sync: measured inside the horizon, it holds when
    >= ``claimed`` and does not hold below; censored at a horizon >= ``claimed``, it holds (the transient
    lasts at least that long); censored at a shorter horizon, it is not testable here (censored at T)."""
    if not censored:
        return bool(t_sync >= claimed), ""
    if horizon >= claimed:
        return True, ""
    return None, f"censored at T={horizon} < {claimed} steps: no synchronisation within the horizon"


def target_r3(numbers: dict, model: str, model_name: str, claimed: int = CLAIMED_STEPS) -> dict:
    """R3 on the reference network: the authors' 16-token input stays unsynchronised for ``claimed`` steps or
    more (:func:`r3_rule`). One input of one network; ``numbers``: :func:`long_run_numbers`; ``model_name``:
    the network measured, for the note on what carries over to albert-large-v2."""
    n = {k[len("long_") :]: v for k, v in numbers.items()}
    holds, reason = r3_rule(n["authors_ref"], n["authors_ref_censored"], n["steps"], claimed)
    measured = (
        f"{model}, {n['ref_label']}, the authors' input at N={n['tokens']} (one input of one network): "
        f"{n['authors_ref_text']}; beside it, median t_sync over {n['n_samples']} inputs "
        f"{n['ref_median']:.0f} [{n['ref_median_low']:.0f}, {n['ref_median_high']:.0f}] "
        f"({n['ref_censored']} censored at {n['steps']})"
    )
    if "rand_median" in n:
        measured += (
            f"; {n['n_random']} random networks: median {n['rand_median']:.0f} [{n['rand_median_low']:.0f}, "
            f"{n['rand_median_high']:.0f}], {n['test_text']}"
        )
    carries = (
        "the network measured here is albert-large-v2 itself"
        if model_name == "albert-large-v2"
        else (
            f"measured here on {model_name} with the authors' input, token count, pads and threshold: the "
            "protocol carries over, the number does not (this network's t_sync neither confirms nor refutes "
            "albert-large-v2's)"
        )
    )
    bound, censored = (">=", "yes") if n["authors_ref_censored"] else ("=", "no")
    return target_record(
        target_id="R3",
        claim="pretrained transient of order 10^4 steps or more (16 tokens)",
        measured=measured,
        holds=holds,
        note=(
            f"one input (the authors' pair in {n['tokens']} tokens) of one network; holds = its t_sync >= "
            f"{claimed} (measured, or censored at a horizon >= {claimed}). The claim is about pretrained "
            f"albert-large-v2; {carries}. The control networks are compared in the synchronisation chapter."
        ),
        unit="inputs of one network",
        interval=f"t_sync {bound} {n['authors_ref']} steps (one input; censored: {censored})",
        reason=reason,
    )
