"""What a pretraining run's folder says about the run: its training record, over every phase.

A continued run (``init_from``) keeps its start network's card, logs and diagnostics record in
``<run_dir>/init/`` (:data:`INIT_DIR`); its steps and tokens count on from that network's.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

INIT_DIR = "init"
INIT_FILES = ("card.json", "training_log.csv", "training_eval.csv", "diagnostics.nc")


def tokens_seen(start: dict, step: int, tokens_per_step: int) -> int:
    """Tokens seen by the network at ``step`` of a run that started at ``start`` ({"step", "tokens_seen"})."""
    return int(start["tokens_seen"]) + (step - int(start["step"])) * tokens_per_step


def joined_history(run_dir: Path, name: str) -> list[list[str]]:
    """A run's ``name`` log (``log.csv`` or ``eval.csv``) as CSV rows, header first; a continued run's
    starts with its start network's (``init/training_<name>``)."""
    rows: list[list[str]] = []
    for path in (run_dir / INIT_DIR / f"training_{name}", run_dir / name):
        if path.exists():
            with path.open(newline="") as handle:
                table = list(csv.reader(handle))
            rows = rows + table[1:] if rows else table
    return rows


def training_record(run_dir: Path, up_to: int | None = None) -> dict:
    """What one run did (config, steps, tokens, wall time, device), from its folder; ``up_to``: its first steps only.

    A continued run (``init_from``) counts its steps and tokens on from its start network's.
    """
    config = json.loads((run_dir / "config.json").read_text())
    with (run_dir / "log.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if up_to is None or int(r["step"]) <= up_to]
    cfg = config["config"]
    start_file = run_dir / INIT_DIR / "step.json"
    start = json.loads(start_file.read_text()) if start_file.exists() else {"step": 0, "tokens_seen": 0}
    tokens_per_step = cfg["n_tokens"] * cfg["batch_size"] * cfg["grad_accum"]
    seconds = sum(tokens_per_step / float(r["tokens_per_s"]) for r in rows)
    last = rows[-1]
    return {
        "config": cfg,
        "first_step": int(start["step"]),
        "steps": int(last["step"]),
        "tokens_seen": tokens_seen(start, int(last["step"]), tokens_per_step),
        "n_tokens": cfg["n_tokens"],
        "train_seconds": seconds,
        "threads": config.get("threads"),
        "device": config["provenance"]["device"],
        "commit_at_start": config["provenance"]["commit"],
        "final_train_loss": float(last["loss"]),
    }


def run_history(run_dir: Path) -> dict:
    """The training record of a run's final network, over every phase: a continued run adds its start
    network's record (``init/card.json``); totals are summed, and ``phases`` lists each one."""
    this = training_record(run_dir)
    earlier_card = run_dir / INIT_DIR / "card.json"
    if not earlier_card.exists():
        return {**this, "phases": [this]}
    earlier = json.loads(earlier_card.read_text())["training"]
    phases = [*earlier.get("phases", [{**earlier, "first_step": earlier.get("first_step", 0)}]), this]
    phases = [{k: v for k, v in phase.items() if k != "phases"} for phase in phases]
    return {
        **this,
        "train_seconds": sum(phase["train_seconds"] for phase in phases),
        "commit_at_start": phases[0]["commit_at_start"],
        "phases": phases,
    }
