"""Checks of the built book that a reader would notice.

The PDF edition has no code: figures, tables, prose and equations only (the HTML keeps the code
behind "show code" toggles). :func:`pdf_has_code_listings` reads the PDF's text (``pdftotext``)
and returns the lines that look like Python source, as the code cells of a chapter would print::

    python -m chaoslib.book.checks pdf book/_build/latex/transient-chaos-bert.pdf   # exit 1 on code

Inline code in the prose (a function's name, a command to run) is not a listing and is not
reported: a line counts only when the whole line is a statement (``import x``, ``from x import y``),
or starts one (``def f(``, ``class C(``), or calls into a chapter (``ch.figure(``, ``figures.x.f(``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from chaoslib.errors import ChaoslibError

_NAME = r"[A-Za-z_][\w.]*"
# each pattern matches a whole (stripped) line of extracted text
CODE_SIGNATURES: dict[str, re.Pattern[str]] = {
    "import": re.compile(rf"^import {_NAME}( as \w+)?(, {_NAME}( as \w+)?)*$"),
    "from-import": re.compile(rf"^from \.*{_NAME} import (\(|\*|\w+( as \w+)?(, \w+( as \w+)?)*,?)\s*\)?$"),
    "def": re.compile(r"^(async )?def \w+\s*\("),
    "class": re.compile(r"^class \w+\s*[(:]"),
    "chapter call": re.compile(r"\bch\.(figure|glue|target|save|load|finish|run)\("),
    "call assigned": re.compile(r"^\w+(, ?\w+)* = \w+(\.\w+)+\("),
    "decorator": re.compile(r"^@\w+(\.\w+)*(\(|$)"),
    "main guard": re.compile(r"^if __name__ =="),
    "prompt": re.compile(r"^>>> \S"),
}


def code_listing_lines(text: str) -> list[str]:
    """The lines of ``text`` that look like Python source (see :data:`CODE_SIGNATURES`), in order."""
    found = []
    for raw in text.splitlines():
        line = " ".join(raw.split())  # pdftotext's spacing varies
        if line and any(p.search(line) for p in CODE_SIGNATURES.values()):
            found.append(line)
    return found


def pdf_text(pdf_path: str | Path) -> str:
    """The PDF's text, by ``pdftotext`` (poppler-utils)."""
    pdf_path = Path(pdf_path)
    if not pdf_path.is_file():
        raise ChaoslibError(f"pdf_path={str(pdf_path)!r} is not a file; build the PDF first (make book).")
    if shutil.which("pdftotext") is None:
        raise ChaoslibError("reading the PDF needs pdftotext: apt-get install poppler-utils (make latex).")
    result = subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True)
    if result.returncode != 0:
        raise ChaoslibError(f"pdftotext could not read {pdf_path}: {result.stderr.strip()}")
    return result.stdout


def pdf_has_code_listings(pdf_path: str | Path) -> list[str]:
    """Lines of the PDF that look like code listings; empty when the PDF has none."""
    return code_listing_lines(pdf_text(pdf_path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chaoslib.book.checks", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="check", required=True)
    pdf = sub.add_parser("pdf", help="fail when the PDF shows code")
    pdf.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    try:
        lines = pdf_has_code_listings(args.path)
    except ChaoslibError as err:
        print(f"check failed: {err}", file=sys.stderr)
        return 2
    if lines:
        shown = "\n  ".join(lines[:20]) + (f"\n  ... and {len(lines) - 20} more" if len(lines) > 20 else "")
        print(
            f"{args.path}: {len(lines)} lines of code in the PDF (it should have none):\n  {shown}",
            file=sys.stderr,
        )
        return 1
    print(f"{args.path}: no code listings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
