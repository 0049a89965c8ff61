"""The book build fails loudly: a notebook that raises, or a chapter without a figure, stops it."""

from __future__ import annotations

import nbformat
import pytest

import chaoslib.book.build as book


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")]
    nb.cells.append(nbformat.v4.new_code_cell('profile = "offline"', metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    notebooks, pages = tmp_path / "notebooks", tmp_path / "book"
    notebooks.mkdir()
    pages.mkdir()
    (pages / "intro.md").write_text("# Intro\n")
    monkeypatch.setattr(book, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(book, "BOOK", pages)
    monkeypatch.setattr(book, "TOC", tmp_path / "_toc.yml")

    def make(chapters: dict[str, tuple[str, ...]]):
        toc = "format: jb-book\nroot: intro\nchapters:\n" + "".join(f"  - file: {n}\n" for n in chapters)
        (tmp_path / "_toc.yml").write_text(
            toc.replace("chapters:", "parts:\n  - chapters:").replace("\n  - file", "\n      - file")
        )
        for name, sources in chapters.items():
            _notebook(notebooks / f"{name}.ipynb", *sources)
        return pages

    return make


FIGURE = "import matplotlib.pyplot as plt\nplt.plot([0, 1])\nplt.show()"


def test_good_book_executes(tiny_book):
    pages = tiny_book({"ch1": (FIGURE,)})
    book.execute("offline")
    assert book.image_count(pages / "ch1.ipynb") == 1


def test_failing_notebook_fails_the_build_and_names_it(tiny_book):
    tiny_book({"ch1": (FIGURE,), "ch2": ("raise RuntimeError('boom')",)})
    with pytest.raises(book.BuildError, match="ch2.*boom"):
        book.execute("offline")


def test_chapter_without_figure_fails_the_build(tiny_book):
    tiny_book({"ch1": ("x = 1",)})
    with pytest.raises(book.BuildError, match="ch1: executed but produced no figure"):
        book.execute("offline")


def test_undeclared_profile_parameter_fails(tiny_book, monkeypatch):
    tiny_book({"ch1": (FIGURE,)})
    monkeypatch.setattr(book, "profile_parameters", lambda profile, name: {"profile": profile, "n_stepz": 3})
    with pytest.raises(book.BuildError, match="n_stepz"):
        book.execute("offline")
