"""Notebooks are parameters and calls: a literal parameters cell equal to the offline profile, one Colab
bootstrap line, a chapter built from its parameters in one call, a few calls into chaoslib, figures and prose.

What counts as a code line: a non-blank line that is not only a comment (comments say why, they are prose), in
every code cell except the parameters cell (tagged ``parameters``: the chapter's settings, as long as it needs).
Hidden cells count: hiding code from the book does not make a notebook thin.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from chaoslib.book.build import NOTEBOOKS, notebook_names, profile_parameters
from chaoslib.book.colab import bootstrap_line, bootstrap_url, repository_url, set_repo_url

PAGES = [NOTEBOOKS / f"{name}.ipynb" for name in notebook_names()]
CHAPTERS = [p for p in PAGES if p.stem[:2].isdigit()]
MAX_CODE_LINES = 40


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def code_lines(text: str) -> int:
    """Non-blank lines that are not only a comment."""
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def counted_code_lines(path: Path) -> dict[int, int]:
    """Cell index -> code lines, for every code cell but the parameters cell."""
    return {i: code_lines(source(c)) for i, c in enumerate(code_cells(path)) if "parameters" not in tags(c)}


def parameters_cell(path: Path) -> dict:
    cells = [c for c in code_cells(path) if "parameters" in tags(c)]
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged 'parameters' (need one)"
    return cells[0]


def literal_parameters(text: str, where: str) -> dict:
    """name -> value of a parameters cell; every statement must be `name = <literal>`."""
    values = {}
    for node in ast.parse(text).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), (
            f"{where}: line {node.lineno} is not a plain assignment; a parameters cell holds literals only"
        )
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            pytest.fail(f"{where}: {node.targets[0].id} is not a literal (line {node.lineno})")
    return values


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_parameters_cell_holds_literals_equal_to_the_offline_profile(path):
    values = literal_parameters(source(parameters_cell(path)), path.name)
    profile = profile_parameters("offline", path.stem)
    differ = {k: (values.get(k, "<missing>"), v) for k, v in profile.items() if k != "device" and values.get(k) != v}
    assert not differ, f"{path.name}: notebook default vs offline profile differ: {differ}"


def test_the_literal_check_fails_on_code():
    with pytest.raises(pytest.fail.Exception):
        literal_parameters("n = 1\nm = n + 1\n", "x.ipynb")
    with pytest.raises(AssertionError):
        literal_parameters("import os\n", "x.ipynb")
    assert literal_parameters("a = [1, 2]\nb = None\n", "x") == {"a": [1, 2], "b": None}


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_notebook_has_few_code_lines(path):
    counts = counted_code_lines(path)
    total = sum(counts.values())
    assert total <= MAX_CODE_LINES, (
        f"{path.name}: {total} code lines outside the parameters cell (at most {MAX_CODE_LINES}); lines per "
        f"code cell: {counts}. Move computation into chaoslib and figures into chaoslib/book/figures/."
    )


def test_no_code_cell_is_copied_across_notebooks():
    seen: dict[str, str] = {}
    copies = []
    for path in PAGES:
        for cell in code_cells(path):
            text = source(cell).strip()
            if text in seen and seen[text] != path.name:
                copies.append((seen[text], path.name, text[:60]))
            seen.setdefault(text, path.name)
    assert not copies, f"code cells copied across notebooks (move them into chaoslib): {copies}"


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_bootstrap_line_opens_the_first_cell_after_the_parameters(path):
    """The first code cell after the parameters starts with the one-line Colab install, whose URL is
    _config.yml's repository.url (fix: `make set-repo-url`)."""
    cells = code_cells(path)
    index = next(i for i, c in enumerate(cells) if "parameters" in tags(c))
    assert index == 0, f"{path.name}: the parameters cell must be the first code cell"
    first_line = source(cells[index + 1]).splitlines()[0]
    assert first_line == bootstrap_line(repository_url()), f"{path.name}: {first_line!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_is_built_from_its_parameters_in_one_call(path):
    text = "\n".join(source(c) for c in code_cells(path))
    assert f'Chapter.from_notebook("{path.stem}", globals()' in text, path.name


class _Shell:
    def __init__(self, name: str):
        self.name, self.calls = name, []

    def __str__(self) -> str:
        return f"<{self.name} object>"

    def run_line_magic(self, magic: str, line: str) -> None:
        self.calls.append((magic, line))


def test_bootstrap_line_installs_only_in_colab():
    line = bootstrap_line("https://example.org/repo")
    outside, colab = _Shell("ipykernel.zmqshell.ZMQInteractiveShell"), _Shell("google.colab._shell.Shell")
    for shell in (outside, colab):
        exec(compile(line, "bootstrap", "exec"), {"get_ipython": lambda shell=shell: shell})
    assert outside.calls == []
    assert colab.calls == [("pip", "install -q git+https://example.org/repo")]


def test_counting_skips_only_the_parameters_cell(tmp_path):
    path = _notebook(tmp_path, "09_long", [(["parameters"], "p = 1\n" * 80), (["hide-input"], "x = 1\n# why\n\n"),
                                           (["remove-cell"], "y = 1\n" * 40)])
    assert counted_code_lines(path) == {1: 1, 2: 40}
    assert sum(counted_code_lines(path).values()) > MAX_CODE_LINES


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_cells_are_tagged_for_the_book(path):
    # HTML: code behind "show code" toggles
    untagged = [
        i for i, c in enumerate(code_cells(path))
        if not {"parameters", "remove-cell", "hide-input", "hide-cell", "remove-input"} & set(tags(c))
    ]
    assert not untagged, f"{path.name}: code cells {untagged} show their code; tag them 'hide-input'"


def _notebook(tmp_path: Path, name: str, cells: list[tuple[list[str], str]]) -> Path:
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"tags": t}, "source": s, "outputs": [], "execution_count": None}
            for t, s in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / f"{name}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def test_set_repo_url_rewrites_config_and_bootstrap_lines_only(tmp_path):
    from chaoslib.book.colab import REPO_ROOT

    config, notebooks = tmp_path / "_config.yml", tmp_path / "notebooks"
    notebooks.mkdir()
    config.write_text((REPO_ROOT / "_config.yml").read_text())
    for path in PAGES:
        (notebooks / path.name).write_text(path.read_text())
    new = "https://github.com/someone-else/a-fork"
    changed = set_repo_url(new, config=config, notebooks=notebooks)
    assert repository_url(config) == new
    assert set(changed) == {config} | {notebooks / p.name for p in PAGES}
    before = (REPO_ROOT / "_config.yml").read_text().splitlines()
    after = config.read_text().splitlines()
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        (a, a.replace(repository_url(), new)) for a in before if repository_url() in a and "url:" in a
    ]
    for path in PAGES:
        assert bootstrap_url(notebooks / path.name) == new
        old_lines = path.read_text().splitlines()
        new_lines = (notebooks / path.name).read_text().splitlines()
        assert [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b] == [
            next(i for i, line in enumerate(old_lines) if "google.colab" in line)
        ]
    assert set_repo_url(config=config, notebooks=notebooks) == []  # in step: nothing to do


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


def imported_names(text: str) -> list[tuple[str, str]]:
    """(module, name) of every ``from chaoslib... import name`` in a cell's source (IPython lines skipped)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
    return [(node.module, alias.name) for node in ast.walk(ast.parse(body))
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "chaoslib"
            for alias in node.names]


def names_outside_the_api(imports: list[tuple[str, str]]) -> list[str]:
    """The imports that are neither a name of ``chaoslib.__all__`` nor a module (a chapter's report, figures,
    task): the public API is what the book imports."""
    import importlib.util

    import chaoslib

    outside = []
    for module, name in imports:
        if module == "chaoslib" and name in chaoslib.__all__:
            continue
        try:
            if importlib.util.find_spec(f"{module}.{name}") is not None:
                continue
        except ModuleNotFoundError:  # ``module`` is a module, not a package: ``name`` is one of its names
            pass
        outside.append(f"from {module} import {name}")
    return outside


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_the_book_imports_only_the_public_api_and_modules(path):
    imports = [pair for cell in code_cells(path) for pair in imported_names(source(cell))]
    assert imports, f"{path.name} imports nothing from chaoslib"
    assert names_outside_the_api(imports) == [], f"{path.name}: add these to chaoslib._API or import the module"


def test_the_api_check_fails_on_a_name_from_a_submodule():
    imports = imported_names("from chaoslib.studies.analyses import Exponents\nfrom chaoslib.book import summary\n"
                             "from chaoslib import Chapter, compare_networks")
    assert names_outside_the_api(imports) == ["from chaoslib.studies.analyses import Exponents"]


def markdown_of(path: Path) -> str:
    return "\n".join(source(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")


GLUE_MD = re.compile(r"\{glue:md\}`([^`]*)`")
FILE_NUMBER_REFERENCE = re.compile(r"\bchapters? 0\d|\bchapters 0\d-0\d")
OUTSIDE_DOCUMENT = re.compile(r"\bSPEC\b|shared/\w+\.md")


def prose_problems(markdown: str) -> list[str]:
    """What a chapter's prose must not do: paste Markdown with ``{glue:md}`` in its CommonMark default (maths
    would print as dollars; the MyST form is ``{glue:md}`key:myst```), name a chapter by its file number
    (``chapter 02``: the book numbers chapters by the table of contents, so refer with ``{doc}``), or point at
    a document outside the book (``SPEC``)."""
    problems = [f"{{glue:md}}`{key}` without :myst" for key in GLUE_MD.findall(markdown)
                if not key.endswith(":myst")]
    problems += [f"file number: {m.group(0)!r}" for m in FILE_NUMBER_REFERENCE.finditer(markdown)]
    problems += [f"outside document: {m.group(0)!r}" for m in OUTSIDE_DOCUMENT.finditer(markdown)]
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_prose_renders_maths_and_refers_within_the_book(path):
    assert prose_problems(markdown_of(path)) == [], path.name


def test_the_prose_check_finds_each_problem():
    assert prose_problems("{glue:md}`a:myst` and {doc}`02_exponents`") == []
    assert prose_problems("{glue:md}`a` (chapter 02), chapters 01-04, see ../shared/SPEC.md") == [
        "{glue:md}`a` without :myst", "file number: 'chapter 02'", "file number: 'chapters 01'",
        "outside document: 'shared/SPEC.md'",
    ]
    assert prose_problems("as the SPEC says") == ["outside document: 'SPEC'"]
