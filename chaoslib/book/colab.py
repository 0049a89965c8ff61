"""Colab support: the launch buttons open a chapter's notebook there, where the offline data folder
does not exist. The first code cell after a notebook's parameters starts with one guarded line that installs
chaoslib from the repository (:func:`bootstrap_line`; it does nothing outside Colab), and
``Chapter.from_notebook`` applies :func:`colab_parameters`, which in Colab switches a run that still has the
default ``offline`` profile to the ``paper`` profile (GPU, pretrained weights, online data), and says so.
Outside Colab it returns nothing and changes nothing.
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
    from chaoslib.book.parameters import profile_file, read_profile

    path = profile_file("paper", notebook)
    params = read_profile("paper", notebook)
    print(f"Colab: no offline data folder here, so this run uses the paper profile ({path.name}): {params}")
    return params


# --- the repository URL: set in one place (_config.yml repository.url) ---------------------------
# The bootstrap line runs before chaoslib exists on the Colab machine, so it cannot read _config.yml: the URL
# is written into each notebook's line by `set_repo_url` (`make set-repo-url [URL=...]`), and a test checks
# that every notebook's line is bootstrap_line(<_config.yml's URL>).

CONFIG = REPO_ROOT / "_config.yml"
NOTEBOOKS = REPO_ROOT / "notebooks"
_BOOTSTRAP = re.compile(r'run_line_magic\("pip", "install -q git\+(?P<url>[^"]*)"\)')
_CONFIG_URL_LINE = re.compile(
    r"^(?P<head>repository:\s*\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+url:[ \t]*)(?P<url>\S+)", re.MULTILINE
)


def bootstrap_line(url: str) -> str:
    """The first line of a notebook's first code cell after its parameters: in Colab only, ``%pip install``
    chaoslib from the repository at ``url`` (chaoslib is not installed there when the notebook starts)."""
    return (
        f'if "google.colab" in str(get_ipython()): get_ipython().run_line_magic("pip", "install -q git+{url}")'
        "  # Colab: install chaoslib"
    )


def repository_url(config: Path = CONFIG) -> str:
    """``repository.url`` of the book's ``_config.yml``."""
    url = (yaml.safe_load(config.read_text()) or {}).get("repository", {}).get("url")
    if not url:
        raise ChaoslibError(f"{config} has no repository.url; set it with `make set-repo-url URL=...`.")
    return str(url)


def bootstrap_url(notebook: Path) -> str | None:
    """The URL that ``notebook``'s bootstrap line installs from, or None when it has none."""
    nb = json.loads(notebook.read_text())
    for cell in nb.get("cells", []):
        match = _BOOTSTRAP.search("".join(cell.get("source", []))) if cell.get("cell_type") == "code" else None
        if match:
            return match.group("url")
    return None


def set_repo_url(url: str | None = None, config: Path = CONFIG, notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Write ``url`` into ``config`` (when given), then ``config``'s URL into every notebook's bootstrap
    line. Returns the files that changed; other lines and cells are left byte for byte."""
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
        old = bootstrap_url(path)
        if old is None or old == target:
            continue
        # edit the JSON text itself, so the notebook's other bytes (ids, formatting) stay as they are
        text = path.read_text()
        line = json.dumps(bootstrap_line(old))[1:-1]
        if text.count(line) != 1:
            raise ChaoslibError(f"{path.name}: expected one Colab bootstrap line (chaoslib.book.colab.bootstrap_line).")
        path.write_text(text.replace(line, json.dumps(bootstrap_line(target))[1:-1]))
        changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chaoslib.book.colab",
        description="Set the repository URL in _config.yml (--url) and in every notebook's Colab bootstrap line.",
    )
    parser.add_argument("--url", help="the new repository URL (default: keep _config.yml's)")
    args = parser.parse_args(argv)
    for path in set_repo_url(args.url):
        print(f"updated {path.relative_to(REPO_ROOT)}")
    print(f"repository URL: {repository_url()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
