"""The phrases the reports glue into the prose read for every value: equal ends, zero counts, censoring,
undefined intervals; maths is Markdown maths, glued for ``{glue:md}`key:myst```."""

from __future__ import annotations

import math

from chaoslib.book.reports import phrasing as ph


def test_a_change_that_does_not_change_stays():
    assert ph.goes_from(3, 35, ".0f", "steps") == "goes from 3 to 35 steps"
    assert ph.goes_from(35, 35.2, ".0f", "steps") == "stays at 35 steps"  # equal as printed


def test_a_spread_over_seeds_with_equal_ends_is_one_value():
    assert ph.ranges_from(0.5, 0.6, ".3f") == "range from 0.500 to 0.600"
    assert ph.ranges_from(0.594, 0.5941, ".3f", each="seed") == "are 0.594 for every seed"
    assert ph.ranges_from(2, 2, ".0f", "steps") == "are all 2 steps"
    assert ph.lie_between(0.1, 0.4) == "lie between 0.1 and 0.4" and ph.lie_between(1, 1) == "are all 1"


def test_intervals_without_spread_or_values():
    assert ph.interval(46, 50, ".0f") == "95% interval 46 to 50"
    assert ph.interval(46, 50, ".0f", "its inputs") == (
        "95% interval 46 to 50 from a bootstrap over its inputs"
    )
    assert ph.interval(0, 0, ".0f", "networks, then inputs") == (
        "every bootstrap resample over networks, then inputs, gives 0"
    )
    assert ph.interval(46, 46, ".0f") == "the 95% interval has no spread"
    assert ph.interval(math.nan, 3) == "no 95% interval, too few values"
    assert ph.bracketed(0.21, 0.19, 0.23) == "0.21 [0.19, 0.23]"
    assert ph.bracketed(400, 400, 400, ".0f") == "400"
    assert ph.bracketed(1.0, math.nan, math.nan) == "1"


def test_counts_and_censoring_in_words():
    assert ph.count_of(0, 8, "input") == "none of the 8 inputs"
    assert ph.count_of(8, 8, "input") == "all 8 inputs"
    assert ph.count_of(3, 8, "input") == "3 of 8 inputs"
    assert ph.count_of(2, 2, "network") == "both networks"
    assert ph.count_of(0, 2, "network") == "neither network"
    assert [ph.listed(["a"]), ph.listed(["a", "b"]), ph.listed(["a", "b", "c"])] == ["a", "a and b", "a, b and c"]
    assert ph.capitalised("the median t_sync of albert-wt2-L04-s1") == "The median t_sync of albert-wt2-L04-s1"
    assert ph.censored_count(0, 8) == "none censored at the horizon"
    assert ph.censored_count(8, 8) == "all 8 censored at the horizon"
    assert ph.censored_share({"the reference's": 0.0, "the random networks'": 0.0}) == (
        "No length is censored at the horizon."
    )
    assert ph.censored_share({"the reference's": 1.0, "the random networks'": 1.0}) == (
        "All lengths are censored at the horizon."
    )
    assert ph.censored_share({"the reference's": 0.25, "the random networks'": 0.0}) == (
        "25% of the reference's lengths and none of the random networks' are censored at the horizon."
    )
    assert ph.at_least(400, True) == "more than 400 (censored at the horizon)"
    assert ph.at_least(46, False) == "46"


def test_a_median_of_censored_values_is_a_lower_bound():
    assert ph.median_steps(48, 46, 50, 0, 8, 2500, "its inputs") == (
        "48 steps (95% interval 46 to 50 from a bootstrap over its inputs; none censored at the horizon)"
    )
    assert ph.median_steps(400, 400, 400, 32, 32, 400, "its inputs") == (
        "more than 400 steps (all 32 censored at the horizon)"
    )


def test_numbers_as_tex():
    assert ph.tex_number(1e-5) == "10^{-5}" and ph.tex_number(8.4396e-8) == "8.44 \\times 10^{-8}"
    assert ph.tex_number(0.216) == "0.216" and ph.tex_number(10_000) == "10000"
    assert ph.tex_number(9.9996e-6) == "10^{-5}"  # rounding carried into the next power
    assert ph.tex_number(math.inf) == "\\infty"
    assert ph.tex_number(0.00163, scientific=True) == "1.63 \\times 10^{-3}"  # beside a smaller number


def test_markdown_text_is_glued_as_markdown_and_recorded_as_text():
    text = ph.MarkdownText("$\\theta = 10^{-5}$", "theta = 1e-05")
    assert text._repr_markdown_() == "$\\theta = 10^{-5}$"  # what {glue:md} pastes
    assert repr(text) == "theta = 1e-05"  # its text/plain
    assert text.item() == "$\\theta = 10^{-5}$"  # what Chapter.glue records in numbers.json
    looks_like_a_url = ph.MarkdownText("https://example.org is not fetched")
    assert looks_like_a_url.data == "https://example.org is not fetched"
    assert ph.strip_verdict("not testable here: censored") == "censored"


def test_markdown_table_is_a_numbered_table():
    table = ph.markdown_table(["Quantity", "Value"], [["a", "1"]], "Caption.", "tab-x").data
    assert table == (
        "```{table} Caption.\n:name: tab-x\n\n| Quantity | Value |\n| :--- | ---: |\n| a | 1 |\n```\n"
    )


def test_a_caption_with_a_backtick_is_refused():
    """A backtick in a fence's argument ends no fence (CommonMark): the table would print as text."""
    import pytest

    with pytest.raises(ValueError, match="tab-y: a caption must not hold a backtick"):
        ph.markdown_table(["A"], [["1"]], "The network `x` recomputed.", "tab-y")
