"""The book's execution cache: a chapter executes exactly when something it depends on changed.

The executor is replaced by a stub that copies the notebook and adds a figure, so these tests check
the cache's decisions (which notebooks run), not papermill; nothing real is executed.
"""

from __future__ import annotations

import json

import nbformat
import pytest

import chaoslib.book.build as book

CHAPTERS = ("ch_text", "ch_glue")
SUMMARIES = ("results", "reproducibility")


def _notebook(path, reads=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}"),
        nbformat.v4.new_code_cell('profile = "offline"\nn = 1', metadata={"tags": ["parameters"]}),
    ]
    if reads is not None:
        nb.metadata["chaoslib"] = {"reads": reads}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A tiny repository: two chapters reading different data, two summary pages, a data folder,
    a chaoslib source tree with a checkpoint, and a stub executor that records what it ran."""
    root = tmp_path / "repo"
    notebooks, pages, src, data = root / "notebooks", root / "book", root / "chaoslib", tmp_path / "data"
    for folder in (
        notebooks / "profiles" / "offline",
        pages,
        src / "checkpoints" / "net",
        data / "wiki",
        data / "glue",
    ):
        folder.mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n"
        + "".join(f"      - file: {n}\n" for n in CHAPTERS + SUMMARIES)
    )
    (pages / "intro.md").write_text("# Intro\n")
    _notebook(notebooks / "ch_text.ipynb", reads=["$DATA/wiki/*.txt", "chaoslib/checkpoints/net/**"])
    _notebook(notebooks / "ch_glue.ipynb", reads=["$DATA/glue/*.tsv"])
    for name in SUMMARIES:
        _notebook(notebooks / f"{name}.ipynb", reads=[])
    for name in CHAPTERS:
        (notebooks / "profiles" / "offline" / f"{name}.yml").write_text("n: 2\n")
    (src / "__init__.py").write_text("")
    (src / "module.py").write_text("x = 1\n")
    (src / "checkpoints" / "net" / "model.safetensors").write_bytes(b"weights")
    (data / "wiki" / "train.txt").write_text("some text\n")
    (data / "glue" / "train.tsv").write_text("a\tb\n")

    monkeypatch.setattr(book, "REPO_ROOT", root)
    monkeypatch.setattr(book, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(book, "BOOK", pages)
    monkeypatch.setattr(book, "TOC", root / "_toc.yml")
    monkeypatch.setattr(book, "CHAOSLIB_SOURCES", src)
    monkeypatch.setenv("CHAOSLIB_DATA", str(data))
    monkeypatch.setenv("CHAOSLIB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setattr("chaoslib.model.configs.SHIPPED_NAMES", ())  # the real checkpoints are checked elsewhere

    ran: list[str] = []

    def fake_run(name, params, output):
        nb = nbformat.read(notebooks / f"{name}.ipynb", as_version=4)
        cell = nbformat.v4.new_code_cell("plot()")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
        nb.cells.append(cell)
        nbformat.write(nb, output)
        ran.append(name)

    monkeypatch.setattr(book, "_run_notebook", fake_run)

    def build(**kwargs) -> list[str]:
        ran.clear()
        book.execute("offline", log=lambda line: None, **kwargs)
        return sorted(ran)

    return {"root": root, "notebooks": notebooks, "src": src, "data": data, "build": build}


def _edit(path, text="# changed\n"):
    path.write_text(path.read_text() + text)


def test_first_build_executes_everything_and_the_second_nothing(project):
    assert project["build"]() == sorted(CHAPTERS + SUMMARIES)
    assert project["build"]() == []


def test_key_is_written_into_the_executed_notebook(project):
    project["build"]()
    meta = json.loads((project["root"] / "book" / "ch_text.ipynb").read_text())["metadata"]["chaoslib"]
    assert meta["cache"]["profile"] == "offline"
    assert meta["cache"]["key"] == book.cache_key(meta["cache"]["parts"])
    assert set(meta["cache"]["parts"]) == {"notebook", "parameters", "chaoslib", "reads", "packages"}
    summary = json.loads((project["root"] / "book" / "results.ipynb").read_text())["metadata"]["chaoslib"]
    assert "chapters" in summary["cache"]["parts"]


def test_changing_one_notebook_reexecutes_it_and_the_summaries(project):
    project["build"]()
    nb = nbformat.read(project["notebooks"] / "ch_glue.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("More prose."))
    nbformat.write(nb, project["notebooks"] / "ch_glue.ipynb")
    assert project["build"]() == sorted(("ch_glue", *SUMMARIES))
    assert project["build"]() == []


def test_only_the_time_changing_does_not_reexecute(project):
    """Keys hash contents: a checkout or `touch` that leaves the bytes alone changes nothing."""
    project["build"]()
    path = project["notebooks"] / "ch_text.ipynb"
    stat = path.stat()
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert project["build"]() == []


def test_changing_one_profile_reexecutes_that_chapter(project):
    project["build"]()
    (project["notebooks"] / "profiles" / "offline" / "ch_text.yml").write_text("n: 3\n")
    assert project["build"]() == sorted(("ch_text", *SUMMARIES))


def test_changing_a_chaoslib_module_reexecutes_every_page(project):
    project["build"]()
    _edit(project["src"] / "module.py")
    assert project["build"]() == sorted(CHAPTERS + SUMMARIES)


def test_changing_a_data_file_reexecutes_the_chapters_that_read_it(project):
    project["build"]()
    _edit(project["data"] / "glue" / "train.tsv", "c\td\n")
    assert project["build"]() == sorted(("ch_glue", *SUMMARIES))
    _edit(project["data"] / "wiki" / "train.txt")
    assert project["build"]() == sorted(("ch_text", *SUMMARIES))


def test_changing_the_checkpoint_reexecutes_the_chapters_that_read_it(project):
    """The checkpoint is data (declared by the chapters that load it), not a chaoslib source."""
    project["build"]()
    (project["src"] / "checkpoints" / "net" / "model.safetensors").write_bytes(b"new weights")
    assert project["build"]() == sorted(("ch_text", *SUMMARIES))


def test_undeclared_reads_depend_on_all_data(project):
    project["build"]()
    nb = nbformat.read(project["notebooks"] / "ch_glue.ipynb", as_version=4)
    del nb.metadata["chaoslib"]
    nbformat.write(nb, project["notebooks"] / "ch_glue.ipynb")
    assert project["build"]() == sorted(("ch_glue", *SUMMARIES))
    _edit(project["data"] / "wiki" / "train.txt")  # not declared by ch_glue before; now it counts
    assert project["build"]() == sorted(CHAPTERS + SUMMARIES)


def test_force_executes_everything(project):
    project["build"]()
    assert project["build"](force=True) == sorted(CHAPTERS + SUMMARIES)


def test_a_failed_notebook_is_retried(project, monkeypatch):
    project["build"]()
    _edit(project["src"] / "module.py")
    real = book._run_notebook

    def failing(name, params, output):
        if name == "ch_text":
            raise RuntimeError("boom")
        real(name, params, output)

    monkeypatch.setattr(book, "_run_notebook", failing)
    with pytest.raises(book.BuildError, match="ch_text.*boom"):
        project["build"]()
    monkeypatch.setattr(book, "_run_notebook", real)
    # ch_text's page still holds the previous run's key, which no longer matches: it runs again
    assert project["build"]() == sorted(("ch_text", *SUMMARIES))


def test_a_read_pattern_that_matches_nothing_is_an_error(project):
    nb = nbformat.read(project["notebooks"] / "ch_glue.ipynb", as_version=4)
    nb.metadata["chaoslib"]["reads"] = ["$DATA/gleu/*.tsv"]
    nbformat.write(nb, project["notebooks"] / "ch_glue.ipynb")
    with pytest.raises(book.BuildError, match="gleu"):
        project["build"]()


def test_set_reads_writes_the_declaration(project):
    book.set_reads("ch_glue", ["$DATA/glue/*.tsv", "chaoslib/checkpoints/net/**"])
    assert book.declared_reads(project["notebooks"] / "ch_glue.ipynb") == [
        "$DATA/glue/*.tsv",
        "chaoslib/checkpoints/net/**",
    ]
    with pytest.raises(book.BuildError, match="nothing"):
        book.set_reads("ch_glue", ["$DATA/nothing/*"])


def test_build_prints_each_decision(project, capsys):
    project["build"]()
    book.execute("offline")
    out = capsys.readouterr().out
    for name in CHAPTERS + SUMMARIES:
        assert f"[cache] {name}: skip (up to date" in out


def test_a_summary_page_re_executes_when_a_result_file_it_reads_changes(project, tmp_path):
    project["build"]()
    assert project["build"]() == []
    targets = tmp_path / "results" / "offline" / "targets"
    targets.mkdir(parents=True, exist_ok=True)
    (targets / "R1.json").write_text('{"holds": true}')  # e.g. `execute --only 02_exponents` rewrote a target
    assert project["build"]() == sorted(SUMMARIES)
    assert project["build"]() == []
