"""Sphinx extension: ``jupyter-book build book`` stops at once when the chapters are not executed.

The book's chapters are notebooks that ``make book`` executes with papermill into ``book/``;
rendering never executes anything (``execute_notebooks: off``). On a fresh clone those executed
copies do not exist yet, and jupyter-book would otherwise render a book with its chapters missing
and only a warning per page. This extension (listed in ``_config.yml``) checks, before Sphinx
reads anything, that every page of the table of contents exists in the book folder, and if not
stops with the command that executes the notebooks. It also refuses an executed notebook that holds an
error output (a failed cell): the book never publishes a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sphinx.errors import ConfigError

SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")
EXECUTE_COMMAND = "make book"


def toc_docnames(toc: Path) -> list[str]:
    """Every ``root``/``file`` entry of a jupyter-book table of contents, in order."""
    data = yaml.safe_load(toc.read_text())
    names = [data["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk([{key: data.get(key, []) for key in ("parts", "chapters", "sections")}])
    return names


def unexecuted_notebooks(srcdir: Path, toc: Path) -> list[str]:
    """The toc pages with no source file in ``srcdir`` that are notebooks in ``../notebooks``
    (a page missing for another reason is left to Sphinx's own warning)."""
    notebooks = srcdir.parent / "notebooks"
    return [
        name
        for name in toc_docnames(toc)
        if not any((srcdir / f"{name}{suffix}").exists() for suffix in SOURCE_SUFFIXES)
        and (notebooks / f"{name}.ipynb").exists()
    ]


def not_executed_message(missing: list[str], srcdir: Path) -> str:
    folder = srcdir.name or str(srcdir)
    pages = ", ".join(f"{folder}/{name}.ipynb" for name in missing)
    return (
        f"the book's chapters are not executed yet ({pages} missing). They are notebooks that "
        f"`{EXECUTE_COMMAND}` executes (into {folder}/, skipping those that have not changed) before it "
        f"renders the book; or run `python -m chaoslib.book execute`, then `jupyter-book build {folder}`."
    )


def failed_notebooks(srcdir: Path, toc: Path) -> dict[str, str]:
    """The toc's executed notebooks in ``srcdir`` that hold an error output: name -> the error's first line."""
    failed = {}
    for name in toc_docnames(toc):
        path = srcdir / f"{name}.ipynb"
        if not path.exists():
            continue
        for cell in json.loads(path.read_text()).get("cells", []):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errors:
                failed[name] = f"{errors[0].get('ename', 'Error')}: {errors[0].get('evalue', '')}"[:300]
                break
    return failed


def _check(app, config) -> None:
    toc_path = getattr(config, "external_toc_path", None)
    if not toc_path:
        return
    toc = Path(toc_path)
    if not toc.is_absolute():
        toc = Path(app.srcdir) / toc
    missing = unexecuted_notebooks(Path(app.srcdir), toc)
    if missing:
        raise ConfigError(not_executed_message(missing, Path(app.srcdir)))
    failed = failed_notebooks(Path(app.srcdir), toc)
    if failed:
        lines = "; ".join(f"{name}.ipynb: {error}" for name, error in failed.items())
        raise ConfigError(
            f"executed notebooks hold errors, which the book would publish as tracebacks ({lines}). Fix the cause and "
            f"run `{EXECUTE_COMMAND}` again (it re-executes them)."
        )


def setup(app) -> dict[str, Any]:
    # after sphinx-external-toc has read its setting, before any page is read
    app.connect("config-inited", _check, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
