"""Numbers, tables and findings of the trained-depth chapter: each diagnostic of the series' networks against
L, the number of times the shared layer was applied in pretraining.

The values come from :mod:`chaoslib.pretraining.trained_depth` (one value per network: a median or a mean over
its inputs); the unit of every test is the network, the test an exact permutation test of the correlation
with log2 L over every arrangement of the networks' L (:func:`chaoslib.stats.trend_test`), at the book's one
threshold (:data:`chaoslib.book.reports.verdicts.THRESHOLD`). A finding is stated here and nowhere else:
"rises with L", "falls with L", "no trend", or "not testable here" with the smallest p these networks can give.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from chaoslib.book.reports.phrasing import MarkdownText, capitalised, count_of, listed, markdown_table, number, ranges_from
from chaoslib.book.reports.pretraining import check_table
from chaoslib.book.reports.verdicts import THRESHOLD
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.trained_depth import PAPER_DEPTH, Trend, beyond_design, trend

QUANTITIES = ("t_sync", "lambda0", "chaos_length", "ed_peak", "top_exponent")
NAMES = {
    "t_sync": "median $t_{\\rm sync}$ (steps)",
    "lambda0": "mean $\\lambda_0$ per step ($x(1)$ perturbed)",
    "chaos_length": "median chaos length (steps)",
    "ed_peak": "peak effective dimension",
    "top_exponent": "top exponent of the spectrum",
}
# names in glued plain text (no maths there: pdflatex has no Greek letters outside maths)
PLAIN_NAMES = {"t_sync": "the median t_sync", "lambda0": "the first-window exponent", "chaos_length": "the chaos length",
               "ed_peak": "the ED peak", "top_exponent": "the top exponent"}
CENSORED = {"t_sync": "sync_censored", "chaos_length": "chaos_censored"}
SPECS = {"t_sync": ".0f", "lambda0": ".3f", "chaos_length": ".0f", "ed_peak": ".1f", "top_exponent": ".3f"}
READ_OUTS = ("end of training", "matched held-out loss")
FINDINGS = ("rises with L", "falls with L", "no trend", "the same for every network", "not testable here")


def trends(values: xr.Dataset) -> dict[str, Trend]:
    """Every quantity's trend over the networks of ``values`` (dimension ``network``, coords ``depth``,
    ``seed``) at the book's threshold."""
    return {q: trend(values, q, alpha=THRESHOLD, censored=CENSORED.get(q)) for q in QUANTITIES}


def finding(result: Trend) -> str:
    """The chapter's finding for one quantity and read-out: one of :data:`FINDINGS` (a quantity with one value
    for every network has no correlation to test: "the same for every network")."""
    test = result.test
    if result.constant:
        return "the same for every network"
    if test.smallest_p > THRESHOLD:
        return "not testable here"
    if test.p_value >= THRESHOLD:
        return "no trend"
    return "rises with L" if test.statistic > 0 else "falls with L"


def _law(result: Trend) -> str:
    if result.exponent is None:
        return "none"
    low, high = result.exponent_interval
    return f"$L^{{{result.exponent:.2f}}}$ [{low:.2f}, {high:.2f}]"


def _at_paper_depth(result: Trend, spec: str) -> str:
    if result.at_paper_depth is None:
        return "—"
    low, high = result.at_paper_depth_interval
    return f"{number(result.at_paper_depth, spec)} [{number(low, spec)}, {number(high, spec)}]"


def trend_table(read_outs: dict[str, tuple[xr.Dataset, dict[str, Trend]]],
                name: str = "tab-td-trends") -> MarkdownText:
    """Every quantity at every read-out: the correlation with log2 L, the exact p and the smallest attainable
    p, the finding, the fitted law with its 95% interval and its value at L = 24 (where a law was fitted)."""
    header = ["Quantity", "Read-out", "$r$ with $\\log_2 L$", "$p$ (smallest)", "Finding",
              "Law (95% interval)", f"At $L$ = {PAPER_DEPTH}"]
    rows = []
    for quantity in QUANTITIES:
        for read_out, (_, results) in read_outs.items():
            result = results[quantity]
            r = result.test.statistic
            rows.append([NAMES[quantity], read_out, "—" if np.isnan(r) else f"{r:+.2f}",
                         f"{result.test.p_value:.2g} ({result.test.smallest_p:.2g})", finding(result),
                         _law(result), _at_paper_depth(result, SPECS[quantity])])
    caption = (f"Each diagnostic against $L$, one value per network; exact permutation test of the correlation "
               f"with $\\log_2 L$ over all arrangements of the networks' $L$ (threshold {THRESHOLD:g}); a power "
               f"law $y \\propto L^b$ is fitted only where the test finds a trend, with a bootstrap over the "
               f"networks of each $L$, and extrapolated to $L$ = {PAPER_DEPTH}.")
    return markdown_table(header, rows, caption, name, "llrrlll")


def networks_table(networks: list[dict], cards: dict[str, dict], read_at: xr.Dataset,
                   name: str = "tab-td-networks") -> MarkdownText:
    """The shipped series: per network (its name says L and seed) the tokens seen, the wall time, the card's
    test evaluation against its baselines, and the checkpoint and held-out loss of the matched read-out
    (``read_at``). Six narrow columns, so the PDF's table wraps no number; the names are plain text, not code,
    because LaTeX breaks plain text at its hyphens and cuts a code literal at the column's edge."""
    header = ["Network", "Tokens (M)", "Hours (threads)", "MLM accuracy (x baseline)",
              "MLM loss (unigram entropy)", "Matched read-out: step, loss"]
    rows = []
    for net in networks:
        card = cards[net["name"]]
        training, test = card["training"], card["test"]
        accuracy = test["evaluation"]["mlm_accuracy"]
        baselines = test["baselines"]
        at = read_at.sel(network=net["name"])
        rows.append([net["name"], f"{training['tokens_seen'] / 1e6:.1f}",
                     f"{training['train_seconds'] / 3600:.1f} ({training['threads']})",
                     f"{accuracy:.1%} ({accuracy / baselines['most_frequent_accuracy']:.2f}x)",
                     f"{test['evaluation']['mlm_loss']:.2f} ({baselines['unigram_entropy']:.2f})",
                     f"{int(at.checkpoint)}, {float(at.mlm_loss):.2f}"])
    caption = ("The networks of the series shipped so far (albert-wt2-L02-s1: L = 2, seed 1): tokens seen and "
               "wall time in pretraining (on 2 CPU cores, sharing the machine at times), the model card's "
               "evaluation on WikiText-2 test (every selected token shown as [MASK], at the trained length of 64 "
               "tokens) against the most-frequent-token baseline and the unigram entropy, and the checkpoint at "
               "which the matched-loss read-out reads the network, with its held-out loss on WikiText-2 valid.")
    return markdown_table(header, rows, caption, name, "lrrrrr")


def bars_sentence(networks: list[dict], cards: dict[str, dict]) -> str:
    """Which cards clear the bar the series set itself (all-[MASK] accuracy at least
    :data:`~chaoslib.pretraining.checkpoint.MIN_ACCURACY_RATIO` times the most-frequent-token baseline, loss
    below the unigram entropy), naming each network that misses it with its figures. A network that misses
    stays in the series: dropping it would choose the networks by their outcome."""
    from chaoslib.pretraining.checkpoint import MIN_ACCURACY_RATIO

    bar = (f"masked-token accuracy at least {MIN_ACCURACY_RATIO:g} times the most-frequent-token baseline and a "
           "loss below the unigram entropy")
    misses = []
    for net in networks:
        test = cards[net["name"]]["test"]
        evaluation, baselines = test["evaluation"], test["baselines"]
        ratio = evaluation["mlm_accuracy"] / baselines["most_frequent_accuracy"]
        loss, entropy = evaluation["mlm_loss"], baselines["unigram_entropy"]
        missed = []
        if ratio < MIN_ACCURACY_RATIO:
            missed.append(f"its accuracy is {ratio:.2f} times the baseline")
        if loss >= entropy:
            missed.append(f"its loss ({loss:.2f}) is not below the entropy ({entropy:.2f})")
        elif missed:
            missed[-1] += f", while its loss ({loss:.2f} nats) is below the entropy ({entropy:.2f})"
        if missed:
            misses.append(f"{net['name']} misses it: {listed(missed)}")
    cleared = capitalised(count_of(len(networks) - len(misses), len(networks), "card"))
    if not misses:
        return f"{cleared} clear the bar the series set itself: {bar}"
    them = ("It stays", "a network") if len(misses) == 1 else ("They stay", "networks")
    return (f"{cleared} clear the bar the series set itself ({bar}); {'; '.join(misses)}. {them[0]} in the "
            f"series and in every test below: leaving out {them[1]} that trained worse would choose the networks "
            "by their outcome")


def _by_depth(values: xr.Dataset, quantity: str) -> str:
    """``17 to 19 at L = 2, 27 to 47 at L = 4 and 88 at L = 8``: each L's range over its networks."""
    spec = SPECS[quantity]
    parts = []
    for depth in np.unique(values.depth.values):
        v = values[quantity].values[values.depth.values == depth]
        low, high = number(v.min(), spec), number(v.max(), spec)
        parts.append(f"{low if low == high else f'{low} to {high}'} at L = {int(depth)}")
    return listed(parts)


def finding_sentence(values: xr.Dataset, result: Trend, quantity: str) -> str:
    """One read-out of one quantity as a sentence part: its values by L and what the test says."""
    test = result.test
    label = finding(result)
    tested = f"r = {test.statistic:+.2f}, exact p = {test.p_value:.2g} over {test.n_networks} networks"
    said = {"rises with L": f"it rises with L ({tested})",
            "falls with L": f"it falls with L ({tested})",
            "no trend": f"no trend with L at {THRESHOLD:g} ({tested})",
            "the same for every network": "nothing scales",
            # the values' own smallest p: ties (a quantity that is 0 for most networks) can raise it above
            # the one td_testable states for distinct values
            "not testable here": f"r = {test.statistic:+.2f} with log2 L, not testable here: the smallest p "
                                 f"these values allow is {test.smallest_p:.2g}"}[label]
    if label == "the same for every network":
        return f"{number(float(values[quantity].values[0]), SPECS[quantity])} for every network, so {said}"
    if label == "not testable here":
        return f"{_by_depth(values, quantity)} ({said})"
    return f"{_by_depth(values, quantity)}; {said}"


def testable_sentence(result: Trend, missing: list[tuple[int, int]]) -> str:
    """Whether these networks can test a trend at the book's threshold at all (one sentence, said once)."""
    test = result.test
    if test.smallest_p <= THRESHOLD:
        return (f"With {test.n_networks} networks the smallest p an exact trend test can give is "
                f"{test.smallest_p:.2g}, below the threshold {THRESHOLD:g}, so a trend is testable wherever the networks' "
                "values differ (tied values allow less, and each quantity says so)")
    more = f" (the design's networks not shipped yet: {_missing_text(missing)})" if missing else ""
    return (f"With {test.n_networks} networks the smallest p an exact trend test can give is "
            f"{test.smallest_p:.2g}, above the threshold {THRESHOLD:g}: no trend is testable until more networks "
            f"ship{more}, so the values below are reported without a verdict")


def _missing_text(missing: list[tuple[int, int]]) -> str:
    return ", ".join(f"L = {d} seed {s}" for d, s in missing)


def design_sentence(missing: list[tuple[int, int]], beyond: list[tuple[int, int]]) -> str:
    """How the shipped networks stand against the design: which (L, seed) pairs it still lacks and which
    shipped ones it did not ask for (e.g. "every network of the design is shipped, and beyond it L = 16 seed 2")."""
    said = "every network of the design is shipped" if not missing else "not shipped yet: " + _missing_text(missing)
    return said + (f", and beyond it {_missing_text(beyond)}" if beyond else "")


def law_sentence(result: Trend, quantity: str) -> str:
    """The fitted law and its extrapolation to L = 24, or why none was fitted."""
    if result.exponent is None:
        if result.why_no_law.startswith("not testable"):
            return "No power law is fitted before a trend is found"
        return f"No power law is fitted to {PLAIN_NAMES[quantity]} ({result.why_no_law})"
    low, high = result.exponent_interval
    a, b = result.at_paper_depth_interval
    spec = SPECS[quantity]
    name = PLAIN_NAMES[quantity]
    verb = "grows" if low > 0 else "falls" if high < 0 else "scales"  # as its interval says
    return (f"{capitalised(name)} {verb} as L^{result.exponent:.2f} (95% interval {low:.2f} to {high:.2f}, a "
            f"bootstrap over the networks of each L), which puts it at {number(result.at_paper_depth, spec)} at "
            f"L = {PAPER_DEPTH} (95% interval {number(a, spec)} to {number(b, spec)})")


def _which_networks(values: xr.Dataset, chosen: xr.DataArray, what: str) -> str:
    """``only albert-wt2-L16-s0 (L = 16) of the 7 networks has <what> at the end of training``, or ``no
    network ...``: which networks of ``values`` (dimension ``network``) are ``chosen``."""
    names = [f"{n} (L = {int(d)})" for n, d, c in zip(values.network.values, values.depth.values, chosen.values) if c]
    total = values.sizes["network"]
    if not names:
        return f"none of the {total} networks has {what} at the end of training"
    return f"only {listed(names)} of the {total} networks {'has' if len(names) == 1 else 'have'} {what} at the end of training"


VERB = {"rises with L": "rises with L", "falls with L": "falls with L", "no trend": "shows no trend with L",
        "the same for every network": "is the same for every network", "not testable here": "cannot be tested"}


def summary_sentence(by_read_out: dict[str, tuple[xr.Dataset, dict[str, Trend]]]) -> str:
    """Every quantity's finding at both read-outs in one sentence, for the chapter's opening: ``the median
    t_sync rises with L at the end of training but shows no trend with L at matched held-out loss; ...``."""
    (_, end_trends), (_, matched_trends) = (by_read_out[r] for r in READ_OUTS)
    parts = []
    for quantity in QUANTITIES:
        at_end, at_matched = (VERB[finding(t[quantity])] for t in (end_trends, matched_trends))
        both = "at either read-out" if at_end == VERB["not testable here"] else "at both read-outs"
        parts.append(f"{PLAIN_NAMES[quantity]} {at_end} {both}" if at_end == at_matched else
                     f"{PLAIN_NAMES[quantity]} {at_end} at the end of training but {at_matched} at matched "
                     "held-out loss")
    return "; ".join(parts)


def read_outs(end: xr.Dataset, matched: xr.Dataset) -> dict[str, tuple[xr.Dataset, dict[str, Trend]]]:
    """The two read-outs (:data:`READ_OUTS`) with their trends, computed once for the figures, the table and
    :func:`numbers`: read-out -> (per-network values, {quantity: Trend})."""
    return {READ_OUTS[0]: (end, trends(end)), READ_OUTS[1]: (matched, trends(matched))}


def numbers(networks: list[dict], missing: list[tuple[int, int]],
            by_read_out: dict[str, tuple[xr.Dataset, dict[str, Trend]]], level: float, best: pd.DataFrame,
            initial: xr.Dataset | None = None) -> dict:
    """The chapter's glued numbers and phrases (prefix ``td_``).

    Args:
        networks: the shipped series (:func:`chaoslib.pretraining.series.shipped_series`); missing: the (L,
            seed) pairs of the design not shipped yet; by_read_out: :func:`read_outs` of the per-network values at
            the end of training and at the matched held-out loss ``level``; best: :func:`~chaoslib.pretraining.
            trained_depth.best_mlm_depth`; initial: the values at step 0 (the seeded initialisations; default
            ``end``'s, for hand-built tests).
    """
    (end, end_trends), (matched, matched_trends) = (by_read_out[r] for r in READ_OUTS)
    initial = end if initial is None else initial
    if len(networks) < 2:
        raise ChaoslibError(f"the chapter needs at least two shipped series networks; {len(networks)} shipped.")
    depths = sorted({int(n["depth"]) for n in networks})
    out = {
        "td_n_networks": len(networks),
        "td_depths": listed([str(d) for d in depths]),
        "td_missing": design_sentence(missing, beyond_design(networks)),
        "td_testable": testable_sentence(end_trends["t_sync"], missing),
        "td_threshold": THRESHOLD,
        "td_level": level,
        "td_matched_losses": ranges_from(float(matched.mlm_loss.min()), float(matched.mlm_loss.max()), ".2f"),
        "td_end_losses": ranges_from(float(end.mlm_loss.min()), float(end.mlm_loss.max()), ".2f"),
        "td_tracks": count_of(int(best["tracks"].sum()), len(best), "network"),
        "td_t_sync_init": ranges_from(float(initial.t_sync.min()), float(initial.t_sync.max()), ".0f", "steps"),
        "td_t_sync_last": ranges_from(float(end.t_sync.min()), float(end.t_sync.max()), ".0f", "steps"),
    }
    for quantity in QUANTITIES:
        out[f"td_{quantity}_end"] = finding_sentence(end, end_trends[quantity], quantity)
        out[f"td_{quantity}_matched"] = finding_sentence(matched, matched_trends[quantity], quantity)
        out[f"td_{quantity}_law"] = law_sentence(end_trends[quantity], quantity)
    out["td_chaos_reading"] = _which_networks(end, end.chaos_length > 0, "a positive median chaos length")
    out["td_positive_lambda0"] = _which_networks(end, end.lambda0 > 0, "a positive mean first-window exponent")
    out["td_summary"] = summary_sentence(by_read_out)
    kept = best["accuracy_at_last"] / best["best_accuracy"]
    out["td_kept_at_4L"] = ranges_from(float(kept.min()), float(kept.max()), ".0%")
    off = best[~best["tracks"]]
    out["td_off_track"] = ("" if off.empty else "; " + ", ".join(
        f"{r.network} (L = {r.depth}) reads best at depth {r.best_depth}, {r.best_accuracy:.1%} against "
        f"{r.accuracy_at_L:.1%} at its own L" for r in off.itertuples()))
    return out


def settings_numbers(records: dict[str, xr.Dataset]) -> dict:
    """The diagnostics' settings, which every network's record must share: ``td_n_inputs``, ``td_n_tokens``,
    ``td_horizon`` (steps of the exponents and t_sync)."""
    settings = {json.dumps(r.attrs["settings"], sort_keys=True) for r in records.values()}
    if len(settings) != 1:
        raise ChaoslibError("the series' records were written with different diagnostic settings; recompute "
                            "them with chaoslib.pretraining.series.series_diagnostic_settings().")
    first = next(iter(records.values())).attrs["settings"]
    return {"td_n_inputs": int(first["n_inputs"]), "td_n_tokens": int(first["n_tokens"]),
            "td_horizon": int(first["n_steps"])}


def recheck_table(table: pd.DataFrame, checked: str, against: str, control: bool) -> MarkdownText:
    """The live recheck of ``checked`` against the record of ``against`` (itself, or the negative control);
    a quantity the series does not measure (neither side has a value) is left out."""
    table = table[~(table["record"].isna() & table["live"].isna())]
    if control:
        # no code literal in a caption: a backtick in a fence's argument ends no fence (CommonMark)
        caption = (f"Negative control: {checked} recomputed now against the final entry of {against}, a "
                   "network of another $L$; at least one quantity must lie outside its tolerance.")
        return check_table(table, "live", caption, "tab-td-recheck-control")
    caption = (f"{checked} recomputed now with its record's settings against the record's final entry: every "
               "quantity must lie within its tolerance.")
    return check_table(table, "live", caption, "tab-td-recheck")
