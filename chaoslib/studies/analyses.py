"""The analyses that :func:`chaoslib.studies.compare.compare_networks` runs on each network.

An analysis is a small frozen description (its parameters) with three parts:

- ``parameters()``: its settings as JSON values (part of the key of a stored result);
- ``run(step, x0, progress) -> dict``: the estimator on one network's map and initial states
  x0 (samples, tokens, hidden), arrays without a network dimension, named as in ``variables``;
- ``coords(result)`` and ``attrs(result)``: the dataset's coordinates and attributes; ``finish(ds)`` adds what is
  computed from all networks at once.

Names are the same across the package: ``sample`` (an input), ``step`` (an iteration, 0..T),
``window`` (a renormalisation window of the two-trajectory method) with coordinate ``window_end`` (the step at
its end), ``chaos_length`` and ``chaos_censored`` (the run of non-contracting windows and whether it reached
the horizon).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.dynamics.lyapunov import chaos_length, check_two_trajectory_settings, local_exponents
from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.errors import ChaoslibError

Map = Callable[[torch.Tensor], torch.Tensor]


class Analysis:
    """Base of the analyses (see the module docstring)."""

    name: ClassVar[str]
    variables: ClassVar[dict[str, tuple[str, ...]]]  # variable -> its dimensions for one network
    chunks_inputs: ClassVar[bool] = False  # True: batch_size splits the inputs (no attention mask then)

    def parameters(self) -> dict:
        return {k: v for k, v in asdict(self).items()}

    def check(self) -> None:
        """Refuse bad settings once, before any network is loaded."""

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        raise NotImplementedError

    def coords(self, result: dict[str, Any]) -> dict:
        return {}

    def attrs(self, result: dict[str, Any]) -> dict:
        return self.parameters()

    def finish(self, ds):
        return ds


def _windows(n_windows: int, tau: int, perturb_at: int = 0) -> dict:
    return {"window": np.arange(n_windows), "window_end": ("window", perturb_at + (np.arange(n_windows) + 1) * tau)}


@dataclass(frozen=True)
class Exponents(Analysis):
    """Local Lyapunov exponents and the chaos length (:func:`chaoslib.dynamics.lyapunov.local_exponents`),
    the same perturbation directions (``seed``) for every network.

    Dataset: ``exponent`` (network, sample, window), ``chaos_length`` and ``chaos_censored`` (network, sample),
    ``mean_exponent`` (network, window) over the finite exponents; coordinate ``window_end``.
    """

    eps: float = 1e-2
    tau: int = 50
    n_steps: int = 1000
    seed: int = 0
    batch_size: int | None = None
    perturb_at: int = 0

    name: ClassVar[str] = "exponents"
    variables: ClassVar = {
        "exponent": ("sample", "window"),
        "chaos_length": ("sample",),
        "chaos_censored": ("sample",),
    }
    chunks_inputs: ClassVar[bool] = True

    def parameters(self) -> dict:
        parameters = dict(eps=float(self.eps), tau=int(self.tau), n_steps=int(self.n_steps), seed=int(self.seed),
                          batch_size=self.batch_size)
        if self.perturb_at:  # absent for the authors' protocol, so results stored before the option keep their keys
            parameters["perturb_at"] = int(self.perturb_at)
        return parameters

    def attrs(self, result: dict[str, Any]) -> dict:
        return {"eps": float(self.eps), "tau": int(self.tau), "n_steps": int(self.n_steps), "seed": int(self.seed),
                "perturb_at": int(self.perturb_at)}

    def check(self) -> None:
        check_two_trajectory_settings(self.eps, self.tau, self.n_steps, self.perturb_at)

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        result = local_exponents(step, x0, eps=self.eps, tau=self.tau, n_steps=self.n_steps, seed=self.seed,
                                 batch_size=self.batch_size, progress=progress, perturb_at=self.perturb_at)
        length, censored = result.chaos_length()
        return {"exponent": result.exponents, "chaos_length": length, "chaos_censored": censored}

    def coords(self, result: dict[str, Any]) -> dict:
        return _windows(self.n_steps // self.tau, self.tau, self.perturb_at)

    def finish(self, ds):
        finite = np.where(np.isfinite(ds.exponent), ds.exponent, np.nan)
        ds["mean_exponent"] = (("network", "window"), np.nanmean(finite, axis=1))
        return ds


@dataclass(frozen=True)
class Synchronisation(Analysis):
    """sigma(t), the tokens' spread over steps 0..T (the runner's ``TokenSpread`` probe, no states stored), and
    the local exponents and chaos length of the same inputs over the same horizon.

    Dataset: ``token_spread`` (network, sample, step), ``exponent`` (network, sample, window),
    ``chaos_length`` and ``chaos_censored`` (network, sample), ``steps_per_second`` (network).
    """

    n_steps: int = 1000
    tau: int = 50
    eps: float = 1e-2
    seed: int = 0
    batch_size: int | None = None

    name: ClassVar[str] = "synchronisation"
    variables: ClassVar = {
        "token_spread": ("sample", "step"),
        "exponent": ("sample", "window"),
        "chaos_length": ("sample",),
        "chaos_censored": ("sample",),
        "steps_per_second": (),
    }
    chunks_inputs: ClassVar[bool] = True

    def parameters(self) -> dict:
        return dict(n_steps=int(self.n_steps), tau=int(self.tau), eps=float(self.eps), seed=int(self.seed),
                    batch_size=self.batch_size)

    def attrs(self, result: dict[str, Any]) -> dict:
        return {k: v for k, v in self.parameters().items() if k != "batch_size"}

    def check(self) -> None:
        check_two_trajectory_settings(self.eps, self.tau, self.n_steps)

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        spread = run_trajectory(step, x0, self.n_steps, probes=(TokenSpread(),), progress=progress)
        result = local_exponents(step, x0, eps=self.eps, tau=self.tau, n_steps=self.n_steps, seed=self.seed,
                                 batch_size=self.batch_size, progress=progress)
        length, censored = chaos_length(result.exponents, self.tau, self.n_steps)
        return {"token_spread": spread["token_spread"].values, "exponent": result.exponents,
                "chaos_length": length, "chaos_censored": censored,
                "steps_per_second": float(spread.attrs["steps_per_second"])}

    def coords(self, result: dict[str, Any]) -> dict:
        return {"step": np.arange(self.n_steps + 1), **_windows(self.n_steps // self.tau, self.tau)}


@dataclass(frozen=True)
class EffectiveDimensions(Analysis):
    """ED(t), the participation ratio of the states' covariance over samples and tokens, steps 0..T
    (:func:`chaoslib.dynamics.effective_dimension.effective_dimension_trajectory`).

    Dataset: ``effective_dimension``, ``total_variance``, ``relative_variance``, ``resolved`` (network, step),
    ``steps_per_second`` (network); attrs n_samples.
    """

    n_steps: int = 100
    batch_size: int | None = None
    gram_dtype: str = "float64"

    name: ClassVar[str] = "effective_dimensions"
    variables: ClassVar = {
        "effective_dimension": ("step",),
        "total_variance": ("step",),
        "relative_variance": ("step",),
        "resolved": ("step",),
        "steps_per_second": (),
    }

    def check(self) -> None:
        from chaoslib.settings import DTYPES

        if self.gram_dtype not in DTYPES:
            raise ChaoslibError(f"gram_dtype={self.gram_dtype!r}; use one of {list(DTYPES)}.")
        if self.n_steps < 0:
            raise ChaoslibError(f"n_steps={self.n_steps} must be >= 0.")

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        from chaoslib.settings import resolve_dtype

        run = effective_dimension_trajectory(step, x0, self.n_steps, self.batch_size,
                                             gram_dtype=resolve_dtype(self.gram_dtype), progress=progress)
        return {"effective_dimension": run.effective_dimension, "total_variance": run.total_variance,
                "relative_variance": run.relative_variance, "resolved": run.resolved,
                "steps_per_second": run.steps_per_second, "steps": run.steps, "n_samples": run.n_samples}

    def coords(self, result: dict[str, Any]) -> dict:
        return {"step": result["steps"]}

    def attrs(self, result: dict[str, Any]) -> dict:
        return {"n_samples": int(result["n_samples"])}


@dataclass(frozen=True)
class Spectrum(Analysis):
    """The top-k Lyapunov spectrum of the first ``n_samples`` inputs
    (:func:`chaoslib.dynamics.spectrum.lyapunov_spectrum`).

    Dataset: ``exponent`` (network, sample, index), ``window_exponent`` (network, sample, window, index),
    ``kaplan_yorke`` (network, sample); coordinates ``index`` (1..k), ``window_end``.
    """

    k: int = 8
    n_steps: int = 100
    window: int | None = None
    n_samples: int = 2
    seed: int = 0

    name: ClassVar[str] = "spectrum"
    variables: ClassVar = {
        "exponent": ("sample", "index"),
        "window_exponent": ("sample", "window", "index"),
        "kaplan_yorke": ("sample",),
    }

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        from chaoslib.dynamics.spectrum import lyapunov_spectrum

        spectrum = lyapunov_spectrum(step, x0[: self.n_samples], k=self.k, n_steps=self.n_steps,
                                     window=self.window, seed=self.seed, progress=progress)
        ds = spectrum.to_dataset()
        return {**{name: ds[name].values for name in self.variables},
                "window_ends": spectrum.window_steps.numpy(), "settings": dict(ds.attrs)}

    def coords(self, result: dict[str, Any]) -> dict:
        ends = np.asarray(result["window_ends"])
        return {"index": np.arange(1, self.k + 1), "window": np.arange(len(ends)), "window_end": ("window", ends)}

    def attrs(self, result: dict[str, Any]) -> dict:
        return dict(result["settings"])


@dataclass(frozen=True)
class EpsSensitivity(Analysis):
    """Local exponents of the first ``n_samples`` inputs for several perturbation sizes
    (:func:`chaoslib.dynamics.lyapunov.eps_sensitivity`).

    Dataset: ``exponent`` (network, eps, sample, window), ``chaos_length``, ``chaos_censored``, ``resolution``
    (network, eps, sample); coordinates ``eps``, ``window_end``; attrs tau, n_steps, seed, dtype.
    """

    eps_values: tuple[float, ...] = (1e-2, 1e-1, 1.0)
    tau: int = 50
    n_steps: int = 1000
    n_samples: int = 8
    seed: int = 0
    batch_size: int | None = None

    name: ClassVar[str] = "eps_sensitivity"
    variables: ClassVar = {
        "exponent": ("eps", "sample", "window"),
        "chaos_length": ("eps", "sample"),
        "chaos_censored": ("eps", "sample"),
        "resolution": ("eps", "sample"),
    }
    chunks_inputs: ClassVar[bool] = True

    def parameters(self) -> dict:
        return {**asdict(self), "eps_values": [float(e) for e in self.eps_values]}

    def check(self) -> None:
        for eps in self.eps_values:
            check_two_trajectory_settings(eps, self.tau, self.n_steps)

    def run(self, step: Map, x0: torch.Tensor, progress: bool) -> dict[str, Any]:
        from chaoslib.dynamics.lyapunov import eps_sensitivity

        ds = eps_sensitivity(step, x0[: self.n_samples], eps_values=self.eps_values, tau=self.tau,
                             n_steps=self.n_steps, seed=self.seed, batch_size=self.batch_size)
        return {**{name: ds[name].values for name in self.variables}, "dtype": ds.attrs["dtype"]}

    def coords(self, result: dict[str, Any]) -> dict:
        return {"eps": [float(e) for e in self.eps_values], **_windows(self.n_steps // self.tau, self.tau)}

    def attrs(self, result: dict[str, Any]) -> dict:
        return {"tau": int(self.tau), "n_steps": int(self.n_steps), "seed": int(self.seed), "dtype": result["dtype"]}
