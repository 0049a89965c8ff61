"""GLUE score against depth: both arms, every network, the chaos length, one result.

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr

from chaoslib.data.tokenization import load_tokenizer
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network
from chaoslib.sweep import run_sweep
from chaoslib.tasks.glue import get_task
from chaoslib.tasks.glue_chaos import chaos_time_scales
from chaoslib.tasks.glue_features import (
    MAX_SEQ_LENGTH,
    check_depths,
    encode_split,
    load_subsets,
    parse_depths,
)
from chaoslib.tasks.glue_frozen import FROZEN_LR, N_BOOT, frozen_sweep, info_of
from chaoslib.tasks.glue_metrics import PRIMARY_METRIC
from chaoslib.tasks.glue_trained import TRAINED_LR, finetune_trial
from chaoslib.tasks.heads import MAX_GRAD_NORM

ARMS = ("frozen", "trained")


def _subsets(settings: dict):
    """A trial's seeded (train, dev) subsamples of its task."""
    return load_subsets(*(settings[k] for k in ("task", "n_train", "n_dev", "subsample_seed", "data_source",
                                                "data_dir")))


def frozen_trial(settings: dict, cache_dir: str | os.PathLike | None = None) -> dict:
    """One network's frozen arm (every depth) from its settings; for :func:`run_sweep`."""
    train, dev = _subsets(settings)
    model, info = Network.from_key(settings["network"]).load(
        device=settings["device"],
        dtype=settings["dtype"],
        data_dir=settings["data_dir"],
        **settings["overrides"],
    )
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
        keep_predictions=bool(settings.get("predictions", False)),
    )
    return {"records": records}


def trained_trial(settings: dict) -> dict:
    """One (depth, network, seed) fine-tuning run from its settings; for :func:`run_sweep`."""
    train, dev = _subsets(settings)
    tokenizer = load_tokenizer(data_dir=settings["data_dir"])
    record = finetune_trial(
        settings["task"],
        settings["depth"],
        encode_split(tokenizer, train, settings["n_tokens"]),
        torch.from_numpy(train.require_labels()),
        encode_split(tokenizer, dev, settings["n_tokens"]),
        dev.require_labels(),
        Network.from_key(settings["network"]),
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        lr_decay=settings["lr_decay"],
        schedule=settings["schedule"],
        max_grad_norm=settings["max_grad_norm"],
        seed=settings["seed"],
        n_boot=settings["n_boot"],
        device=settings["device"],
        data_dir=settings["data_dir"],
        dtype=settings["dtype"],
        **settings["overrides"],
    )
    return {"record": record}


def glue_by_depth(
    results_dir: str | os.PathLike,
    networks: Sequence[Network],
    trained_networks: Sequence[Network] | None = None,
    task: str = "stsb",
    n_train: int | None = None,
    n_dev: int | None = None,
    subsample_seed: int = 0,
    data_source: str = "local",
    frozen_depths: Sequence[int] = range(1, 101),
    trained_depths: Sequence[int] = (),
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
    data_dir: str | os.PathLike | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    progress: bool = False,
    config_overrides: dict | None = None,
) -> tuple[list[dict], list[Network]]:
    """Both arms for every network.

    Args:
        results_dir: the chapter's folder: finished trials in ``trials/``, frozen features in
            ``features/`` (local executor only); a rerun computes only what is missing.
        networks: the networks of the frozen arm, in order (e.g. the network under test, then the random
            networks it is compared with: :func:`chaoslib.model.network.reference_and_comparisons`).
        trained_networks: the networks of the trained arm (None: ``networks``).
        task, n_train, n_dev, subsample_seed, data_source, data_dir: the GLUE data (seeded
            subsamples of train and dev; None: every row).
        frozen_depths, trained_depths: the depths of each arm (empty: the arm is skipped).
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
    :class:`Network`.
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
        "batch_size": batch_size,
        "lr_decay": lr_decay,
        "max_grad_norm": max_grad_norm,
        "seed": seed,
        "n_tokens": n_tokens,
        "n_boot": n_boot,
        "device": str(device),
        "dtype": dtype,
        "overrides": dict(config_overrides or {}),
    }
    networks = list(networks)
    trained_networks = networks if trained_networks is None else list(trained_networks)
    # both arms' trials go to one store, through the same executor
    sweep = functools.partial(run_sweep, executor=executor, ray_address=ray_address, store=results_dir / "trials",
                              progress=progress)
    records: list[dict] = []
    infos: dict[str, Network] = {}
    if frozen_depths:
        # "predictions": the records keep the heads' dev outputs (a depth chosen on half the rows is scored on
        # the other half); a store of trials from before they did is not read for them
        trials = [{**common, "network": net.key(), "arm": "frozen", "depths": frozen_depths,
                   "epochs": frozen_epochs, "lr": frozen_lr, "predictions": True} for net in networks]
        cache = results_dir / "features" if executor == "local" else None
        done = sweep(trials, functools.partial(frozen_trial, cache_dir=cache), desc="frozen arm (networks)")
        for rec in done:
            records.extend(rec.result["records"])
            infos.setdefault(rec.result["records"][0]["network"], info_of(rec.result["records"][0]))
    if trained_depths:
        trials = [
            {
                **common,
                "network": net.key(),
                "arm": "trained",
                "depth": d,
                "epochs": trained_epochs,
                "lr": trained_lr,
                "schedule": trained_schedule,
                "n_train": n_train if trained_n_train is None else trained_n_train,
            }
            for net in trained_networks
            for d in trained_depths
        ]
        resources = {"num_gpus": 1} if str(device).startswith("cuda") else None
        done = sweep(trials, trained_trial, resources=resources, desc="trained arm (depth x network)")
        for rec in done:
            records.append(rec.result["record"])
            infos.setdefault(rec.result["record"]["network"], info_of(rec.result["record"]))
    return records, list(infos.values())


_ROW_FIELDS = ("key", "predictions", "dev_labels")


def results_frame(records: Sequence[dict]):
    """Records of either arm -> a pandas DataFrame sorted by arm, network and depth (without the dev outputs
    a frozen record may keep)."""
    import pandas as pd

    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in _ROW_FIELDS} for r in records])
    return frame.sort_values(["arm", "network", "depth"]).reset_index(drop=True) if len(frame) else frame


# ----------------------------------------------------------------------------- the chapter's result

_FIELDS = ("score", "score_low", "score_high", "pearson", "spearman", "train_loss")
REFERENCE, COMPARISON = "reference", "comparison"


def _frozen_predictions(records: Sequence[dict], nets: list[str], depths: list[int]) -> dict:
    """``prediction`` (network, depth, row, output) and ``label`` (row) from the frozen records that kept them
    (:func:`chaoslib.tasks.glue_frozen.frozen_sweep` with ``keep_predictions``); {} when none did."""
    kept = [r for r in records if r["arm"] == "frozen" and "predictions" in r]
    if not kept:
        return {}
    first = np.asarray(kept[0]["predictions"], dtype=float)
    first = first.reshape(len(first), -1)
    values = np.full((len(nets), len(depths), *first.shape), np.nan)
    for r in kept:
        out = np.asarray(r["predictions"], dtype=float)
        values[nets.index(r["network"]), depths.index(int(r["depth"]))] = out.reshape(len(out), -1)
    return {"prediction": (("network", "depth", "row", "output"), values),
            "label": ("row", np.asarray(kept[0]["dev_labels"], dtype=float))}


def glue_dataset(records: Sequence[dict], chaos: dict[str, dict] | None = None) -> xr.Dataset:
    """Records (both arms) and chaos lengths -> one labelled result.

    Returns an ``xarray.Dataset`` with dims ``arm`` x ``network`` x ``depth``: ``score`` (the primary
    metric), ``score_low``/``score_high`` (its bootstrap interval over dev rows), and where the task
    has them ``pearson``/``spearman``/``train_loss`` (NaN where an arm did not run a depth); where the
    frozen records kept them, the frozen heads' dev outputs ``prediction`` (network, depth, row, output) and
    the dev ``label`` (row); per network the coordinates ``role`` (the first network, the one under test:
    ``"reference"``; the others ``"comparison"``), ``weights`` and ``init_seed``, and ``chaos_length`` with
    its interval (``chaos_low``/``chaos_high``) and the ``chaos_censored`` fraction. Attributes: task,
    metric, n_train, n_dev.
    """
    frame = results_frame(records)
    nets = list(dict.fromkeys(r["network"] for r in records))  # records' order: the reference first
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
    data.update(_frozen_predictions(records, nets, depths))
    first = frame.drop_duplicates("network").set_index("network")
    seeds = [float(first.init_seed[n]) if first.weights[n] == "random" else np.nan for n in nets]
    coords = {
        "arm": arms,
        "network": nets,
        "depth": depths,
        "role": ("network", [REFERENCE] + [COMPARISON] * (len(nets) - 1)),
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


# ----------------------------------------------------------------------------- the chapter's run


def chapter_result(
    networks: Sequence[Network], parameters: Mapping[str, Any], results_dir: str | os.PathLike, device: Any
) -> tuple[xr.Dataset, list[Network]]:
    """The GLUE-by-depth chapter's result from its networks and parameters (the notebook's parameters cell).

    ``networks``: the one under test, then the random networks it is compared with
    (:func:`chaoslib.model.network.reference_and_comparisons`, ``Chapter.networks``). The trained arm runs
    the one under test and the random networks (``model_name``, ``comparison_init``) of
    ``trained_comparison_seeds`` (None: ``networks``). Both arms (:func:`glue_by_depth`) and the chaos time
    scales of ``networks`` on the task's dev pairs (:func:`chaoslib.tasks.glue_chaos.chaos_time_scales`,
    seeded by ``subsample_seed``) make one :func:`glue_dataset`. Returns it and the networks as loaded (in
    the order of their first record).
    """
    p, networks = dict(parameters), list(networks)
    trained = networks
    if p["trained_comparison_seeds"] is not None:
        trained = networks[:1] + [
            Network(p["model_name"], "random", init=p["comparison_init"], seed=int(s))
            for s in p["trained_comparison_seeds"]
        ]
    common = dict(task=p["task"], subsample_seed=p["subsample_seed"], data_source=p["data_source"],
                  n_tokens=p["n_tokens"], device=str(device), dtype=p["dtype"], data_dir=p["data_dir"])
    records, loaded = glue_by_depth(
        results_dir, networks, trained, n_train=p["n_train"], n_dev=p["n_dev"],
        frozen_depths=parse_depths(p["frozen_depths"]), trained_depths=parse_depths(p["trained_depths"]),
        trained_n_train=p["trained_n_train"], frozen_epochs=p["frozen_epochs"],
        trained_epochs=p["trained_epochs"], batch_size=p["batch_size"], frozen_lr=p["frozen_lr"],
        trained_lr=p["trained_lr"], lr_decay=p["lr_decay"],
        trained_schedule=p["trained_schedule"], max_grad_norm=p["max_grad_norm"], seed=p["seed"],
        n_boot=p["n_boot"], executor=p["executor"], ray_address=p["ray_address"], **common,
    )
    chaos = chaos_time_scales(
        networks, n_samples=p["chaos_n_samples"], masked=p["chaos_masked"], eps=p["chaos_eps"],
        tau=p["chaos_tau"], n_steps=p["chaos_n_steps"], seed=p["subsample_seed"], **common,
    )
    return glue_dataset(records, chaos), loaded
