"""Chapter notebooks are thin: parameters, a few calls into chaoslib, figures and prose.

What counts as a code line: a non-blank line that is not only a comment (comments say why, they
are prose), in every code cell except

* the parameters cell (tagged ``parameters``): it is the chapter's settings, as long as it needs;
* the standard Colab cells: the ``remove-cell`` cells that every chapter shares word for word
  (the install cell, and the ``colab_parameters`` cell up to the chapter's name). They are the
  same boilerplate everywhere and hidden from the book.

Any other ``remove-cell`` cell counts: hiding code from the book does not make a notebook thin.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("0*.ipynb"))
MAX_CODE_LINES = 60
MAX_STANDARD_CELL_LINES = 12


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_lines(text: str) -> int:
    """Non-blank lines that are not only a comment."""
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def _normalised(text: str, chapter: str) -> str:
    return re.sub(re.escape(chapter), "<chapter>", text).strip()


def standard_colab_cells(chapters: list[Path] = CHAPTERS) -> set[str]:
    """Normalised sources of the ``remove-cell`` code cells that every chapter holds word for word."""
    shared: set[str] | None = None
    for path in chapters:
        cells = {_normalised(source(c), path.stem) for c in code_cells(path) if "remove-cell" in tags(c)}
        shared = cells if shared is None else shared & cells
    return {s for s in shared or set() if code_lines(s) <= MAX_STANDARD_CELL_LINES}


def counted_code_lines(path: Path, standard: set[str]) -> dict[int, int]:
    """Cell index -> code lines, for the cells that count (see the module docstring)."""
    counts = {}
    for index, cell in enumerate(code_cells(path)):
        if "parameters" in tags(cell):
            continue
        if "remove-cell" in tags(cell) and _normalised(source(cell), path.stem) in standard:
            continue
        counts[index] = code_lines(source(cell))
    return counts


def test_there_are_chapters():
    assert len(CHAPTERS) >= 7, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_has_few_code_lines(path):
    counts = counted_code_lines(path, standard_colab_cells())
    total = sum(counts.values())
    assert total <= MAX_CODE_LINES, (
        f"{path.name}: {total} code lines outside the parameters cell (at most {MAX_CODE_LINES}); "
        f"lines per code cell: {counts}. Move computation into chaoslib and figures into "
        f"chaoslib/book/figures/."
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_cells_are_tagged_for_the_book(path):
    # HTML: code behind "show code" toggles, the parameters cell collapsed whole
    cells = code_cells(path)
    parameters = [c for c in cells if "parameters" in tags(c)]
    assert len(parameters) == 1, f"{path.name}: {len(parameters)} cells tagged 'parameters' (need one)"
    assert "hide-cell" in tags(parameters[0]), f"{path.name}: tag the parameters cell 'hide-cell'"
    untagged = [
        i
        for i, c in enumerate(cells)
        if not {"parameters", "remove-cell", "hide-input", "hide-cell", "remove-input"} & set(tags(c))
    ]
    assert not untagged, f"{path.name}: code cells {untagged} show their code; tag them 'hide-input'"


# --- the counting itself --------------------------------------------------------------------------


def _notebook(tmp_path: Path, name: str, cells: list[tuple[list[str], str]]) -> Path:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": t},
                "source": s,
                "outputs": [],
                "execution_count": None,
            }
            for t, s in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_counting_excludes_only_parameters_and_shared_colab_cells(tmp_path):
    install = "# Colab only\nimport sys\nif 'google.colab' in sys.modules:\n    pass\n"
    chapters = []
    for name, extra in (("01_a", "x = 1\n\n# why\ny = 2\n"), ("02_b", "z = 3\n")):
        colab = f'globals().update(colab_parameters("{name}", profile))\n'
        hidden = "secret = 1\nmore = 2\n" if name == "01_a" else ""
        cells = [
            (["remove-cell"], install),
            (["parameters"], "a = 1\nb = 2\n" * 40),
            (["remove-cell"], colab),
        ]
        cells += [(["hide-input"], extra)] + ([(["remove-cell"], hidden)] if hidden else [])
        chapters.append(_notebook(tmp_path, name, cells))
    standard = standard_colab_cells(chapters)
    assert len(standard) == 2  # the install cell and the colab_parameters cell, name-normalised
    assert counted_code_lines(chapters[0], standard) == {3: 2, 4: 2}  # the chapter's own hidden cell counts
    assert counted_code_lines(chapters[1], standard) == {3: 1}


def test_a_long_chapter_fails(tmp_path):
    long = _notebook(tmp_path, "09_long", [(["parameters"], "p = 1\n"), (["hide-input"], "x = 1\n" * 61)])
    assert sum(counted_code_lines(long, standard_colab_cells([long])).values()) == 61 > MAX_CODE_LINES


FIGURE_CALL = re.compile(r"""\bch\.figure\(\s*["']([\w-]+)["']""")
GLUE_FIGURE = re.compile(r"```\{glue:figure\}\s+([\w-]+)\s*\n((?::[\w-]+:.*\n)*)")


def placed_figures(path: Path) -> dict[str, bool]:
    """Glued figure key -> whether its ``{glue:figure}`` has a ``:name:`` (a numbered caption)."""
    cells = json.loads(path.read_text())["cells"]
    markdown = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    return {m.group(1): ":name:" in m.group(2) for m in GLUE_FIGURE.finditer(markdown + "\n")}


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_every_figure_is_placed_with_a_numbered_caption(path):
    glued = [k for c in code_cells(path) for k in FIGURE_CALL.findall(source(c))]
    assert glued, f"{path.name}: no ch.figure(...) call; chapters show their figures through ch.figure"
    placed = placed_figures(path)
    missing = [k for k in glued if k not in placed]
    unnamed = [k for k in glued if k in placed and not placed[k]]
    assert not missing, f"{path.name}: figures glued but never placed with {{glue:figure}}: {missing}"
    assert not unnamed, f"{path.name}: {{glue:figure}} without :name: (no number to refer to): {unnamed}"


def test_figure_placement_is_read(tmp_path):
    nb = {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": "```{glue:figure} a\n:name: fig-a\n\nCaption.\n```",
            },
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": "```{glue:figure} b\n:figwidth: 80%\n\nNo name.\n```",
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    assert placed_figures(path) == {"a": True, "b": False}
