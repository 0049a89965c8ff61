"""The verdict rules: they read only the measurements, can fail and can pass, and say why a claim is not
testable here."""

from __future__ import annotations

import numpy as np
import pytest

from chaoslib.book.reports.verdicts import (
    VERDICT_STYLES,
    VERDICTS,
    network_rule,
    target_record,
    verdict,
    verdict_badge,
)
from chaoslib.stats import permutation_test


def _reference_vs_others(reference: float, others: list[float]):
    values = np.array([reference, *others])
    labels = np.array([1] + [0] * len(others))

    def mean_difference(v, arrangements):
        return np.array([v[a == 1].mean() - v[a == 0].mean() for a in arrangements])

    return permutation_test(values, labels, mean_difference, "greater")


def test_one_reference_against_k_others_cannot_go_below_one_over_k_plus_one():
    test = _reference_vs_others(50.0, [10.0, 12.0, 9.0, 11.0])
    assert test.p_value == pytest.approx(1 / 5) and test.smallest_p == pytest.approx(1 / 5)
    holds, reason = network_rule(True, test)
    assert holds is None and "smallest attainable p is 0.2" in reason and "one pretrained network" in reason


def test_the_rule_fails_on_a_contrary_measurement_and_passes_with_enough_networks():
    assert network_rule(False, _reference_vs_others(5.0, [10.0, 12.0, 9.0])) == (False, "")
    # three references against five others: 56 arrangements, smallest p 1/56 < 0.05
    values = np.array([50.0, 51.0, 49.0, 10.0, 12.0, 9.0, 11.0, 13.0])
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    test = permutation_test(values, labels, lambda v, a: np.array([v[r == 1].mean() - v[r == 0].mean()
                                                                   for r in a]), "greater")
    assert test.smallest_p == pytest.approx(1 / 56)
    assert network_rule(True, test, threshold=0.05) == (True, "")
    assert network_rule(True, None) == (True, "")  # a claim about one network's inputs: no network test
    holds, reason = network_rule(True, test, censored="every input is censored at T = 500")
    assert holds is None and reason == "not testable here: every input is censored at T = 500"


def test_records_carry_unit_interval_controls_and_a_reason_when_not_testable():
    record = target_record("R2", "claim", "measured", None, unit="networks", interval="17 [12, 30]",
                           controls=["untrained"], reason="not testable here: one pretrained network")
    assert verdict(record) == "not testable here" and record["controls"] == ["untrained"]
    assert verdict(target_record("R1", "c", "m", False)) == "does not hold"
    with pytest.raises(ValueError, match="needs a reason"):
        target_record("R3", "c", "m", None)
    with pytest.raises(ValueError, match="unit"):
        target_record("R3", "c", "m", True, unit="people")


def test_a_verdict_is_shown_as_a_badge_of_its_own_colour():
    """holds green, does not hold red, not testable here grey (the themes give "secondary" their accent
    colour); each a colour sphinx-design knows, and the badge's text is the verdict's words (the PDF's)."""
    from sphinx_design.shared import SEMANTIC_COLORS

    assert verdict_badge(True) == "{bdg-success}`holds`"
    assert verdict_badge(False) == "{bdg-danger}`does not hold`"
    assert verdict_badge(None) == "{bdg-muted}`not testable here`"
    assert set(VERDICT_STYLES) == set(VERDICTS) and len(set(VERDICT_STYLES.values())) == 3
    assert set(VERDICT_STYLES.values()) <= set(SEMANTIC_COLORS)
