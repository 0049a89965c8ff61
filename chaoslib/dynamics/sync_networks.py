"""sigma(t) and the chaos length of the same inputs, network by network (chapter 03's driver).

Kept apart from :mod:`chaoslib.dynamics.sync` (the plain analyses of a spread record), which the
runner's probes import: this module runs the runner, so it sits above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
import xarray as xr

from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
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
):
    """sigma(t) and the chaos length of the same inputs, for several networks (one in memory at a time).

    Args:
        networks: label -> a function returning ``(step, x0)``, x0: (n_inputs, tokens, hidden)
            (e.g. ``chaoslib.dynamics.lyapunov.AlbertNetwork``); every network sees the same inputs.
        n_steps: horizon T of both the spread record (steps 0..T) and the exponents.
        tau, eps, seed, batch_size: the two-trajectory exponents (``chaoslib.dynamics.lyapunov.local_exponents``).

    Returns:
        ``xarray.Dataset``: ``token_spread`` (network, sample, step) recorded on the device by the
        runner's ``TokenSpread`` probe (no states stored); ``exponent`` (network, sample, window);
        ``chaos_length`` and ``chaos_censored`` (network, sample) from ``chaoslib.dynamics.lyapunov.chaos_length``;
        ``steps_per_second`` (network) of the spread run; attrs tau, eps, seed, n_steps.
    """
    if not networks:
        raise ChaoslibError("networks is empty; pass label -> builder of (step, x0).")
    spreads, exponents, lengths, censored, speeds = [], [], [], [], []
    for build in networks.values():
        step, x0 = build()
        run = run_trajectory(step, x0, n_steps, probes=(TokenSpread(),), progress=progress)
        result = local_exponents(
            step, x0, eps=eps, tau=tau, n_steps=n_steps, seed=seed, batch_size=batch_size, progress=progress
        )
        length, cens = chaos_length(result.exponents, tau, n_steps)
        spreads.append(run["token_spread"].values)
        exponents.append(result.exponents.cpu().numpy())
        lengths.append(length.cpu().numpy())
        censored.append(cens.cpu().numpy())
        speeds.append(float(run.attrs["steps_per_second"]))
        del step, x0, run, result
    n_windows = exponents[0].shape[1]
    return xr.Dataset(
        {
            "token_spread": (("network", "sample", "step"), np.stack(spreads)),
            "exponent": (("network", "sample", "window"), np.stack(exponents)),
            "chaos_length": (("network", "sample"), np.stack(lengths)),
            "chaos_censored": (("network", "sample"), np.stack(censored)),
            "steps_per_second": ("network", speeds),
        },
        coords={
            "network": list(networks),
            "step": np.arange(n_steps + 1),
            "window": np.arange(n_windows),
            "window_end": ("window", (np.arange(n_windows) + 1) * tau),
        },
        attrs={"tau": int(tau), "eps": float(eps), "seed": int(seed), "n_steps": int(n_steps)},
    )
