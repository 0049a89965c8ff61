"""Frozen-encoder arm of GLUE by depth: one fresh linear head per depth, all trained at once.

The encoder is never trained, so the features of every depth come from one trajectory
(:mod:`chaoslib.tasks.glue_features`), and one stacked head per depth is trained on them
together (:mod:`chaoslib.tasks.heads`): the sweep over depths 1..100 costs one 100-layer pass
plus the heads. As the authors' ``FinetuneTrainer``: AdamW, lr 1e-3 multiplied by 0.9995 per
step, gradient norm clipped at 1.0 (per head: each stacked head by its own norm).

:func:`score_record` is the record both arms give for one depth.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network
from chaoslib.tasks.glue import GlueSplit, default_epochs, get_task
from chaoslib.tasks.glue_features import (
    MAX_SEQ_LENGTH,
    cached_depth_features,
    check_depths,
    encode_split,
    settings_key,
)
from chaoslib.tasks.glue_metrics import PRIMARY_METRIC, glue_metrics, score_interval
from chaoslib.tasks.heads import MAX_GRAD_NORM, predict_stacked, train_stacked_heads

FROZEN_LR = 1e-3  # the authors' lr with --fix_encoder
N_BOOT = 1000  # bootstrap resamples of the dev rows for each score's interval


def info_of(record: dict) -> Network:
    """The :class:`Network` of the network a record (:func:`score_record`) was computed with."""
    return Network(
        record["model"],
        record["weights"],
        init=record["init"],
        seed=record["init_seed"],
        source=record["source"],
    )


def score_record(
    task: str,
    arm: str,
    depth: int,
    info: Network,
    seed: int,
    metrics: dict,
    interval: tuple[float, float] = (float("nan"), float("nan")),
    **extra,
) -> dict:
    """One (arm, network, depth) result: the network, the task's metrics, ``score`` (the primary
    metric) with its bootstrap interval ``score_low``/``score_high``, and ``extra`` fields."""
    return {
        "task": task,
        "arm": arm,
        "depth": int(depth),
        "model": info.name,
        "weights": info.weights,
        "init": info.init,
        "init_seed": info.seed,
        "network": info.label(),
        "source": info.source,
        "seed": int(seed),
        "metric": PRIMARY_METRIC[task],
        "score": float(metrics[PRIMARY_METRIC[task]]),
        "score_low": float(interval[0]),
        "score_high": float(interval[1]),
        **{k: float(v) for k, v in metrics.items()},
        **extra,
    }


def frozen_sweep(
    albert_map: AlbertMap,
    info: Network,
    tokenizer,
    train: GlueSplit,
    dev: GlueSplit,
    depths: Sequence[int] = range(1, 101),
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float = FROZEN_LR,
    lr_decay: float = 0.9995,
    weight_decay: float = 0.0,
    dropout: float = 0.1,
    max_grad_norm: float | None = MAX_GRAD_NORM,
    seed: int = 42,
    n_tokens: int = MAX_SEQ_LENGTH,
    feature_batch_size: int = 64,
    n_boot: int = N_BOOT,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
    keep_predictions: bool = False,
) -> list[dict]:
    """Frozen-encoder arm: dev score of a fresh linear head per depth, all depths from one pass.

    Args:
        albert_map, info: the network (``AlbertMap(model)``) and its description.
        tokenizer: the ALBERT tokenizer.
        train, dev: labelled splits of one task (e.g. ``load_glue("stsb", "train")``).
        depths: encoder depths to evaluate.
        epochs: passes over train (None: the authors' 10 for STS-B, 3 otherwise).
        batch_size, lr, lr_decay, weight_decay, dropout, max_grad_norm, seed: head training (see
            :func:`chaoslib.tasks.heads.train_stacked_heads`; the schedule is exponential, as the
            authors' frozen arm).
        n_tokens: max_seq_length.
        n_boot: bootstrap resamples of the dev rows for the score's interval (0: no interval).
        cache_dir: where to keep the features (None: not cached).
        keep_predictions: each record also holds the head's dev outputs ``predictions`` (n_dev, num_labels)
            and the dev labels ``dev_labels`` (n_dev,), for scores on parts of the dev rows (e.g. a depth
            chosen on one half and scored on the other).

    Returns:
        one record per depth (:func:`score_record`, arm="frozen") with the final training loss.
    """
    task = get_task(train.task).name
    if dev.task != task:
        raise ChaoslibError(f"train is {task} but dev is {dev.task}; give two splits of the same task.")
    depths = check_depths(depths)
    epochs = default_epochs(task) if epochs is None else int(epochs)
    spec = get_task(task)
    feats = {}
    for name, split in (("train", train), ("dev", dev)):
        description = {
            "network": info.label(),
            "source": info.source,
            "task": task,
            "split": split.split,
            "n_tokens": n_tokens,
        }
        cache = None
        if cache_dir is not None:
            tag = settings_key({**description, "rows": split.indices.tolist(), "depths": depths})
            cache = Path(cache_dir) / f"features_{task}_{split.split}_{tag}.pt"
        feats[name] = cached_depth_features(
            albert_map,
            encode_split(tokenizer, split, n_tokens),
            depths,
            cache,
            description,
            batch_size=feature_batch_size,
            progress=progress,
        )
    start = time.perf_counter()
    heads, losses = train_stacked_heads(
        feats["train"],
        torch.from_numpy(train.require_labels()),
        spec.num_labels,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_decay=lr_decay,
        weight_decay=weight_decay,
        dropout=dropout,
        seed=seed,
        schedule="exponential",
        max_grad_norm=max_grad_norm,
    )
    outputs = predict_stacked(heads, feats["dev"]).numpy()  # (depths, n_dev, num_labels)
    seconds = time.perf_counter() - start
    dev_labels = dev.require_labels()
    low = high = np.full(len(depths), np.nan)
    if n_boot:
        low, high = score_interval(task, outputs, dev_labels, n_resamples=n_boot, seed=seed)
    final_loss = (
        losses[-min(len(losses), 50) :].mean(0) if len(losses) else torch.full((len(depths),), float("nan"))
    )
    return [
        score_record(
            task,
            "frozen",
            d,
            info,
            seed,
            glue_metrics(task, outputs[i], dev_labels),
            (low[i], high[i]),
            n_train=len(train),
            n_dev=len(dev),
            epochs=epochs,
            lr=lr,
            schedule="exponential",
            max_grad_norm=max_grad_norm,
            train_loss=float(final_loss[i]),
            head_seconds_all_depths=seconds,
            **({"predictions": outputs[i], "dev_labels": dev_labels} if keep_predictions else {}),
        )
        for i, d in enumerate(depths)
    ]
