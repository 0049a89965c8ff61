"""The top-k Lyapunov spectrum by Jacobian-vector products and QR (Benettin et al., 1980).

k tangent vectors ride along the trajectory: each step pushes them through the Jacobian
with ``torch.func.jvp``, vmapped over the k vectors (the Jacobian itself is never formed:
an ALBERT-large state at N=32 has 32,768 dimensions; memory is k x state per input).
Every ``qr_every`` steps the vectors are re-orthonormalised by a QR decomposition and
``ln|R_ii|`` is accumulated: the time average of the i-th one is the i-th exponent.

Works for any map ``step(x: (batch, *state)) -> (batch, *state)`` that acts on each sample
independently and that ``torch.func.jvp`` can differentiate: the toy maps, or the ``step`` of a
:class:`~chaoslib.model.protocol.WeightTiedMap` (its attention is written out eagerly, as in
``AlbertMap`` and ``BertLayerMap``). Exponents are per step of the map (for a flow sampled with
time step dt, divide by dt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from chaoslib.dynamics.lyapunov import Map, _progress
from chaoslib.errors import ChaoslibError


@dataclass
class LyapunovSpectrum:
    """Top-k Lyapunov spectrum of a batch of inputs.

    Attributes:
        exponents: (batch, k) exponents per step, averaged over all ``n_steps`` measured steps,
            in decreasing order of the Gram-Schmidt index (i = 1 is the largest).
        window_exponents: (batch, n_windows, k) finite-time spectra, one per window of
            ``window`` steps.
        window_steps: (n_windows,) the step at the end of each window (counted after the
            unrecorded ``n_transient`` steps).
        k, n_steps, n_transient, window, qr_every: the settings.
    """

    exponents: torch.Tensor
    window_exponents: torch.Tensor
    window_steps: torch.Tensor
    k: int
    n_steps: int
    n_transient: int
    window: int
    qr_every: int

    def mean(self) -> torch.Tensor:
        """(k,) the spectrum averaged over inputs."""
        return self.exponents.mean(0)

    def kaplan_yorke(self) -> torch.Tensor:
        """(batch,) Kaplan-Yorke dimension of each input's spectrum (NaN when k is too small)."""
        return kaplan_yorke_dimension(self.exponents)

    def to_dataset(self):
        """``xarray.Dataset``: ``exponent`` (sample, index), ``window_exponent`` (sample, window, index),
        ``kaplan_yorke`` (sample); coordinate ``window_end`` (window), the step at the end of each window."""
        import xarray as xr

        n_windows = self.window_exponents.shape[1]
        return xr.Dataset(
            {
                "exponent": (("sample", "index"), self.exponents.numpy()),
                "window_exponent": (("sample", "window", "index"), self.window_exponents.numpy()),
                "kaplan_yorke": (("sample",), self.kaplan_yorke().numpy()),
            },
            coords={
                "index": np.arange(1, self.k + 1),
                "window": np.arange(n_windows),
                "window_end": ("window", self.window_steps.numpy()),
            },
            attrs={
                "k": self.k,
                "n_steps": self.n_steps,
                "n_transient": self.n_transient,
                "window": self.window,
                "qr_every": self.qr_every,
            },
        )


def initial_tangents(
    n_samples: int, state_shape: tuple[int, ...], k: int, seed: int, first_sample: int = 0
) -> torch.Tensor:
    """(k, n_samples, *state_shape) float64 orthonormal tangent vectors per sample.

    Sample i draws from ``numpy.random.default_rng([seed, i])``: the first vector is the same
    direction that :func:`chaoslib.dynamics.lyapunov.local_exponents` perturbs along with this seed.
    """
    size = math.prod(state_shape)
    if k > size:
        raise ChaoslibError(f"k={k} exceeds the state dimension {size}; choose k <= {size}.")
    raw = np.empty((n_samples, size, k))
    for j in range(n_samples):
        raw[j] = np.random.default_rng([seed, first_sample + j]).standard_normal((k, size)).T
    q = torch.linalg.qr(torch.from_numpy(raw)).Q  # (n_samples, size, k)
    q = q * torch.sign(q[:, :1, :] * torch.from_numpy(raw[:, :1, :]))  # keep the first vector's sign
    return q.permute(2, 0, 1).reshape(k, n_samples, *state_shape)


TANGENT_MODES = ("vmap", "fold")


def push_tangents(
    step: Map, x: torch.Tensor, tangents: torch.Tensor, mode: str = "vmap"
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the map and of its tangent vectors.

    Args:
        x: (batch, *state); tangents: (k, batch, *state).
        mode: ``"vmap"``: ``torch.func.jvp`` vmapped over the k tangents; the primal is computed
            once (it does not depend on the tangent), so a step costs about 1 + k evaluations
            of the map (for maps dominated by matrix products, such as ALBERT). ``"fold"``: the
            state is repeated k times along the batch and one forward-mode pass pushes all
            tangents; k primals, but much less per-operation overhead (for tiny maps).
    Returns:
        F(x): (batch, *state) and J(x) v for every tangent v: (k, batch, *state).
    """
    if mode == "vmap":

        def jvp(v: torch.Tensor):
            return torch.func.jvp(step, (x,), (v,))

        return torch.func.vmap(jvp, out_dims=(None, 0))(tangents)
    if mode == "fold":
        k, b = tangents.shape[:2]
        x_rep = x.repeat(k, *([1] * (x.dim() - 1)))
        y, jv = torch.func.jvp(step, (x_rep,), (tangents.reshape(k * b, *x.shape[1:]),))
        return y[:b], jv.reshape(tangents.shape)
    raise ChaoslibError(f"mode={mode!r}; use one of {list(TANGENT_MODES)}.")


def _orthonormalise(tangents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(k, batch, *state) -> orthonormal (k, batch, *state) and ln|R_ii| (batch, k) float64."""
    k, b = tangents.shape[:2]
    m = tangents.reshape(k, b, -1).permute(1, 2, 0).contiguous()  # (batch, n, k); contiguous: 10x faster QR
    q, r = torch.linalg.qr(m)
    growth = torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs().double())
    return q.permute(2, 0, 1).reshape(tangents.shape), growth


def lyapunov_spectrum(
    step: Map,
    x0: torch.Tensor,
    k: int = 8,
    n_steps: int = 1000,
    window: int | None = None,
    n_transient: int = 0,
    qr_every: int = 1,
    seed: int = 0,
    batch_size: int | None = None,
    tangent_mode: str = "vmap",
    progress: bool = False,
) -> LyapunovSpectrum:
    """Top-k Lyapunov spectrum by JVPs and QR re-orthonormalisation, for many inputs at once.

    Args:
        step: the map (batch, *state) -> same, differentiable by ``torch.func.jvp``.
        x0: (batch, *state) initial states.
        k: number of exponents (tangent vectors); memory is k x state per input.
        n_steps: steps that are measured (after ``n_transient``).
        window: length of the windows of the finite-time spectra (a multiple of ``qr_every``
            dividing ``n_steps``); default ``n_steps`` (one window).
        n_transient: steps run first without recording (the map and the tangent vectors, so
            that the vectors align with the Lyapunov directions; 0 for ALBERT's transient).
        qr_every: steps between QR decompositions (1 is safest; a few is cheaper when the
            exponents are small, as long as the vectors do not become parallel in between).
        seed: seeds the initial tangent vectors (see :func:`initial_tangents`).
        batch_size: inputs per vmapped call; default all at once.
        tangent_mode: ``"vmap"`` (for ALBERT-sized maps) or ``"fold"`` (for tiny maps), see
            :func:`push_tangents`.
        progress: show a progress bar.

    Returns:
        :class:`LyapunovSpectrum`, tensors on the CPU in float64.
    """
    window = n_steps if window is None else int(window)
    if qr_every < 1 or k < 1 or n_steps < 1 or n_transient < 0:
        raise ChaoslibError(
            f"need k >= 1, n_steps >= 1, qr_every >= 1, n_transient >= 0 (got k={k}, n_steps={n_steps}, "
            f"qr_every={qr_every}, n_transient={n_transient})."
        )
    if window % qr_every or n_steps % window or n_transient % qr_every:
        raise ChaoslibError(
            f"window={window} must divide n_steps={n_steps}, and qr_every={qr_every} must divide window "
            f"and n_transient={n_transient}: every window and the transient end on a QR step."
        )
    if not x0.is_floating_point():
        raise ChaoslibError(f"x0 has dtype {x0.dtype}; pass floating-point initial states.")
    if tangent_mode not in TANGENT_MODES:
        raise ChaoslibError(f"tangent_mode={tangent_mode!r}; use one of {list(TANGENT_MODES)}.")
    n = x0.shape[0]
    batch_size = n if batch_size is None else int(batch_size)
    n_windows = n_steps // window
    window_exponents = torch.empty(n, n_windows, k, dtype=torch.float64)
    bar = _progress(progress, total=(n_transient + n_steps) * math.ceil(n / batch_size), desc="spectrum")
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        window_exponents[start:stop] = _benettin(
            step, x0[start:stop], k, n_steps, window, n_transient, qr_every, seed, start, tangent_mode, bar
        )
    if bar is not None:
        bar.close()
    return LyapunovSpectrum(
        exponents=window_exponents.mean(1),
        window_exponents=window_exponents,
        window_steps=torch.arange(1, n_windows + 1) * window,
        k=int(k),
        n_steps=int(n_steps),
        n_transient=int(n_transient),
        window=int(window),
        qr_every=int(qr_every),
    )


@torch.no_grad()
def _benettin(
    step, x, k, n_steps, window, n_transient, qr_every, seed, first_sample, mode, bar
) -> torch.Tensor:
    """One chunk: (batch, *state) -> finite-time spectra (batch, n_windows, k) float64."""
    b = x.shape[0]
    tangents = initial_tangents(b, tuple(x.shape[1:]), k, seed, first_sample).to(x.device, x.dtype)
    n_windows = n_steps // window
    sums = torch.zeros(b, n_windows, k, dtype=torch.float64, device=x.device)
    for t in range(n_transient + n_steps):
        x, tangents = push_tangents(step, x, tangents, mode)
        if (t + 1) % qr_every == 0:
            tangents, growth = _orthonormalise(tangents)
            if t >= n_transient:
                sums[:, (t - n_transient) // window] += growth
        if bar is not None:
            bar.update(1)
    return (sums / window).cpu()


def kaplan_yorke_dimension(exponents: torch.Tensor) -> torch.Tensor:
    """Kaplan-Yorke (Lyapunov) dimension ``D = j + (l_1 + ... + l_j) / |l_{j+1}|``.

    Args:
        exponents: (..., k) spectra (sorted here in decreasing order).
    Returns:
        (...,) float64: j is the largest index with a non-negative partial sum. D = 0 when the
        largest exponent is negative; NaN when even the sum of all k stays non-negative (the
        top-k spectrum is too short to place the dimension: it is at least k).
    """
    lam = torch.sort(exponents.double(), dim=-1, descending=True).values
    k = lam.shape[-1]
    partial = torch.cumsum(lam, dim=-1)
    j = (partial >= 0).sum(-1)  # partial sums decrease once the exponents are negative
    out = torch.full(lam.shape[:-1], math.nan, dtype=torch.float64)
    inside = j < k
    jj = j.clamp(max=k - 1)
    s_j = torch.where(j > 0, torch.gather(partial, -1, (jj - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1), 0.0)
    next_lam = torch.gather(lam, -1, jj.unsqueeze(-1)).squeeze(-1)
    out[inside] = (j.double() + s_j / next_lam.abs())[inside]
    return out
