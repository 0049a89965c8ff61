"""Build the book: execute every notebook with papermill under a profile, then render with jupyter-book.

Execution is separated from rendering: ``execute`` runs ``notebooks/<name>.ipynb`` with the
profile's parameters (``notebooks/profiles/<profile>/<name>.yml``) into ``book/<name>.ipynb``;
``render`` builds HTML (and a PDF) from those files with execution off. The build fails if a
notebook fails, a chapter has no figure, or an output (``index.html``, the PDF) is missing.

    python -m chaoslib.book build --profile offline --pdf
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from chaoslib.settings import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK = REPO_ROOT / "book"
TOC = REPO_ROOT / "_toc.yml"
CONFIG = REPO_ROOT / "_config.yml"
PROFILES = ("offline", "paper")
# pages that summarise other chapters' results rather than plot their own
SUMMARY_PAGES = ("results", "reproducibility")


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
    nb = json.loads(notebook.read_text())
    return sum(
        1
        for cell in nb["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {}) or "image/svg+xml" in output.get("data", {})
    )


def execute(profile: str = "offline", only: list[str] | None = None, log=print) -> dict[str, float]:
    """Run each notebook with the profile's parameters into book/; return seconds per notebook."""
    names = notebook_names()
    if only:
        unknown = set(only) - set(names)
        if unknown:
            raise BuildError(f"unknown notebooks {sorted(unknown)}; the book has {names}.")
        names = [n for n in names if n in only]
    # the kernels inherit our environment and must use matplotlib's inline backend, or figures
    # never reach the notebooks (MPLBACKEND=agg, set for headless tests, would swallow them)
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        return _execute_all(names, profile, log)
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend


def _execute_all(names: list[str], profile: str, log) -> dict[str, float]:
    import papermill

    timings, failures = {}, []
    for name in names:
        params = profile_parameters(profile, name)
        undeclared = set(params) - declared_parameters(NOTEBOOKS / f"{name}.ipynb")
        if undeclared:
            raise BuildError(
                f"profile {profile} sets {sorted(undeclared)} that {name}.ipynb does not declare."
            )
        log(f"[execute] {name} ({profile})")
        tic, failed = time.perf_counter(), False
        try:
            papermill.execute_notebook(
                str(NOTEBOOKS / f"{name}.ipynb"),
                str(BOOK / f"{name}.ipynb"),
                parameters=params,
                cwd=str(NOTEBOOKS),
                kernel_name="python3",
                progress_bar=False,
            )
        except Exception as err:  # keep going so one run reports every failing notebook
            last_line = str(err).strip().splitlines()[-1] if str(err).strip() else ""
            failures.append(f"{name}: {type(err).__name__}: {last_line}")
            failed = True
        timings[name] = time.perf_counter() - tic
        log(f"[execute] {name}: {timings[name]:.0f} s")
        if name not in SUMMARY_PAGES and not failed and image_count(BOOK / f"{name}.ipynb") == 0:
            failures.append(f"{name}: executed but produced no figure")
    if failures:
        raise BuildError("notebooks failed:\n  " + "\n  ".join(failures))
    return timings


def page_title(name: str) -> str:
    """The first ``# `` heading of a page (notebook or Markdown)."""
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
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [
        str(exe),
        "build",
        str(BOOK),
        "--toc",
        str(TOC),
        "--config",
        str(CONFIG),
        "--path-output",
        str(BOOK),
        "--keep-going",
        *args,
    ]
    result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    sys.stdout.write(result.stdout[-4000:])
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-8000:])
        raise BuildError(f"jupyter-book {' '.join(args) or 'html'} failed (exit {result.returncode}).")
    warnings = [line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line]
    fatal = [w for w in warnings if "glue" in w.lower() or "image file not readable" in w.lower()]
    if fatal:
        raise BuildError("rendering found missing glued values or figures:\n  " + "\n  ".join(fatal[:20]))


def render(pdf: bool = True, log=print) -> dict[str, Path]:
    """Render book/ to HTML (and PDF with pdflatex); return the output paths."""
    missing = [n for n in notebook_names() if not (BOOK / f"{n}.ipynb").exists()]
    if missing:
        raise BuildError(f"not executed yet: {missing}; run `python -m chaoslib.book execute` first.")
    outputs = {}
    log("[render] html")
    _jupyter_book("--builder", "html")
    outputs["html"] = BOOK / "_build" / "html" / "index.html"
    if pdf:
        if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
            raise BuildError(
                "the PDF needs pdflatex and latexmk: apt-get install texlive-latex-recommended "
                "texlive-latex-extra texlive-fonts-recommended latexmk (or build with --no-pdf)."
            )
        log("[render] pdf")
        _jupyter_book("--builder", "pdflatex")
        outputs["pdf"] = BOOK / "_build" / "latex" / "transient-chaos-bert.pdf"
    for kind, path in outputs.items():
        if not path.exists():
            raise BuildError(f"the {kind} output {path} is missing after the build.")
        log(f"[render] {kind}: {path}")
    if pdf:
        check_pdf(outputs["pdf"], toc_files()[1:])  # the root page is the PDF's front matter
        log("[render] pdf has every page of the table of contents")
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoslib.book", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["execute", "render", "build"])
    parser.add_argument("--profile", default="offline", choices=PROFILES)
    parser.add_argument("--only", nargs="*", help="execute only these notebooks (names without .ipynb)")
    parser.add_argument("--pdf", dest="pdf", action="store_true", default=True)
    parser.add_argument("--no-pdf", dest="pdf", action="store_false")
    args = parser.parse_args(argv)
    try:
        if args.command in ("execute", "build"):
            timings = execute(args.profile, args.only)
            print("[execute] seconds per notebook:", json.dumps({k: round(v) for k, v in timings.items()}))
        if args.command in ("render", "build"):
            render(pdf=args.pdf)
    except BuildError as err:
        print(f"BOOK BUILD FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
