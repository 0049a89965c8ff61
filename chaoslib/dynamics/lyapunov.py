"""Local Lyapunov exponents by two trajectories, and the chaos length.

The two-trajectory method of the paper, for many inputs at once:

1. perturb ``x(0)`` along a Gaussian direction over the whole state, Frobenius norm ``eps``
   per sample;
2. iterate both copies ``tau`` steps (stacked in ONE batch, so one call of the map advances
   both); ``d_k = ||x~ - x||_F`` over the whole state;
3. ``lambda_k = ln(d_k / eps) / tau``; renormalise ``x~ = x + eps (x~ - x) / d_k``; repeat.

Works for any map ``step(x: (batch, *state)) -> (batch, *state)`` that acts on each sample
independently (a :class:`chaoslib.model.protocol.WeightTiedMap`'s ``step``, the toy maps of :mod:`chaoslib.dynamics.toymaps`).

Windows are counted from 0: ``lambda_0`` covers steps 0..tau, ``lambda_k`` covers steps
k*tau..(k+1)*tau (the first one, ``lambda_0``, is the one reproduction target R1 reads).

Where the perturbation starts (``perturb_at``). The authors perturb ``x(0)``, the embedding
projection's output, which no LayerNorm has normalised: the first step's LayerNorm then rescales the
perturbation by about ``gamma / std(x(0))`` once, so ``lambda_0`` carries a one-off rescaling that even
an untrained network shows. ``perturb_at=1`` perturbs ``x(1)`` instead (the state after one step,
already normalised): window ``k`` then covers steps ``1 + k*tau .. 1 + (k+1)*tau``, and the chaos
length still counts the steps of the unbroken run of non-contracting windows (the same formula), so
the two protocols' lengths differ by at most that one step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from chaoslib.errors import ChaoslibError

Map = Callable[[torch.Tensor], torch.Tensor]

# The separation d_k is a difference of two states, so it carries a rounding error of about
# float_eps * ||x|| per step. Below this relative resolution (rounding / eps) we warn.
RESOLUTION_WARNING = 1e-3


class PerturbationResolutionWarning(UserWarning):
    """eps is so small against the state's norm that rounding shows up in ``d_k``."""


@dataclass
class LocalExponents:
    """Local Lyapunov exponents of a batch of inputs.

    Attributes:
        exponents: (batch, n_windows) ``lambda_k`` per input and window; ``-inf`` where the
            separation underflowed to exactly 0 (the copies merged in floating point; a fresh
            direction of norm eps is then drawn, see ``collapsed``).
        steps: (n_windows,) the step at the END of each window: tau, 2 tau, ..., n_steps.
        eps, tau: the perturbation size and the renormalisation interval.
        n_steps: the horizon T.
        resolution: (batch,) float_eps * max_t ||x(t)|| / eps over x(0) and the window ends: the
            relative rounding of d_k (ALBERT's state grows after the first LayerNorm).
        collapsed: (batch, n_windows) True where the copies merged (separation exactly 0).
        perturb_at: the step whose state was perturbed (0: x(0), the authors' protocol).
    """

    exponents: torch.Tensor
    steps: torch.Tensor
    eps: float
    tau: int
    n_steps: int
    resolution: torch.Tensor = field(repr=False)
    collapsed: torch.Tensor = field(repr=False)
    perturb_at: int = 0

    @property
    def n_windows(self) -> int:
        return self.exponents.shape[1]

    def mean(self) -> torch.Tensor:
        """(n_windows,) mean over inputs of the finite exponents (merged copies left out; NaN if none)."""
        finite = torch.isfinite(self.exponents)
        return torch.where(finite, self.exponents, torch.nan).nanmean(0)

    def quantiles(self, q: tuple[float, ...] = (0.1, 0.5, 0.9)) -> torch.Tensor:
        """(len(q), n_windows) quantiles over inputs (``-inf`` counts as the smallest value)."""
        values = self.exponents.double().clamp(min=torch.finfo(torch.float64).min)
        return torch.quantile(values, torch.tensor(q, dtype=torch.float64), dim=0).to(self.exponents.dtype)

    def time_average(self) -> torch.Tensor:
        """(batch,) ``ln(prod d_k / eps) / n_steps``: the finite-time top exponent over the horizon."""
        return self.exponents.mean(1)

    def chaos_length(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch,) chaos length and (batch,) censored flag, see :func:`chaos_length`."""
        return chaos_length(self.exponents, self.tau, self.n_steps)

    def to_dataset(self):
        """``xarray.Dataset``: ``exponent`` (sample, window), ``chaos_length``, ``chaos_censored`` and
        ``resolution`` (sample); coordinate ``window_end`` (window); attrs eps, tau, n_steps, perturb_at."""
        import xarray as xr

        length, censored = self.chaos_length()
        return xr.Dataset(
            {
                "exponent": (("sample", "window"), self.exponents.numpy()),
                "chaos_length": ("sample", length.numpy()),
                "chaos_censored": ("sample", censored.numpy()),
                "resolution": ("sample", self.resolution.numpy()),
            },
            coords={"window": np.arange(self.n_windows), "window_end": ("window", self.steps.numpy())},
            attrs={"eps": self.eps, "tau": self.tau, "n_steps": self.n_steps, "perturb_at": self.perturb_at},
        )


def perturbation_directions(
    n_samples: int, state_shape: tuple[int, ...], seed: int, first_sample: int = 0
) -> torch.Tensor:
    """(n_samples, *state_shape) float64 standard normal directions, unit Frobenius norm per sample.

    Sample ``i`` uses the stream ``numpy.random.default_rng([seed, i])``, so a direction does not
    depend on the batch size, on chunking, or on the device. :mod:`chaoslib.dynamics.spectrum` starts its
    first tangent vector from the same stream (so both methods can be compared on one direction).
    """
    size = math.prod(state_shape)
    out = np.empty((n_samples, size))
    for j in range(n_samples):
        out[j] = np.random.default_rng([seed, first_sample + j]).standard_normal(size)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return torch.from_numpy(out).reshape(n_samples, *state_shape)


def _sample_norm(x: torch.Tensor) -> torch.Tensor:
    """(batch, *state) -> (batch,) Frobenius norm of each sample."""
    return torch.linalg.vector_norm(x.reshape(x.shape[0], -1), dim=1)


def _check_resolution(norms: torch.Tensor, dtype: torch.dtype, eps: float, warn: bool = True) -> torch.Tensor:
    """(batch,) state norms -> relative rounding of the separation; warns when it is too coarse."""
    resolution = torch.finfo(dtype).eps * norms.double().cpu() / eps
    worst = float(resolution.max())
    if warn and worst > RESOLUTION_WARNING:
        warnings.warn(
            f"eps={eps:g} is only {1 / worst:.3g} float-eps of the state norm ({dtype}, largest "
            f"||x||={float(norms.max()):.3g}): rounding the state perturbs the separation d_k by "
            f"about {worst:.1e} of eps per step, so exponents below about ln({worst:.1e})/tau are not "
            f"resolved "
            f"and merged copies can appear. Use a larger eps or dtype=float64.",
            PerturbationResolutionWarning,
            stacklevel=4,  # the caller of local_exponents (through the no_grad wrapper)
        )
    return resolution


def _check_window(tau: int, n_steps: int) -> None:
    if tau < 1:
        raise ChaoslibError(f"tau={tau}: the renormalisation interval must be a positive number of steps.")
    if n_steps < tau or n_steps % tau:
        raise ChaoslibError(
            f"n_steps={n_steps} must be a positive multiple of tau={tau} (every window has tau steps); "
            f"use n_steps={max(1, n_steps // tau) * tau}."
        )


def check_two_trajectory_settings(eps: float, tau: int, n_steps: int, perturb_at: int = 0) -> None:
    """The settings of the two-trajectory method, checked once before any network or trial runs."""
    if not eps > 0:
        raise ChaoslibError(f"eps={eps}: the perturbation size must be positive.")
    if isinstance(perturb_at, bool) or not isinstance(perturb_at, int) or perturb_at < 0:
        raise ChaoslibError(f"perturb_at={perturb_at!r}: give the number of steps before the perturbation (0 or 1).")
    _check_window(tau, n_steps)


@torch.no_grad()
def local_exponents(
    step: Map,
    x0: torch.Tensor,
    eps: float = 1e-2,
    tau: int = 50,
    n_steps: int = 1000,
    seed: int = 0,
    dtype: str | torch.dtype | None = None,
    batch_size: int | None = None,
    progress: bool = False,
    perturb_at: int = 0,
) -> LocalExponents:
    """Local Lyapunov exponents by two trajectories with renormalisation (see the module docstring).

    Args:
        step: the map, (2 * batch, *state) -> same; it must act on each sample independently.
        x0: (batch, *state) initial states, e.g. a weight-tied map's ``embed(encoded)``: (batch, tokens, hidden).
        eps: Frobenius norm of the perturbation of each sample's whole state.
        tau: steps between renormalisations (window length).
        n_steps: horizon T, a multiple of tau.
        seed: seeds the perturbation directions (per sample, see :func:`perturbation_directions`).
        dtype: cast ``x0`` to this dtype (the map must accept it); default: x0's dtype.
        batch_size: inputs per call (each doubled by its copy); default all at once.
        progress: show a progress bar over windows.
        perturb_at: unperturbed steps before the perturbation: 0 perturbs ``x0`` (the authors' protocol),
            1 perturbs ``step(x0)`` (removes the first LayerNorm's one-off rescaling, see the module
            docstring); the windows then start at that step.

    Returns:
        :class:`LocalExponents` with ``exponents`` (batch, n_steps // tau) on the CPU, float64.
    """
    check_two_trajectory_settings(eps, tau, n_steps, perturb_at)
    if dtype is not None:
        from chaoslib.settings import resolve_dtype

        x0 = x0.to(resolve_dtype(dtype))
    if not x0.is_floating_point():
        raise ChaoslibError(
            f"x0 has dtype {x0.dtype}; pass floating-point initial states (e.g. a weight-tied map's embed)."
        )
    for _ in range(perturb_at):  # the reference state the perturbation starts from
        x0 = step(x0)
    n = x0.shape[0]
    batch_size = n if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ChaoslibError(f"batch_size={batch_size} must be positive (or None for all inputs at once).")
    initial = _check_resolution(_sample_norm(x0), x0.dtype, eps)  # warn before a long run
    max_norm = torch.empty(n, dtype=torch.float64)
    n_windows = n_steps // tau
    exponents = torch.empty(n, n_windows, dtype=torch.float64)
    collapsed = torch.zeros(n, n_windows, dtype=torch.bool)
    bar = _progress(progress, total=n_windows * math.ceil(n / batch_size), desc="local exponents")
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        exponents[start:stop], collapsed[start:stop], max_norm[start:stop] = _two_trajectories(
            step, x0[start:stop], eps, tau, n_windows, seed, start, bar
        )
    if bar is not None:
        bar.close()
    # the state's norm can grow along the run (ALBERT's LayerNorm): warn now if x(0) looked fine
    resolution = _check_resolution(max_norm, x0.dtype, eps, warn=bool(initial.max() <= RESOLUTION_WARNING))
    steps = perturb_at + torch.arange(1, n_windows + 1) * tau
    return LocalExponents(exponents, steps, float(eps), int(tau), int(n_steps), resolution, collapsed, perturb_at)


def _two_trajectories(
    step: Map, x: torch.Tensor, eps: float, tau: int, n_windows: int, seed: int, first_sample: int, bar
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One chunk: (batch, *state) -> exponents (batch, n_windows) float64, collapsed flags, and
    the largest state norm seen (batch,)."""
    b = x.shape[0]
    max_norm = _sample_norm(x).double()
    direction = perturbation_directions(b, tuple(x.shape[1:]), seed, first_sample).to(x.device, x.dtype)
    pair = torch.cat([x, x + eps * direction])  # one batch: the map advances both copies together
    exponents = torch.empty(b, n_windows, dtype=torch.float64)
    collapsed = torch.zeros(b, n_windows, dtype=torch.bool)
    for k in range(n_windows):
        for _ in range(tau):
            pair = step(pair)
        x, x_pert = pair[:b], pair[b:]
        delta = x_pert - x
        d = _sample_norm(delta)
        max_norm = torch.maximum(max_norm, _sample_norm(x).double())
        exponents[:, k] = (torch.log(d.double() / eps) / tau).cpu()
        merged = d == 0
        if bool(merged.any()):
            # The copies are equal in floating point: no direction is left to renormalise, so
            # draw a fresh one (seeded by sample and window) and record lambda_k = -inf.
            collapsed[:, k] = merged.cpu()
            for j in torch.nonzero(merged).flatten().tolist():
                fresh_seed = seed * 1_000_003 + k + 1
                fresh = perturbation_directions(1, tuple(x.shape[1:]), fresh_seed, first_sample + j)
                delta[j] = fresh[0].to(x.device, x.dtype)
            d = torch.where(merged, torch.ones_like(d), d)
        scale = (eps / d).reshape(b, *([1] * (x.dim() - 1)))
        pair = torch.cat([x, x + scale * delta])
        if bar is not None:
            bar.update(1)
    return exponents, collapsed, max_norm.cpu()


def _progress(show: bool, total: int, desc: str):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc)


def chaos_length(exponents: torch.Tensor, tau: int, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Length of the initial chaotic transient, per input.

    ``l = tau * k*`` with ``k* = min{k : lambda_k < 0}``, windows counted from 0: the step at
    which the first contracting window STARTS, i.e. the number of steps spent in the unbroken
    run of non-contracting windows from t = 0. A network whose very first window contracts
    has l = 0. Where no window is negative up to the horizon, l = n_steps and ``censored`` is
    True (the true length is at least n_steps; rank tests treat these as ties at the top).

    Args:
        exponents: (batch, n_windows) local exponents (``LocalExponents.exponents``).
        tau: window length in steps.
        n_steps: the horizon T; n_windows * tau must not exceed it.

    Returns:
        (batch,) float64 chaos length in steps and (batch,) bool ``censored``.
    """
    if exponents.dim() != 2:
        raise ChaoslibError(f"exponents has shape {tuple(exponents.shape)}; expected (batch, n_windows).")
    n_windows = exponents.shape[1]
    if n_windows * tau > n_steps:
        raise ChaoslibError(
            f"{n_windows} windows of tau={tau} steps exceed n_steps={n_steps}; pass the horizon of the run."
        )
    negative = exponents < 0
    censored = ~negative.any(1)
    first = torch.argmax(negative.to(torch.int8), dim=1)  # index of the first True (0 if none)
    length = (first * tau).to(torch.float64)
    length[censored] = float(n_steps)
    return length, censored


@dataclass
class ChaosLengthComparison:
    """One-sided Mann-Whitney U test: is the reference network's chaos length larger?

    The reference's lengths (one per input) are compared with the pooled lengths of the K
    other networks on the same inputs. Censored values (= the horizon) are tied at the top,
    which a rank test handles without assuming a distribution.
    """

    statistic: float
    p_value: float
    alternative: str
    median_reference: float
    median_others: float
    median_ratio: float  # median_reference / median_others (inf if the latter is 0)
    n_reference: int
    n_others: int
    censored_reference: float  # fraction censored at the horizon
    censored_others: float

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def compare_chaos_lengths(
    reference: torch.Tensor | np.ndarray,
    others: torch.Tensor | np.ndarray,
    n_steps: int,
    alternative: str = "greater",
) -> ChaosLengthComparison:
    """Mann-Whitney U test of the reference network's chaos lengths against the others'.

    Args:
        reference: (n_inputs,) chaos lengths of the reference network.
        others: (K, n_inputs) or (m,) chaos lengths of the other networks (pooled).
        n_steps: the horizon at which lengths were censored (to count censored values).
        alternative: ``"greater"`` (reference longer), ``"less"`` or ``"two-sided"`` (scipy's).
    """
    from scipy.stats import mannwhitneyu

    ref = np.asarray(reference, dtype=float).ravel()
    oth = np.asarray(others, dtype=float).ravel()
    if ref.size == 0 or oth.size == 0:
        raise ChaoslibError("reference and others must each hold at least one chaos length.")
    if alternative not in ("greater", "less", "two-sided"):
        raise ChaoslibError(f"alternative={alternative!r}; use 'greater', 'less' or 'two-sided'.")
    # asymptotic with the tie correction: censored lengths are ties, which the exact method ignores
    test = mannwhitneyu(ref, oth, alternative=alternative, method="asymptotic")
    med_ref, med_oth = float(np.median(ref)), float(np.median(oth))
    ratio = med_ref / med_oth if med_oth > 0 else (math.inf if med_ref > 0 else math.nan)
    return ChaosLengthComparison(
        statistic=float(test.statistic),
        p_value=float(test.pvalue),
        alternative=alternative,
        median_reference=med_ref,
        median_others=med_oth,
        median_ratio=float(ratio),
        n_reference=int(ref.size),
        n_others=int(oth.size),
        censored_reference=float(np.mean(ref >= n_steps)),
        censored_others=float(np.mean(oth >= n_steps)),
    )


def eps_sensitivity(
    step: Map,
    x0: torch.Tensor,
    eps_values: Sequence[float] = (1e-2, 1e-1, 1.0),
    tau: int = 50,
    n_steps: int = 1000,
    seed: int = 0,
    batch_size: int | None = None,
):
    """Local exponents of the same inputs for several perturbation sizes.

    Args:
        step, x0: as in :func:`local_exponents`; x0: (batch, *state).
        eps_values: the perturbation sizes to compare (same directions: same seed).
    Returns:
        ``xarray.Dataset``: ``exponent`` (eps, sample, window), ``chaos_length``, ``chaos_censored`` and
        ``resolution`` (eps, sample) = float_eps * max ||x|| / eps; coordinate ``window_end``.
    """
    import xarray as xr

    runs = []
    for eps in eps_values:
        with warnings.catch_warnings():
            # the resolution is recorded per eps in the result; one warning per eps would repeat it
            warnings.simplefilter("ignore", PerturbationResolutionWarning)
            result = local_exponents(
                step, x0, eps=eps, tau=tau, n_steps=n_steps, seed=seed, batch_size=batch_size
            )
        runs.append(result.to_dataset().drop_attrs())
    ds = xr.concat(runs, dim="eps").assign_coords(eps=[float(e) for e in eps_values])
    return ds.assign_attrs(tau=int(tau), n_steps=int(n_steps), seed=int(seed), dtype=str(x0.dtype))
