"""One sweep trial per network: the common part of the dynamics chapters' multi-network drivers.

``network_exponents`` (lyapunov), ``network_synchronisation`` (sync_networks) and
``network_effective_dimensions`` (effective_dimension) each run the same analysis on several
networks, independently. Each network is one trial of :func:`chaoslib.sweep.run_sweep`, so the
drivers run in-process (``executor="local"``) or one Ray task per network (``executor="ray"``),
and with ``store_dir`` a rerun skips the networks already finished.

A trial's settings are the driver's name, the network's label, what the builder says it builds
(``builder.settings``, e.g. :class:`chaoslib.dynamics.lyapunov.AlbertNetwork`'s model and input
fingerprint) and the analysis parameters; they key the stored result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch

from chaoslib.errors import ChaoslibError
from chaoslib.sweep import run_sweep

Map = Callable[[torch.Tensor], torch.Tensor]
Builder = Callable[[], tuple[Map, torch.Tensor]]
NetworkTrial = Callable[[Map, torch.Tensor, dict, bool], dict]


def _builder_settings(build: Builder, label: str, store_dir: str | os.PathLike | None) -> Any:
    settings = getattr(build, "settings", None)
    if settings is None and store_dir is not None:
        raise ChaoslibError(
            f"network {label!r} is built by a {type(build).__name__} that does not describe itself "
            f"(no `settings`), so a stored result could not be told apart from another network's. "
            f"Use chaoslib.dynamics.lyapunov.AlbertNetwork (or give the builder a `settings` dict), "
            f"or pass store_dir=None."
        )
    return settings


def _resources(build: Builder) -> dict:
    return dict(getattr(build, "resources", None) or {"num_cpus": 1})


def _network_trial(
    settings: dict, networks: Mapping[str, Builder], trial: NetworkTrial, progress: bool
) -> dict:
    """Worker side: build one network, run the analysis, add the network's ModelInfo if it has one."""
    build = networks[settings["network"]]
    step, x0 = build()
    result = dict(trial(step, x0, settings, progress))
    info = getattr(build, "info", None)
    if info is not None and hasattr(info, "as_dict"):
        result["info"] = info.as_dict()
    return result


def run_networks(
    driver: str,
    networks: Mapping[str, Builder],
    trial: NetworkTrial,
    parameters: dict,
    executor: str = "local",
    ray_address: str | None = None,
    store_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> list[dict]:
    """Run ``trial(step, x0, settings, progress)`` on every network; results in ``networks`` order.

    Args:
        driver: the calling driver's name (part of every trial's settings).
        networks: label -> builder returning ``(step, x0)``; for Ray the builders must be picklable.
        trial: a module-level function; ``settings`` holds ``parameters`` (JSON values).
        parameters: the analysis parameters, part of the key of a stored result.
        executor, ray_address, store_dir: see :func:`chaoslib.sweep.run_sweep`.
        progress: a bar over networks; also the analyses' own bars when running in-process.

    Builders with an ``info`` attribute (AlbertNetwork) get it set from the result, wherever the
    network was built (in a Ray worker the driver's builder is never called).
    """
    if not networks:
        raise ChaoslibError("networks is empty; pass label -> builder of (step, x0).")
    trials = [
        {
            "driver": driver,
            "network": label,
            "builder": _builder_settings(build, label, store_dir),
            **parameters,
        }
        for label, build in networks.items()
    ]
    records = run_sweep(
        trials,
        partial(
            _network_trial, networks=dict(networks), trial=trial, progress=progress and executor == "local"
        ),
        executor=executor,
        ray_address=ray_address,
        store=store_dir,
        resources=lambda settings: _resources(networks[settings["network"]]),
        progress=progress,
        desc=driver,
    )
    results = [record.result for record in records]
    for build, result in zip(networks.values(), results, strict=True):
        if "info" in result and hasattr(build, "info"):
            from chaoslib.model.loading import ModelInfo

            build.info = ModelInfo(**result["info"])
    return results
