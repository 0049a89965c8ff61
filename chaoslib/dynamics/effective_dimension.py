"""Effective dimension of a cloud of M states, step by step (the paper's short-term analysis: ED(t) of M inputs' states).

At step t the states of M samples are the rows of X (M x S, S = tokens * hidden). With X_c
centred over the samples and lambda_i the eigenvalues of its covariance,

    ED(t) = (sum_i lambda_i)^2 / sum_i lambda_i^2,

between 1 (one direction) and M - 1 (an isotropic cloud). The covariance's non-zero spectrum
is that of the M x M Gram matrix G = X_c X_c^T (up to the factor 1/(M-1), which cancels), and
G is symmetric, so no eigendecomposition is needed: sum lambda = tr G, sum lambda^2 = ||G||_F^2.

``effective_dimension_trajectory`` streams a run: it keeps only the M states of the current
step (in batches), so memory is that of one step, not of the trajectory; the Gram matrix is
assembled from cross-batch blocks, so any batch size gives the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from chaoslib.errors import ChaoslibError

RESOLUTION_ULPS = 10
"""A cloud whose RMS spread is below this many float epsilons of the states' scale counts as collapsed:
rounding adds a variance of about eps^2 of the scale, so below 10 eps it is more than 1% of the cloud's."""


def effective_dimension_from_gram(gram: torch.Tensor) -> torch.Tensor:
    """ED from a centred Gram (or covariance) matrix. gram: (..., M, M) symmetric -> (...,)."""
    trace = gram.diagonal(dim1=-2, dim2=-1).sum(-1)
    return trace**2 / gram.square().sum((-2, -1))


def centred_gram(blocks: Sequence[torch.Tensor], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The M x M Gram matrix of the centred rows of the stacked ``blocks``.

    blocks: tensors (m_i, *state) with the same state shape, M = sum m_i, on one device.
    The mean is taken over all M rows first and subtracted in ``dtype`` before the products
    (centring before multiplying avoids the cancellation of centring G afterwards); the
    (i, j) block of G is computed from blocks i and j only, so no M x S copy is made.
    """
    if not blocks:
        raise ChaoslibError("blocks is empty; pass at least one (samples, *state) tensor.")
    shape = blocks[0].shape[1:]
    if any(b.shape[1:] != shape for b in blocks):
        got = [tuple(b.shape) for b in blocks]
        raise ChaoslibError(f"all blocks need the state shape {tuple(shape)}; got {got}.")
    sizes = [b.shape[0] for b in blocks]
    n_samples = sum(sizes)
    if n_samples < 2:
        raise ChaoslibError(f"the effective dimension needs at least 2 samples, got {n_samples}.")
    mean = sum(b.flatten(1).to(dtype).sum(0) for b in blocks) / n_samples
    gram = torch.empty(n_samples, n_samples, dtype=dtype, device=blocks[0].device)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for i, block_i in enumerate(blocks):
        centred_i = block_i.flatten(1).to(dtype) - mean
        for j in range(i + 1):
            centred_j = centred_i if j == i else blocks[j].flatten(1).to(dtype) - mean
            product = centred_i @ centred_j.T
            gram[offsets[i] : offsets[i + 1], offsets[j] : offsets[j + 1]] = product
            if j != i:
                gram[offsets[j] : offsets[j + 1], offsets[i] : offsets[i + 1]] = product.T
    return gram


def effective_dimension(
    x: torch.Tensor | Sequence[torch.Tensor], dtype: torch.dtype = torch.float64
) -> float:
    """ED of one step. x: (samples, *state), or a list of such batches (combined exactly)."""
    blocks = [x] if isinstance(x, torch.Tensor) else list(x)
    return float(effective_dimension_from_gram(centred_gram(blocks, dtype)))


@dataclass
class EffectiveDimensionTrajectory:
    """Result of ``effective_dimension_trajectory``.

    steps: (n_steps + 1,) the steps 0..n_steps; effective_dimension: (n_steps + 1,);
    total_variance: (n_steps + 1,) tr(covariance) = sum lambda (the cloud's size, for context);
    mean_square_norm: (n_steps + 1,) mean over samples of ||x||^2 (the states' scale);
    n_samples: M; elapsed_s: wall time of the run; steps_per_second: its throughput
    (layer applications to all M samples per second); state_eps: machine epsilon of the states.

    ``resolved`` is False where the cloud has collapsed to rounding noise: its RMS spread is
    below ``RESOLUTION_ULPS`` units in the last place of the states' scale. There ED measures
    the isotropy of rounding errors (close to M - 1), not of the inputs, and must not be read.
    """

    steps: np.ndarray
    effective_dimension: np.ndarray
    total_variance: np.ndarray
    mean_square_norm: np.ndarray
    n_samples: int
    elapsed_s: float
    state_eps: float

    @property
    def relative_variance(self) -> np.ndarray:
        """tr(covariance) / mean ||x||^2: the cloud's size relative to the states' scale."""
        return self.total_variance / self.mean_square_norm

    @property
    def resolved(self) -> np.ndarray:
        """(n_steps + 1,) bool: the cloud is wider than rounding noise (see the class docstring)."""
        return self.relative_variance > (RESOLUTION_ULPS * self.state_eps) ** 2

    @property
    def steps_per_second(self) -> float:
        return (len(self.steps) - 1) / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    def to_dataset(self, attrs: dict | None = None):
        """An ``xarray.Dataset`` with dim ``step`` (for ``chaoslib.store.save_dataset``)."""
        import xarray as xr

        return xr.Dataset(
            {
                "effective_dimension": ("step", self.effective_dimension),
                "total_variance": ("step", self.total_variance),
                "mean_square_norm": ("step", self.mean_square_norm),
                "resolved": ("step", self.resolved),
            },
            coords={"step": self.steps},
            attrs={"n_samples": self.n_samples, "state_eps": self.state_eps, **(attrs or {})},
        )


@torch.no_grad()
def effective_dimension_trajectory(
    step: Callable[..., torch.Tensor],
    x0: torch.Tensor,
    n_steps: int,
    batch_size: int | None = None,
    attention_mask: torch.Tensor | None = None,
    gram_dtype: torch.dtype = torch.float64,
    progress: bool = False,
) -> EffectiveDimensionTrajectory:
    """ED(t) for t = 0..n_steps of the samples x0 iterated by ``step``, without storing the trajectory.

    Args:
        step: any map (batch, *state) -> (batch, *state), e.g. the ``step`` of a :class:`chaoslib.model.protocol.WeightTiedMap`.
        x0: (samples, *state) initial states of the M samples, on the device to run on.
        n_steps: number of applications of ``step``.
        batch_size: samples per call of ``step`` (None: all M at once). Memory is the M states of
            one step plus one batch's activations plus the M x M Gram matrix, whatever n_steps.
        attention_mask: optional (samples, tokens) mask, split with the batches and passed as
            ``step(x, attention_mask=...)``; None (the dynamics default) calls ``step(x)``.
        gram_dtype: precision of the centring and Gram products (float64 by default; the states
            stay in their own dtype).
        progress: show a tqdm bar over steps.
    """
    if n_steps < 0:
        raise ChaoslibError(f"n_steps={n_steps} must be >= 0.")
    n_samples = x0.shape[0]
    if n_samples < 2:
        raise ChaoslibError(f"x0 holds {n_samples} sample(s); the effective dimension needs at least 2.")
    batch_size = n_samples if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ChaoslibError(f"batch_size={batch_size} must be positive (or None for all samples at once).")
    if attention_mask is not None and attention_mask.shape[0] != n_samples:
        raise ChaoslibError(
            f"attention_mask has {attention_mask.shape[0]} rows but x0 has {n_samples} samples; "
            "pass one row per sample."
        )
    blocks = list(x0.split(batch_size))
    masks = list(attention_mask.split(batch_size)) if attention_mask is not None else [None] * len(blocks)
    # per-step results stay on the device until the end: no host synchronisation inside the loop
    ed = torch.empty(n_steps + 1, dtype=gram_dtype, device=x0.device)
    variance, square_norm = torch.empty_like(ed), torch.empty_like(ed)
    steps = range(n_steps + 1)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="effective dimension", unit="step")
    start = time.perf_counter()
    for t in steps:
        gram = centred_gram(blocks, gram_dtype)
        ed[t] = effective_dimension_from_gram(gram)
        variance[t] = gram.diagonal().sum() / (n_samples - 1)
        square_norm[t] = sum(b.to(gram_dtype).square().sum() for b in blocks) / n_samples
        del gram
        if t == n_steps:
            break
        for i, mask in enumerate(masks):  # replace in place: never two copies of the M states
            blocks[i] = step(blocks[i]) if mask is None else step(blocks[i], attention_mask=mask)
    ed_host, variance_host = ed.cpu().numpy(), variance.cpu().numpy()  # waits for the device
    elapsed = time.perf_counter() - start
    return EffectiveDimensionTrajectory(
        np.arange(n_steps + 1),
        ed_host,
        variance_host,
        square_norm.cpu().numpy(),
        n_samples,
        elapsed,
        float(torch.finfo(x0.dtype).eps),
    )
