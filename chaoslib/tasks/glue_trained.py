"""Trained-encoder arm of GLUE by depth: real fine-tuning, one run per (depth, network, seed).

``AlbertForSequenceClassification`` with ``num_hidden_layers=d`` is fine-tuned whole (AdamW,
lr 1e-6), with the schedule and clipping the authors' runs had in this arm
(``src/library/glue/glue.py`` picks the trainer):

- pretrained network: the plain ``transformers.Trainer``: lr decays linearly to 0, no warmup;
- randomly initialised network: their ``FinetuneTrainer``: lr * 0.9995 per step;
- both clip the gradient norm of the whole model at 1.0 (``TrainingArguments.max_grad_norm``).

:func:`authors_schedule` gives that choice; ``schedule=`` overrides it. :func:`finetune_trial`
is one run, a plain function of its arguments, so a sweep layer can run it anywhere.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from torch import nn

from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.tasks.glue import default_epochs, get_task
from chaoslib.tasks.glue_features import length_batches, trimmed
from chaoslib.tasks.glue_frozen import N_BOOT, score_record
from chaoslib.tasks.glue_metrics import glue_metrics, score_interval
from chaoslib.tasks.heads import (
    MAX_GRAD_NORM,
    SCHEDULES,
    batch_order,
    head_loss,
    lr_scheduler,
    trunc_normal_head,
)

TRAINED_LR = 1e-6  # the authors' lr without --fix_encoder


def authors_schedule(weights: str) -> str:
    """The authors' schedule of the trained arm: ``"linear"`` for pretrained weights (the plain
    ``Trainer``), ``"exponential"`` for a random network (``FinetuneTrainer``, chosen whenever
    ``--init_model`` is set)."""
    return "linear" if weights == "pretrained" else "exponential"


def resolve_schedule(schedule: str, weights: str) -> str:
    """``"authors"`` -> :func:`authors_schedule`; ``"exponential"``/``"linear"`` as given."""
    if schedule == "authors":
        return authors_schedule(weights)
    if schedule not in SCHEDULES:
        raise ChaoslibError(f"schedule={schedule!r}; use 'authors' or one of {list(SCHEDULES)}.")
    return schedule


def _replace_classifier(model: nn.Module, seed: int) -> None:
    """A fresh classifier: truncated normal 0.02, bias 0 (the same draw as the frozen arm's heads)."""
    weight, bias = trunc_normal_head(model.classifier.in_features, model.classifier.out_features, seed)
    with torch.no_grad():
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(bias)


def _logits(model: nn.Module, enc: Encoded) -> torch.Tensor:
    return model(
        input_ids=enc.input_ids, attention_mask=enc.attention_mask, token_type_ids=enc.token_type_ids
    ).logits


def finetune_trial(
    task: str,
    depth: int,
    train_encoded: Encoded,
    train_labels: torch.Tensor,
    dev_encoded: Encoded,
    dev_labels: np.ndarray,
    network: Network,
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float = TRAINED_LR,
    lr_decay: float = 0.9995,
    schedule: str = "authors",
    max_grad_norm: float | None = MAX_GRAD_NORM,
    weight_decay: float = 0.0,
    seed: int = 42,
    n_boot: int = N_BOOT,
    eval_batch_size: int = 64,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    data_dir: str | os.PathLike | None = None,
    **config_overrides,
) -> dict:
    """Fine-tune ``AlbertForSequenceClassification`` with ``num_hidden_layers=depth``; dev metrics.

    The whole network is trained (AdamW ``lr``; ``schedule`` "authors", "exponential" (lr times
    ``lr_decay`` per step) or "linear" (to 0); gradient norm of the whole model clipped at
    ``max_grad_norm``, None: not clipped; the classifier replaced by a fresh truncated-normal-0.02
    layer drawn with ``seed``), in train mode (ALBERT's dropouts active, as in fine-tuning).

    Args:
        train_encoded: (n, tokens) inputs, train_labels (n,); dev_encoded (m, tokens), dev_labels (m,).
        network: the network to fine-tune (:class:`chaoslib.model.network.Network`), loaded with the
            classification head on ``device`` in ``dtype`` (``data_dir``: the offline data folder).
        n_boot: bootstrap resamples of the dev rows for the score's interval (0: none).

    Returns:
        one record (:func:`chaoslib.tasks.glue_frozen.score_record`), arm="trained".
    """
    spec = get_task(task)
    epochs = default_epochs(spec.name) if epochs is None else int(epochs)
    schedule = resolve_schedule(schedule, network.weights)
    model, info = network.load(
        head="classification",
        device=device,
        dtype=dtype,
        data_dir=data_dir,
        num_hidden_layers=int(depth),
        num_labels=spec.num_labels,
        **config_overrides,
    )
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout inside the model
        _replace_classifier(model, seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, eps=1e-8)
        order = batch_order(len(train_encoded), epochs, batch_size, seed)
        scheduler = lr_scheduler(optimizer, schedule, lr_decay, len(order))
        model.train()
        start, losses = time.perf_counter(), []
        for rows in order:
            enc = trimmed(train_encoded[rows]).to(device)
            loss = head_loss(_logits(model, enc)[None], train_labels[rows].to(device), spec.num_labels)[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
        model.eval()
        outputs = np.empty((len(dev_encoded), spec.num_labels), dtype=np.float32)
        with torch.no_grad():
            for rows in length_batches(dev_encoded, eval_batch_size):
                outputs[rows.numpy()] = (
                    _logits(model, trimmed(dev_encoded[rows]).to(device)).float().cpu().numpy()
                )
    interval = (float("nan"), float("nan"))
    if n_boot:
        low, high = score_interval(spec.name, outputs[None], dev_labels, n_resamples=n_boot, seed=seed)
        interval = (float(low[0]), float(high[0]))
    return score_record(
        spec.name,
        "trained",
        depth,
        info,
        seed,
        glue_metrics(spec.name, outputs, dev_labels),
        interval,
        n_train=len(train_encoded),
        n_dev=len(dev_encoded),
        epochs=epochs,
        lr=lr,
        schedule=schedule,
        max_grad_norm=max_grad_norm,
        train_loss=float(np.mean(losses[-50:])) if losses else float("nan"),
        seconds=time.perf_counter() - start,
    )
