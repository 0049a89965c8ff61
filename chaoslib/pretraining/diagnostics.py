"""The dynamics and the task scores of every saved pretraining checkpoint (chapter 08, beyond the paper).

For each checkpoint of a run (log-spaced steps, step 0 = the initialisation) the same functions as
chapters 02-05 measure, on the same inputs:

- local Lyapunov exponents (``dynamics.lyapunov.local_exponents``): the first window's mean and spread,
  and the chaos length per input (``chaos_length``);
- the synchronisation offset t_sync per input (``dynamics.sync.sync_offset`` on the runner's sigma);
- the effective-dimension curve (``dynamics.effective_dimension.effective_dimension_trajectory``): its peak
  and the first step after the peak where it falls below half of it;
- the top-k spectrum and its Kaplan-Yorke dimension for a few inputs (``dynamics.spectrum``);
- masked-token and SOP accuracy on held-out text (``pretraining.checkpoint.evaluate_checkpoint``);
- the frozen-feature STS-B score at the best depth (``tasks.glue_frozen.frozen_sweep``).

One trial per checkpoint goes through ``chaoslib.sweep.run_sweep`` (local, or Ray on a cluster), and the
record is one labelled netCDF file with the run's settings and provenance::

    python -m chaoslib.pretraining diagnostics --run-dir runs/albert-wikitext2 \\
        --out chaoslib/checkpoints/albert-wikitext2/diagnostics.nc
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from chaoslib.data.corpus import dynamics_inputs
from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.dynamics.spectrum import kaplan_yorke_dimension, lyapunov_spectrum
from chaoslib.dynamics.sync import sync_offset
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.loading import quiet_loading
from chaoslib.model.network import Network
from chaoslib.pretraining.checkpoint import checkpoint_tokenizer, evaluate_checkpoint
from chaoslib.pretraining.run_record import INIT_DIR, joined_history
from chaoslib.provenance import collect
from chaoslib.store import TrialStore, load_dataset, save_dataset
from chaoslib.sweep import run_sweep, trial_key


@dataclass
class DiagnosticSettings:
    """What is measured at each checkpoint (the chapter-02..05 protocols at a small size)."""

    n_inputs: int = 32  # sentence pairs for exponents, chaos length and t_sync
    n_tokens: int = 32
    n_steps: int = 400  # horizon T of exponents and sigma
    tau: int = 20
    eps: float = 1e-2
    ed_inputs: int = 64
    ed_steps: int = 100
    spectrum_inputs: int = 2
    spectrum_k: int = 8
    spectrum_steps: int = 100
    eval_batches: int = 8  # x 64 held-out SOP examples (WikiText-2 test), all-[MASK]
    eval_tokens: int = 64  # their length (the pretraining's)
    stsb_train: int = 800
    stsb_dev: int = 400
    stsb_depths: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    stsb_epochs: int = 3
    stsb_tokens: int = 64  # max_seq_length of the STS-B pairs
    seed: int = 0
    # where the exponents' perturbation starts: 0 = x(0), the authors' protocol (and every record written
    # before this setting existed); 1 = x(1), without the first LayerNorm's one-off rescaling
    perturb_at: int = 0

    def __post_init__(self):
        self.stsb_depths = tuple(int(d) for d in self.stsb_depths)
        if self.n_steps % self.tau:
            raise ChaoslibError(f"n_steps={self.n_steps} must be a multiple of tau={self.tau}.")


def checkpoint_steps(run_dir: str | os.PathLike) -> list[int]:
    """The saved checkpoints of a run, by step (a checkpoint whose weights were dropped after its diagnosis was
    stored, :func:`chaoslib.pretraining.series.carry`, still counts; an unfinished ``.tmp`` save does not)."""
    folders = sorted(Path(run_dir, "checkpoints").glob("step_*"))
    return [int(f.name.split("_")[1]) for f in folders
            if f.name.split("_")[1].isdigit() and (f / "config.json").exists()]


def ed_summary(effective_dimension: np.ndarray) -> tuple[float, int, int]:
    """(peak ED, step of the peak, first step after the peak where ED < peak / 2; -1 if never). ED: (steps,)."""
    peak_step = int(np.nanargmax(effective_dimension))
    peak = float(effective_dimension[peak_step])
    below = np.nonzero(effective_dimension[peak_step:] < peak / 2)[0]
    return peak, peak_step, int(peak_step + below[0]) if len(below) else -1


def checkpoint_diagnostics(folder: str | os.PathLike, settings: DiagnosticSettings,
                           data_dir: str | os.PathLike | None = None,
                           cache_dir: str | os.PathLike | None = None) -> dict:
    """Every diagnostic of one saved network (a folder with config.json + model.safetensors)."""
    from transformers import AlbertModel

    s = settings
    torch.manual_seed(s.seed)
    with quiet_loading():
        model = AlbertModel.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32).eval()
    albert_map = AlbertMap(model)
    tokenizer = checkpoint_tokenizer(Path(folder), data_dir)
    encoded, _ = dynamics_inputs(tokenizer, s.n_inputs, s.n_tokens, seed=s.seed, data_dir=data_dir)
    x0 = albert_map.embed(encoded)
    with torch.no_grad():
        exps = local_exponents(albert_map, x0, eps=s.eps, tau=s.tau, n_steps=s.n_steps, seed=s.seed,
                               perturb_at=s.perturb_at)
        length, censored = chaos_length(exps.exponents, s.tau, s.n_steps)
        run = run_trajectory(albert_map, x0, s.n_steps, probes=(TokenSpread(),), progress=False)
        sync = sync_offset(run["token_spread"])
        ed_encoded, _ = dynamics_inputs(tokenizer, s.ed_inputs, s.n_tokens, seed=s.seed + 1, data_dir=data_dir)
        ed = effective_dimension_trajectory(albert_map, albert_map.embed(ed_encoded), s.ed_steps)
    spectrum = lyapunov_spectrum(albert_map, x0[: s.spectrum_inputs], k=s.spectrum_k, n_steps=s.spectrum_steps, seed=s.seed)
    held_out = evaluate_checkpoint(folder, "test", n_batches=s.eval_batches, n_tokens=s.eval_tokens, data_dir=data_dir,
                                   cache_dir=cache_dir)
    stsb = _stsb_best(albert_map, tokenizer, s, data_dir)
    peak, peak_step, half_step = ed_summary(ed.effective_dimension)
    first = exps.exponents[:, 0].numpy()
    return {
        "lambda0": first,
        "exponents": exps.exponents.numpy(),
        "chaos_length": length.numpy(),
        "chaos_censored": censored.numpy(),
        "t_sync": sync.offset,
        "sync_censored": sync.censored,
        "effective_dimension": ed.effective_dimension,
        "ed_peak": peak,
        "ed_peak_step": peak_step,
        "ed_half_step": half_step,
        "spectrum": spectrum.exponents.numpy(),
        "kaplan_yorke": kaplan_yorke_dimension(spectrum.exponents).numpy(),
        "mlm_accuracy": held_out["evaluation"]["mlm_accuracy"],
        "mlm_loss": held_out["evaluation"]["mlm_loss"],
        "sop_accuracy": held_out["evaluation"]["sop_accuracy"],
        "most_frequent_accuracy": held_out["baselines"]["most_frequent_accuracy"],
        "stsb_scores": stsb,
    }


def _stsb_best(albert_map: AlbertMap, tokenizer, s: DiagnosticSettings, data_dir) -> np.ndarray:
    """Frozen-feature STS-B dev score (mean of Pearson and Spearman) at each of ``s.stsb_depths`` (none: empty)."""
    if not s.stsb_depths:
        return np.empty(0)
    from chaoslib.tasks.glue_frozen import frozen_sweep
    from chaoslib.tasks.glue_sweep import load_subsets

    train, dev = load_subsets("stsb", s.stsb_train, s.stsb_dev, s.seed, "local", data_dir)
    info = Network("checkpoint", "pretrained", init=None, seed=None, source="pretraining checkpoint")
    records = frozen_sweep(albert_map, info, tokenizer, train, dev, depths=s.stsb_depths, epochs=s.stsb_epochs,
                           seed=42, n_tokens=s.stsb_tokens, n_boot=0)
    by_depth = {r["depth"]: r["score"] for r in records}
    return np.array([by_depth[d] for d in s.stsb_depths])


def _trial(settings: dict) -> dict:
    """One checkpoint's diagnostics, for ``run_sweep`` (module level so Ray can ship it)."""
    diag = DiagnosticSettings(**settings["diagnostics"])
    return checkpoint_diagnostics(settings["folder"], diag, settings.get("data_dir"), settings.get("cache_dir"))


def _training_curve(run_dir: Path) -> dict[int, float]:
    """Per-step training masked-LM loss; a continued run's starts with its start network's log."""
    header, *rows = joined_history(run_dir, "log.csv")
    step, loss = header.index("step"), header.index("mlm_loss")
    return {int(row[step]): float(row[loss]) for row in rows}


def _earlier_record(run_dir: Path, settings: DiagnosticSettings) -> xr.Dataset | None:
    """A continued run's start network's diagnostics record (None for a fresh run); its settings must agree."""
    path = run_dir / INIT_DIR / "diagnostics.nc"
    if not path.exists():
        return None
    earlier = load_dataset(path)
    now = json.loads(json.dumps(asdict(settings)))
    # settings added since that record was written are not in it; the recomputed shared step checks them
    if any(now.get(key) != value for key, value in earlier.attrs["settings"].items()):
        raise ChaoslibError(
            f"{path} was made with other diagnostic settings; rerun with --set of those ({earlier.attrs['settings']}) "
            "so that the two phases' checkpoints are comparable."
        )
    earlier = earlier.drop_vars("train_mlm_loss", errors="ignore")
    earlier.attrs = {"command": earlier.attrs.get("command", "")}
    return earlier


def _check_shared_step(earlier: xr.Dataset, ds: xr.Dataset, settings: DiagnosticSettings, step: int) -> None:
    """The continued run's first checkpoint is its start network: where the earlier record has that step,
    the recomputed entry must match it within the recheck tolerances, or the two phases are not comparable."""
    if step not in earlier.checkpoint.values:
        return
    table = recheck(earlier, step, ds.sel(checkpoint=step), settings)
    if not table["within"].all():
        raise ChaoslibError(
            f"step {step} recomputed differs from the start network's record (init/diagnostics.nc) beyond the "
            f"recheck tolerances:\n{table.to_string()}\nthe two phases' diagnostics are not comparable."
        )


def run_diagnostics(run_dir: str | os.PathLike, out: str | os.PathLike, settings: DiagnosticSettings | None = None,
                    steps: list[int] | None = None, executor: str = "local", ray_address: str | None = None,
                    data_dir: str | os.PathLike | None = None, command: str = "") -> xr.Dataset:
    """Diagnostics of every checkpoint of ``run_dir`` (or ``steps``), saved as one netCDF record at ``out``.

    Finished checkpoints are kept in ``<run_dir>/diagnostics_trials`` and not recomputed on a rerun.
    """
    run_dir, settings = Path(run_dir), settings or DiagnosticSettings()
    positions = json.loads((run_dir / "config.json").read_text())["config"]["max_position_embeddings"]
    lengths = {"n_tokens": settings.n_tokens, "eval_tokens": settings.eval_tokens}
    if settings.stsb_depths:
        lengths["stsb_tokens"] = settings.stsb_tokens
    too_long = {name: n for name, n in lengths.items() if n > positions}
    if too_long:
        raise ChaoslibError(f"{too_long}: the run's networks have {positions} positions; give at most {positions} "
                            "tokens (--set NAME=N).")
    steps = steps if steps is not None else checkpoint_steps(run_dir)
    if not steps:
        raise ChaoslibError(f"{run_dir}/checkpoints holds no checkpoint; run the pretraining first.")
    trials = [{"folder": str(run_dir / "checkpoints" / f"step_{step:07d}"), "diagnostics": asdict(settings),
               "data_dir": None if data_dir is None else str(data_dir), "cache_dir": str(run_dir.parent)}
              for step in steps]
    store = TrialStore(run_dir / "diagnostics_trials")
    dropped = [step for step, trial in zip(steps, trials, strict=True)
               if not store.done(trial_key(trial)) and not Path(trial["folder"], "model.safetensors").exists()]
    if dropped:
        raise ChaoslibError(
            f"the checkpoints at steps {dropped} of {run_dir} hold no weights and their diagnostics are not in "
            f"{store.root}: their weights were dropped after a diagnosis with other settings or another data_dir "
            "or runs folder (series --carry); diagnose with those, or give steps= without them.")
    records = run_sweep(trials, _trial, executor=executor, ray_address=ray_address, store=store,
                        threads=torch.get_num_threads())
    ds = diagnostics_dataset(steps, [r.result for r in records], settings)
    earlier = _earlier_record(run_dir, settings)
    if earlier is not None:  # a continued run: the start network's record covers the steps before this run
        _check_shared_step(earlier, ds, settings, steps[0])
        ds = xr.concat([earlier.sel(checkpoint=earlier.checkpoint < steps[0]), ds], "checkpoint",
                       data_vars="all", join="exact")
    curve = _training_curve(run_dir)
    ds["train_mlm_loss"] = ("checkpoint", [curve.get(int(step), np.nan) for step in ds.checkpoint.values])
    ds.attrs.update({
        "settings": asdict(settings),
        "run_config": json.loads((run_dir / "config.json").read_text())["config"],
        "command": command,
        "provenance": collect("pretraining-diagnostics", "cpu", seed=settings.seed),
    })
    if earlier is not None:
        ds.attrs["earlier_checkpoints_from"] = earlier.attrs["command"]
    save_dataset(ds, out)
    return ds


def diagnostics_dataset(steps: list[int], results: list[dict], settings: DiagnosticSettings) -> xr.Dataset:
    """The record: one row per checkpoint step."""
    stack = lambda key: np.stack([np.asarray(r[key]) for r in results])  # noqa: E731
    return xr.Dataset(
        {
            "lambda0": (("checkpoint", "sample"), stack("lambda0")),
            "exponents": (("checkpoint", "sample", "window"), stack("exponents")),
            "chaos_length": (("checkpoint", "sample"), stack("chaos_length")),
            "chaos_censored": (("checkpoint", "sample"), stack("chaos_censored")),
            "t_sync": (("checkpoint", "sample"), stack("t_sync")),
            "sync_censored": (("checkpoint", "sample"), stack("sync_censored")),
            "effective_dimension": (("checkpoint", "ed_step"), stack("effective_dimension")),
            "ed_peak": ("checkpoint", stack("ed_peak")),
            "ed_peak_step": ("checkpoint", stack("ed_peak_step")),
            "ed_half_step": ("checkpoint", stack("ed_half_step")),
            "spectrum": (("checkpoint", "spectrum_input", "k"), stack("spectrum")),
            "kaplan_yorke": (("checkpoint", "spectrum_input"), stack("kaplan_yorke")),
            "mlm_accuracy": ("checkpoint", stack("mlm_accuracy")),
            "mlm_loss": ("checkpoint", stack("mlm_loss")),
            "sop_accuracy": ("checkpoint", stack("sop_accuracy")),
            "most_frequent_accuracy": ("checkpoint", stack("most_frequent_accuracy")),
            "stsb_score": (("checkpoint", "depth"), stack("stsb_scores")),
        },
        coords={
            "checkpoint": np.asarray(steps),
            "window": np.arange(settings.n_steps // settings.tau),
            "ed_step": np.arange(settings.ed_steps + 1),
            "depth": np.asarray(settings.stsb_depths),
            "k": np.arange(1, settings.spectrum_k + 1),
        },
    )


def settings_from_dict(values: dict) -> DiagnosticSettings:
    known = {f.name for f in fields(DiagnosticSettings)}
    return DiagnosticSettings(**{k: v for k, v in values.items() if k in known})


# Quantities compared between the record and a live recomputation, with their tolerances. On the machine
# that wrote the record the recomputation is bit-identical; elsewhere BLAS and thread counts change the last
# bits, which the chaotic map amplifies only over many steps: the first window's exponents, the held-out
# accuracies and the ED peak move by far less than these bounds, the chaos length by at most a window.
RECHECK_TOLERANCES = {
    "lambda0_mean": 2e-3,  # per step, absolute
    "chaos_length_median": None,  # one tau: set from the settings
    "t_sync_median": 2.0,  # steps: a threshold crossing may move by a step between BLAS libraries
    "ed_peak": 1e-2,  # absolute, in dimensions
    "mlm_accuracy": 2e-3,
    "sop_accuracy": 5e-3,
    "stsb_best": 1e-2,
}


def summary(values: dict | xr.Dataset) -> dict[str, float]:
    """The rechecked quantities of one checkpoint (a ``checkpoint_diagnostics`` dict or a record row)."""
    get = lambda key: np.asarray(values[key])  # noqa: E731
    stsb = get("stsb_scores" if "stsb_scores" in values else "stsb_score")
    return {
        "lambda0_mean": float(np.mean(get("lambda0"))),
        "chaos_length_median": float(np.median(get("chaos_length"))),
        "t_sync_median": float(np.median(get("t_sync"))),
        "ed_peak": float(get("ed_peak")),
        "mlm_accuracy": float(get("mlm_accuracy")),
        "sop_accuracy": float(get("sop_accuracy")),
        "stsb_best": float(np.max(stsb)) if stsb.size else float("nan"),  # nan: not measured (stsb_depths empty)
    }


def recheck(record: xr.Dataset, step: int, live: dict, settings: DiagnosticSettings):
    """A table comparing the record's entry at ``step`` with live values: quantity, record, live, diff, bound, ok."""
    import pandas as pd

    stored, now = summary(record.sel(checkpoint=step)), summary(live)
    rows = []
    for key, bound in RECHECK_TOLERANCES.items():
        bound = float(settings.tau) if bound is None else bound
        diff = abs(stored[key] - now[key])
        both_unmeasured = np.isnan(stored[key]) and np.isnan(now[key])
        rows.append({"quantity": key, "record": stored[key], "live": now[key], "difference": diff,
                     "tolerance": bound, "within": bool(diff <= bound or both_unmeasured)})
    return pd.DataFrame(rows)
