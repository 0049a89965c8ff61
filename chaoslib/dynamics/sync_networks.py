"""sigma(t) and the chaos length of the same inputs, network by network (chapter 03's driver).

Kept apart from :mod:`chaoslib.dynamics.sync` (the plain analyses of a spread record), which the
runner's probes import: this module runs the runner, so it sits above it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import numpy as np
import torch
import xarray as xr

from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
from chaoslib.dynamics.network_sweep import run_networks
from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.errors import ChaoslibError


def network_synchronisation(
    networks: Mapping[str, Callable[[], tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]]],
    n_steps: int,
    tau: int = 50,
    eps: float = 1e-2,
    seed: int = 0,
    batch_size: int | None = None,
    progress: bool = False,
    executor: str = "local",
    ray_address: str | None = None,
    store_dir: str | os.PathLike | None = None,
):
    """sigma(t) and the chaos length of the same inputs, for several networks (one in memory at a time).

    Args:
        networks: label -> a function returning ``(step, x0)``, x0: (n_inputs, tokens, hidden)
            (e.g. ``chaoslib.dynamics.lyapunov.AlbertNetwork``); every network sees the same inputs.
        n_steps: horizon T of both the spread record (steps 0..T) and the exponents.
        tau, eps, seed, batch_size: the two-trajectory exponents (``chaoslib.dynamics.lyapunov.local_exponents``).
        executor, ray_address: ``"local"`` (in this process) or ``"ray"`` (one Ray task per network, on
            the cluster at ray_address; see :mod:`chaoslib.sweep`).
        store_dir: keep each finished network's result there; a rerun skips them.

    Returns:
        ``xarray.Dataset``: ``token_spread`` (network, sample, step) recorded on the device by the
        runner's ``TokenSpread`` probe (no states stored); ``exponent`` (network, sample, window);
        ``chaos_length`` and ``chaos_censored`` (network, sample) from ``chaoslib.dynamics.lyapunov.chaos_length``;
        ``steps_per_second`` (network) of the spread run; attrs tau, eps, seed, n_steps.
    """
    if not networks:
        raise ChaoslibError("networks is empty; pass label -> builder of (step, x0).")
    from chaoslib.dynamics.lyapunov import check_two_trajectory_settings

    check_two_trajectory_settings(eps, tau, n_steps)  # once, not once per network's trial
    parameters = dict(
        n_steps=int(n_steps), tau=int(tau), eps=float(eps), seed=int(seed), batch_size=batch_size
    )
    results = run_networks(
        "network_synchronisation",
        networks,
        _synchronisation_trial,
        parameters,
        executor,
        ray_address,
        store_dir,
        progress,
    )
    n_windows = results[0]["exponent"].shape[1]
    return xr.Dataset(
        {
            "token_spread": (("network", "sample", "step"), np.stack([r["token_spread"] for r in results])),
            "exponent": (("network", "sample", "window"), np.stack([r["exponent"] for r in results])),
            "chaos_length": (("network", "sample"), np.stack([r["chaos_length"] for r in results])),
            "chaos_censored": (("network", "sample"), np.stack([r["chaos_censored"] for r in results])),
            "steps_per_second": ("network", [r["steps_per_second"] for r in results]),
        },
        coords={
            "network": list(networks),
            "step": np.arange(n_steps + 1),
            "window": np.arange(n_windows),
            "window_end": ("window", (np.arange(n_windows) + 1) * tau),
        },
        attrs={"tau": int(tau), "eps": float(eps), "seed": int(seed), "n_steps": int(n_steps)},
    )


def _synchronisation_trial(step, x0: torch.Tensor, settings: dict, progress: bool) -> dict:
    """One network of :func:`network_synchronisation` (a sweep trial)."""
    n_steps, tau = settings["n_steps"], settings["tau"]
    run = run_trajectory(step, x0, n_steps, probes=(TokenSpread(),), progress=progress)
    result = local_exponents(
        step,
        x0,
        eps=settings["eps"],
        tau=tau,
        n_steps=n_steps,
        seed=settings["seed"],
        batch_size=settings["batch_size"],
        progress=progress,
    )
    length, censored = chaos_length(result.exponents, tau, n_steps)
    return {
        "token_spread": run["token_spread"].values,
        "exponent": result.exponents,
        "chaos_length": length,
        "chaos_censored": censored,
        "steps_per_second": float(run.attrs["steps_per_second"]),
    }
