"""The book build fails loudly (a notebook that raises, or a chapter without a figure, stops it), and
each way of building it works as typed: `jupyter-book build book`, the workflows, no TeX, the data."""

from __future__ import annotations

import hashlib
import json
import importlib.util
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

import chaoslib.book.build as book


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A page")]
    nb.cells.append(nbformat.v4.new_code_cell('profile = "offline"', metadata={"tags": ["parameters"]}))
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["chaoslib"] = {"reads": []}  # reads no data: the cache key is its own inputs only
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
    # the cache hashes these sources: a stable copy, not the working tree others may be editing
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "module.py").write_text("x = 1\n")
    monkeypatch.setattr(book, "CHAOSLIB_SOURCES", tmp_path / "src")

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
    assert set(book.execute("offline")) == {"ch1"}
    assert book.image_count(pages / "ch1.ipynb") == 1
    # papermill's output carries the cache key, so a second build executes nothing
    assert book.stored_cache(pages / "ch1.ipynb")["key"] == book.cache_key(book.cache_parts("ch1", "offline"))
    assert book.execute("offline") == {}


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


# --- the ways the book is built -----------------------------------------------------------------

ROOT = book.REPO_ROOT
VENV_BIN = Path(sys.executable).parent


def test_book_folder_links_the_root_toc_and_config():
    """`jupyter-book build book` reads book/_toc.yml and book/_config.yml: they are the root files."""
    for name in ("_toc.yml", "_config.yml"):
        assert (ROOT / "book" / name).resolve() == (ROOT / name).resolve(), name


def test_sphinx_loads_the_guard_extension(tmp_path):
    """What Sphinx runs is the conf.py that jupyter-book writes from _config.yml: the guard must be among its
    extensions, or `jupyter-book build book` could publish a page holding a traceback."""
    for name in ("_config.yml", "_toc.yml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "config", "sphinx", str(tmp_path)], check=True, capture_output=True)
    namespace: dict = {}
    exec((tmp_path / "conf.py").read_text(), namespace)
    assert "chaoslib.book.sphinx_guard" in namespace["extensions"]


def test_jupyter_book_build_book_on_a_fresh_clone_names_the_command(tmp_path):
    """On a clone where no notebook has been executed, the command a reader types stops at once
    and says which command executes the notebooks (instead of rendering a book without chapters)."""
    clone = tmp_path / "clone"
    (clone / "notebooks").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, clone / name)
    shutil.copytree(
        ROOT / "book", clone / "book", symlinks=True, ignore=shutil.ignore_patterns("_build", "*.ipynb")
    )
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, clone / "notebooks" / notebook.name)
    result = subprocess.run(
        [str(VENV_BIN / "jupyter-book"), "build", "book"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "not executed yet" in out and "`make book`" in out
    assert not (clone / "book" / "_build" / "html" / "index.html").exists()


def test_sphinx_guard_lists_exactly_the_unexecuted_notebooks(tmp_path):
    from chaoslib.book.sphinx_guard import unexecuted_notebooks

    (tmp_path / "notebooks").mkdir()
    src = tmp_path / "book"
    src.mkdir()
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: ch1\n      - file: ch2\n"
        "      - file: api\n"
    )
    (src / "intro.md").write_text("# Intro\n")
    for name in ("ch1", "ch2"):
        (tmp_path / "notebooks" / f"{name}.ipynb").write_text("{}")
    (src / "ch1.ipynb").write_text("{}")
    # api is not a notebook: a missing Markdown page is left to Sphinx's own warning
    assert unexecuted_notebooks(src, tmp_path / "_toc.yml") == ["ch2"]


def test_workflows_pass_actionlint():
    exe = shutil.which("actionlint", path=str(VENV_BIN)) or shutil.which("actionlint")
    assert exe, "actionlint is missing: pip install -e '.[test]'"
    result = subprocess.run([exe, "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    workflows = {p.name for p in (ROOT / ".github" / "workflows").glob("*.yml")}
    assert {"book.yml", "paper.yml", "ci.yml"} <= workflows


def test_publishing_workflow_deploys_html_with_the_pdf():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    assert flow[True]["push"]["branches"] == ["main"]  # PyYAML reads the key `on` as True
    steps = flow["jobs"]["build"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "scripts/fetch_data.py" in runs and "PDF=--require-pdf" in runs
    assert "transient-chaos-bert.pdf book/_build/html/" in runs
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact") for s in steps)
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in flow["jobs"]["deploy"]["steps"])
    paper = yaml.safe_load((ROOT / ".github" / "workflows" / "paper.yml").read_text())
    assert "workflow_dispatch" in paper[True]
    assert paper["jobs"]["paper"]["runs-on"] == ["self-hosted", "gpu"]


def _bare_path(tmp_path) -> str:
    """A PATH with the shell's basic tools but no apt-get and no TeX programs."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("id", "make", "sh", "bash"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    return str(bare)


def test_make_latex_without_root_or_apt_goes_on_and_says_so(tmp_path):
    env = {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [shutil.which("make"), "-s", "latex"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "TeX Live is not installed" in result.stdout and "HTML" in result.stdout


def _stub_rendering(monkeypatch, tmp_path):
    """book.main with execution and jupyter-book replaced: the HTML builder writes index.html."""
    pages = tmp_path / "book"
    pages.mkdir()
    monkeypatch.setattr(book, "BOOK", pages)
    monkeypatch.setattr(book, "notebook_names", lambda: [])
    monkeypatch.setattr(book, "execute", lambda *a, **k: {})
    builders = []

    def fake_jupyter_book(*args):
        builders.append(args[args.index("--builder") + 1])
        (pages / "_build" / "html").mkdir(parents=True, exist_ok=True)
        (pages / "_build" / "html" / "index.html").write_text("<html></html>")

    monkeypatch.setattr(book, "_jupyter_book", fake_jupyter_book)
    return pages, builders


def test_book_without_tex_builds_the_html_and_says_how_to_get_the_pdf(tmp_path, monkeypatch, capsys):
    pages, builders = _stub_rendering(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", _bare_path(tmp_path))
    assert book.main(["build", "--pdf"]) == 0
    out = capsys.readouterr().out
    assert builders == ["html"] and (pages / "_build" / "html" / "index.html").exists()
    assert "the PDF was not built: latexmk, pdflatex not found" in out
    assert "apt-get install" in out and "make book" in out


def test_book_without_tex_fails_when_the_pdf_is_required(tmp_path, monkeypatch, capsys):
    _stub_rendering(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", _bare_path(tmp_path))
    assert book.main(["build", "--require-pdf"]) == 1
    assert "the PDF needs pdflatex and latexmk" in capsys.readouterr().err


# --- the data folder from its public sources -----------------------------------------------------


def _load_fetch_data():
    spec = importlib.util.spec_from_file_location("fetch_data", ROOT / "scripts" / "fetch_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_sources(fd, data: Path) -> tuple[dict, dict]:
    """The public sources as the script expects them, rebuilt from a verified data folder: the zips,
    the files, WikiText-2 train in five parts, RTE/WNLI train split into train.tsv + shuffled val.tsv."""
    remote, zip_hashes = {}, {}
    for source, path, _, members in fd.ZIPS:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for dest, suffix in members.items():
                top = dest.split("/")[1]
                name = suffix if suffix.startswith(top + "/") else f"{top}/{suffix}"
                archive.writestr(name, (data / dest).read_bytes())
        remote[(source, path)] = buffer.getvalue()
        zip_hashes[path] = hashlib.sha256(buffer.getvalue()).hexdigest()
    for dest, (source, path) in fd.FILES.items():
        remote[(source, path)] = (data / dest).read_bytes()
    for dest, (source, paths) in fd.CONCATS.items():
        lines = (data / dest).read_bytes().splitlines(keepends=True)
        cut = [len(lines) * i // len(paths) for i in range(len(paths) + 1)]
        for i, path in enumerate(paths):
            remote[(source, path)] = b"".join(lines[cut[i] : cut[i + 1]])
    for dest, (source, with_header, without_header) in fd.MERGES.items():
        header, *rows = (data / dest).read_bytes().splitlines(keepends=True)
        remote[(source, with_header)] = header + b"".join(rows[0::3] + rows[1::3])
        remote[(source, without_header)] = b"".join(reversed(rows[2::3]))
    return remote, zip_hashes


def test_fetch_data_rebuilds_the_verified_folder(tmp_path):
    from chaoslib.settings import data_dir

    fd = _load_fetch_data()
    remote, zip_hashes = _fake_sources(fd, data_dir())
    dest = tmp_path / "data"
    written = fd.fetch_data(dest, fetch=lambda source, path: remote[(source, path)], zip_hashes=zip_hashes)
    assert sorted(written) == sorted(fd.expected_hashes())
    # the written folder passes its own checksums, as `sha256sum -c SHA256SUMS` would check them
    for name, digest in fd.expected_hashes().items():
        assert hashlib.sha256((dest / name).read_bytes()).hexdigest() == digest
    assert fd.fetch_data(dest, fetch=None) == []  # complete and verified: nothing fetched


def test_fetch_data_refuses_a_changed_source(tmp_path):
    from chaoslib.settings import data_dir

    fd = _load_fetch_data()
    remote, zip_hashes = _fake_sources(fd, data_dir())
    key = next(k for k in remote if k[1].endswith("valid.txt"))
    remote[key] = remote[key].replace(b"the", b"teh", 1)
    with pytest.raises(SystemExit, match="wikitext-2/valid.txt"):
        fd.fetch_data(tmp_path / "data", fetch=lambda s, p: remote[(s, p)], zip_hashes=zip_hashes)
    assert not (tmp_path / "data").exists()


# --- Binder (repo2docker) -------------------------------------------------------------------------


def _names(requirements) -> set[str]:
    from packaging.requirements import Requirement

    return {Requirement(r).name.lower() for r in requirements}


def test_environment_yml_describes_the_offline_edition():
    """Binder builds from environment.yml: it must hold what the offline edition runs on (the
    package's dependencies, the book and online extras), and postBuild installs chaoslib itself."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = _names(project["dependencies"])
    for extra in ("book", "online"):
        needed |= _names(project["optional-dependencies"][extra])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {d.split("=")[0].lower() for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    missing = needed - conda - _names(p for p in pip if not p.startswith("-"))
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build and "scripts/fetch_data.py --dest" in post_build
    fetched_to = post_build.split("scripts/fetch_data.py --dest", 1)[1].split()[0]
    assert f"CHAOSLIB_DATA={fetched_to}" in (ROOT / "start").read_text()
    for script in ("postBuild", "start"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} must be executable"


def test_launch_buttons_open_colab_and_binder():
    """Every chapter page gets a Colab and a Binder button (jupyter-book adds them when these are set)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = config.get("launch_buttons", {})
    assert buttons.get("colab_url") and buttons.get("binderhub_url"), buttons
    assert config["repository"]["url"] and config["repository"]["path_to_book"] == "notebooks"


def test_a_failed_run_never_replaces_the_last_good_page(tiny_book):
    pages = tiny_book({"ch1": (FIGURE,)})
    book.execute("offline")
    good = (pages / "ch1.ipynb").read_bytes()
    tiny_book({"ch1": (FIGURE, "raise RuntimeError('boom')")})
    with pytest.raises(book.BuildError, match=r"ch1.*boom.*_build/executing/ch1.ipynb"):
        book.execute("offline")
    assert (pages / "ch1.ipynb").read_bytes() == good
    assert (pages / "_build" / "executing" / "ch1.ipynb").exists()  # the failed run, kept to inspect


def test_a_wrong_data_folder_stops_the_build_at_once_and_leaves_every_page(tmp_path):
    """`CHAOSLIB_DATA=/nonexistent make book`: the preflight names the fix before anything executes."""
    before = {p: p.read_bytes() for p in (ROOT / "book").glob("*.ipynb")}
    env = {**__import__("os").environ, "CHAOSLIB_DATA": str(tmp_path / "nonexistent"), "HF_HUB_OFFLINE": "1"}
    started = __import__("time").perf_counter()
    done = subprocess.run([sys.executable, "-m", "chaoslib.book", "build", "--no-pdf"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and __import__("time").perf_counter() - started < 60
    assert "nothing was executed" in done.stderr and "CHAOSLIB_DATA" in done.stderr, done.stderr[-2000:]
    assert "[execute]" not in done.stdout
    assert {p: p.read_bytes() for p in (ROOT / "book").glob("*.ipynb")} == before


def test_jupyter_book_refuses_a_notebook_holding_an_error(tmp_path):
    from sphinx.errors import ConfigError

    from chaoslib.book import sphinx_guard

    (tmp_path / "notebooks").mkdir()
    src = tmp_path / "book"
    src.mkdir()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n  - chapters:\n      - file: ch1\n")
    (src / "intro.md").write_text("# Intro\n")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1/0")
    cell.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    nb.cells = [cell]
    nbformat.write(nb, src / "ch1.ipynb")
    app = type("App", (), {"srcdir": str(src)})()
    config = type("Config", (), {"external_toc_path": str(tmp_path / "_toc.yml")})()
    with pytest.raises(ConfigError, match="ch1.ipynb: ZeroDivisionError: division by zero"):
        sphinx_guard._check(app, config)
    cell.outputs = []
    nbformat.write(nb, src / "ch1.ipynb")
    sphinx_guard._check(app, config)  # a clean page passes


@pytest.mark.slow
def test_the_readmes_rerun_recipe_leaves_the_books_results_byte_identical(tmp_path):
    """`papermill notebooks/02_exponents.ipynb out.ipynb -p n_steps ... -p n_samples ...` (the README's recipe,
    at a size a test affords) writes into an exploration folder of its own, never into results/<profile>/."""
    import os

    results = tmp_path / "results"
    book_results = results / "offline"
    (book_results / "targets").mkdir(parents=True)
    (book_results / "targets" / "R1.json").write_text('{"holds": true, "measured": "the published value"}')
    (book_results / "exponents").mkdir()
    (book_results / "exponents" / "numbers.json").write_text('{"exp_T": 500}')
    before = {p: p.read_bytes() for p in book_results.rglob("*") if p.is_file()}
    env = {**os.environ, "CHAOSLIB_RESULTS": str(results), "HF_HUB_OFFLINE": "1"}
    env.pop("MPLBACKEND", None)
    cmd = [str(VENV_BIN / "papermill"), "notebooks/02_exponents.ipynb", str(tmp_path / "out.ipynb"),
           "-p", "n_steps", "20", "-p", "n_samples", "2", "-p", "tau", "10",
           "-p", "spectrum_samples", "1", "-p", "spectrum_steps", "10", "-p", "sensitivity_samples", "1",
           "-y", "{comparison_seeds: [1], sensitivity_eps: [0.01]}", "-p", "device", "cpu", "-k", "python3"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {p: p.read_bytes() for p in book_results.rglob("*") if p.is_file()} == before
    explored = list((results / "explore" / "offline").glob("exponents-*"))
    assert len(explored) == 1 and (explored[0] / "targets" / "R1.json").exists()
    assert json.loads((explored[0] / "parameters.json").read_text())["n_steps"] == 20
    assert str(explored[0]) in (tmp_path / "out.ipynb").read_text()  # the run says where its results went
