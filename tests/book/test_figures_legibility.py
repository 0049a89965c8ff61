"""The legibility rule of the book's figures (no text below 7 pt at the PDF's text width), the provenance
stamp under every figure, and that every figure module is held to the rule by its tests."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import built_results as built  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from chaoslib.book import plotting  # noqa: E402

FIGURES = Path(plotting.__file__).parent / "figures"
TESTS = Path(__file__).parent


def _figure(width: float, font: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.plot([0, 1], [0, 1])
    ax.tick_params(labelsize=font)
    ax.set_xlabel("x", fontsize=font)
    ax.set_ylabel("y", fontsize=font)
    return fig


def test_smallest_text_is_scaled_to_the_text_width():
    with plt.rc_context():
        plotting.setup_style()
        narrow = _figure(5.0, 9)
        assert plotting.smallest_text_pt(narrow) == pytest.approx(9)  # narrower than the page: not scaled
        wide = _figure(12.0, 9)
        shown = plotting.shown_width_in(wide)
        assert shown > 9 and plotting.smallest_text_pt(wide) == pytest.approx(9 * 6.3 / shown)
        wide.text(0.5, 0.5, "hidden", fontsize=2, visible=False)
        assert plotting.smallest_text_pt(wide) == pytest.approx(9 * 6.3 / shown)  # invisible text: not read
        wide.text(0.5, 0.5, "tiny", fontsize=4)
        assert plotting.smallest_text_pt(wide) == pytest.approx(4 * 6.3 / plotting.shown_width_in(wide))
        plt.close("all")


def test_the_stamp_is_readable_proportional_and_within_the_figure():
    with plt.rc_context():
        plotting.setup_style()
        for width in (5.0, 7.5):
            fig = _figure(width, 9)
            before = plotting.shown_width_in(fig)
            plotting.stamp(fig, built.CAPTION)
            stamp = fig.texts[-1]
            lines = stamp.get_text().split("\n")
            assert " ".join(lines) == built.CAPTION  # every word, wrapped
            assert len(lines) > 1 and lines[1].startswith("albert-wikitext2 RANDOM weights")  # broken at "; "
            assert stamp.get_fontfamily() != ["monospace"] and plotting.smallest_text_pt(fig) >= 7
            assert plotting.shown_width_in(fig) == pytest.approx(before, abs=0.02)  # wrapped to the figure
            plt.close(fig)


def test_wrapping_prefers_the_separators():
    def fits(line):
        return len(line) <= 20

    # a part that does not fit starts a line of its own rather than being split between words
    assert plotting.wrap_to_width("aaaa bbbb · cccc dddd · eeee", fits) == ["aaaa bbbb ·", "cccc dddd · eeee"]
    assert plotting.wrap_to_width("a very long part without separators", fits) == [
        "a very long part", "without separators"]
    wrapped = plotting.wrap_to_width("model one; model two · seed 0", fits)
    assert wrapped == ["model one;", "model two · seed 0"]


def test_every_figure_module_is_held_to_the_rule_by_its_tests():
    """Each module of chaoslib/book/figures that draws figures has a test that measures all of them."""
    import importlib

    for path in sorted(FIGURES.glob("*.py")):
        module = importlib.import_module(f"chaoslib.book.figures.{path.stem}")
        if not built.figure_functions(module):
            continue
        test = TESTS / f"test_figures_{path.stem}.py"
        assert test.is_file(), f"{path.name} draws figures but {test.name} does not exist"
        text = test.read_text()
        assert re.search(r"def test_every_figure_is_legible_in_print", text), f"{test.name}: no such test"
        assert "built.assert_legible(" in text, f"{test.name}: the legibility test must cover every figure"
