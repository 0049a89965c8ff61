"""Phrases the reports glue into the chapters' prose, in one place, so that they read for every value.

A sentence glued from numbers must read when the numbers are degenerate: a range whose two ends are equal
("stays at 35 steps", not "from 35 to 35 steps"), a count of zero ("no length is censored", not "0% of the
lengths are censored"), an interval without spread, a value censored at the horizon (a lower bound, marked as
one: "more than 400 (censored at the horizon)"). Maths in a glued phrase is Markdown maths (``$\\theta$``):
such a phrase is a :class:`MarkdownText`, glued with ``ch.glue`` and placed in the prose with the
``{glue:md}`` role in its MyST form, ``{glue:md}`key:myst```, which renders ``$...$`` as maths in HTML and
LaTeX (the role's default, CommonMark, would print the dollars).
"""

from __future__ import annotations

import math

from IPython.display import Markdown

__all__ = [
    "MarkdownText",
    "number",
    "goes_from",
    "ranges_from",
    "lie_between",
    "interval",
    "count_of",
    "censored_share",
    "censored_count",
    "at_least",
    "bracketed",
    "strip_verdict",
    "tex_number",
    "markdown_table",
    "median_steps",
]


class MarkdownText(Markdown):
    """A glued phrase in Markdown (maths as ``$...$``), for ``{glue:md}`key:myst``` in the prose.

    ``plain``: the same phrase without markup, its ``text/plain`` form (what ``{glue:text}`` would show).
    ``.item()`` gives the Markdown text, which :meth:`chaoslib.book.chapter.Chapter.glue` records in the
    chapter's ``numbers.json`` (as it records a numpy scalar's value)."""

    def __init__(self, text: str, plain: str | None = None):
        super().__init__()  # no data here: a DisplayObject reads a text that looks like a path or URL as one
        self.data = text
        self.plain = text if plain is None else plain

    def item(self) -> str:
        return self.data

    def __str__(self) -> str:
        return self.data

    def __repr__(self) -> str:
        return self.plain

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MarkdownText) and (self.data, self.plain) == (other.data, other.plain)

    __hash__ = None


def number(value: float, spec: str = ".3g") -> str:
    """``value`` formatted by ``spec``; an undefined value "not defined", an infinite one "infinite"."""
    value = float(value)
    if math.isnan(value):
        return "not defined"
    if math.isinf(value):
        return "infinite" if value > 0 else "minus infinity"
    return format(value, spec)


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def _equal(a: float, b: float, spec: str) -> bool:
    """Whether two values print the same: a reader sees one value."""
    return number(a, spec) == number(b, spec)


def goes_from(first: float, last: float, spec: str = ".3g", unit: str = "") -> str:
    """A change over time: ``goes from 3 to 35 steps``, or ``stays at 35 steps`` when both print the same."""
    if _equal(first, last, spec):
        return "stays at " + _with_unit(number(first, spec), unit)
    return f"goes from {number(first, spec)} to " + _with_unit(number(last, spec), unit)


def ranges_from(low: float, high: float, spec: str = ".3g", unit: str = "", each: str = "") -> str:
    """A spread over several things (``each``: "seed", "network"): ``range from 0.5 to 0.6``, or, when both
    ends print the same, ``are 0.594 for every seed`` (``are all 0.594`` without ``each``)."""
    if _equal(low, high, spec):
        value = _with_unit(number(low, spec), unit)
        return f"are {value} for every {each}" if each else f"are all {value}"
    return f"range from {number(low, spec)} to " + _with_unit(number(high, spec), unit)


def lie_between(low: float, high: float, spec: str = ".3g", unit: str = "") -> str:
    """``lie between 0.1 and 0.4``, or ``are all 0.4`` when both ends print the same."""
    if _equal(low, high, spec):
        return "are all " + _with_unit(number(low, spec), unit)
    return f"lie between {number(low, spec)} and " + _with_unit(number(high, spec), unit)


def interval(low: float, high: float, spec: str = ".3g", over: str = "") -> str:
    """A bootstrap interval as prose, ``over`` what it resamples (``"its inputs"``; may be empty): ``95%
    interval 46 to 50 from a bootstrap over its inputs``; when both ends print the same, ``every bootstrap
    resample over its inputs gives 46`` (``the 95% interval has no spread`` without ``over``); ``no 95%
    interval, too few values`` when it is undefined. No parentheses: the phrase sits inside the prose's
    own."""
    if math.isnan(float(low)) or math.isnan(float(high)):
        return "no 95% interval, too few values"
    if _equal(low, high, spec):
        comma = "," if "," in over else ""  # "over networks, then inputs, gives"
        return f"every bootstrap resample over {over}{comma} gives {number(low, spec)}" if over else (
            "the 95% interval has no spread")
    tail = f" from a bootstrap over {over}" if over else ""
    return f"95% interval {number(low, spec)} to {number(high, spec)}{tail}"


def listed(parts: list[str]) -> str:
    """Parts as an English list: ``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 2 else parts)


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-case and the rest as it is (``str.capitalize`` would lower-case
    the names and units inside): for a glued phrase that opens a sentence."""
    return text[:1].upper() + text[1:]


def count_of(count: int, total: int, noun: str, nouns: str | None = None) -> str:
    """``none of the 8 inputs``, ``all 8 inputs``, ``3 of 8 inputs``; ``both inputs``, ``neither input``,
    ``the one input``."""
    count, total = int(count), int(total)
    plural = nouns or noun + "s"
    if total == 1:
        return f"the one {noun}" if count else f"not the one {noun}"
    if total == 2 and count in (0, 2):
        return f"neither {noun}" if count == 0 else f"both {plural}"
    if count == 0:
        return f"none of the {total} {plural}"
    if count == total:
        return f"all {total} {plural}"
    return f"{count} of {total} {plural}"


def censored_count(count: int, total: int, noun: str = "input", where: str = "at the horizon") -> str:
    """How many of ``total`` values are censored: ``none censored at the horizon``, ``all 8 censored at the
    horizon``, ``3 of 8 censored at the horizon``."""
    count, total = int(count), int(total)
    if count == 0:
        return f"none censored {where}"
    if count == total:
        return f"all {total} censored {where}" if total > 1 else f"censored {where}"
    return f"{count} of {total} censored {where}"


def censored_share(shares: dict[str, float], noun: str = "lengths", where: str = "at the horizon") -> str:
    """Which share of each group's values is censored, as one sentence: ``No length is censored at the
    horizon.``, ``All lengths are censored at the horizon.``, or ``40% of the reference's lengths and none of
    the random networks' are censored at the horizon.`` ``shares``: group (a possessive, "the reference's")
    -> fraction in [0, 1]."""
    singular = noun[:-1] if noun.endswith("s") else noun
    values = list(shares.values())
    if all(v == 0 for v in values):
        return f"No {singular} is censored {where}."
    if all(v == 1 for v in values):
        return f"All {noun} are censored {where}."
    parts = []
    for i, (group, share) in enumerate(shares.items()):
        amount = "none" if share == 0 else "all" if share == 1 else f"{share:.0%}"
        parts.append(f"{amount} of {group} {noun}" if i == 0 else f"{amount} of {group}")
    text = listed(parts)
    return f"{capitalised(text)} are censored {where}."


def at_least(value: float, censored: bool, spec: str = ".0f") -> str:
    """A value that may be censored at the horizon: ``46``, or ``more than 400 (censored at the horizon)``."""
    text = number(value, spec)
    return f"more than {text} (censored at the horizon)" if censored else text


def bracketed(value: float, low: float, high: float, spec: str = ".3g") -> str:
    """A value with its interval: ``0.21 [0.19, 0.23]``; just the value when the interval has no spread at the
    printed precision (``400``) or is undefined."""
    if math.isnan(float(low)) or math.isnan(float(high)) or (
        _equal(low, high, spec) and _equal(low, value, spec)
    ):
        return number(value, spec)
    return f"{number(value, spec)} [{number(low, spec)}, {number(high, spec)}]"


def strip_verdict(reason: str) -> str:
    """A verdict's reason without its leading ``not testable here:`` (the prose states the verdict beside
    it)."""
    prefix = "not testable here: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def tex_number(value: float, digits: int = 3, scientific: bool = False) -> str:
    """A number as TeX for inline maths, to ``digits`` significant digits: ``0.216``, ``8.44 \\times 10^{-8}``
    (no ``e-08`` in the prose); ``\\infty`` for an infinite value. ``scientific``: a power of ten whatever the
    size, for numbers quoted side by side (``$1.19 \\times 10^{-4}$ to $1.63 \\times 10^{-3}$``)."""
    value = float(value)
    if math.isnan(value):
        return r"\mathrm{n/a}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    if value == 0 or (1e-3 <= abs(value) < 1e5 and not scientific):
        rounded = float(f"{value:.{digits}g}")  # significant digits, written without an exponent
        return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = float(f"{value / 10**exponent:.{digits}g}")
    if abs(mantissa) >= 10:  # rounding carried into the next power
        mantissa, exponent = mantissa / 10, exponent + 1
    head = "" if math.isclose(mantissa, 1.0) else f"{mantissa:.{digits}g} \\times "
    return f"{head}10^{{{exponent}}}"


def markdown_table(header: list[str], rows: list[list[str]], caption: str, name: str,
                   align: str | None = None) -> MarkdownText:
    """A numbered table for the page: a MyST ``{table}`` directive with ``caption`` and label ``name`` (for
    ``{numref}``) around a Markdown table; ``align``: one of ``l``/``r`` per column (default: the first
    column left, the others right). Cells must not hold ``|``; the caption must not hold a backtick (it is the
    fence's argument, and a backtick there ends no fence: the table would print as text)."""
    if "`" in caption:
        raise ValueError(f"table {name}: a caption must not hold a backtick (write names without code "
                         f"formatting): {caption[:60]!r}")
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(cells) + " |" for cells in (header, rule, *rows)]
    body = "\n".join(lines)
    return MarkdownText(f"```{{table}} {caption}\n:name: {name}\n\n{body}\n```\n", f"{caption}\n{body}")


def median_steps(median: float, low: float, high: float, censored: int, total: int, horizon: int,
                 over: str, extra: str = "") -> str:
    """A median number of steps for the prose, with its bootstrap interval and its censored count: ``48 steps
    (95% interval 46 to 50 from a bootstrap over its inputs; none censored at the horizon)``; when most values
    are censored the median is the horizon, a lower bound: ``more than 400 steps (all 32 censored at the
    horizon)``. ``extra``: a further clause inside the parentheses."""
    count = censored_count(censored, total)
    tail = f"; {extra}" if extra else ""
    if 2 * int(censored) > int(total):
        return f"more than {horizon} steps ({count}{tail})"
    return f"{median:.0f} steps ({interval(low, high, '.0f', over)}; {count}{tail})"
