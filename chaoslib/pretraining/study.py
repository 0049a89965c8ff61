"""Chapter 08's computations: the diagnostics record of a shipped network, its training phases, the network it
follows, and the live recheck of its final checkpoint. The chapter's numbers and tables:
:mod:`chaoslib.book.reports.pretraining`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.model.configs import CHECKPOINTS_DIR
from chaoslib.model.network import Network
from chaoslib.pretraining.diagnostics import (
    DiagnosticSettings,
    checkpoint_diagnostics,
    recheck,
    run_diagnostics,
    settings_from_dict,
)
from chaoslib.store import load_dataset

RECORD_FILE = "diagnostics.nc"


def load_study(
    checkpoint: str,
    record: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    recompute: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    data_dir: str | os.PathLike | None = None,
) -> tuple[xr.Dataset, pd.DataFrame, dict]:
    """(diagnostics record, per-step training log, model card) of a shipped checkpoint.

    ``recompute=True`` recomputes the record from the run's checkpoints in ``run_dir`` (they do not ship).
    """
    folder = CHECKPOINTS_DIR / checkpoint
    path = Path(record) if record else folder / RECORD_FILE
    if recompute:
        if run_dir is None or not Path(run_dir, "checkpoints").is_dir():
            raise ChaoslibError(
                f"recompute=True needs run_dir, the pretraining run's folder with its checkpoints/ (got {run_dir!r}); "
                "the intermediate checkpoints do not ship. Without it, read the shipped record (recompute=False)."
            )
        previous = load_dataset(path) if path.exists() else None
        settings = settings_from_dict(previous.attrs["settings"]) if previous is not None else DiagnosticSettings()
        run_diagnostics(run_dir, path, settings, executor=executor, ray_address=ray_address, data_dir=data_dir)
    if not path.exists():
        raise ChaoslibError(f"no diagnostics record at {path}; pass record=PATH or recompute it with run_dir=...")
    card = json.loads((folder / "card.json").read_text())
    log = pd.read_csv(folder / "training_log.csv")
    ds = load_dataset(path)
    if int(ds.checkpoint.values[-1]) != int(card["training"]["steps"]):
        raise ChaoslibError(
            f"the diagnostics record {path} ends at step {int(ds.checkpoint.values[-1])}, but {checkpoint} was trained "
            f"to step {card['training']['steps']}: the record belongs to another network. Recompute it from the run's "
            "checkpoints (recompute=True, run_dir=...) or restore the network that goes with it."
        )
    return ds, log, card


def phase_starts(card: dict) -> list[int]:
    """The steps at which a later training phase (a fresh optimizer, ``init_from``) began; [] for one run."""
    return [int(phase["first_step"]) for phase in card["training"].get("phases", [])[1:]]


def phases_text(card: dict) -> str:
    """The run's phases in words, for the prose: 'in one run of 5,000 steps' or 'in 2 phases: ...'."""
    phases = card["training"].get("phases", [])
    if len(phases) < 2:
        return f"in one run of {card['training']['steps']:,} steps"
    spans = [f"steps {p['first_step']:,}–{p['steps']:,} (peak learning rate {p['config']['lr']:g})" for p in phases]
    return (f"in {len(phases)} phases, each later one continuing the previous network with a fresh AdamW: "
            + ", then ".join(spans))


def followed_network(checkpoint: str, record: xr.Dataset) -> Network:
    """The shipped network whose pretraining the record follows, for the provenance and captions."""
    steps = f"checkpoints at steps 0..{int(record.checkpoint[-1])}"
    return Network(checkpoint, "pretrained", source=f"pretrained here: {checkpoint}, {steps}")


def live_recheck(checkpoint: str, record: xr.Dataset, data_dir: str | os.PathLike | None = None):
    """Recompute the shipped (final) checkpoint's diagnostics now and compare them with the record.

    Returns (table for the final entry, table for the penultimate entry: the negative control). Raises
    ``ChaoslibError`` when the final entry is out of tolerance (a stale record) or when the negative control
    passes (the tolerances could not tell two checkpoints apart).
    """
    settings = settings_from_dict(record.attrs["settings"])
    live = checkpoint_diagnostics(CHECKPOINTS_DIR / checkpoint, settings, data_dir=data_dir)
    steps = record.checkpoint.values
    final = recheck(record, int(steps[-1]), live, settings)
    control = recheck(record, int(steps[-2]), live, settings)
    if not final["within"].all():
        bad = final.loc[~final["within"], "quantity"].tolist()
        raise ChaoslibError(
            f"the diagnostics record of {checkpoint} does not match its shipped weights ({bad} out of tolerance): "
            "the record is stale. Recompute it: python -m chaoslib.pretraining diagnostics --run-dir RUN --out "
            f"chaoslib/checkpoints/{checkpoint}/{RECORD_FILE}"
        )
    if control["within"].all():
        raise ChaoslibError("the penultimate checkpoint's record passes the final checkpoint's tolerances: the "
                            "recheck cannot tell checkpoints apart; tighten RECHECK_TOLERANCES.")
    return final, control
