"""Evaluating a pretrained checkpoint on held-out text, and shipping one with its model card.

``evaluate_checkpoint`` reproduces the model card's figures: the WikiText-2 test split, every selected
position shown as ``[MASK]``, a fixed seeded set of SOP examples, and the baselines from the training
split. ``ship`` copies a run's final network into ``chaoslib/checkpoints/<name>/`` (config.json,
model.safetensors), evaluates it, and writes ``card.json`` (machine-readable, with the weights'
SHA-256) and ``README.md`` (the model card).
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import AlbertForPreTraining

from chaoslib.errors import ChaoslibError
from chaoslib.data.vocabulary import vocabulary_folder
from chaoslib.model.configs import CHECKPOINTS_DIR, WEIGHTS_FILE, verify_checkpoint
from chaoslib.model.loading import quiet_loading
from chaoslib.pretraining.data import SOPSampler, load_corpus
from chaoslib.pretraining.evaluation import baselines, eval_batches, eval_masking, evaluate
from chaoslib.pretraining.run_record import joined_history, run_history
from chaoslib.provenance import device_name, git_commit, package_versions
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.store import read_json, sha256_file, write_json

EVAL_SEED = 2024
# a network's own vocabulary travels as its SentencePiece model and the tokenizer's config: enough for
# AutoTokenizer.from_pretrained(folder) (it converts spiece.model), without tokenizer.json's 0.5 MB per network
TOKENIZER_FILES = ("spiece.model", "tokenizer_config.json", "special_tokens_map.json")
LOG_DIGITS = 6  # significant digits of the shipped training logs (the per-step log is the largest file)
SHIP_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def checkpoint_tokenizer(folder: Path, data_dir: str | os.PathLike | None = None):
    """The tokenizer of a saved network: its own files when it has them (the trained-depth series), else
    the tokenizer of the run that saved it, else ALBERT's 30,000-piece model from the data folder."""
    if any((folder / name).exists() for name in ("spiece.model", "tokenizer.json")):
        return load_tokenizer(folder)
    run_config = folder.parent.parent / "config.json"  # <run>/checkpoints/step_X
    if run_config.exists():
        from chaoslib.pretraining.train import PretrainConfig, pretraining_tokenizer

        return pretraining_tokenizer(PretrainConfig(**read_json(run_config)["config"]), data_dir)
    return load_tokenizer(data_dir=data_dir)


def evaluate_checkpoint(
    folder: str | os.PathLike,
    split: str = "test",
    n_batches: int = 64,
    batch_size: int = 64,
    n_tokens: int | None = None,
    seed: int = EVAL_SEED,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> dict:
    """Masked-LM loss and accuracy (all-[MASK]) and SOP accuracy of a saved network on WikiText-2 ``split``.

    n_tokens: example length (default: the checkpoint's training length from card.json, else 64).
    Returns a dict with the evaluation, the baselines from WikiText-2 train, and the settings used.
    """
    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise ChaoslibError(f"checkpoint folder {folder} holds no config.json; point it at a saved network.")
    card = verify_checkpoint(folder)  # a shipped network's weights must be the ones its card describes
    if n_tokens is None:
        n_tokens = card["training"]["n_tokens"] if card else 64
    tokenizer = checkpoint_tokenizer(folder, data_dir)
    model = load_pretraining_network(folder)
    ids = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    held_out = load_corpus(tokenizer, "wikitext-2", split, data_dir, cache_dir)
    train = load_corpus(tokenizer, "wikitext-2", "train", data_dir, cache_dir)
    batches = eval_batches(SOPSampler(held_out, n_tokens, *ids), eval_masking(tokenizer), n_batches, batch_size, seed)
    result = evaluate(model, batches)
    base = baselines(train, len(tokenizer), batches)
    return {
        "evaluation": result.as_dict(),
        "baselines": asdict(base),
        "settings": {
            "split": f"wikitext-2 {split}",
            "masking": "n-gram spans (n<=3, p~1/n), 15% budget, every selected token shown as [MASK]",
            "n_batches": n_batches,
            "batch_size": batch_size,
            "n_tokens": n_tokens,
            "seed": seed,
        },
    }


def _rounded(cell: str) -> str:
    """A log cell with LOG_DIGITS significant digits (integers and text unchanged)."""
    try:
        value = float(cell)
    except ValueError:
        return cell
    return cell if value.is_integer() and "." not in cell and "e" not in cell else f"{value:.{LOG_DIGITS}g}"


def load_pretraining_network(folder: Path) -> AlbertForPreTraining:
    """A saved network with both pretraining heads, float32, eval mode; a damaged weights file is named."""
    try:
        with quiet_loading():
            model = AlbertForPreTraining.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32)
    except Exception as err:  # safetensors' own errors name no file
        if "safetensor" not in f"{type(err).__name__} {err}".lower():
            raise
        raise ChaoslibError(
            f"{folder / WEIGHTS_FILE} cannot be read ({type(err).__name__}: {err}): the file is truncated or "
            "damaged. Save or ship the network again, or restore the file with git."
        ) from err
    return model.eval()


def ship(
    run_dir: str | os.PathLike,
    name: str,
    command: str,
    destination: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    force: bool = False,
    dtype: str = "float32",
) -> Path:
    """Copy the run's final network to ``chaoslib/checkpoints/<name>/`` with card.json and README.md.

    An existing network of that name is replaced only with ``force=True``, and then whole: nothing of
    the old folder (its diagnostics record, logs) stays beside the new network. ``dtype``: the stored
    weights' precision (``float16`` halves the size; the card's evaluation is of the stored weights).
    """
    run_dir = Path(run_dir)
    out = Path(destination) if destination else CHECKPOINTS_DIR / name
    if out.exists() and any(out.iterdir()) and not force:
        raise ChaoslibError(
            f"{out} already holds a network; shipping {run_dir} there would replace it and orphan its records. "
            "Give another --name, or --force to replace the whole folder."
        )
    if dtype not in SHIP_DTYPES:
        raise ChaoslibError(f"dtype={dtype!r}; use one of {list(SHIP_DTYPES)}.")
    commit = git_commit()  # before this call writes into the tracked tree, which would read as "+dirty"
    record = run_history(run_dir)
    final = run_dir / "checkpoints" / f"step_{record['steps']:07d}"
    if not final.exists():
        raise ChaoslibError(f"{final} is missing: the run in {run_dir} has not saved its final step yet.")
    staging = out.with_name(f".{out.name}.shipping")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model = load_pretraining_network(final).to(SHIP_DTYPES[dtype])
    model.save_pretrained(staging, safe_serialization=True)
    (staging / "generation_config.json").unlink(missing_ok=True)
    tokenizer_source = record["config"].get("tokenizer") or ""
    if tokenizer_source:  # a vocabulary of its own travels with the network
        for file in TOKENIZER_FILES:
            if (vocabulary_folder(tokenizer_source) / file).exists():
                shutil.copy(vocabulary_folder(tokenizer_source) / file, staging / file)
    card = {
        "name": name,
        "weights_file": WEIGHTS_FILE,
        "weights_dtype": dtype,
        "vocab_size": int(model.config.vocab_size),
        "sha256": sha256_file(staging / WEIGHTS_FILE),
        "tokenizer": tokenizer_source or "albert (30000 pieces, the data folder's albert/spiece.model)",
        "training": record,
        "command": command,
        "versions": package_versions(("torch", "transformers")),
        "shipped_from_commit": commit,
    }
    write_json(staging / "card.json", card)  # evaluate_checkpoint reads the training length from it
    card["test"] = evaluate_checkpoint(staging, "test", data_dir=data_dir, cache_dir=run_dir.parent)
    write_json(staging / "card.json", card)
    (staging / "README.md").write_text(model_card(card))
    for log in ("log.csv", "eval.csv"):  # a continued run's history starts with its start network's
        with (staging / f"training_{log}").open("w", newline="") as handle:
            csv.writer(handle).writerows([[_rounded(cell) for cell in row] for row in joined_history(run_dir, log)])
    for file in staging.iterdir():  # save_pretrained leaves the weights private (0600)
        file.chmod(0o644)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)
    return out


# What the project asks of a shipped network before the offline edition calls it "pretrained" in a claim
MIN_ACCURACY_RATIO = 1.5  # masked-token accuracy over the most-frequent-token baseline
MIN_LOSS_MARGIN = 0.75  # nats below the unigram entropy of the training split
SOP_CHANCE_MARGIN = 0.02  # SOP accuracy within this of 50% is chance


def _limits(ev: dict, base: dict) -> str:
    """The card's plain statement of what the network has and has not learned."""
    ratio = ev["mlm_accuracy"] / base["most_frequent_accuracy"]
    margin = base["unigram_entropy"] - ev["mlm_loss"]
    lines = [
        f"- Masked-token accuracy is {ratio:.2f}× the most-frequent-token baseline "
        f"({'meets' if ratio >= MIN_ACCURACY_RATIO else 'misses'} the project's bar of {MIN_ACCURACY_RATIO}×).",
        f"- The masked-LM loss is {margin:.2f} nats below the unigram entropy "
        f"({'meets' if margin >= MIN_LOSS_MARGIN else 'misses'} the bar of {MIN_LOSS_MARGIN} nats): "
        + ("it uses context well." if margin >= MIN_LOSS_MARGIN else
           "it has left the unigram plateau but uses context only weakly; a longer run (on a GPU: minutes) is "
           "the way to a stronger network."),
    ]
    if abs(ev["sop_accuracy"] - 0.5) <= SOP_CHANCE_MARGIN:
        lines.append("- Sentence-order prediction stayed at chance: the network has not learned discourse order.")
    lines.append("- A small network trained for minutes-to-hours on 2 M words: its dynamics are those of *a* pretrained "
                 "ALBERT, not of `albert-large-v2` (24 layers' worth of training, D = 1024, billions of tokens).")
    return "\n".join(lines)


def _phases(phases: list[dict]) -> str:
    """A continued network's training, phase by phase (empty for a single run)."""
    if len(phases) < 2:
        return ""
    rows = [
        f"| {i} | {p['first_step']:,}–{p['steps']:,} | {p['config']['lr']:g} (warm-up {p['config']['warmup_steps']}) "
        f"| {p['train_seconds'] / 3600:.2f} h | `{p['commit_at_start']}` |"
        for i, p in enumerate(phases, 1)
    ]
    return (
        "\nTrained in phases: each later phase starts from the previous phase's final network (`init_from`) with a "
        "fresh AdamW and schedule (linear warm-up, then linear decay to 0; the commands below give each phase's end); "
        "batches are a function of (seed, step), so a later phase sees new examples.\n\n"
        "| phase | steps | peak lr (warm-up steps) | wall time | commit at start |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n"
    )


def _tokenizer_line(card: dict) -> str:
    c = card["training"]["config"]
    if not c.get("tokenizer"):
        return "Tokenizer: ALBERT's real 30000-piece SentencePiece model (`albert/spiece.model` of the data folder)."
    return (f"Tokenizer: `{c['tokenizer']}`, a {card['vocab_size']:,}-piece SentencePiece vocabulary trained here on the "
            "detokenised WikiText-2 train text with ALBERT's special pieces at ALBERT's ids (its files are in this "
            "folder). This departs from the 30000-piece ALBERT vocabulary of albert-wikitext2: at D = 128 the "
            "embedding and output layers of 30000 pieces would cost more than the shared layer, for every network "
            "of the trained-depth series.")


def _role(card: dict) -> str:
    if card["training"]["config"].get("tokenizer"):
        return (f"**Not `albert-large-v2`.** A network of the trained-depth series: ALBERTs pretrained here that differ "
                f"only in L, the number of times the shared layer is applied in pretraining (here L = "
                f"{card['training']['config']['num_hidden_layers']}), and in seed, all trained by the same computation "
                "on the same data with the same budget (`python -m chaoslib.pretraining series`).")
    return ("**Not `albert-large-v2`.** This is the offline edition's pretrained network: the ALBERT architecture at a\n"
            "small size, pretrained from scratch here by masked LM + sentence-order prediction, so that the offline book\n"
            "can compare a *pretrained* ALBERT with random ones as the paper does. What carries over to the paper's\n"
            "`albert-large-v2` is discussed in each chapter.")


def model_card(card: dict) -> str:
    """The model card (Markdown) from ``card.json``'s content.

    The positions it states are the trained ones: pretraining on examples of ``n_tokens`` tokens trains
    positions 0..n_tokens-1 only; any further position embeddings of the configuration keep their
    initialisation, and the card says that nothing tests the network beyond them."""
    t, c = card["training"], card["training"]["config"]
    ev, base = card["test"]["evaluation"], card["test"]["baselines"]
    hours = t["train_seconds"] / 3600
    positions, trained = c["max_position_embeddings"], c["n_tokens"]
    if trained < positions:
        span = (f"{positions} position embeddings, of which pretraining (examples of {trained} tokens) "
                f"trained positions 0..{trained - 1} only")
        untrained = (f"\n- Positions {trained}..{positions - 1} were never trained (every example had "
                     f"{trained} tokens): they keep their random initialisation, and nothing here tests the "
                     f"network on inputs longer than {trained} tokens.")
    else:
        span = f"{positions} positions, all trained (examples of {trained} tokens)"
        untrained = ""
    return f"""# {card['name']}: a small ALBERT pretrained by this project on WikiText-2

{_role(card)}

## Architecture
ALBERT layout (`transformers.AlbertForPreTraining`): factorised embedding (vocabulary {card.get('vocab_size', 30000)}
→ E = {c['embedding_size']} → D = {c['hidden_size']}), one shared Transformer layer iterated
**{c['num_hidden_layers']} times** in pretraining, {c['num_attention_heads']} heads, FFN {c['intermediate_size']},
`{c['hidden_act']}`, dropout 0, post-LayerNorm, {span}.
{_tokenizer_line(card)}

## Data and objective
WikiText-2 raw, train split (articles split at level-1 headings, sentences detokenised). Examples of
{c['n_tokens']} tokens: `[CLS] A [SEP] B [SEP]`, A and B consecutive runs of sentences of one article,
swapped with probability 1/2 (SOP). Masked LM with n-gram masking (n ≤ {c['max_ngram']}, p ∝ 1/n),
{c['mask_budget']:.0%} budget, 80/10/10 replacement; the vocabulary projection only at masked positions.

## Training
AdamW (lr {c['lr']:g}, betas {tuple(c['adam_betas'])}, weight decay {c['weight_decay']} on matrices), linear warm-up
{c['warmup_steps']} steps then linear decay to 0, gradient clipping {c['grad_clip']}, batch {c['batch_size']} × {c['n_tokens']}
tokens (× {c['grad_accum']} accumulation), seed {c['seed']}, float32.
{_phases(t.get('phases', []))}

| | |
|---|---|
| steps | {t['steps']:,} |
| tokens seen | {t['tokens_seen']:,} |
| wall time (training steps only) | {hours:.2f} h |
| device | {t['device']}, {t['threads']} threads |
| final training loss (MLM + SOP) | {t['final_train_loss']:.3f} |

Command (from the repository root; resumable, rerun the same command after an interruption):

```bash
{card['command']}
```

Commit at the start of the run: `{t['commit_at_start']}`; shipped from commit `{card['shipped_from_commit']}`.

## Evaluation on the WikiText-2 test split
Every selected position replaced by `[MASK]` (no kept or random tokens, which a model could copy);
{card['test']['settings']['n_batches']} × {card['test']['settings']['batch_size']} seeded examples
(seed {card['test']['settings']['seed']}), {ev['n_masked']:,} masked tokens.
Reproduce: `python -m chaoslib.pretraining evaluate --checkpoint chaoslib/checkpoints/{card['name']}`.

| | this network | baseline |
|---|---|---|
| masked-token accuracy | {ev['mlm_accuracy']:.1%} | {base['most_frequent_accuracy']:.1%} (most frequent token of train) |
| masked-LM loss (nats) | {ev['mlm_loss']:.3f} | {base['unigram_entropy']:.3f} (unigram entropy of train); {base['unigram_cross_entropy']:.3f} (train unigram on these positions) |
| SOP accuracy | {ev['sop_accuracy']:.1%} | 50% (chance) |

Accuracy ratio to the most-frequent-token baseline: {ev['mlm_accuracy'] / base['most_frequent_accuracy']:.2f}×;
loss below the unigram entropy by {base['unigram_entropy'] - ev['mlm_loss']:.2f} nats.

## Limits
{_limits(ev, base)}{untrained}

## Files
`config.json`, `{card['weights_file']}` ({card.get('weights_dtype', 'float32')}, SHA-256 `{card['sha256']}`), `card.json` (this card's numbers),
`training_log.csv` (per step: loss, masked-LM loss, SOP loss, accuracies, learning rate, tokens/s),
`training_eval.csv` (held-out evaluation during training).
Load it: `chaoslib.load_albert("{card['name']}", weights="pretrained")`.
"""
