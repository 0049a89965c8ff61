"""Provenance: what produced a number or a figure (model, weights, init, seed, profile, versions, device, commit).

Each chapter saves its provenance to ``<results_dir>/<chapter>/provenance.json``; the book's
reproducibility appendix collects them. Reproduction targets (the paper's claims R1, R2, ..., listed on the results page) are recorded with
:func:`report_target` and shown side by side on the results page.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from chaoslib.settings import REPO_ROOT
from chaoslib.store import read_json, write_json

if TYPE_CHECKING:  # provenance sits below the model layer: it only describes networks
    from chaoslib.model.network import Network

PACKAGES = (
    "chaoslib",
    "torch",
    "transformers",
    "numpy",
    "scipy",
    "xarray",
    "matplotlib",
    "tokenizers",
    "datasets",
)


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The repository's commit (with ``+dirty`` when the tree has changes), or ``unknown``."""
    try:
        run = lambda *args: subprocess.run(  # noqa: E731
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        commit = run("rev-parse", "--short=12", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
        return commit + ("+dirty" if dirty else "")
    except Exception:
        return "unknown"


def device_name(device: str | torch.device) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def _models(models: Network | Sequence[Network]) -> list[Network]:
    return [models] if hasattr(models, "as_dict") else list(models)


def collect(
    profile: str,
    device: str | torch.device,
    models: Network | Sequence[Network] = (),
    seed: int | None = None,
    parameters: dict | None = None,
) -> dict:
    """A provenance record: the run's settings plus versions, device, commit and time."""
    return {
        "profile": profile,
        "seed": seed,
        "models": [m.as_dict() for m in _models(models)],
        "parameters": dict(parameters or {}),
        "device": device_name(device),
        "versions": package_versions(),
        "commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def describe_models(models: Network | Sequence[Network]) -> str:
    """``albert-large-v2, random weights (tf init, seeds 0-9)`` or ``... pretrained weights (hub:...)``."""
    models = _models(models)
    parts = []
    for weights in ("pretrained", "random"):
        group = [m for m in models if m.weights == weights]
        if not group:
            continue
        names = ", ".join(sorted({m.name for m in group}))
        if weights == "pretrained":
            parts.append(f"{names} pretrained weights ({', '.join(sorted({m.source for m in group}))})")
        else:
            inits = "/".join(sorted({m.init for m in group}))
            seeds = sorted({m.seed for m in group})
            seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {','.join(map(str, seeds))}"
            parts.append(f"{names} RANDOM weights ({inits} init, {seed_text})")
    return "; ".join(parts) or "no model"


CAPTION_SEPARATOR = " · "
"""Between the parts of a figure's provenance line (:func:`caption`); the stamp breaks lines after one."""


def caption(
    models: Network | Sequence[Network],
    profile: str,
    device: str | torch.device,
    seed: int | None = None,
    extra: str = "",
) -> str:
    """One provenance line for a figure, its parts separated by `` · ``: models and weights, data seed,
    profile, device, versions, commit (and ``extra``, e.g. the data the figure was computed on)."""
    versions = package_versions(("torch", "transformers"))
    parts = [
        describe_models(models),
        *([f"data seed {seed}"] if seed is not None else []),  # a chapter that draws no data has no seed
        f"profile {profile}",
        f"device {device_name(device)}",
        f"torch {versions['torch']}, transformers {versions['transformers']}",
        f"commit {git_commit()}",
    ]
    return CAPTION_SEPARATOR.join(parts + ([extra] if extra else []))


def chapter_dir(results_dir: str | os.PathLike, chapter: str) -> Path:
    path = Path(results_dir) / chapter
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_chapter_provenance(chapter: str, provenance: dict, results_dir: str | os.PathLike) -> Path:
    path = chapter_dir(results_dir, chapter) / "provenance.json"
    write_json(path, {"chapter": chapter, **provenance})
    return path


def load_all_provenance(results_dir: str | os.PathLike) -> list[dict]:
    return [read_json(p) for p in sorted(Path(results_dir).glob("*/provenance.json"))]


def report_target(
    results_dir: str | os.PathLike,
    target_id: str,
    claim: str,
    measured: str,
    holds: bool | None,
    note: str = "",
    chapter: str = "",
    **fields,
) -> Path:
    """Record what this build measured for a reproduction target (R1, R2, ...: the paper's claims, see the results page).

    ``holds=None`` means the target is not testable in this edition (its ``reason`` says why). ``fields``: the
    record's other fields (``unit``, ``interval``, ``controls``, ``reason``), JSON values written alongside.
    """
    path = Path(results_dir) / "targets" / f"{target_id}.json"
    write_json(
        path,
        {
            "id": target_id,
            "claim": claim,
            "measured": measured,
            "holds": holds,
            "note": note,
            "chapter": chapter,
            **fields,
        },
    )
    return path


def load_targets(results_dir: str | os.PathLike) -> list[dict]:
    files = sorted(
        Path(results_dir).glob("targets/*.json"), key=lambda p: int("".join(filter(str.isdigit, p.stem)) or 0)
    )
    return [read_json(p) for p in files]
