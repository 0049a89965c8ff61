"""The trained-depth series: ALBERTs pretrained here that differ only in L (layer applications) and seed.

A network trained to be useful after L applications of its shared layer is constrained for L steps only;
the series measures how the transient and the synchronisation time depend on L, with seeds as the unit.
Every network is one command, which trains (resumable), diagnoses the run's checkpoints before the run
folder is gone, and ships the network with its card and record into ``chaoslib/checkpoints/<name>/``::

    python -m chaoslib.pretraining series --depth 4 --seed 0        # about 25-95 minutes on 2 cores
    python -m chaoslib.pretraining series --depth 4 --seed 0 --carry  # an unfinished run, made small to commit

The configuration is ``configs/trained-depth.yml`` with ``num_hidden_layers = L``, ``seed`` and the learning
rate and warm-up of :data:`SERIES_LR` (chosen per L by pilots at about 2 M tokens,
``benchmarks/results/trained_depth_pilots.md``); nothing else differs between the networks.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from chaoslib.errors import ChaoslibError
from chaoslib.model.configs import CHECKPOINTS_DIR
from chaoslib.pretraining.train import PretrainConfig, pretrain

CONFIG = Path(__file__).resolve().parent / "configs" / "trained-depth.yml"
SERIES_DEPTHS = (2, 4, 8, 16)
SERIES_SEEDS = (0, 1, 2)
# (lr, warm-up steps) per L, from the pilots (the held-out loss on WikiText-2 valid after 500 steps)
SERIES_LR: dict[int, tuple[float, int]] = {2: (2e-3, 400), 4: (2e-3, 400), 8: (1e-3, 400), 16: (1e-3, 400)}
MLM_DEPTH_FACTOR = 4  # the final networks' MLM accuracy is measured at depths 1..4L


def series_name(depth: int, seed: int) -> str:
    """The shipped name of a series network, e.g. ``albert-wt2-L04-s0``."""
    return f"albert-wt2-L{depth:02d}-s{seed}"


def series_config(depth: int, seed: int) -> PretrainConfig:
    """The configuration of the series network with L = ``depth`` and ``seed``."""
    if depth not in SERIES_LR:
        raise ChaoslibError(f"depth={depth} has no pilot-chosen learning rate; use one of {sorted(SERIES_LR)}.")
    lr, warmup = SERIES_LR[depth]
    base = PretrainConfig.from_file(CONFIG)
    return replace(base, num_hidden_layers=int(depth), seed=int(seed), lr=lr, warmup_steps=warmup)


def series_diagnostic_settings():
    """What the series' record measures at every checkpoint: the corrected exponent (x(1) perturbed), chaos
    length and t_sync to a horizon that the random-like early checkpoints reach, ED, the top-8 spectrum."""
    from chaoslib.pretraining.diagnostics import DiagnosticSettings

    return DiagnosticSettings(n_inputs=24, n_tokens=32, n_steps=1000, tau=10, eps=1e-2, ed_inputs=64, ed_steps=100,
                              spectrum_inputs=2, spectrum_k=8, spectrum_steps=100, eval_batches=8, eval_tokens=64,
                              stsb_depths=(), seed=0, perturb_at=1)


def shipped_series() -> list[dict]:
    """The series networks shipped so far: [{"name", "depth", "seed", "folder"}], by depth then seed."""
    from chaoslib.store import read_json

    found = []
    for folder in sorted(CHECKPOINTS_DIR.glob("albert-wt2-L*-s*")):
        if (folder / "card.json").exists():
            config = read_json(folder / "card.json")["training"]["config"]
            found.append({"name": folder.name, "depth": config["num_hidden_layers"], "seed": config["seed"],
                          "folder": folder})
    return sorted(found, key=lambda n: (n["depth"], n["seed"]))


def train_diagnose_ship(depth: int, seed: int, runs: str | os.PathLike = "runs/series", device: str = "auto",
                        data_dir: str | os.PathLike | None = None, stop_after: int | None = None,
                        force: bool = False) -> Path | None:
    """Train (or resume) one series network, diagnose its checkpoints, and ship it; returns the shipped folder
    (None when ``stop_after`` ended the call before the last step: rerun the same command to continue)."""
    from chaoslib.pretraining.checkpoint import ship
    from chaoslib.pretraining.diagnostics import run_diagnostics
    from chaoslib.store import save_dataset

    config = series_config(depth, seed)
    name = series_name(depth, seed)
    if (CHECKPOINTS_DIR / name).exists() and not force:
        raise ChaoslibError(f"{name} is already shipped ({CHECKPOINTS_DIR / name}); give --force to train it again.")
    run_dir = Path(runs) / name
    pretrain(config, run_dir, device=device, data_dir=data_dir, stop_after=stop_after)
    final = run_dir / "checkpoints" / f"step_{config.steps:07d}"
    if not final.exists():
        return None
    round_to_float16(final)  # the record's last row is then the shipped network itself, not its float32 parent
    command = f"python -m chaoslib.pretraining series --depth {depth} --seed {seed}"
    record = run_dir / "diagnostics.nc"
    ds = run_diagnostics(run_dir, record, series_diagnostic_settings(), data_dir=data_dir, command=command)
    save_dataset(add_mlm_by_depth(ds, final, depth, config.n_tokens, data_dir), record)
    out = ship(run_dir, name, command, data_dir=data_dir, force=force, dtype="float16")
    shutil.copy(record, out / "diagnostics.nc")
    return out


def carry(depth: int, seed: int, runs: str | os.PathLike = "runs/series",
          data_dir: str | os.PathLike | None = None) -> Path:
    """Make an unfinished run of a series network small enough to commit, so that a later checkout resumes it
    (run folders are not kept between sessions; only the repository is).

    Diagnoses every saved checkpoint (stored in ``<run>/diagnostics_trials``, which the final diagnosis reads back
    instead of recomputing), then drops those checkpoints' weights: what stays is the resume point
    (``state.pt``), the logs and the stored diagnostics, about 16 MB at D = 128 and the 8k vocabulary. Stop the
    training first; commit the returned run folder with ``git add -f`` (``runs/`` is ignored), rerun the series
    command to continue, and ``git rm -r`` the folder once the network is shipped.
    """
    from chaoslib.pretraining.diagnostics import checkpoint_steps, run_diagnostics

    config = series_config(depth, seed)
    run_dir = Path(runs) / series_name(depth, seed)
    if not (run_dir / "state.pt").exists():
        raise ChaoslibError(f"{run_dir} holds no state.pt: there is no unfinished run to carry; start it with "
                            f"python -m chaoslib.pretraining series --depth {depth} --seed {seed}.")
    steps = checkpoint_steps(run_dir)
    if config.steps in steps:
        raise ChaoslibError(f"{run_dir} has reached its last step ({config.steps}): nothing to carry; rerun the "
                            "series command to diagnose and ship it.")
    command = f"python -m chaoslib.pretraining series --depth {depth} --seed {seed} --carry"
    run_diagnostics(run_dir, run_dir / "diagnostics.nc", series_diagnostic_settings(), steps=steps,
                    data_dir=data_dir, command=command)
    for step in steps:
        (run_dir / "checkpoints" / f"step_{step:07d}" / "model.safetensors").unlink(missing_ok=True)
    return run_dir


def round_to_float16(folder: Path) -> None:
    """Replace a saved network's weights by their float16 values (kept in float32): what ships is float16."""
    from chaoslib.pretraining.checkpoint import load_pretraining_network

    model = load_pretraining_network(folder)
    model.half().float().save_pretrained(folder, safe_serialization=True)


def add_mlm_by_depth(ds, final: Path, depth: int, n_tokens: int, data_dir=None):
    """The final network's masked-token accuracy and loss at depths 1..4L (its own head, one pass), on the
    WikiText-2 test split as the card's evaluation (8 x 64 examples of its training length, all-[MASK])."""
    from chaoslib.pretraining.checkpoint import EVAL_SEED, checkpoint_tokenizer, load_pretraining_network
    from chaoslib.pretraining.data import SOPSampler, load_corpus
    from chaoslib.pretraining.evaluation import eval_batches, eval_masking, mlm_accuracy_by_depth

    tokenizer = checkpoint_tokenizer(final, data_dir)
    model = load_pretraining_network(final)
    corpus = load_corpus(tokenizer, "wikitext-2", "test", data_dir, cache_dir=final.parent.parent.parent)
    sampler = SOPSampler(corpus, n_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    batches = eval_batches(sampler, eval_masking(tokenizer), 8, 64, seed=EVAL_SEED)
    accuracy, loss = mlm_accuracy_by_depth(model, batches, MLM_DEPTH_FACTOR * depth)
    ds = ds.assign_coords(mlm_depth=torch.arange(1, MLM_DEPTH_FACTOR * depth + 1).numpy())
    ds["mlm_accuracy_by_depth"] = ("mlm_depth", accuracy.numpy())
    ds["mlm_loss_by_depth"] = ("mlm_depth", loss.numpy())
    return ds

