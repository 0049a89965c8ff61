#!/usr/bin/env python3
"""Fetch the offline data folder (ALBERT tokenizer and configs, GLUE TSVs, WikiText-2) from its public
sources into the layout chaoslib reads, and verify every file against ``scripts/data.SHA256SUMS``.

The data is never committed to this repository. These are the sources and steps recorded in the data
folder's README (each a public GitHub repository at a fixed commit); nothing is accepted unless its
sha256 matches, so a changed source fails loudly instead of changing the book.

    python scripts/fetch_data.py                    # into ../shared/data (chaoslib's default in a checkout)
    python scripts/fetch_data.py --dest DIR         # anywhere; then export CHAOSLIB_DATA=DIR

Standard library only (it runs before anything is installed).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKSUMS = HERE / "data.SHA256SUMS"
DEFAULT_DEST = HERE.parent.parent / "shared" / "data"
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"

GLUE_STSB = ("jifspoz/GLUE_DATA", "81b6a62dba79bb53ec7d76f0287796672c517a3b")
GLUE_MRPC = ("1710763616/fnlp.github.io", "fe7281d19ef30bc59a83bfd6417ae3502dea0699")
GLUE_OTHERS = ("amrnag/Specialized-Transformers", "fa673a93a5c27cb1f5954ac2a8a49eec6fcba6b9")
WIKITEXT = ("wyshi/sdp_transformers", "67f51dacb983f17926a3376ec10b374c0ef0588a")
ALBERT_HF = ("aHapBean/Web_retrieval_project", "d6acd7dafb4b67f3af9e8b3b4b17ec21dc769530")
ALBERT_VOCAB = ("tejasvaidhyadev/ALBERT.jl", "214a4cc2cedc83d985b9ef574df7889951fd4764")
ALBERT_BASE = ("abhik-99/Final-Year-Project", "3968dbe1f87759994267d355a5074ee8945bc0e3")

# zip archives: (source, path, sha256 of the zip, {destination: the member whose name ends so})
ZIPS = [
    (
        GLUE_STSB,
        "STS-B.zip",
        "f8188fba85f53951176ada5202da39dc6f55d19b2035c17b20044fe8c29b322f",
        {
            "glue/STS-B/train.tsv": "STS-B/train.tsv",
            "glue/STS-B/dev.tsv": "STS-B/dev.tsv",
            "glue/STS-B/test.tsv": "STS-B/test.tsv",
            "glue/STS-B/original/sts-train.tsv": "original/sts-train.tsv",
            "glue/STS-B/original/sts-dev.tsv": "original/sts-dev.tsv",
            "glue/STS-B/original/sts-test.tsv": "original/sts-test.tsv",
            "glue/STS-B/LICENSE.txt": "LICENSE.txt",
            "glue/STS-B/readme.txt": "readme.txt",
        },
    ),
    (
        GLUE_MRPC,
        "data/MRPC.zip",
        "b424649e55d23c5ee30dc3e959be4d2104b59fae2e6ecb5a03dffee0b6bd55fa",
        {"glue/MRPC/train.tsv": "MRPC/train.tsv", "glue/MRPC/dev.tsv": "MRPC/dev.tsv"},
    ),
]
# single files copied unchanged: destination -> (source, path)
FILES = {
    **{
        f"glue/{task}/{split}.tsv": (GLUE_OTHERS, f"data/{task}/{split}.tsv")
        for task in ("RTE", "WNLI", "CoLA")
        for split in ("dev", "test")
    },
    "wikitext-2/valid.txt": (WIKITEXT, "data/wikitext-2-raw/valid.txt"),
    "wikitext-2/test.txt": (WIKITEXT, "data/wikitext-2-raw/test.txt"),
    "albert/spiece.model": (ALBERT_HF, "albert-large-v2/spiece.model"),
    "albert/tokenizer.json": (ALBERT_HF, "albert-large-v2/tokenizer.json"),
    "albert/configs/albert-large-v2.json": (ALBERT_HF, "albert-large-v2/config.json"),
    "albert/30k-clean.vocab": (ALBERT_VOCAB, "src/Vocabs/albert_base_v2_30k-clean.vocab"),
    "albert/configs/albert-base-v2.json": (ALBERT_BASE, "albert_base_v2/config.json"),
}
# byte concatenations: WikiText-2 train is stored there in five parts, in line order
CONCATS = {
    "wikitext-2/train.txt": (
        WIKITEXT,
        [f"data/wikitext-2-raw/train_split_5/train_{i}.txt" for i in range(5)],
    ),
}
# GLUE train sets stored split into train.tsv (with the header) and val.tsv (without): merged by index
MERGES = {
    f"glue/{task}/train.tsv": (GLUE_OTHERS, f"data/{task}/train.tsv", f"data/{task}/val.tsv")
    for task in ("RTE", "WNLI")
}

Fetch = Callable[[tuple[str, str], str], bytes]


def download(source: tuple[str, str], path: str, tries: int = 4) -> bytes:
    repo, commit = source
    url = RAW.format(repo=repo, commit=commit, path=path)
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.read()
        except OSError as err:
            if attempt == tries - 1:
                raise SystemExit(f"fetch_data: could not download {url}: {err}") from err
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_hashes() -> dict[str, str]:
    pairs = (line.split(None, 1) for line in CHECKSUMS.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in pairs}


def merge_by_index(with_header: bytes, without_header: bytes) -> bytes:
    """GLUE's train.tsv from its two parts: the header, then every row sorted by its index column."""
    header, *rows = with_header.decode("utf-8").splitlines()
    rows += without_header.decode("utf-8").splitlines()
    rows = [row for row in rows if row.strip()]
    rows.sort(key=lambda row: int(row.split("\t", 1)[0]))
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def member(archive: zipfile.ZipFile, suffix: str) -> bytes:
    names = [n for n in archive.namelist() if n == suffix or n.endswith("/" + suffix)]
    names = [n for n in names if not n.startswith("__MACOSX/")]
    if len(names) != 1:
        raise SystemExit(f"fetch_data: expected one member ending in {suffix!r}, found {names}.")
    return archive.read(names[0])


def assemble(fetch: Fetch = download, zip_hashes: dict[str, str] | None = None) -> dict[str, bytes]:
    """Every file of the data folder, by destination path (bytes as fetched and assembled)."""
    out: dict[str, bytes] = {}
    for source, path, digest, members in ZIPS:
        data = fetch(source, path)
        want = (zip_hashes or {}).get(path, digest)
        if sha256(data) != want:
            raise SystemExit(f"fetch_data: {source[0]}/{path} has sha256 {sha256(data)}, expected {want}.")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for dest, suffix in members.items():
                out[dest] = member(archive, suffix)
    for dest, (source, path) in FILES.items():
        out[dest] = fetch(source, path)
    for dest, (source, paths) in CONCATS.items():
        out[dest] = b"".join(fetch(source, p) for p in paths)
    for dest, (source, with_header, without_header) in MERGES.items():
        out[dest] = merge_by_index(fetch(source, with_header), fetch(source, without_header))
    return out


def fetch_data(dest: Path, fetch: Fetch = download, zip_hashes: dict[str, str] | None = None) -> list[str]:
    """Write the data folder into ``dest``, verified; returns the files written (present ones are kept)."""
    expected = expected_hashes()
    present = {
        name
        for name, digest in expected.items()
        if (dest / name).is_file() and sha256((dest / name).read_bytes()) == digest
    }
    if present == set(expected):
        print(f"fetch_data: {dest} already holds every file, verified")
        return []
    files = assemble(fetch, zip_hashes)
    unknown = set(files) - set(expected)
    missing = set(expected) - set(files)
    if unknown or missing:
        raise SystemExit(
            f"fetch_data: the sources and the checksums disagree: extra {unknown}, missing {missing}."
        )
    bad = [name for name, data in files.items() if sha256(data) != expected[name]]
    if bad:
        raise SystemExit(f"fetch_data: sha256 mismatch for {sorted(bad)}; nothing was written.")
    written = []
    for name, data in sorted(files.items()):
        if name in present:
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
        written.append(name)
    (dest / "SHA256SUMS").write_text(CHECKSUMS.read_text())
    print(
        f"fetch_data: wrote {len(written)} files to {dest}; all {len(expected)} verified against SHA256SUMS"
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"default: {DEFAULT_DEST}")
    args = parser.parse_args(argv)
    fetch_data(args.dest.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
