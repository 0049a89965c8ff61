"""The D-dimensional map that a weight-tied layer becomes once all tokens are equal.

When every token holds the same vector ``y`` (the tokens have synchronised), every query sees
the same keys, so attention is uniform (with or without a padding mask: any convex mixture of
equal value vectors is that vector) and the attention context is the value projection of ``y``.
The layer then acts on each token alone; for ALBERT's (and BERT's) post-LayerNorm layer:

    v   = W_v y + b_v                                  (value projection = context)
    a   = LN_att(y + W_out v + b_out)                   (attention output, residual, LayerNorm)
    R(y) = LN_out(a + W_ffn_out gelu(W_ffn a + b_ffn) + b_ffn_out)   (FFN, residual, LayerNorm)

The map itself computes ``R``: :meth:`~chaoslib.model.protocol.WeightTiedMap.synchronised_step`
(it knows where its weights are). ``ReducedMap`` iterates it for any map that has it, and
``reduced_vs_full`` checks ``R`` against the full layer on synchronised states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from chaoslib.dynamics.sync import token_spread
from chaoslib.errors import ChaoslibError
from chaoslib.model.protocol import WeightTiedMap

NEEDS = ("hidden_size", "step", "synchronised_step")
"""The members of :class:`~chaoslib.model.protocol.WeightTiedMap` that the reduced map uses."""


def _check_map(full_map: object) -> None:
    """Refuse a map without what the reduced map needs, naming what is missing."""
    missing = [name for name in NEEDS if not hasattr(full_map, name)]
    if missing:
        raise ChaoslibError(
            f"{type(full_map).__name__} has no {', '.join(missing)}: the reduced map needs a "
            "chaoslib.model.protocol.WeightTiedMap (e.g. AlbertMap(model) or BertLayerMap(model)) whose "
            "synchronised_step(y) applies the layer to a state with every token equal to y."
        )


class ReducedMap:
    """R: (batch, hidden) -> (batch, hidden), the layer of ``full_map`` restricted to synchronised states.

    Args:
        full_map: the full map, a :class:`~chaoslib.model.protocol.WeightTiedMap`; R is its
            ``synchronised_step``, so R shares its weights, device and dtype.
    """

    def __init__(self, full_map: WeightTiedMap):
        _check_map(full_map)
        self.full_map = full_map
        self.hidden_size = full_map.hidden_size

    @torch.no_grad()
    def step(self, y: torch.Tensor) -> torch.Tensor:
        """One application of R. y: (batch, hidden) -> (batch, hidden)."""
        if y.shape[-1] != self.hidden_size:
            raise ChaoslibError(
                f"y has last dimension {y.shape[-1]}, the map's hidden size is {self.hidden_size}."
            )
        return self.full_map.synchronised_step(y)

    __call__ = step

    @torch.no_grad()
    def iterate(self, y: torch.Tensor, n_steps: int) -> torch.Tensor:
        """R applied ``n_steps`` times. y: (batch, hidden) -> (batch, hidden)."""
        for _ in range(n_steps):
            y = self.step(y)
        return y


def synchronise(y: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """The synchronised state with every token equal to ``y``.

    y: (batch, hidden) -> (batch, n_tokens, hidden).
    """
    if n_tokens < 1:
        raise ChaoslibError(f"n_tokens={n_tokens} must be at least 1.")
    return y[:, None, :].expand(-1, n_tokens, -1).contiguous()


def token_mean(x: torch.Tensor) -> torch.Tensor:
    """The common state of (nearly) synchronised tokens. x: (batch, tokens, hidden) -> (batch, hidden)."""
    return x.mean(dim=1)


@dataclass
class ReducedComparison:
    """``reduced_vs_full`` result; every tensor is (batch, n_steps + 1) over steps 0..n_steps.

    relative_error: ||x_full(t) - lift(y(t))||_F / ||x_full(t)||_F, x_full iterated by the full
        layer from the lifted start and y by the reduced map (0 at t = 0 by construction);
    full_spread: token_spread of x_full(t) (stays at the float floor if F keeps synchrony).
    one_step_error: (batch,) ||F(lift y0) - lift(R(y0))|| / ||F(lift y0)||, a single step from
        the same state, free of the divergence that chaos in R would add over many steps.
    """

    relative_error: torch.Tensor
    full_spread: torch.Tensor
    one_step_error: torch.Tensor

    def to_dataset(self):
        """``xarray.Dataset`` in float64: ``relative_error``, ``full_spread`` (sample, step), ``one_step_error``
        (sample); coord ``step`` = 0..n_steps."""
        import xarray as xr

        def values(tensor: torch.Tensor) -> np.ndarray:
            return tensor.double().cpu().numpy()

        return xr.Dataset(
            {"relative_error": (("sample", "step"), values(self.relative_error)),
             "full_spread": (("sample", "step"), values(self.full_spread)),
             "one_step_error": ("sample", values(self.one_step_error))},
            coords={"step": np.arange(self.relative_error.shape[1])},
        )


@torch.no_grad()
def reduced_vs_full(
    full_map: WeightTiedMap,
    y0: torch.Tensor,
    n_tokens: int,
    n_steps: int = 1,
    attention_mask: torch.Tensor | None = None,
) -> ReducedComparison:
    """Iterate the full layer from ``synchronise(y0)`` and the reduced map from ``y0`` side by side.

    y0: (batch, hidden) common token state; n_tokens: tokens of the lifted state;
    attention_mask: optional (batch, n_tokens) mask for the full layer (uniform attention over
    the unmasked tokens gives the same context, so R does not depend on it).
    """
    if n_steps < 1:
        raise ChaoslibError(f"n_steps={n_steps} must be at least 1.")
    reduced = ReducedMap(full_map)
    x, y = synchronise(y0, n_tokens), y0
    errors, spreads = [torch.zeros(y0.shape[0], dtype=y0.dtype, device=y0.device)], [token_spread(x)]
    for _ in range(n_steps):
        x, y = full_map.step(x, attention_mask), reduced.step(y)
        errors.append(_relative(x - synchronise(y, n_tokens), x))
        spreads.append(token_spread(x))
    return ReducedComparison(torch.stack(errors, 1), torch.stack(spreads, 1), errors[1])


def _relative(difference: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-sample ||difference||_F / ||reference||_F. (batch, ...) -> (batch,)."""
    return difference.flatten(1).norm(dim=1) / reference.flatten(1).norm(dim=1)


@torch.no_grad()
def reduction_error(
    full_map: WeightTiedMap, x: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """How well R predicts one full step from a (nearly) synchronised state.

    x: (batch, tokens, hidden), e.g. the end of a long run -> (batch,)
    ||F(x) - lift(R(token_mean(x)))||_F / ||F(x)||_F. On an exactly synchronised state this is the
    rounding error; on a state a spread sigma away from synchrony it also contains O(sigma).
    """
    reduced = ReducedMap(full_map)  # checks the map before the full step runs
    full = full_map.step(x, attention_mask)
    return _relative(full - synchronise(reduced.step(token_mean(x)), x.shape[1]), full)
