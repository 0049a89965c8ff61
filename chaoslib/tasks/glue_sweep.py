"""GLUE score against depth (SPEC 2.5): both arms, every network, the chaos length, one result.

The orchestrator of :mod:`glue_features` (frozen features from one trajectory),
:mod:`glue_frozen` (stacked heads, one per depth) and :mod:`glue_trained` (fine-tuning per
depth). Every trial goes through :func:`chaoslib.sweep.run_sweep`:

- frozen arm: one trial per network (all its depths from one pass);
- trained arm: one trial per (depth, network, seed).

Trials are plain functions of JSON settings (the task, the seeded subsample, the network, the
training settings), so they run in this process (``executor="local"``) or one Ray task each on a
cluster (``executor="ray"``); finished trials are stored and a rerun computes only what is
missing. :func:`glue_dataset` turns the records and the chaos lengths into the chapter's result.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from chaoslib.data.tokenization import load_tokenizer
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.loading import ModelInfo, load_albert
from chaoslib.sweep import run_sweep
from chaoslib.tasks.glue import DEV_SPLIT, GlueSplit, get_task, load_glue
from chaoslib.tasks.glue_features import MAX_SEQ_LENGTH, check_depths, encode_split
from chaoslib.tasks.glue_frozen import FROZEN_LR, N_BOOT, frozen_sweep, info_of
from chaoslib.tasks.glue_metrics import PRIMARY_METRIC
from chaoslib.tasks.glue_trained import TRAINED_LR, finetune_trial
from chaoslib.tasks.heads import MAX_GRAD_NORM

ARMS = ("frozen", "trained")


def load_subsets(
    task: str,
    n_train: int | None,
    n_dev: int | None,
    subsample_seed: int = 0,
    data_source: str = "local",
    data_dir: str | os.PathLike | None = None,
) -> tuple[GlueSplit, GlueSplit]:
    """The seeded train and dev subsamples of ``task`` (None: every row)."""
    spec = get_task(task)
    train = load_glue(spec.name, "train", source=data_source, data_dir=data_dir)
    dev = load_glue(spec.name, DEV_SPLIT[spec.name], source=data_source, data_dir=data_dir)
    return train.subsample(n_train, seed=subsample_seed), dev.subsample(n_dev, seed=subsample_seed)


def networks(weights_list: Sequence[str], init_seeds: Sequence[int]) -> list[dict]:
    """The networks of a comparison: the pretrained one once, a random one per init seed."""
    out = []
    for weights in weights_list:
        seeds = [None] if weights == "pretrained" else [int(s) for s in init_seeds]
        out.extend({"weights": weights, "init_seed": s} for s in seeds)
    return out


def _load_network(settings: dict, head: str = "base", **extra):
    return load_albert(
        settings["model_name"],
        weights=settings["weights"],
        init=settings["init"],
        seed=settings["init_seed"] or 0,
        head=head,
        weights_dir=settings["weights_dir"],
        data_dir=settings["data_dir"],
        device=settings["device"],
        dtype=settings["dtype"],
        **extra,
        **settings["overrides"],
    )


def frozen_trial(settings: dict, cache_dir: str | os.PathLike | None = None) -> dict:
    """One network's frozen arm (every depth) from its settings; for :func:`run_sweep`."""
    train, dev = load_subsets(
        settings["task"],
        settings["n_train"],
        settings["n_dev"],
        settings["subsample_seed"],
        settings["data_source"],
        settings["data_dir"],
    )
    model, info = _load_network(settings)
    records = frozen_sweep(
        AlbertMap(model),
        info,
        load_tokenizer(data_dir=settings["data_dir"]),
        train,
        dev,
        depths=settings["depths"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        lr_decay=settings["lr_decay"],
        # the dropout of AlbertForSequenceClassification before its classifier, from the config
        dropout=model.config.classifier_dropout_prob,
        max_grad_norm=settings["max_grad_norm"],
        seed=settings["seed"],
        n_tokens=settings["n_tokens"],
        n_boot=settings["n_boot"],
        cache_dir=cache_dir,
    )
    return {"records": records}


def trained_trial(settings: dict) -> dict:
    """One (depth, network, seed) fine-tuning run from its settings; for :func:`run_sweep`."""
    train, dev = load_subsets(
        settings["task"],
        settings["n_train"],
        settings["n_dev"],
        settings["subsample_seed"],
        settings["data_source"],
        settings["data_dir"],
    )
    tokenizer = load_tokenizer(data_dir=settings["data_dir"])
    record = finetune_trial(
        settings["task"],
        settings["depth"],
        encode_split(tokenizer, train, settings["n_tokens"]),
        torch.from_numpy(train.require_labels()),
        encode_split(tokenizer, dev, settings["n_tokens"]),
        dev.require_labels(),
        model_name=settings["model_name"],
        weights=settings["weights"],
        init=settings["init"],
        init_seed=settings["init_seed"] or 0,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        lr_decay=settings["lr_decay"],
        schedule=settings["schedule"],
        max_grad_norm=settings["max_grad_norm"],
        seed=settings["seed"],
        n_boot=settings["n_boot"],
        device=settings["device"],
        weights_dir=settings["weights_dir"],
        data_dir=settings["data_dir"],
        dtype=settings["dtype"],
        **settings["overrides"],
    )
    return {"record": record}


def glue_by_depth(
    results_dir: str | os.PathLike,
    task: str = "stsb",
    n_train: int | None = None,
    n_dev: int | None = None,
    subsample_seed: int = 0,
    data_source: str = "local",
    model_name: str = "albert-large-v2",
    weights_list: Sequence[str] = ("pretrained", "random"),
    init: str = "glue",
    init_seeds: Sequence[int] = (0,),
    frozen_depths: Sequence[int] = range(1, 101),
    trained_depths: Sequence[int] = (),
    trained_init_seeds: Sequence[int] | None = None,
    trained_n_train: int | None = None,
    frozen_epochs: int | None = None,
    trained_epochs: int | None = None,
    batch_size: int = 8,
    frozen_lr: float = FROZEN_LR,
    trained_lr: float = TRAINED_LR,
    lr_decay: float = 0.9995,
    trained_schedule: str = "authors",
    max_grad_norm: float | None = MAX_GRAD_NORM,
    seed: int = 42,
    n_tokens: int = MAX_SEQ_LENGTH,
    n_boot: int = N_BOOT,
    device: str = "cpu",
    dtype: str = "float32",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
    config_overrides: dict | None = None,
) -> tuple[list[dict], list[ModelInfo]]:
    """Both arms for every network (pretrained once, random ``init`` per seed in ``init_seeds``).

    Args:
        results_dir: the chapter's folder: finished trials in ``trials/``, frozen features in
            ``features/`` (local executor only); a rerun computes only what is missing.
        task, n_train, n_dev, subsample_seed, data_source, data_dir: the GLUE data (seeded
            subsamples of train and dev; None: every row).
        frozen_depths, trained_depths: the depths of each arm (empty: the arm is skipped).
        trained_init_seeds: the random networks of the trained arm (None: ``init_seeds``).
        trained_n_train: train rows of the trained arm (None: ``n_train``), a seeded subsample;
            the dev rows are those of the frozen arm.
        trained_schedule: ``"authors"`` (linear decay for pretrained, exponential for random, as
            their runs), ``"exponential"`` or ``"linear"``; the frozen arm is always exponential.
        max_grad_norm: gradient-norm clipping in both arms (per head in the frozen arm); None: off.
        n_boot: bootstrap resamples of the dev rows for every score's interval.
        executor, ray_address: where the trials run (:func:`chaoslib.sweep.run_sweep`).
        config_overrides: architecture fields for random networks (tests use tiny ones).

    A pretrained network that cannot be loaded raises
    :class:`chaoslib.errors.PretrainedWeightsUnavailable` (never replaced by random weights).
    Returns every record (:func:`chaoslib.tasks.glue_frozen.score_record`) and each network's
    :class:`ModelInfo`.
    """
    task = get_task(task).name
    results_dir = Path(results_dir)
    frozen_depths = check_depths(frozen_depths) if len(frozen_depths) else []
    trained_depths = check_depths(trained_depths) if len(trained_depths) else []
    common = {
        "task": task,
        "n_train": n_train,
        "n_dev": n_dev,
        "subsample_seed": subsample_seed,
        "data_source": data_source,
        "data_dir": str(data_dir) if data_dir else None,
        "model_name": model_name,
        "init": init,
        "batch_size": batch_size,
        "lr_decay": lr_decay,
        "max_grad_norm": max_grad_norm,
        "seed": seed,
        "n_tokens": n_tokens,
        "n_boot": n_boot,
        "device": str(device),
        "dtype": dtype,
        "weights_dir": str(weights_dir) if weights_dir else None,
        "overrides": dict(config_overrides or {}),
    }
    nets = networks(weights_list, init_seeds)
    store = results_dir / "trials"
    records: list[dict] = []
    infos: dict[str, ModelInfo] = {}
    if frozen_depths:
        trials = [
            {
                **common,
                **net,
                "arm": "frozen",
                "depths": frozen_depths,
                "epochs": frozen_epochs,
                "lr": frozen_lr,
            }
            for net in nets
        ]
        cache = results_dir / "features" if executor == "local" else None
        done = run_sweep(
            trials,
            functools.partial(frozen_trial, cache_dir=cache),
            executor=executor,
            ray_address=ray_address,
            store=store,
            progress=progress,
            desc="frozen arm (networks)",
        )
        for rec in done:
            records.extend(rec.result["records"])
            infos.setdefault(rec.result["records"][0]["network"], info_of(rec.result["records"][0]))
    if trained_depths:
        trials = [
            {
                **common,
                **net,
                "arm": "trained",
                "depth": d,
                "epochs": trained_epochs,
                "lr": trained_lr,
                "schedule": trained_schedule,
                "n_train": n_train if trained_n_train is None else trained_n_train,
            }
            for net in networks(
                weights_list, init_seeds if trained_init_seeds is None else trained_init_seeds
            )
            for d in trained_depths
        ]
        resources = {"num_gpus": 1} if str(device).startswith("cuda") else None
        done = run_sweep(
            trials,
            trained_trial,
            executor=executor,
            ray_address=ray_address,
            store=store,
            resources=resources,
            progress=progress,
            desc="trained arm (depth x network)",
        )
        for rec in done:
            records.append(rec.result["record"])
            infos.setdefault(rec.result["record"]["network"], info_of(rec.result["record"]))
    return records, list(infos.values())


def results_frame(records: Sequence[dict]):
    """Records of either arm -> a pandas DataFrame sorted by arm, network and depth."""
    import pandas as pd

    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "key"} for r in records])
    return frame.sort_values(["arm", "network", "depth"]).reset_index(drop=True) if len(frame) else frame


# ----------------------------------------------------------------------------- the chapter's result

_FIELDS = ("score", "score_low", "score_high", "pearson", "spearman", "train_loss")


def glue_dataset(records: Sequence[dict], chaos: dict[str, dict] | None = None) -> xr.Dataset:
    """Records (both arms) and chaos lengths -> one labelled result.

    Returns an ``xarray.Dataset`` with dims ``arm`` x ``network`` x ``depth``: ``score`` (the primary
    metric), ``score_low``/``score_high`` (its bootstrap interval over dev rows), and where the task
    has them ``pearson``/``spearman``/``train_loss`` (NaN where an arm did not run a depth); per
    network the coordinates ``weights`` and ``init_seed``, and ``chaos_length`` with its interval
    (``chaos_low``/``chaos_high``) and the ``chaos_censored`` fraction. Attributes: task, metric,
    n_train, n_dev.
    """
    frame = results_frame(records)
    nets = list(dict.fromkeys(frame.network))  # first-seen order
    arms = [a for a in ARMS if a in set(frame.arm)]
    depths = sorted(set(frame.depth.astype(int)))
    shape = (len(arms), len(nets), len(depths))
    data = {}
    for name in _FIELDS:
        if name not in frame:
            continue
        values = np.full(shape, np.nan)
        for row in frame.itertuples():
            values[arms.index(row.arm), nets.index(row.network), depths.index(int(row.depth))] = getattr(
                row, name
            )
        data[name] = (("arm", "network", "depth"), values)
    first = frame.drop_duplicates("network").set_index("network")
    seeds = [float(first.init_seed[n]) if first.weights[n] == "random" else np.nan for n in nets]
    coords = {
        "arm": arms,
        "network": nets,
        "depth": depths,
        "weights": ("network", [str(first.weights[n]) for n in nets]),
        "init_seed": ("network", seeds),
    }
    if chaos:
        for name, key in (
            ("chaos_length", "median"),
            ("chaos_low", "median_low"),
            ("chaos_high", "median_high"),
        ):
            data[name] = ("network", [float(chaos[n][key]) if n in chaos else np.nan for n in nets])
        data["chaos_censored"] = (
            "network",
            [float(np.mean(chaos[n]["censored"])) if n in chaos else np.nan for n in nets],
        )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        task=str(frame.task.iloc[0]),
        metric=PRIMARY_METRIC[str(frame.task.iloc[0])],
        n_train=int(frame.n_train.max()),
        n_dev=int(frame.n_dev.max()),
    )
    if chaos:
        some = next(iter(chaos.values()))
        ds.attrs.update(chaos_tau=int(some["tau"]), chaos_n_steps=int(some["n_steps"]))
    return ds
