"""Chapter 08's computations: the diagnostics record of a shipped network, its training phases, the network it
follows, the live recheck of its final checkpoint, and the exponents without the first LayerNorm's rescaling
at the two ends whose weights still exist (step 0 rebuilt from the run's config and seed, and the shipped
network). The chapter's numbers and tables: :mod:`chaoslib.book.reports.pretraining`.

The record's exponents perturb x(0), the authors' protocol; a record written before the perturbation point
was a setting has no ``perturb_at`` and was made that way (:func:`record_settings`). The intermediate
checkpoints do not ship, so only the two ends can be measured again with x(1) perturbed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr

from chaoslib.data.corpus import dynamics_inputs
from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.configs import CHECKPOINTS_DIR
from chaoslib.model.loading import quiet_loading
from chaoslib.model.network import Network
from chaoslib.pretraining.checkpoint import checkpoint_tokenizer
from chaoslib.pretraining.diagnostics import (
    RECHECK_TOLERANCES,
    DiagnosticSettings,
    checkpoint_diagnostics,
    recheck,
    run_diagnostics,
    settings_from_dict,
)
from chaoslib.pretraining.train import PretrainConfig, build_model, pretraining_tokenizer
from chaoslib.store import load_dataset

RECORD_FILE = "diagnostics.nc"
# perturb_at: x(0) as the authors did; x(1), after the first LayerNorm (without its one-off rescaling)
AUTHORS_PROTOCOL, CORRECTED_PROTOCOL = 0, 1
PROTOCOLS = {AUTHORS_PROTOCOL: "authors' protocol (perturb x(0))", CORRECTED_PROTOCOL: "perturb x(1)"}


def protocol_label(perturb_at: int) -> str:
    """The words for where the exponents' perturbation starts, as figures and tables show them."""
    return PROTOCOLS.get(int(perturb_at), f"perturb x({int(perturb_at)})")


def record_settings(record: xr.Dataset) -> DiagnosticSettings:
    """The settings a diagnostics record was written with. A record from before the perturbation point was a
    setting has no ``perturb_at``: it perturbed x(0), the authors' protocol, whatever the default is now."""
    return settings_from_dict({"perturb_at": AUTHORS_PROTOCOL, **record.attrs.get("settings", {})})


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


def live_recheck(checkpoint: str, record: xr.Dataset, data_dir: str | os.PathLike | None = None,
                 control: tuple[xr.Dataset, str] | None = None):
    """Recompute the shipped (final) checkpoint's diagnostics now and compare them with the record.

    ``control``: the negative control, (a record, what it is) whose final entry the same live values must *not*
    match (e.g. another network's record); default: this record's penultimate entry.

    Returns (table for the final entry, table for the control). Raises ``ChaoslibError`` when the final entry
    is out of tolerance (a stale record) or when the negative control passes (the tolerances could not tell
    the two apart).
    """
    settings = record_settings(record)
    live = checkpoint_diagnostics(CHECKPOINTS_DIR / checkpoint, settings, data_dir=data_dir)
    final = recheck(record, int(record.checkpoint.values[-1]), live, settings)
    if control is None:
        control_record, control_step, what = record, int(record.checkpoint.values[-2]), "the penultimate checkpoint"
    else:
        (control_record, what), control_step = control, int(control[0].checkpoint.values[-1])
    negative = recheck(control_record, control_step, live, settings)
    if not final["within"].all():
        bad = final.loc[~final["within"], "quantity"].tolist()
        raise ChaoslibError(
            f"the diagnostics record of {checkpoint} does not match its shipped weights ({bad} out of tolerance): "
            "the record is stale. Recompute it: python -m chaoslib.pretraining diagnostics --run-dir RUN --out "
            f"chaoslib/checkpoints/{checkpoint}/{RECORD_FILE}"
        )
    if negative["within"].all():
        raise ChaoslibError(f"the record of {what} passes {checkpoint}'s tolerances: the recheck cannot tell "
                            "them apart; tighten RECHECK_TOLERANCES.")
    return final, negative


# ------------------------------------------------------------- the two ends, without the rescaling artefact


def initial_config(card: dict) -> PretrainConfig:
    """The configuration that built step 0: the first phase's (a single run's own). Raises when the first
    phase continued another network (its step 0 is not a seeded initialisation)."""
    phases = card["training"].get("phases") or [card["training"]]
    first = phases[0]
    if int(first.get("first_step", 0)) != 0 or first["config"].get("init_from"):
        raise ChaoslibError(
            f"the first phase of {card['name']} starts from another network "
            f"({first['config'].get('init_from')!r}, step {first.get('first_step', 0)}): its step 0 is not a "
            "seeded initialisation that can be rebuilt."
        )
    return PretrainConfig(**first["config"])


def rebuild_initialisation(config: PretrainConfig, vocab_size: int, folder: str | os.PathLike) -> Path:
    """Step 0 of the run rebuilt as the run built it (``train.build_model``: transformers' initialisation
    seeded by ``config.seed``), saved as a network folder (config.json + model.safetensors) at ``folder``."""
    model = build_model(config, vocab_size)
    with quiet_loading():
        model.save_pretrained(Path(folder), safe_serialization=True)
    return Path(folder)


def exponents_at(folder: str | os.PathLike, tokenizer, settings: DiagnosticSettings, perturb_at: int,
                 data_dir: str | os.PathLike | None = None, n_steps: int | None = None) -> xr.Dataset:
    """Local exponents of one saved network on the record's inputs (the draw of
    :func:`chaoslib.pretraining.diagnostics.checkpoint_diagnostics`), the perturbation at x(``perturb_at``).

    ``n_steps``: a shorter horizon than the settings' (a multiple of tau); its windows are the first windows
    of the full run (the windows are computed one after the other from the same perturbation).

    Returns a Dataset: ``lambda0`` (sample,), ``exponents`` (sample, window), ``chaos_length`` and
    ``chaos_censored`` (sample,: censored at this horizon); attrs ``perturb_at``, ``protocol`` (its label),
    ``n_steps``."""
    from transformers import AlbertModel

    s = settings
    horizon = s.n_steps if n_steps is None else int(n_steps)
    torch.manual_seed(s.seed)
    with quiet_loading():
        model = AlbertModel.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32)
    albert_map = AlbertMap(model.eval())
    encoded, _ = dynamics_inputs(tokenizer, s.n_inputs, s.n_tokens, seed=s.seed, data_dir=data_dir)
    with torch.no_grad():
        exps = local_exponents(albert_map, albert_map.embed(encoded), eps=s.eps, tau=s.tau, n_steps=horizon,
                               seed=s.seed, perturb_at=int(perturb_at))
    length, censored = chaos_length(exps.exponents, s.tau, horizon)
    return xr.Dataset(
        {"lambda0": ("sample", exps.exponents[:, 0].numpy()),
         "exponents": (("sample", "window"), exps.exponents.numpy()),
         "chaos_length": ("sample", length.numpy()), "chaos_censored": ("sample", censored.numpy())},
        attrs={"perturb_at": int(perturb_at), "protocol": protocol_label(perturb_at), "n_steps": horizon},
    )


def check_horizon(record: xr.Dataset, settings: DiagnosticSettings) -> int:
    """The steps a rebuilt step 0 has to run to reproduce the record's step-0 chaos lengths: up to the end of
    every input's first contracting window (the whole horizon where one input is censored)."""
    stored = record.sel(checkpoint=0)
    if bool(stored.chaos_censored.any()):
        return settings.n_steps
    return min(settings.n_steps, (int(stored.chaos_length.max()) // settings.tau + 1) * settings.tau)


def rebuild_check(record: xr.Dataset, rebuilt: xr.Dataset, settings: DiagnosticSettings) -> pd.DataFrame:
    """The rebuilt step 0 measured with the record's protocol (``rebuilt``: :func:`exponents_at`, over
    :func:`check_horizon`'s steps or more) against the record's step 0.

    Rows: the mean first-window exponent and the median chaos length (the live recheck's tolerances,
    ``RECHECK_TOLERANCES``: 2e-3 per step, one window), and the largest difference of one input's exponent
    in any window that ran (bound as the mean's). Columns: quantity, record, rebuilt, difference, tolerance,
    within; ``attrs["windows"]``: the windows compared."""
    stored = record.sel(checkpoint=0)
    bound = RECHECK_TOLERANCES["lambda0_mean"]
    pairs = {
        "lambda0_mean": (float(stored.lambda0.mean()), float(rebuilt.lambda0.mean()), bound),
        "chaos_length_median": (float(stored.chaos_length.median()), float(rebuilt.chaos_length.median()),
                                float(settings.tau)),
    }
    rows = [{"quantity": key, "record": a, "rebuilt": b, "difference": abs(a - b), "tolerance": tol,
             "within": bool(abs(a - b) <= tol)} for key, (a, b, tol) in pairs.items()]
    then = stored.exponents.values[:, : rebuilt.sizes["window"]]
    now = rebuilt.exponents.values
    largest = float(np.max(np.where(then == now, 0.0, np.abs(then - now))))  # -inf == -inf: both merged
    rows.append({"quantity": f"largest difference of one exponent, windows 0-{now.shape[1] - 1}",
                 "record": 0.0, "rebuilt": largest, "difference": largest, "tolerance": bound,
                 "within": bool(largest <= bound)})
    table = pd.DataFrame(rows)
    table.attrs["windows"] = int(now.shape[1])
    return table


def same_as_untrained_control(config: PretrainConfig, checkpoint: str, folder: str | os.PathLike) -> bool:
    """Whether the rebuilt step 0 (at ``folder``) is, tensor for tensor, the untrained control network of the
    chapters (``Network(checkpoint, "random", init="hf", seed=config.seed)``)."""
    from safetensors.torch import load_file

    from chaoslib.model.network import load_albert

    control, _ = load_albert(checkpoint, weights="random", init="hf", seed=config.seed)
    saved = load_file(Path(folder) / "model.safetensors")
    return all(torch.equal(value, saved[f"albert.{key}"]) for key, value in control.state_dict().items()
               if f"albert.{key}" in saved)


def corrected_ends(checkpoint: str, record: xr.Dataset, card: dict,
                   data_dir: str | os.PathLike | None = None) -> tuple[xr.Dataset, pd.DataFrame]:
    """The exponents with x(1) perturbed at the two ends whose weights exist: step 0, rebuilt from the run's
    first config and seed, and the shipped final network; on the record's inputs and settings otherwise.

    Returns (Dataset with dims (checkpoint: [0, final step], sample, window), the variables of
    :func:`exponents_at`, attrs ``perturb_at``, ``protocol``, ``seed`` (the run's) and ``untrained_control``
    (1 when step 0 is the chapters' untrained control network at that seed, bit for bit); the
    :func:`rebuild_check` table). Raises ``ChaoslibError`` when the rebuilt step 0 does not reproduce the
    record's step 0 under the record's protocol: the corrected value would then belong to another network."""
    settings = record_settings(record)
    if int(record.checkpoint[0]) != 0:
        raise ChaoslibError(f"the record of {checkpoint} starts at step {int(record.checkpoint[0])}, not at "
                            "the initialisation: there is no step 0 to rebuild and check.")
    config = initial_config(card)
    tokenizer = pretraining_tokenizer(config, data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = rebuild_initialisation(config, len(tokenizer), Path(tmp) / "step_0000000")
        as_recorded = exponents_at(folder, tokenizer, settings, settings.perturb_at, data_dir,
                                   n_steps=check_horizon(record, settings))
        initial = exponents_at(folder, tokenizer, settings, CORRECTED_PROTOCOL, data_dir)
        control = same_as_untrained_control(config, checkpoint, folder)
    table = rebuild_check(record, as_recorded, settings)
    if not table["within"].all():
        raise ChaoslibError(
            f"step 0 rebuilt from {checkpoint}'s config (seed {config.seed}) does not reproduce the record's "
            f"step 0 under {protocol_label(settings.perturb_at)}:\n{table.to_string()}\n"
            "the rebuild is another network (another transformers version's initialisation?); the corrected "
            "step-0 value would not be the run's."
        )
    shipped = CHECKPOINTS_DIR / checkpoint
    tokenizer = checkpoint_tokenizer(shipped, data_dir)
    final = exponents_at(shipped, tokenizer, settings, CORRECTED_PROTOCOL, data_dir)
    ds = xr.concat([initial, final], "checkpoint", combine_attrs="override")
    ds = ds.assign_coords(checkpoint=[0, int(record.checkpoint[-1])])
    ds.attrs.update(untrained_control=int(control), seed=int(config.seed))
    return ds, table
