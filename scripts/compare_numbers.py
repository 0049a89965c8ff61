"""Compare the glued numbers and target records of two builds of the book, chapter by chapter.

    python scripts/compare_numbers.py BEFORE/results/offline AFTER/results/offline [--out report.md]

Reads ``<chapter>/numbers.json`` (every value a chapter glued into its prose: numbers and sentences) and
``targets/*.json`` (the reproduction targets' records) under each results folder, and prints, per chapter, how
many values were compared and every value that differs (exactly: floats compared bit for bit through their JSON
text). Exit status 0 when nothing differs, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def compare(before: Path, after: Path) -> tuple[list[str], int]:
    """Report lines and the number of differences between two results folders."""
    lines, n_diff = [], 0
    chapters = sorted({p.parent.name for root in (before, after) for p in root.glob("*/numbers.json")})
    sources = [(c, f"{c}/numbers.json") for c in chapters]
    sources += [(f"target {p.stem}", f"targets/{p.name}")
                for p in sorted({q for root in (before, after) for q in root.glob("targets/*.json")},
                                key=lambda q: q.name)]
    seen = set()
    for label, relative in sources:
        if relative in seen:
            continue
        seen.add(relative)
        a, b = _read(before / relative), _read(after / relative)
        keys = sorted(set(a) | set(b))
        differ = [k for k in keys if json.dumps(a.get(k, "<missing>")) != json.dumps(b.get(k, "<missing>"))]
        n_diff += len(differ)
        lines.append(f"| {label} | {len(keys)} | {len(differ)} |")
        for key in differ:
            lines.append(f"|   `{key}` | before: `{a.get(key, '<missing>')!r}` | after: `{b.get(key, '<missing>')!r}` |")
    return ["| chapter / target | values | differ |", "|---|---|---|", *lines], n_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="results/<profile> of the build before")
    parser.add_argument("after", type=Path, help="results/<profile> of the build after")
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args(argv)
    for root in (args.before, args.after):
        if not any(root.glob("*/numbers.json")):
            parser.error(f"{root} holds no <chapter>/numbers.json: give a built book's results/<profile> folder")
    lines, n_diff = compare(args.before, args.after)
    text = "\n".join(lines) + f"\n\n{n_diff} values differ.\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if n_diff == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
