"""GLUE score against depth (SPEC 2.5), in two arms.

- Frozen encoder: the encoder is never trained, so the pooled output of
  ``AlbertModel(num_hidden_layers=d)`` is ``pool(F^d(x0))`` with the attention mask. ONE
  trajectory to the deepest depth gives the features of every depth (:func:`depth_features`),
  and one stacked head per depth is trained on them all at once (:mod:`chaoslib.tasks.heads`): the
  sweep over depths 1..100 costs one 100-layer pass plus the heads.
- Trained encoder: real fine-tuning of ``AlbertForSequenceClassification`` with
  ``num_hidden_layers=d`` for each chosen depth (:func:`finetune_trial`). Every trial writes its
  result to a :class:`chaoslib.store.TrialStore` when it finishes; a rerun skips finished trials.

Both arms give records (one per depth) with the same fields; :func:`results_frame` makes a table.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from chaoslib.data.tokenization import Encoded, encode
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.loading import ModelInfo, load_albert
from chaoslib.store import TrialStore, atomic_write_bytes
from chaoslib.tasks.glue import PRIMARY_METRIC, GlueSplit, get_task, glue_metrics
from chaoslib.tasks.heads import (
    batch_order,
    head_loss,
    predict_stacked,
    train_stacked_heads,
    trunc_normal_head,
)

# SPEC 2.5
MAX_SEQ_LENGTH = 64
DEFAULT_EPOCHS = {"stsb": 10}  # others: 3
FROZEN_LR, TRAINED_LR = 1e-3, 1e-6


def default_epochs(task: str) -> int:
    """SPEC 2.5: 10 epochs for STS-B, 3 for the other tasks."""
    return DEFAULT_EPOCHS.get(get_task(task).name, 3)


def check_depths(depths: Sequence[int]) -> list[int]:
    """Sorted unique positive depths, or an error naming the bad entries."""
    depths = [int(d) for d in depths]
    bad = [d for d in depths if d < 1]
    if not depths or bad:
        raise ChaoslibError(f"depths={depths}: give at least one depth, all >= 1 (bad: {bad}).")
    return sorted(set(depths))


def encode_split(tokenizer, split: GlueSplit, n_tokens: int = MAX_SEQ_LENGTH) -> Encoded:
    """``[CLS] A [SEP] (B [SEP])`` of every row, truncated and padded to n_tokens: (n, n_tokens)."""
    return encode(tokenizer, split.text_a, split.text_b, n_tokens=n_tokens, truncate=True)


def _trimmed(enc: Encoded) -> Encoded:
    """Cut the columns that are padding in every row. With the attention mask a pad position
    gets exactly zero attention, so the real tokens (and the pooled [CLS]) do not change."""
    length = int(enc.attention_mask.sum(1).max())
    return Encoded(enc.input_ids[:, :length], enc.token_type_ids[:, :length], enc.attention_mask[:, :length])


def length_batches(enc: Encoded, batch_size: int) -> list[torch.Tensor]:
    """Row indices in batches of similar length (sorted by real length), so trimming pays off."""
    order = torch.argsort(enc.attention_mask.sum(1), stable=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def depth_features(
    albert_map: AlbertMap,
    encoded: Encoded,
    depths: Sequence[int],
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """Pooled output at every depth from one trajectory, with the attention mask.

    ``features[i]`` equals ``AlbertModel(num_hidden_layers=depths[i])(...).pooler_output``.

    Args:
        albert_map: the network's map (its pooler is used).
        encoded: (n, tokens) inputs with their attention mask.
        depths: layer counts to record (sorted, unique, >= 1); the trajectory runs to max(depths).
        batch_size: inputs per forward pass (rows of similar length are batched together and
            the all-pad columns cut off, which changes nothing under the mask).

    Returns:
        (len(depths), n, hidden) float tensor on the map's device.
    """
    depths = check_depths(depths)
    device = albert_map.w_qkv.device
    slot = {d: i for i, d in enumerate(depths)}
    out = torch.empty(
        len(depths), len(encoded), albert_map.hidden_size, device=device, dtype=albert_map.w_qkv.dtype
    )
    batches = length_batches(encoded, batch_size)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(batches) * depths[-1], desc="frozen features (layer steps)")
    for rows in batches:
        enc = _trimmed(encoded[rows]).to(device)
        rows = rows.to(device)
        x = albert_map.embed(enc)
        for t in range(1, depths[-1] + 1):
            x = albert_map.step(x, enc.attention_mask)
            if t in slot:
                out[slot[t], rows] = albert_map.pool(x)
        if bar is not None:
            bar.update(depths[-1])
    if bar is not None:
        bar.close()
    return out


def settings_key(settings: dict) -> str:
    """A short stable hash of a settings dict: results computed with other settings never mix."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]


def cached_depth_features(
    albert_map: AlbertMap,
    encoded: Encoded,
    depths: Sequence[int],
    cache_path: str | os.PathLike | None,
    description: dict | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """:func:`depth_features`, saved to / loaded from ``cache_path`` (None: no cache).

    ``description`` (model label, task, split, rows...) is stored with the features and must
    match on load, together with the depths and the input ids, or the cache is recomputed.
    """
    depths = check_depths(depths)
    meta = {
        "depths": depths,
        "description": description or {},
        "inputs": hashlib.sha1(encoded.input_ids.numpy().tobytes()).hexdigest(),
    }
    if cache_path is not None and Path(cache_path).exists():
        saved = torch.load(cache_path, map_location="cpu", weights_only=True)
        if json.loads(saved["meta"]) == meta:
            return saved["features"].to(albert_map.w_qkv.device)
    features = depth_features(albert_map, encoded, depths, batch_size=batch_size, progress=progress)
    if cache_path is not None:
        buffer = io.BytesIO()
        torch.save({"features": features.cpu(), "meta": json.dumps(meta)}, buffer)
        atomic_write_bytes(cache_path, buffer.getvalue())
    return features


def _labels_tensor(split: GlueSplit) -> torch.Tensor:
    if split.labels is None:
        raise ChaoslibError(
            f"{split.task} {split.split} has no labels (GLUE test labels are hidden); use a labelled split."
        )
    return torch.from_numpy(split.labels)


def _record(task: str, arm: str, depth: int, info: ModelInfo, seed: int, metrics: dict, **extra) -> dict:
    return {
        "task": task,
        "arm": arm,
        "depth": int(depth),
        "model": info.name,
        "weights": info.weights,
        "init": info.init,
        "init_seed": info.seed,
        "network": info.label(),
        "seed": int(seed),
        "metric": PRIMARY_METRIC[task],
        "score": float(metrics[PRIMARY_METRIC[task]]),
        **{k: float(v) for k, v in metrics.items()},
        **extra,
    }


def frozen_sweep(
    albert_map: AlbertMap,
    info: ModelInfo,
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
    seed: int = 42,
    n_tokens: int = MAX_SEQ_LENGTH,
    feature_batch_size: int = 64,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> list[dict]:
    """Frozen-encoder arm: dev score of a fresh linear head per depth, all depths from one pass.

    Args:
        albert_map, info: the network (``AlbertMap(model)``) and its description.
        tokenizer: the ALBERT tokenizer.
        train, dev: labelled splits of one task (e.g. ``load_glue("stsb", "train")``).
        depths: encoder depths to evaluate.
        epochs: passes over train (None: SPEC's 10 for STS-B, 3 otherwise).
        batch_size, lr, lr_decay, weight_decay, dropout, seed: head training (see
            :func:`chaoslib.tasks.heads.train_stacked_heads`).
        n_tokens: max_seq_length.
        cache_dir: where to keep the features (None: not cached).

    Returns:
        one record per depth: task, arm="frozen", depth, network description, the task's
        metrics, ``score`` (the primary metric) and the final training loss.
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
        _labels_tensor(train),
        spec.num_labels,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_decay=lr_decay,
        weight_decay=weight_decay,
        dropout=dropout,
        seed=seed,
    )
    outputs = predict_stacked(heads, feats["dev"]).numpy()
    seconds = time.perf_counter() - start
    dev_labels = _labels_tensor(dev).numpy()
    final_loss = (
        losses[-min(len(losses), 50) :].mean(0) if len(losses) else torch.full((len(depths),), float("nan"))
    )
    return [
        _record(
            task,
            "frozen",
            d,
            info,
            seed,
            glue_metrics(task, outputs[i], dev_labels),
            n_train=len(train),
            n_dev=len(dev),
            epochs=epochs,
            lr=lr,
            train_loss=float(final_loss[i]),
            head_seconds_all_depths=seconds,
        )
        for i, d in enumerate(depths)
    ]


# ------------------------------------------------------------------------------- trained encoder


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
    model_name: str = "albert-large-v2",
    weights: str = "pretrained",
    init: str = "glue",
    init_seed: int = 0,
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float = TRAINED_LR,
    lr_decay: float = 0.9995,
    weight_decay: float = 0.0,
    seed: int = 42,
    eval_batch_size: int = 64,
    device: str | torch.device = "cpu",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    **config_overrides,
) -> dict:
    """Fine-tune ``AlbertForSequenceClassification`` with ``num_hidden_layers=depth``; dev metrics.

    The whole network is trained (AdamW ``lr``, lr *= ``lr_decay`` per step, the classifier
    replaced by a fresh truncated-normal-0.02 layer drawn with ``seed``), in train mode (ALBERT's
    dropouts active, as in fine-tuning). ``train_encoded``: (n, tokens) with labels (n,).
    Returns one record (see :func:`frozen_sweep`), arm="trained".
    """
    spec = get_task(task)
    epochs = default_epochs(spec.name) if epochs is None else int(epochs)
    model, info = load_albert(
        model_name,
        weights=weights,
        init=init,
        seed=init_seed,
        head="classification",
        weights_dir=weights_dir,
        data_dir=data_dir,
        device=device,
        num_hidden_layers=int(depth),
        num_labels=spec.num_labels,
        **config_overrides,
    )
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # dropout inside the model
        _replace_classifier(model, seed)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, eps=1e-8)
        schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_decay)
        model.train()
        start, losses = time.perf_counter(), []
        for rows in batch_order(len(train_encoded), epochs, batch_size, seed):
            enc = _trimmed(train_encoded[rows]).to(device)
            loss = head_loss(_logits(model, enc)[None], train_labels[rows].to(device), spec.num_labels)[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        model.eval()
        outputs = np.empty((len(dev_encoded), spec.num_labels), dtype=np.float32)
        with torch.no_grad():
            for rows in length_batches(dev_encoded, eval_batch_size):
                outputs[rows.numpy()] = (
                    _logits(model, _trimmed(dev_encoded[rows]).to(device)).float().cpu().numpy()
                )
    metrics = glue_metrics(spec.name, outputs, dev_labels)
    return _record(
        spec.name,
        "trained",
        depth,
        info,
        seed,
        metrics,
        n_train=len(train_encoded),
        n_dev=len(dev_encoded),
        epochs=epochs,
        lr=lr,
        train_loss=float(np.mean(losses[-50:])) if losses else float("nan"),
        seconds=time.perf_counter() - start,
    )


def trial_key(task: str, arm: str, depth: int, network: str, seed: int, settings: dict) -> dict:
    """The TrialStore key of one (task, depth, arm, weights, seed) trial; ``settings`` hashed in."""
    return {
        "task": task,
        "arm": arm,
        "depth": int(depth),
        "network": network,
        "seed": int(seed),
        "settings": settings_key(settings),
    }


def trained_sweep(
    store: TrialStore,
    tokenizer,
    train: GlueSplit,
    dev: GlueSplit,
    depths: Sequence[int],
    model_name: str = "albert-large-v2",
    weights: str = "pretrained",
    init: str = "glue",
    init_seed: int = 0,
    epochs: int | None = None,
    batch_size: int = 8,
    lr: float = TRAINED_LR,
    lr_decay: float = 0.9995,
    weight_decay: float = 0.0,
    seed: int = 42,
    n_tokens: int = MAX_SEQ_LENGTH,
    device: str | torch.device = "cpu",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = False,
    trial_fn: Callable[..., dict] = finetune_trial,
    **config_overrides,
) -> list[dict]:
    """Trained-encoder arm over ``depths``, resumable: each finished trial is stored at once.

    A trial already in ``store`` (same task, depth, network, seed and settings) is not rerun.
    Arguments as :func:`finetune_trial`; ``trial_fn`` is that function (replaceable in tests).
    Returns the records of all requested depths, in depth order.
    """
    task = get_task(train.task).name
    depths = check_depths(depths)
    epochs = default_epochs(task) if epochs is None else int(epochs)
    network = (
        f"{model_name} pretrained" if weights == "pretrained" else f"{model_name} random {init} #{init_seed}"
    )
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "lr_decay": lr_decay,
        "weight_decay": weight_decay,
        "n_tokens": n_tokens,
        "train_rows": train.indices.tolist(),
        "dev_rows": dev.indices.tolist(),
        "weights_dir": str(weights_dir) if weights_dir else None,
        "overrides": config_overrides,
    }
    train_enc, dev_enc = encode_split(tokenizer, train, n_tokens), encode_split(tokenizer, dev, n_tokens)
    train_labels, dev_labels = _labels_tensor(train), _labels_tensor(dev).numpy()
    records = []
    for depth in depths:
        key = trial_key(task, "trained", depth, network, seed, settings)
        if store.done(key):
            records.append(store.load(key))
            continue
        record = trial_fn(
            task,
            depth,
            train_enc,
            train_labels,
            dev_enc,
            dev_labels,
            model_name=model_name,
            weights=weights,
            init=init,
            init_seed=init_seed,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            seed=seed,
            device=device,
            weights_dir=weights_dir,
            data_dir=data_dir,
            **config_overrides,
        )
        store.save(key, record)
        records.append(store.load(key))
        if progress:
            print(f"trained {task} depth {depth}: {record['metric']} = {record['score']:.4f}")
    return records


def results_frame(records: Sequence[dict]):
    """Records of either arm -> a pandas DataFrame sorted by arm, network and depth."""
    import pandas as pd

    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "key"} for r in records])
    return frame.sort_values(["arm", "network", "depth"]).reset_index(drop=True) if len(frame) else frame


# ------------------------------------------------------------------------------- chapter driver


def parse_depths(depths: str | int | Sequence[int]) -> list[int]:
    """Depths from a list, an int (1..n), or text: ``"1..100"``, ``"1,2,4,8"``, ``"1..10,20,50"``."""
    if isinstance(depths, int):
        return check_depths(range(1, depths + 1))
    if isinstance(depths, str):
        out: list[int] = []
        for part in depths.replace(" ", "").split(","):
            if ".." in part:
                lo, hi = part.split("..")
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
        return check_depths(out)
    return check_depths(depths)


def network_label(model_name: str, weights: str, init: str, init_seed: int) -> str:
    """The label :class:`chaoslib.model.loading.ModelInfo` gives the network (before it is loaded)."""
    return (
        f"{model_name} pretrained" if weights == "pretrained" else f"{model_name} random {init} #{init_seed}"
    )


def glue_by_depth(
    results_dir: str | os.PathLike,
    tokenizer,
    train: GlueSplit,
    dev: GlueSplit,
    weights_list: Sequence[str] = ("pretrained", "random"),
    frozen_depths: Sequence[int] = range(1, 101),
    trained_depths: Sequence[int] = (),
    model_name: str = "albert-large-v2",
    init: str = "glue",
    init_seed: int = 0,
    frozen_epochs: int | None = None,
    trained_epochs: int | None = None,
    batch_size: int = 8,
    frozen_lr: float = FROZEN_LR,
    trained_lr: float = TRAINED_LR,
    lr_decay: float = 0.9995,
    seed: int = 42,
    n_tokens: int = MAX_SEQ_LENGTH,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    progress: bool = False,
    config_overrides: dict | None = None,
) -> tuple[list[dict], list[ModelInfo]]:
    """Both arms for every network in ``weights_list`` (pretrained and/or ``init``-initialised).

    Results go to ``<results_dir>/trials`` (one file per finished trial; the frozen arm of a
    network is one trial) and the frozen features to ``<results_dir>/features``; a rerun reuses
    both. A pretrained network that cannot be loaded raises
    :class:`chaoslib.errors.PretrainedWeightsUnavailable` (never replaced by random weights).

    ``config_overrides``: architecture fields for random networks (tests use tiny ones).
    Returns all records (see :func:`frozen_sweep`) and the :class:`ModelInfo` of each network.
    """
    overrides = dict(config_overrides or {})
    results_dir = Path(results_dir)
    store = TrialStore(results_dir / "trials")
    task = get_task(train.task).name
    records, infos = [], []
    frozen_depths = check_depths(frozen_depths) if len(frozen_depths) else []
    for weights in weights_list:
        if frozen_depths:
            settings = {
                "epochs": frozen_epochs,
                "batch_size": batch_size,
                "lr": frozen_lr,
                "lr_decay": lr_decay,
                "n_tokens": n_tokens,
                "depths": frozen_depths,
                "train_rows": train.indices.tolist(),
                "dev_rows": dev.indices.tolist(),
                "dtype": dtype,
                "weights_dir": str(weights_dir) if weights_dir else None,
                "overrides": overrides,
            }
            label = network_label(model_name, weights, init, init_seed)
            key = trial_key(task, "frozen", frozen_depths[-1], label, seed, settings)
            if store.done(key):
                stored = store.load(key)
                records.extend(stored["records"])
                infos.append(ModelInfo(**stored["info"]))
            else:
                model, info = load_albert(
                    model_name,
                    weights=weights,
                    init=init,
                    seed=init_seed,
                    weights_dir=weights_dir,
                    data_dir=data_dir,
                    device=device,
                    dtype=dtype,
                    **overrides,
                )
                frozen = frozen_sweep(
                    AlbertMap(model),
                    info,
                    tokenizer,
                    train,
                    dev,
                    depths=frozen_depths,
                    epochs=frozen_epochs,
                    batch_size=batch_size,
                    lr=frozen_lr,
                    lr_decay=lr_decay,
                    seed=seed,
                    n_tokens=n_tokens,
                    cache_dir=results_dir / "features",
                    progress=progress,
                )
                del model
                store.save(key, {"records": frozen, "info": info.as_dict()})
                records.extend(frozen)
                infos.append(info)
        if len(trained_depths):
            trained = trained_sweep(
                store,
                tokenizer,
                train,
                dev,
                trained_depths,
                model_name=model_name,
                weights=weights,
                init=init,
                init_seed=init_seed,
                epochs=trained_epochs,
                batch_size=batch_size,
                lr=trained_lr,
                lr_decay=lr_decay,
                seed=seed,
                n_tokens=n_tokens,
                device=device,
                weights_dir=weights_dir,
                data_dir=data_dir,
                progress=progress,
                **overrides,
            )
            records.extend(trained)
            if not frozen_depths:
                infos.append(
                    ModelInfo(
                        trained[0]["model"],
                        trained[0]["weights"],
                        trained[0]["init"],
                        trained[0]["init_seed"],
                        "see trials",
                    )
                )
    return records, infos


def chaos_time_scale(
    albert_map: AlbertMap,
    encoded: Encoded,
    masked: bool = True,
    eps: float = 1e-2,
    tau: int = 10,
    n_steps: int = 100,
    seed: int = 0,
) -> dict:
    """Chaos length (:func:`chaoslib.dynamics.lyapunov.chaos_length`) of the network on GLUE inputs.

    encoded: (n, tokens) inputs (e.g. a few dev pairs at max_seq_length). ``masked=True`` runs
    the map with their attention mask, i.e. the system whose pooled outputs the sweep reads;
    ``False`` runs the authors' dynamics (pads active). Returns per-input ``lengths`` and
    ``censored`` (numpy), the ``median`` length, the mean exponent per window and the settings.
    """
    from chaoslib.dynamics.lyapunov import local_exponents

    device = albert_map.w_qkv.device
    enc = encoded.to(device)
    mask = enc.attention_mask if masked else None
    x0 = albert_map.embed(enc)
    result = local_exponents(
        lambda x: albert_map.step(x, mask), x0, eps=eps, tau=tau, n_steps=n_steps, seed=seed
    )
    lengths, censored = result.chaos_length()
    return {
        "lengths": lengths.numpy(),
        "censored": censored.numpy(),
        "median": float(np.median(lengths.numpy())),
        "mean_exponent": result.mean().numpy(),
        "window_end": result.steps.numpy(),
        "eps": eps,
        "tau": tau,
        "n_steps": n_steps,
        "masked": masked,
    }


def chaos_time_scales(
    encoded: Encoded,
    weights_list: Sequence[str] = ("pretrained", "random"),
    model_name: str = "albert-large-v2",
    init: str = "glue",
    init_seed: int = 0,
    masked: bool = True,
    eps: float = 1e-2,
    tau: int = 10,
    n_steps: int = 100,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str = "float32",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    config_overrides: dict | None = None,
) -> dict[str, dict]:
    """:func:`chaos_time_scale` of each network of :func:`glue_by_depth`, keyed by network label.

    encoded: (n, tokens) inputs; columns that are padding in every row are cut first (under the
    mask they never influence the real tokens).
    """
    out = {}
    for weights in weights_list:
        model, info = load_albert(
            model_name,
            weights=weights,
            init=init,
            seed=init_seed,
            weights_dir=weights_dir,
            data_dir=data_dir,
            device=device,
            dtype=dtype,
            **dict(config_overrides or {}),
        )
        out[info.label()] = chaos_time_scale(
            AlbertMap(model), _trimmed(encoded), masked=masked, eps=eps, tau=tau, n_steps=n_steps, seed=seed
        )
        del model
    return out
