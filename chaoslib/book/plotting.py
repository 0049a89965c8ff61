"""Figure helpers: one house style, a provenance line stamped under every figure, and the legibility rule.

The legibility rule: a figure is shown at most :data:`TEXT_WIDTH_IN` wide (the PDF's text width; a wider
figure is scaled down to it, in the PDF and about as much in the HTML column), and no text of it may then be
smaller than :data:`MIN_TEXT_PT`. :func:`smallest_text_pt` measures a figure against it; the house style
(:func:`setup_style`) keeps tick labels and legends at 9 pt, so figures up to about 8 in wide pass.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text

TEXT_WIDTH_IN = 6.3
"""The PDF's text width in inches: a wider figure is scaled down to it."""
MIN_TEXT_PT = 7.0
"""The smallest text a figure may show once scaled to :data:`TEXT_WIDTH_IN`."""
PAD_IN = 0.1
"""matplotlib's ``savefig.pad_inches``: the tight bounding box grows by this on every side."""

STYLE = {
    "figure.dpi": 110,
    "savefig.bbox": "tight",
    "savefig.pad_inches": PAD_IN,
    "figure.figsize": (7.0, 4.0),
    "font.size": 10,
    "axes.labelsize": 10,
    "axes.titlesize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 10.5,
}


def setup_style() -> None:
    """The book's style: seaborn's white grid and colour-blind palette, with text sizes that stay legible when
    a figure up to about 8 in wide is scaled to the page (:data:`STYLE`)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update(STYLE)


def _renderer(fig: plt.Figure):
    fig.canvas.draw()  # lays out the figure: tick labels exist, wrapped text is wrapped
    return fig.canvas.get_renderer()


def shown_width_in(fig: plt.Figure) -> float:
    """The width of ``fig`` as saved (``bbox_inches="tight"``, as the book saves and shows it), in inches."""
    return fig.get_tightbbox(_renderer(fig)).width + 2 * PAD_IN


def _shown(text: Text) -> bool:
    """Whether a text artist is drawn: visible, non-empty, and not inside an invisible axes or legend."""
    if not text.get_visible() or not text.get_text().strip():
        return False
    parent = text.axes
    return parent is None or parent.get_visible()


def smallest_text_pt(fig: plt.Figure, text_width_in: float = TEXT_WIDTH_IN) -> float:
    """The smallest font size of any text of ``fig`` (titles, labels, tick labels, legends, annotations, the
    provenance line), in points as printed once the figure is scaled down to ``text_width_in``: font size x
    min(1, text_width_in / width shown). ``inf`` for a figure without text."""
    scale = min(1.0, text_width_in / shown_width_in(fig))
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if _shown(t)]
    return min(sizes) * scale if sizes else math.inf


def wrap_to_width(text: str, fits, separators: tuple[str, ...] = (" · ", "; ")) -> list[str]:
    """``text`` in lines for which ``fits(line)`` holds, filled greedily: a part that ends at one of the
    ``separators`` starts a new line when it does not fit on the current one but fits on a line of its own; a
    part too long for any line is broken between words (a single word too long for a line stays whole)."""
    chunks = [text]
    for separator in separators:
        chunks = [
            piece + (separator.rstrip() if i < len(pieces) - 1 else "")
            for chunk in chunks
            for pieces in [chunk.split(separator)]
            for i, piece in enumerate(pieces)
        ]
    lines: list[str] = []
    current = ""
    for chunk in chunks:
        candidate = f"{current} {chunk}".strip()
        if fits(candidate):
            current = candidate
            continue
        if current and fits(chunk):
            lines.append(current)
            current = chunk
            continue
        for word in chunk.split(" "):
            candidate = f"{current} {word}".strip()
            if current and not fits(candidate):
                lines.append(current)
                current = word
            else:
                current = candidate
    lines.append(current)
    return lines


def stamp(fig: plt.Figure, caption: str) -> plt.Figure:
    """Write the provenance ``caption`` (:func:`chaoslib.provenance.caption`) under ``fig``: below everything
    the figure draws, left-aligned with it, wrapped to its width, in the house's proportional font, large
    enough to read at :data:`MIN_TEXT_PT` once the figure is scaled to the page."""
    renderer = _renderer(fig)
    box = fig.get_tightbbox(renderer)  # inches: what the figure draws, before the stamp
    width_in, height_in = fig.get_size_inches()
    shown = box.width + 2 * PAD_IN
    size = math.ceil(10 * MIN_TEXT_PT * max(1.0, shown / TEXT_WIDTH_IN)) / 10
    prop = FontProperties(size=size)
    room = box.width * fig.dpi  # pixels, as the renderer measures text

    def fits(line: str) -> bool:
        return renderer.get_text_width_height_descent(line, prop, ismath=False)[0] <= room

    lines = wrap_to_width(caption, fits)
    fig.text(box.x0 / width_in, (box.y0 - 0.06) / height_in, "\n".join(lines), ha="left", va="top",
             fontproperties=prop, color="0.3", linespacing=1.3)
    return fig
