"""Colab support: the launch buttons open a chapter's notebook there, where the offline data folder
does not exist. A notebook's first cell clones the repository and installs chaoslib (only in Colab);
the cell after its parameters applies :func:`colab_parameters`, which in Colab switches a run that
still has the default ``offline`` profile to the ``paper`` profile (GPU, pretrained weights, online
data), and says so. Outside Colab it returns nothing and changes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from chaoslib.errors import ChaoslibError
from chaoslib.settings import REPO_ROOT

COLAB_REPO_DIR = "/content/transient-chaos-bert"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def colab_parameters(notebook: str, profile: str) -> dict:
    """The paper profile's parameters for ``notebook`` in Colab with the default profile, else {}."""
    if not in_colab() or profile != "offline":
        return {}
    path = REPO_ROOT / "notebooks" / "profiles" / "paper" / f"{notebook}.yml"
    params = yaml.safe_load(path.read_text()) or {}
    params["profile"] = "paper"
    print(f"Colab: no offline data folder here, so this run uses the paper profile ({path.name}): {params}")
    return params


# --- the repository URL: set in one place (_config.yml repository.url) ---------------------------
# The Colab cell runs before the repository exists on the Colab machine, so it cannot read
# _config.yml: the URL is written into each notebook's cell (`REPO = "..."`) by `set_repo_url`
# (`make set-repo-url [URL=...]`), and a test checks that every cell equals _config.yml.

CONFIG = REPO_ROOT / "_config.yml"
NOTEBOOKS = REPO_ROOT / "notebooks"
_REPO_LINE = re.compile(r'^(?P<indent>\s*)REPO = "(?P<url>[^"]*)"', re.MULTILINE)
_CONFIG_URL_LINE = re.compile(
    r"^(?P<head>repository:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+url:[ \t]*)(?P<url>\S+)", re.MULTILINE
)


def repository_url(config: Path = CONFIG) -> str:
    """``repository.url`` of the book's ``_config.yml``."""
    url = (yaml.safe_load(config.read_text()) or {}).get("repository", {}).get("url")
    if not url:
        raise ChaoslibError(f"{config} has no repository.url; set it with `make set-repo-url URL=...`.")
    return str(url)


def colab_cell_index(nb: dict) -> int | None:
    """Index of the notebook's Colab install cell (the code cell that clones ``REPO``), or None."""
    for i, cell in enumerate(nb.get("cells", [])):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "code" and "google.colab" in source and _REPO_LINE.search(source):
            return i
    return None


def colab_cell_url(notebook: Path) -> str | None:
    """The URL that ``notebook``'s Colab cell clones, or None when it has no Colab cell."""
    nb = json.loads(notebook.read_text())
    index = colab_cell_index(nb)
    if index is None:
        return None
    return _REPO_LINE.search("".join(nb["cells"][index]["source"])).group("url")


def set_repo_url(url: str | None = None, config: Path = CONFIG, notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Write ``url`` into ``config`` (when given), then ``config``'s URL into every notebook's Colab
    cell. Returns the files that changed; other lines and cells are left byte for byte."""
    changed = []
    if url is not None:
        text = config.read_text()
        if not _CONFIG_URL_LINE.search(text):
            raise ChaoslibError(f"{config} has no `repository:` block with a `url:` line to set.")
        new = _CONFIG_URL_LINE.sub(lambda m: m.group("head") + url, text, count=1)
        if new != text:
            config.write_text(new)
            changed.append(config)
    target = repository_url(config)
    for path in sorted(notebooks.glob("*.ipynb")):
        old = colab_cell_url(path)
        if old is None or old == target:
            continue
        # edit the JSON text itself, so the notebook's other bytes (ids, formatting) stay as they are
        text = path.read_text()
        line = json.dumps(f'REPO = "{old}"')[1:-1]
        if text.count(line) != 1:
            raise ChaoslibError(f'{path.name}: expected one `REPO = "{old}"` line in its Colab cell.')
        path.write_text(text.replace(line, json.dumps(f'REPO = "{target}"')[1:-1]))
        changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chaoslib.book.colab",
        description="Set the repository URL in _config.yml (--url) and in every notebook's Colab cell.",
    )
    parser.add_argument("--url", help="the new repository URL (default: keep _config.yml's)")
    args = parser.parse_args(argv)
    for path in set_repo_url(args.url):
        print(f"updated {path.relative_to(REPO_ROOT)}")
    print(f"repository URL: {repository_url()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
