"""Build the book: execute the notebooks that changed with papermill, then render with jupyter-book.

Execution is separated from rendering. ``execute`` runs ``notebooks/<name>.ipynb`` with the
profile's parameters (``notebooks/profiles/<profile>/<name>.yml``) into ``book/<name>.ipynb``;
``render`` runs ``jupyter-book build book`` (the same command a reader types; ``book/_toc.yml``
links to the root ``_toc.yml`` and jupyter-book finds the root ``_config.yml`` itself) with
execution off. The build fails if a notebook fails, a chapter has no figure, or an output
(``index.html``, the PDF when asked for) is missing.

Execution cache. A chapter is executed only when something it depends on changed. Its *cache key*
hashes the contents (not the times) of

* ``notebook``: its notebook file;
* ``parameters``: the profile's parameters for it (the profile name included);
* ``chaoslib``: the chaoslib sources (every ``.py`` and config file under ``chaoslib/`` except the
  shipped checkpoints, which are data);
* ``reads``: the files it reads, as the notebook declares them in its metadata
  ``{"chaoslib": {"reads": [patterns]}}``: ``$DATA/<glob>`` inside the data folder
  (:func:`chaoslib.settings.data_dir`), any other glob relative to the repository (the shipped
  checkpoint ``chaoslib/checkpoints/**``, shipped result records). A notebook that declares
  nothing depends on the whole data folder and every shipped checkpoint (:data:`DEFAULT_READS`);
* ``packages``: the versions of Python, torch, transformers, numpy and scipy.

The key and its parts are written into the executed notebook's metadata (``chaoslib.cache``), so
the next build compares against what produced the page it would show. The summary pages
(:data:`SUMMARY_PAGES`) read the other chapters' results: they execute again whenever any chapter
does, and their key includes every chapter's key and the result files they read (``results``: every
JSON file of the profile's results folder, so a chapter re-executed alone still updates them).
``--force`` (``make book FORCE=1``) executes everything.

Safety. Before anything executes, :func:`preflight` checks what the chapters need (the data folder for
the offline profile, every shipped checkpoint against its card) and stops naming the fix. A notebook
executes into ``book/_build/executing/`` and replaces ``book/<name>.ipynb`` only when it succeeded, so a
failed run never destroys the last good page (the failed notebook stays there for inspection, and it
leaves no key, so it is retried). The book's own results folder (``results/<profile>/``) is passed to
every notebook as ``results_dir``: a chapter run any other way writes to an exploration folder of its
own (:func:`chaoslib.book.chapter.exploration_dir`), so reruns never change the published results.

    python -m chaoslib.book build --profile offline            # HTML, and the PDF where TeX is installed
    python -m chaoslib.book build --require-pdf                # CI: no TeX is an error
    python -m chaoslib.book reads 05_glue_by_depth '$DATA/glue/STS-B/*' '$DATA/albert/*'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

from chaoslib.settings import REPO_ROOT, data_dir

NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK = REPO_ROOT / "book"
TOC = REPO_ROOT / "_toc.yml"
CONFIG = REPO_ROOT / "_config.yml"
CHAOSLIB_SOURCES = REPO_ROOT / "chaoslib"
PROFILES = ("offline", "paper")
# pages that summarise other chapters' results rather than plot their own
SUMMARY_PAGES = ("intro", "results", "reproducibility")
# what a notebook without a declaration is taken to read: everything it could read
DEFAULT_READS = ("$DATA/**", "chaoslib/checkpoints/**")
# files under chaoslib/ that are code or configuration (the checkpoints are data: see `reads`)
SOURCE_SUFFIXES = {".py", ".yml", ".yaml", ".json", ".typed"}
PACKAGES_IN_KEY = ("torch", "transformers", "numpy", "scipy")
PDF_NAME = "transient-chaos-bert.pdf"
TEX_PROGRAMS = ("latexmk", "pdflatex")
TEX_PACKAGES = "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk poppler-utils"

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


def toc_files(toc: Path | None = None) -> list[str]:
    """Page names in table-of-contents order (root first)."""
    data = yaml.safe_load((toc or TOC).read_text())
    files = [data["root"]]
    for part in data.get("parts", []):
        files += [entry["file"] for entry in part.get("chapters", [])]
    return files


def notebook_names() -> list[str]:
    """The toc pages that are notebooks in notebooks/ (the rest are Markdown pages in book/)."""
    return [name for name in toc_files() if (NOTEBOOKS / f"{name}.ipynb").exists()]


def profile_parameters(profile: str, name: str) -> dict:
    if profile not in PROFILES:
        raise BuildError(f"profile={profile!r}; use one of {list(PROFILES)}.")
    path = NOTEBOOKS / "profiles" / profile / f"{name}.yml"
    params = yaml.safe_load(path.read_text()) if path.exists() else {}
    return {"profile": profile, **(params or {})}


def parameters_cell(notebook: Path) -> str:
    """Source of the cell tagged ``parameters``."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return "".join(cell["source"])
    raise BuildError(f"{notebook.name} has no cell tagged 'parameters'.")


def declared_parameters(notebook: Path) -> set[str]:
    import ast

    tree = ast.parse(parameters_cell(notebook))
    return {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def image_count(notebook: Path) -> int:
    """Images among a notebook's outputs: shown ones, and figures glued for ``{glue:figure}`` (whose mime
    type papermill's record prefixes, e.g. ``application/papermill.record/image/png``)."""
    nb = json.loads(notebook.read_text())
    return sum(
        1
        for cell in nb["cells"]
        for output in cell.get("outputs", [])
        if any(key.endswith(("image/png", "image/svg+xml")) for key in output.get("data", {}))
    )


# --- the execution cache ----------------------------------------------------------------------

_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def _file_hash(path: Path) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) within one process."""
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo not in _FILE_HASHES:
        from chaoslib.store import sha256_file

        _FILE_HASHES[memo] = sha256_file(path)
    return _FILE_HASHES[memo]


def hash_files(files: Iterable[Path], root: Path) -> str:
    """One digest of the files' names (relative to ``root``) and contents, independent of order."""
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(f"{path.relative_to(root).as_posix()}\0{_file_hash(path)}\n".encode())
    return digest.hexdigest()


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chaoslib_source_files() -> list[Path]:
    """chaoslib's code and configuration files (not the checkpoints, not caches)."""
    checkpoints = CHAOSLIB_SOURCES / "checkpoints"
    return [
        p
        for p in CHAOSLIB_SOURCES.rglob("*")
        if p.is_file()
        and p.suffix in SOURCE_SUFFIXES
        and "__pycache__" not in p.parts
        and checkpoints not in p.parents
    ]


def declared_reads(notebook: Path) -> list[str] | None:
    """The notebook's ``metadata.chaoslib.reads`` patterns, or None when it declares none."""
    meta = json.loads(notebook.read_text()).get("metadata", {}).get("chaoslib", {})
    reads = meta.get("reads")
    if reads is not None and (not isinstance(reads, list) or not all(isinstance(r, str) for r in reads)):
        raise BuildError(f"{notebook.name}: metadata chaoslib.reads must be a list of glob patterns.")
    return reads


def _glob_files(root: Path, pattern: str) -> list[Path]:
    # Path.glob("x/**") yields only folders before Python 3.13: expand every folder to its files
    found = []
    for match in root.glob(pattern):
        if match.is_dir():
            found += [p for p in match.rglob("*") if p.is_file()]
        elif match.is_file():
            found.append(match)
    return [p for p in found if "__pycache__" not in p.parts]


def read_files(patterns: Iterable[str]) -> tuple[Path | None, list[Path]]:
    """Resolve read patterns to files; returns (the data folder or None where there is none, the files).

    A pattern that matches nothing is an error (a misspelt declaration would silently drop a
    dependency), except inside a data folder that does not exist (the paper profile reads its data
    online; the offline notebooks fail on their own with the data folder's message).
    """
    files: list[Path] = []
    try:
        data_root: Path | None = data_dir()
    except Exception:
        data_root = None
    for pattern in patterns:
        if pattern.startswith("$DATA/"):
            if data_root is None:
                continue
            root, glob = data_root, pattern[len("$DATA/") :]
        else:
            root, glob = REPO_ROOT, pattern
        matched = _glob_files(root, glob)
        if not matched:
            raise BuildError(f"the read pattern {pattern!r} matches no file under {root}.")
        files += matched
    return data_root, files


def _hash_reads(patterns: Iterable[str]) -> str:
    """Digest of the read files, each named relative to its root ($DATA or the repository), so
    the key does not depend on where the data folder or the checkout lies."""
    data_root, files = read_files(patterns)
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        if data_root is not None and path.is_relative_to(data_root):
            name = "$DATA/" + path.relative_to(data_root).as_posix()
        else:
            name = path.relative_to(REPO_ROOT).as_posix()
        digest.update(f"{name}\0{_file_hash(path)}\n".encode())
    return digest.hexdigest()


def package_versions() -> str:
    from importlib import metadata
    from platform import python_version

    versions = {"python": python_version()}
    for name in PACKAGES_IN_KEY:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return json.dumps(versions, sort_keys=True)


def cache_parts(name: str, profile: str, chapter_keys: dict[str, str] | None = None) -> dict[str, str]:
    """The hashed inputs of one page (see the module docstring); summary pages add the chapters'."""
    notebook = NOTEBOOKS / f"{name}.ipynb"
    reads = declared_reads(notebook)
    parts = {
        "notebook": _file_hash(notebook),
        "parameters": _hash_text(json.dumps(profile_parameters(profile, name), sort_keys=True, default=str)),
        "chaoslib": hash_files(chaoslib_source_files(), CHAOSLIB_SOURCES),
        "reads": _hash_reads(DEFAULT_READS if reads is None else reads),
        "packages": _hash_text(package_versions()),
    }
    if chapter_keys is not None:
        parts["chapters"] = _hash_text(json.dumps(chapter_keys, sort_keys=True))
    return parts


def cache_key(parts: dict[str, str]) -> str:
    return _hash_text(json.dumps(parts, sort_keys=True))


def stored_cache(executed: Path) -> dict | None:
    """The cache record of an executed notebook (None when missing, unreadable or keyless)."""
    if not executed.exists():
        return None
    try:
        return json.loads(executed.read_text()).get("metadata", {}).get("chaoslib", {}).get("cache")
    except (json.JSONDecodeError, OSError):
        return None


def stamp_cache(executed: Path, profile: str, parts: dict[str, str]) -> str:
    """Write the key and its parts into the executed notebook's metadata; return the key."""
    nb = json.loads(executed.read_text())
    key = cache_key(parts)
    nb.setdefault("metadata", {}).setdefault("chaoslib", {})["cache"] = {
        "key": key,
        "profile": profile,
        "parts": parts,
    }
    executed.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return key


def why_execute(stored: dict | None, parts: dict[str, str], profile: str) -> str | None:
    """None when the stored record matches ``parts``, else the reason to execute."""
    if stored is None:
        return "not executed yet (or no cache key: a failed or pre-cache run)"
    if stored.get("profile") != profile:
        return f"executed under the {stored.get('profile')} profile"
    if stored.get("key") == cache_key(parts):
        return None
    old = stored.get("parts", {})
    changed = [k for k in parts if old.get(k) != parts[k]]
    return "changed: " + ", ".join(changed or ["key"])


# --- execution --------------------------------------------------------------------------------


def execute(
    profile: str = "offline",
    only: list[str] | None = None,
    force: bool = False,
    log: Log = print,
) -> dict[str, float]:
    """Execute the notebooks whose inputs changed into book/; return seconds per executed notebook.

    ``only`` executes just those notebooks, whatever the cache says (summary pages are not
    re-run unless named); ``force`` executes every notebook.
    """
    names = notebook_names()
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise BuildError(f"unknown notebooks {sorted(unknown)}; the book has {names}.")
        names = [n for n in names if n in only]
        force = True
    # the kernels inherit our environment and must use matplotlib's inline backend, or figures
    # never reach the notebooks (MPLBACKEND=agg, set for headless tests, would swallow them)
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        return _execute_all(names, profile, force, log)
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend


def book_results_dir(profile: str) -> str:
    """The ``results_dir`` the book's own runs get: ``results/<profile>`` relative to notebooks/ (so no machine
    path enters the provenance), or absolute where ``$CHAOSLIB_RESULTS`` puts it outside the checkout."""
    from chaoslib.book.chapter import default_results_dir

    target = default_results_dir(profile).resolve()
    if target.is_relative_to(REPO_ROOT.resolve()):
        return os.path.relpath(target, NOTEBOOKS.resolve())
    return str(target)


def results_hash(profile: str) -> str:
    """Digest of the JSON files of the profile's results folder (targets, provenance, glued numbers)."""
    from chaoslib.book.chapter import default_results_dir

    folder = default_results_dir(profile)
    files = [p for p in folder.rglob("*.json") if p.is_file()] if folder.is_dir() else []
    return hash_files(files, folder) if files else _hash_text("no results")


def preflight(profile: str) -> None:
    """What every chapter needs, checked before anything executes: the offline data folder, and each shipped
    checkpoint against its card's SHA-256. Raises :class:`BuildError` naming the fix."""
    from chaoslib.errors import ChaoslibError, DataNotFound
    from chaoslib.model.configs import SHIPPED_NAMES, shipped_checkpoint, verify_checkpoint

    problems = []
    if profile == "offline":
        try:
            data_dir()
        except DataNotFound as err:
            problems.append(str(err))
    for name in SHIPPED_NAMES:
        try:
            verify_checkpoint(shipped_checkpoint(name))
        except ChaoslibError as err:
            problems.append(str(err))
    if problems:
        raise BuildError("nothing was executed; fix this first:\n  " + "\n  ".join(problems))


# a page shows what the reader asked for: progress bars (tqdm's, and the hub's and transformers' own) are off
# in the kernels of the book's execution, so no progress line or widget reaches a page
QUIET_KERNEL_ENV = {"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def _run_notebook(name: str, params: dict, output: Path) -> None:
    """papermill: notebooks/<name>.ipynb with ``params`` into ``output`` (tests replace it), progress bars off
    (:data:`QUIET_KERNEL_ENV`) and no widget state saved."""
    import papermill

    saved = {key: os.environ.get(key) for key in QUIET_KERNEL_ENV}
    os.environ.update(QUIET_KERNEL_ENV)  # the kernel inherits the environment of this process
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"),
            str(output),
            parameters=params,
            cwd=str(NOTEBOOKS),
            kernel_name="python3",
            progress_bar=False,
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    drop_widget_state(output)


def drop_widget_state(notebook: Path) -> bool:
    """Remove the saved state of interactive widgets (``metadata.widgets``) from an executed notebook, which
    jupyter-book would render as live widgets; True when there was some."""
    nb = json.loads(notebook.read_text())
    if "widgets" not in nb.get("metadata", {}):
        return False
    del nb["metadata"]["widgets"]
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return True


def _execute_all(names: list[str], profile: str, force: bool, log: Log) -> dict[str, float]:
    preflight(profile)
    for name in names:
        params = profile_parameters(profile, name)
        undeclared = set(params) - declared_parameters(NOTEBOOKS / f"{name}.ipynb")
        if undeclared:
            raise BuildError(
                f"profile {profile} sets {sorted(undeclared)} that {name}.ipynb does not declare."
            )
    chapters = [n for n in names if n not in SUMMARY_PAGES]
    summaries = [n for n in names if n in SUMMARY_PAGES]
    timings: dict[str, float] = {}
    failures: list[str] = []
    keys: dict[str, str] = {}
    for name in chapters:
        parts = cache_parts(name, profile)
        keys[name] = cache_key(parts)
        reason = "forced" if force else why_execute(stored_cache(BOOK / f"{name}.ipynb"), parts, profile)
        _execute_one(name, profile, parts, reason, timings, failures, log)
    # the chapters not executed in this call still count for the summary pages' key
    all_keys = {
        **{
            n: (stored_cache(BOOK / f"{n}.ipynb") or {}).get("key", "")
            for n in notebook_names()
            if n not in SUMMARY_PAGES
        },
        **keys,
    }
    for name in summaries:
        parts = {**cache_parts(name, profile, chapter_keys=all_keys), "results": results_hash(profile)}
        if force:
            reason = "forced"
        elif timings:
            reason = f"chapters executed: {', '.join(timings)}"
        else:
            reason = why_execute(stored_cache(BOOK / f"{name}.ipynb"), parts, profile)
        _execute_one(name, profile, parts, reason, timings, failures, log)
    if failures:
        raise BuildError("notebooks failed:\n  " + "\n  ".join(failures))
    return timings


def _execute_one(
    name: str,
    profile: str,
    parts: dict[str, str],
    reason: str | None,
    timings: dict[str, float],
    failures: list[str],
    log: Log,
) -> None:
    if reason is None:
        log(f"[cache] {name}: skip (up to date, key {cache_key(parts)[:12]})")
        return
    log(f"[cache] {name}: execute ({reason})")
    tic, failed = time.perf_counter(), False
    executing = BOOK / "_build" / "executing" / f"{name}.ipynb"
    executing.parent.mkdir(parents=True, exist_ok=True)
    executing.unlink(missing_ok=True)
    params = {**profile_parameters(profile, name), "results_dir": book_results_dir(profile)}
    try:
        _run_notebook(name, params, executing)
    except Exception as err:  # keep going so one run reports every failing notebook
        last_line = str(err).strip().splitlines()[-1] if str(err).strip() else ""
        failures.append(f"{name}: {type(err).__name__}: {last_line} (the failed run: {executing.relative_to(BOOK)})")
        failed = True
    timings[name] = time.perf_counter() - tic
    log(f"[execute] {name}: {timings[name]:.0f} s{' (FAILED)' if failed else ''}")
    if failed:
        return
    if name not in SUMMARY_PAGES and image_count(executing) == 0:
        failures.append(f"{name}: executed but produced no figure")
        return
    stamp_cache(executing, profile, parts)
    os.replace(executing, BOOK / f"{name}.ipynb")  # only a successful run replaces the page


def set_reads(name: str, patterns: list[str]) -> None:
    """Declare what a notebook reads (``metadata.chaoslib.reads``); the patterns must match files."""
    notebook = NOTEBOOKS / f"{name}.ipynb"
    read_files(patterns)  # fail now on a pattern that matches nothing
    nb = json.loads(notebook.read_text())
    nb.setdefault("metadata", {}).setdefault("chaoslib", {})["reads"] = list(patterns)
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


# --- rendering --------------------------------------------------------------------------------


def page_title(name: str) -> str:
    """The title of a page (notebook or Markdown): its first level-one heading, a line that starts with "# "."""
    notebook, markdown = NOTEBOOKS / f"{name}.ipynb", BOOK / f"{name}.md"
    if notebook.exists():
        sources = [
            "".join(c["source"])
            for c in json.loads(notebook.read_text())["cells"]
            if c["cell_type"] == "markdown"
        ]
    else:
        sources = [markdown.read_text()]
    for line in "\n".join(sources).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise BuildError(f"page {name} has no '# ' title.")


def check_pdf(pdf: Path, names: list[str]) -> None:
    """Every page of the toc appears in the PDF (by its title) and the PDF has text."""
    if shutil.which("pdftotext") is None:
        raise BuildError("checking the PDF needs pdftotext: apt-get install poppler-utils.")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split()).lower()
    missing = [n for n in names if " ".join(page_title(n).split()).lower() not in flat]
    if missing:
        raise BuildError(f"the PDF lacks the pages {missing}.")


def _jupyter_book(*args: str) -> None:
    """``jupyter-book build book`` as a reader types it (book/_toc.yml, the root _config.yml)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(BOOK), "--keep-going", *args]
    result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    sys.stdout.write(result.stdout[-4000:])
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-8000:])
        raise BuildError(f"jupyter-book {' '.join(args) or 'html'} failed (exit {result.returncode}).")
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line]
    if warnings:  # shown, not hidden: each is something a reader may meet on the page
        print(f"[render] {len(warnings)} warnings from jupyter-book {' '.join(args)}:")
        for line in warnings:
            print(f"  {line}")
    # myst-nb's glue warnings (a missing or duplicate key) and unreadable images; not any warning whose file
    # path happens to contain "glue" (chaoslib/tasks/glue_*.py docstrings)
    fatal = [w for w in warnings if "[mystnb.glue]" in w or "glue key" in w or "image file not readable" in w.lower()]
    if fatal:
        raise BuildError("rendering found missing glued values or figures:\n  " + "\n  ".join(fatal[:20]))


def tex_missing() -> list[str]:
    """The TeX programs the PDF needs that are not on PATH."""
    return [p for p in TEX_PROGRAMS if shutil.which(p) is None]


def how_to_get_the_pdf(missing: list[str]) -> str:
    return (
        f"the PDF was not built: {', '.join(missing)} not found (TeX Live is not installed, and "
        "`make latex` installs it only as root with apt-get). The HTML is complete. To get the PDF: "
        f"as root, `apt-get install {TEX_PACKAGES}`, or install TeX Live for your user (its own "
        "installer, or conda's texlive-core and latexmk) so that pdflatex and latexmk are on PATH; "
        "then run `make book` again (it only renders: nothing re-executes). Or download the PDF "
        "from the published book (the download button of any page), which CI builds on every push."
    )


def render(pdf: str = "auto", log: Log = print) -> dict[str, Path]:
    """Render book/ to HTML, and the PDF: ``pdf`` is "auto" (when TeX is installed, else say how
    to get it), "require" (no TeX is an error) or "off". Returns the output paths."""
    if pdf not in ("auto", "require", "off"):
        raise BuildError(f"pdf={pdf!r}; use 'auto', 'require' or 'off'.")
    missing = [n for n in notebook_names() if not (BOOK / f"{n}.ipynb").exists()]
    if missing:
        raise BuildError(f"not executed yet: {missing}; run `python -m chaoslib.book execute` first.")
    outputs = {}
    # the PDF first: the HTML build copies it into its tree, where every page's footer links to it
    no_tex = tex_missing() if pdf != "off" else []
    if no_tex and pdf == "require":
        raise BuildError(f"the PDF needs pdflatex and latexmk: apt-get install {TEX_PACKAGES}.")
    if pdf != "off" and not no_tex:
        tic = time.perf_counter()
        _jupyter_book("--builder", "pdflatex")
        outputs["pdf"] = BOOK / "_build" / "latex" / PDF_NAME
        log(f"[render] pdf: {time.perf_counter() - tic:.0f} s")
    tic = time.perf_counter()
    _jupyter_book("--builder", "html")
    outputs["html"] = BOOK / "_build" / "html" / "index.html"
    log(f"[render] html: {time.perf_counter() - tic:.0f} s")
    for kind, path in outputs.items():
        if not path.exists():
            raise BuildError(f"the {kind} output {path} is missing after the build.")
        log(f"[render] {kind}: {path}")
    if "pdf" in outputs:
        from chaoslib.book.sphinx_ext import HTML_ONLY_DOCS

        # the root page is the PDF's front matter; the HTML-only pages are not in it
        check_pdf(outputs["pdf"], [n for n in toc_files()[1:] if n not in HTML_ONLY_DOCS])
        log("[render] pdf has every page of the table of contents")
    elif no_tex:
        log(f"[render] NOTE: {how_to_get_the_pdf(no_tex)}")
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib.book", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["execute", "render", "build", "reads"])
    parser.add_argument("names", nargs="*", help="reads: a notebook name, then its read patterns")
    parser.add_argument("--profile", default="offline", choices=PROFILES)
    parser.add_argument("--only", nargs="*", help="execute only these notebooks (names without .ipynb)")
    parser.add_argument(
        "--force", action="store_true", help="execute every notebook, whatever the cache says"
    )
    parser.add_argument(
        "--pdf",
        dest="pdf",
        action="store_const",
        const="auto",
        default="auto",
        help="build the PDF too where TeX Live is installed (default)",
    )
    parser.add_argument(
        "--require-pdf",
        dest="pdf",
        action="store_const",
        const="require",
        help="fail when the PDF cannot be built (CI)",
    )
    parser.add_argument("--no-pdf", dest="pdf", action="store_const", const="off")
    args = parser.parse_args(argv)
    tic = time.perf_counter()
    try:
        if args.command == "reads":
            if not args.names:
                parser.error("reads NAME PATTERN...")
            set_reads(args.names[0], args.names[1:])
            return 0
        if args.command in ("execute", "build"):
            timings = execute(args.profile, args.only, force=args.force)
            print(
                "[execute] seconds per executed notebook:",
                json.dumps({k: round(v) for k, v in timings.items()}),
            )
        if args.command in ("render", "build"):
            render(pdf=args.pdf)
    except BuildError as err:
        print(f"BOOK BUILD FAILED: {err}", file=sys.stderr)
        return 1
    print(f"[book] {args.command} done in {time.perf_counter() - tic:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
