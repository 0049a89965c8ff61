"""The pretraining loop: resumable, with log-spaced checkpoints and labelled logs.

A run lives in one folder (never tracked by git)::

    run_dir/config.json        the PretrainConfig and the provenance of the first start
    run_dir/state.pt           model + optimizer + scheduler + RNG at the last save (the resume point)
    run_dir/log.csv            one row per step: loss, masked-LM loss, SOP loss, accuracies, lr, tokens/s
    run_dir/eval.csv           the held-out evaluation (all-[MASK]) every ``eval_every`` steps
    run_dir/checkpoints/step_XXXXXXX/   the network at the log-spaced steps (save_pretrained, safetensors)
    run_dir/init/              a continued run only: the card, logs and diagnostics record of its start network

A run may continue a saved network (``init_from``: a checkpoint folder or a shipped name): it starts
from those weights at their step with a fresh optimizer and schedule, numbers its steps on from there,
and keeps the earlier run's record in ``init/`` so that ``ship`` can tell the whole history.

Every batch is drawn from a generator seeded by (seed, step), so the data position is the step
number: a run killed at any point and started again with the same command continues from its
last save and ends with the same weights as an uninterrupted run (same device and thread count).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AlbertConfig, AlbertForPreTraining, get_linear_schedule_with_warmup

from chaoslib.data.masking import NGramMasking
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.data.vocabulary import vocabulary_folder
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.data import SOPSampler, load_corpus
from chaoslib.pretraining.evaluation import baselines, eval_batches, eval_masking, evaluate
from chaoslib.pretraining.objective import pretraining_objective
from chaoslib.pretraining.run_record import INIT_DIR, INIT_FILES, tokens_seen, training_record
from chaoslib.provenance import collect
from chaoslib.settings import resolve_device
from chaoslib.store import atomic_write_bytes, write_json

LOG_COLUMNS = ("step", "loss", "mlm_loss", "sop_loss", "mlm_accuracy", "sop_accuracy", "lr", "tokens_per_s")
EVAL_COLUMNS = ("step", "mlm_loss", "mlm_accuracy", "sop_accuracy")


@dataclass
class PretrainConfig:
    """Everything that defines a pretraining run (stored in ``config.json``; a resume must match it)."""

    # architecture (ALBERT layout: factorised embedding, one shared layer iterated num_hidden_layers times)
    hidden_size: int = 128
    num_attention_heads: int = 2
    intermediate_size: int = 512
    num_hidden_layers: int = 6
    embedding_size: int = 128
    max_position_embeddings: int = 128
    hidden_act: str = "gelu_new"
    # std of the normal initialisation (transformers' ALBERT default). A larger one (~1/sqrt(D), which keeps
    # each product norm-preserving at small D) did not leave the unigram plateau sooner: at D = 64, 400 steps
    # of 32 x 64 tokens, held-out all-[MASK] loss 7.234 with 0.125 against 7.225 with 0.02.
    initializer_range: float = 0.02
    # data
    corpus: str = "wikitext-2"
    max_documents: int = 0  # 0: the whole split; n: its first n documents (tests, quick pilots)
    train_split: str = "train"
    eval_split: str = "test"
    n_tokens: int = 64
    batch_size: int = 64
    grad_accum: int = 1
    # masking (ALBERT's n-gram scheme, chaoslib.data.masking)
    mask_budget: float = 0.15
    max_ngram: int = 3
    # optimisation
    steps: int = 3000
    lr: float = 2e-3
    warmup_steps: int = 300
    weight_decay: float = 0.01
    adam_betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    seed: int = 0
    # bookkeeping
    eval_every: int = 250
    eval_batches: int = 16
    save_every: int = 100
    checkpoint_steps: list[int] = field(default_factory=list)  # empty: log-spaced (see log_spaced_steps)
    # continuation: a saved network (checkpoint folder, or a shipped name) to start from, at its step
    init_from: str = ""
    # the vocabulary: "" for ALBERT's 30,000-piece model from the data folder, or one shipped with chaoslib
    # (chaoslib/data/vocabularies/<name>: "wikitext2-8k", the trained-depth series')
    tokenizer: str = ""

    def __post_init__(self):
        if isinstance(self.adam_betas, list):
            self.adam_betas = tuple(self.adam_betas)
        self.validate()

    def validate(self) -> None:
        """Every field's type and range, before a run writes anything (each error names the field and the fix)."""
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            value, kind = getattr(self, f.name), hints[f.name]
            ok = {int: isinstance(value, int) and not isinstance(value, bool),
                  float: isinstance(value, (int, float)) and not isinstance(value, bool),
                  str: isinstance(value, str)}.get(kind)
            if kind == tuple[float, float]:
                ok = isinstance(value, tuple) and len(value) == 2 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            elif kind == list[int]:
                ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            if not ok:
                raise ChaoslibError(f"{f.name}={value!r} has the wrong type; give {_type_name(kind)}.")
        for name in ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "embedding_size",
                     "max_position_embeddings", "n_tokens", "batch_size", "grad_accum", "steps", "max_ngram",
                     "eval_every", "eval_batches", "save_every"):
            if getattr(self, name) < 1:
                raise ChaoslibError(f"{name}={getattr(self, name)}; give a positive integer.")
        ranges = {  # name: (low, high, low inclusive)
            "lr": (0.0, 1.0, False), "initializer_range": (0.0, math.inf, False), "mask_budget": (0.0, 1.0, False),
            "weight_decay": (0.0, math.inf, True), "grad_clip": (0.0, math.inf, True),
        }
        for name, (low, high, inclusive) in ranges.items():
            value = getattr(self, name)
            if not (low <= value if inclusive else low < value) or not value < high or not math.isfinite(value):
                bounds = f"{'[' if inclusive else '('}{low:g}, {high:g})"
                raise ChaoslibError(f"{name}={value!r} is outside {bounds}; give a value in that range.")
        if not all(0.0 <= b < 1.0 for b in self.adam_betas):
            raise ChaoslibError(f"adam_betas={self.adam_betas}; each beta must lie in [0, 1).")
        for name in ("warmup_steps", "max_documents", "seed"):
            if getattr(self, name) < 0:
                raise ChaoslibError(f"{name}={getattr(self, name)}; give an integer >= 0.")
        if any(s < 0 for s in self.checkpoint_steps):
            raise ChaoslibError(f"checkpoint_steps={self.checkpoint_steps}; steps are >= 0.")
        if self.hidden_size % self.num_attention_heads:
            raise ChaoslibError(
                f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}."
            )
        if self.n_tokens > self.max_position_embeddings:
            raise ChaoslibError(
                f"n_tokens={self.n_tokens} exceeds max_position_embeddings={self.max_position_embeddings}."
            )
        if self.hidden_act not in ("gelu_new", "gelu", "relu"):
            raise ChaoslibError(f"hidden_act={self.hidden_act!r}; use 'gelu_new' (ALBERT v2), 'gelu' or 'relu'.")

    @classmethod
    def field_value(cls, name: str, text: str):
        """A command-line ``--set NAME=TEXT``: JSON for numbers and lists, the bare text for a string field."""
        hints = {f.name: typing.get_type_hints(cls)[f.name] for f in fields(cls)}
        if name not in hints:
            raise ChaoslibError(f"--set {name}=...: {name!r} is not a PretrainConfig field; known: {sorted(hints)}.")
        if hints[name] is str and not text.startswith('"'):
            return text
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise ChaoslibError(
                f"--set {name}={text}: the value is not {_type_name(hints[name])} (JSON: 0.001, 500, [0.9, 0.98])."
            ) from err

    @classmethod
    def from_file(cls, path: str | os.PathLike, **overrides) -> PretrainConfig:
        """Read a JSON or YAML config; ``overrides`` replace fields."""
        text = Path(path).read_text()
        if str(path).endswith((".yml", ".yaml")):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            values = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = (set(values) | set(overrides)) - known
        if unknown:
            raise ChaoslibError(
                f"unknown pretraining config keys {sorted(unknown)} in {path}; known: {sorted(known)}."
            )
        try:
            return cls(**{**values, **overrides})
        except ChaoslibError as err:
            raise ChaoslibError(f"{path}: {err}") from None

    def albert_config(self, vocab_size: int) -> AlbertConfig:
        return AlbertConfig(
            vocab_size=vocab_size,
            embedding_size=self.embedding_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            classifier_dropout_prob=0.0,
            max_position_embeddings=self.max_position_embeddings,
            type_vocab_size=2,
            initializer_range=self.initializer_range,
            layer_norm_eps=1e-12,
            num_hidden_groups=1,
            inner_group_num=1,
        )

    def tokens_per_step(self) -> int:
        return self.n_tokens * self.batch_size * self.grad_accum

    def saved_steps(self, first_step: int = 0) -> list[int]:
        """The checkpointed steps from ``first_step`` (a continued run's start) to ``steps``, both included."""
        steps = self.checkpoint_steps or log_spaced_steps(self.steps)
        return sorted({s for s in steps if s >= first_step} | {first_step, self.steps})


def _type_name(kind) -> str:
    return {int: "an integer", float: "a number", str: "a string"}.get(kind, str(kind).replace("typing.", ""))


def log_spaced_steps(total: int, first: int = 16) -> list[int]:
    """Step 0, powers of two from ``first`` below ``total``, and ``total``."""
    steps, s = [0], first
    while s < total:
        steps.append(s)
        s *= 2
    return [*steps, total]


def batch_generator(seed: int, step: int, micro: int) -> torch.Generator:
    """The generator of one micro-batch: a pure function of (seed, step, micro), so a resume is exact."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 64 + micro)


def build_model(config: PretrainConfig, vocab_size: int) -> AlbertForPreTraining:
    """A fresh network (transformers' ALBERT initialisation, seeded by ``config.seed``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return AlbertForPreTraining(config.albert_config(vocab_size))


def pretraining_tokenizer(config: PretrainConfig, data_dir: str | os.PathLike | None = None):
    """The tokenizer a run trains with (``config.tokenizer``: ALBERT's, or a vocabulary shipped with chaoslib)."""
    if not config.tokenizer:
        return load_tokenizer(data_dir=data_dir)
    return load_tokenizer(vocabulary_folder(config.tokenizer))


def resolve_init(init_from: str) -> Path:
    """The folder of a network to continue: a path, or the name of a shipped checkpoint."""
    from chaoslib.model.configs import CHECKPOINTS_DIR

    folder = Path(init_from) if Path(init_from).exists() else CHECKPOINTS_DIR / init_from
    if not (folder / "config.json").exists():
        raise ChaoslibError(
            f"init_from={init_from!r} is neither a saved network folder nor a shipped checkpoint name; "
            f"give a folder holding config.json + model.safetensors, or one of {sorted(p.name for p in CHECKPOINTS_DIR.iterdir())}."
        )
    return folder


def init_step(folder: Path) -> dict:
    """{"step", "tokens_seen"} of a saved network: its pretraining_step.json, or a shipped card's training."""
    if (folder / "pretraining_step.json").exists():
        return json.loads((folder / "pretraining_step.json").read_text())
    if (folder / "card.json").exists():
        training = json.loads((folder / "card.json").read_text())["training"]
        return {"step": int(training["steps"]), "tokens_seen": int(training["tokens_seen"])}
    raise ChaoslibError(f"{folder} says neither its step (pretraining_step.json) nor its training (card.json).")


def _start_from(model: AlbertForPreTraining, config: PretrainConfig, run_dir: Path) -> dict:
    """Load ``config.init_from`` into ``model``, keep its record in ``run_dir/init``; returns its step and tokens."""
    import shutil

    folder = resolve_init(config.init_from)
    source = AlbertForPreTraining.from_pretrained(str(folder))
    expected, found = config.albert_config(model.config.vocab_size).to_dict(), source.config.to_dict()
    differing = sorted(k for k in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
                                   "num_attention_heads", "intermediate_size", "hidden_act",
                                   "max_position_embeddings") if expected[k] != found[k])
    if differing:
        raise ChaoslibError(f"init_from={config.init_from!r} has another architecture ({differing}); "
                            "give the config the architecture of the network it continues.")
    model.load_state_dict(source.state_dict())
    start = init_step(folder)
    (run_dir / INIT_DIR).mkdir(exist_ok=True)
    for name in INIT_FILES:
        if (folder / name).exists():
            shutil.copy(folder / name, run_dir / INIT_DIR / name)
    earlier_run = folder.parent.parent  # a run's checkpoint: <run>/checkpoints/step_X; its history is the run's
    if not (folder / "card.json").exists() and (earlier_run / "log.csv").exists():
        write_json(run_dir / INIT_DIR / "card.json", {"training": training_record(earlier_run, start["step"])})
        for kept, columns in (("log.csv", LOG_COLUMNS), ("eval.csv", EVAL_COLUMNS)):
            shutil.copy(earlier_run / kept, run_dir / INIT_DIR / f"training_{kept}")
            _truncate_csv(run_dir / INIT_DIR / f"training_{kept}", columns, start["step"])
    return start


class _State:
    """The resumable state of a run, saved atomically to ``state.pt``."""

    @staticmethod
    def save(path: Path, step: int, model, optimizer, scheduler) -> None:
        buffer = io.BytesIO()
        torch.save(
            {
                "step": step,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
            buffer,
        )
        atomic_write_bytes(path, buffer.getvalue())

    @staticmethod
    def load(path: Path, model, optimizer, scheduler) -> int:
        state = torch.load(path, weights_only=False, map_location="cpu")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"])


def _truncate_csv(path: Path, columns: tuple[str, ...], last_step: int) -> None:
    """Keep the header and the rows up to ``last_step`` (rows past the resume point are redone)."""
    if not path.exists():
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerow(columns)
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= last_step]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def _append(path: Path, row: list) -> None:
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerow(row)


def _check_same_config(run_dir: Path, config: PretrainConfig) -> None:
    stored = json.loads(json.dumps(asdict(PretrainConfig(**json.loads((run_dir / "config.json").read_text())["config"]))))
    now = json.loads(json.dumps(asdict(config)))  # fields added since the run started take their defaults
    differing = {k for k in now if stored.get(k) != now[k] and k != "steps"}
    if differing:
        raise ChaoslibError(
            f"run_dir {run_dir} holds a run with other settings ({sorted(differing)}); resume it with its own "
            "config, or give a new run_dir."
        )


def pretrain(
    config: PretrainConfig,
    run_dir: str | os.PathLike,
    device: str | torch.device = "auto",
    data_dir: str | os.PathLike | None = None,
    stop_after: int | None = None,
    progress: bool = True,
) -> Path:
    """Train (or resume) the run in ``run_dir`` up to ``config.steps``; returns ``run_dir``.

    stop_after: leave after this many steps of this call (for tests and time-boxed sessions); the
    state is saved first, so the next call continues.
    """
    run_dir = Path(run_dir)
    # everything that can be checked is checked before the run folder gets a config: a refused start
    # leaves nothing behind, so the corrected command runs in the same folder
    config.validate()
    device = resolve_device(device)
    tokenizer = pretraining_tokenizer(config, data_dir)
    if config.init_from:
        resolve_init(config.init_from)
    if (run_dir / "config.json").exists():
        _check_same_config(run_dir, config)
    train_corpus = load_corpus(
        tokenizer, config.corpus, config.train_split, data_dir, cache_dir=run_dir.parent,
        max_documents=config.max_documents,
    )
    eval_corpus = load_corpus(tokenizer, config.corpus, config.eval_split, data_dir, cache_dir=run_dir.parent)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / "config.json").exists():
        write_json(
            run_dir / "config.json",
            {
                "config": asdict(config),
                "provenance": collect("pretraining", device, seed=config.seed),
                "threads": torch.get_num_threads(),
            },
        )
    sampler = SOPSampler(
        train_corpus, config.n_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    )
    eval_sampler = SOPSampler(
        eval_corpus, config.n_tokens, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    )
    masking = NGramMasking.from_tokenizer(tokenizer, budget=config.mask_budget, max_ngram=config.max_ngram)
    held_out = eval_batches(
        eval_sampler,
        eval_masking(tokenizer, config.mask_budget, config.max_ngram),
        config.eval_batches,
        config.batch_size,
    )
    if not (run_dir / "baselines.json").exists():
        write_json(run_dir / "baselines.json", asdict(baselines(train_corpus, len(tokenizer), held_out)))

    model = build_model(config, len(tokenizer))
    state_path = run_dir / "state.pt"
    start = {"step": 0, "tokens_seen": 0}
    if config.init_from:
        start_file = run_dir / INIT_DIR / "step.json"
        if not start_file.exists():
            write_json(start_file, {**_start_from(model, config, run_dir), "init_from": config.init_from})
        start = json.loads(start_file.read_text())
        if int(start["step"]) >= config.steps:
            raise ChaoslibError(f"steps={config.steps} is not beyond the start network's step {start['step']}; "
                                "give the total step count to reach.")
    first_step = int(start["step"])
    model = model.to(device).train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "embeddings" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "embeddings" not in n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=config.adam_betas,
        eps=1e-6,
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, config.warmup_steps, config.steps - first_step)
    fresh = not state_path.exists()
    step = first_step if fresh else _State.load(state_path, model, optimizer, scheduler)
    _append(run_dir / "starts.csv", [step, torch.get_num_threads(), str(device)])  # where each call began
    # rows up to the saved step describe the restored state; later rows are redone (-1: a fresh start)
    _truncate_csv(run_dir / "log.csv", LOG_COLUMNS, -1 if fresh else step)
    _truncate_csv(run_dir / "eval.csv", EVAL_COLUMNS, -1 if fresh else step)
    saved_steps = set(config.saved_steps(first_step))
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def checkpoint_and_eval(at: int) -> None:
        if at in saved_steps and not (run_dir / "checkpoints" / f"step_{at:07d}").exists():
            tokens = tokens_seen(start, at, config.tokens_per_step())
            save_checkpoint(model, run_dir / "checkpoints" / f"step_{at:07d}", at, tokens)
        if at % config.eval_every == 0 or at in (first_step, config.steps):
            with autocast:
                result = evaluate(model, held_out, device)
            _append(run_dir / "eval.csv", [at, result.mlm_loss, result.mlm_accuracy, result.sop_accuracy])
            model.train()

    if fresh:
        checkpoint_and_eval(first_step)
    end = config.steps if stop_after is None else min(config.steps, step + stop_after)
    bar = tqdm(total=config.steps, initial=step, desc="pretraining", unit="step", disable=not progress)
    while step < end:
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        totals = {"loss": 0.0, "mlm": 0.0, "sop": 0.0, "correct": 0, "masked": 0, "sop_correct": 0, "seqs": 0}
        for micro in range(config.grad_accum):
            generator = batch_generator(config.seed, step, micro)
            batch = sampler.batch(config.batch_size, generator)
            masked = masking(batch.encoded.input_ids, batch.encoded.attention_mask, generator)
            from chaoslib.pretraining.evaluation import _to

            with autocast:
                out = pretraining_objective(
                    model, batch.encoded.to(device), _to(masked, device), batch.sop_labels.to(device)
                )
            (out.loss / config.grad_accum).backward()
            totals["loss"] += float(out.loss.detach()) / config.grad_accum
            totals["mlm"] += float(out.mlm_loss.detach()) / config.grad_accum
            totals["sop"] += float(out.sop_loss.detach()) / config.grad_accum
            totals["correct"] += out.mlm_correct
            totals["masked"] += out.n_masked
            totals["sop_correct"] += out.sop_correct
            totals["seqs"] += out.n_sequences
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        if not math.isfinite(totals["loss"]):
            raise ChaoslibError(f"the loss became {totals['loss']} at step {step}; lower lr (={config.lr}).")
        step += 1
        tokens_per_s = config.tokens_per_step() / (time.perf_counter() - started)
        _append(
            run_dir / "log.csv",
            [
                step,
                totals["loss"],
                totals["mlm"],
                totals["sop"],
                totals["correct"] / max(totals["masked"], 1),
                totals["sop_correct"] / max(totals["seqs"], 1),
                lr,
                tokens_per_s,
            ],
        )
        checkpoint_and_eval(step)
        if step % config.save_every == 0 or step == end:
            _State.save(state_path, step, model, optimizer, scheduler)
        bar.update(1)
        bar.set_postfix(mlm=f"{totals['mlm']:.3f}", tok_s=f"{tokens_per_s:,.0f}")
    bar.close()
    return run_dir


def save_checkpoint(model: AlbertForPreTraining, folder: Path, step: int, tokens_seen: int) -> None:
    """The network at ``step`` as a transformers folder (config.json + model.safetensors)."""
    tmp = folder.with_name(folder.name + ".tmp")
    model.save_pretrained(tmp, safe_serialization=True)
    write_json(tmp / "pretraining_step.json", {"step": step, "tokens_seen": tokens_seen})
    os.replace(tmp, folder)
