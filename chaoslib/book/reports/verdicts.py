"""The record of a reproduction target and the rules of its verdict, shared by every chapter's report.

A verdict reads only the measurements, never a network's label:

- a claim *holds* when its effect is measured and, where the claim is about networks, an exact permutation test
  over networks (:class:`chaoslib.stats.PermutationTest`) puts it below the threshold;
- it *does not hold* when a measurement inside the horizon contradicts it;
- it is *not testable here* only for a stated reason: the quantity is censored at the horizon, or the smallest p
  these networks can attain (1 / (K + 1) for one reference network against K others) exceeds the threshold.
"""

from __future__ import annotations

VERDICTS = {True: "holds", False: "does not hold", None: "not testable here"}
# layout: the colour of a verdict's badge (sphinx-design's semantic colours: green, red, grey; the themes
# colour "secondary" with their accent, so grey is "muted")
VERDICT_STYLES = {True: "success", False: "danger", None: "muted"}
THRESHOLD = 0.01  # the one significance level of the book's network-level tests
UNITS = ("networks", "inputs of one network", "the layer's algebra")


def target_record(target_id: str, claim: str, measured: str, holds: bool | None, note: str = "", *,
                  unit: str = "", interval: str = "", controls: list[str] | tuple[str, ...] = (),
                  reason: str = "") -> dict:
    """A target's record for :meth:`chaoslib.book.chapter.Chapter.verdict`.

    Args:
        claim: the paper's claim; measured: what was measured (text with its interval);
        holds: True, False or None (not testable here, then ``reason`` says why);
        unit: what the test's samples are (one of :data:`UNITS`, or "" where there is no test);
        interval: the headline number with its 95% interval, as shown in the results table;
        controls: the labels of the control networks the reference was compared with;
        note: anything else the reader needs.
    """
    if holds is None and not reason:
        raise ValueError(f"{target_id}: a target that is not testable here needs a reason.")
    if unit and unit not in UNITS:
        raise ValueError(f"{target_id}: unit={unit!r}; use one of {list(UNITS)}.")
    return {"target_id": target_id, "claim": claim, "measured": measured,
            "holds": None if holds is None else bool(holds), "note": note, "unit": unit, "interval": interval,
            "controls": list(controls), "reason": reason}


def verdict(record: dict) -> str:
    """Prose for a target's verdict: ``holds``, ``does not hold`` or ``not testable here``."""
    return VERDICTS[record["holds"]]


def verdict_badge(holds: bool | None) -> str:
    """A verdict as a sphinx-design badge (MyST), coloured by :data:`VERDICT_STYLES`: for True, the role
    ``bdg-success`` around the words "holds". The PDF shows the badge's words as text."""
    return f"{{bdg-{VERDICT_STYLES[holds]}}}`{VERDICTS[holds]}`"


def network_rule(effect: bool, test=None, threshold: float = THRESHOLD,
                 censored: str = "") -> tuple[bool | None, str]:
    """(holds, reason) of a claim about networks.

    Args:
        effect: whether the measured effect is in the claimed direction and size (the chapter's rule);
        test: the exact permutation test over networks (:class:`chaoslib.stats.PermutationTest`), or None where
            the claim is about one network's inputs;
        censored: a non-empty reason when the quantity is censored at the horizon (then not testable).
    """
    if censored:
        return None, f"not testable here: {censored}"
    if not effect:
        return False, ""
    if test is None:
        return True, ""
    if test.smallest_p > threshold:
        return None, (f"not testable here: with {test.n_networks} networks the smallest attainable p is "
                      f"{test.smallest_p:.3g}, above the threshold {threshold:g} (one pretrained network)")
    return bool(test.p_value < threshold), ""
