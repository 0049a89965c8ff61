"""The D-dimensional map that ALBERT's layer becomes once all tokens are equal (SPEC 2.3).

When every token holds the same vector ``y`` (the tokens have synchronised), every query sees
the same keys, so attention is uniform (with or without a padding mask: any convex mixture of
equal value vectors is that vector) and the attention context is the value projection of ``y``.
The layer then acts on each token alone:

    v   = W_v y + b_v                                  (value projection = context)
    a   = LN_att(y + W_out v + b_out)                   (attention output, residual, LayerNorm)
    R(y) = LN_out(a + W_ffn_out gelu(W_ffn a + b_ffn) + b_ffn_out)   (FFN, residual, LayerNorm)

``ReducedMap`` reads these weights from an :class:`~chaoslib.model.albert_map.AlbertMap` (the value
rows of its fused QKV matrix; the 1/sqrt(head_dim) scale lives in the query rows only), and
``reduced_vs_full`` checks ``R`` against the full layer on synchronised states.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F_

from chaoslib.dynamics.sync import token_spread
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap


class ReducedMap:
    """R: (batch, hidden) -> (batch, hidden), the layer of ``albert_map`` restricted to synchronised states.

    Args:
        albert_map: the full map; its weights are shared (not copied), so ``R`` follows its
            device and dtype at construction time.
    """

    def __init__(self, albert_map: AlbertMap):
        if not isinstance(albert_map, AlbertMap):
            raise ChaoslibError(
                f"albert_map must be a chaoslib.model.albert_map.AlbertMap, got {type(albert_map).__name__}; "
                "build it with AlbertMap(model)."
            )
        hidden = albert_map.hidden_size
        self.full_map = albert_map
        self.hidden_size = hidden
        # fused QKV rows are [query * scale; key; value]: the value projection is the last block
        self.w_value = albert_map.w_qkv[2 * hidden :]
        self.b_value = albert_map.b_qkv[2 * hidden :]

    @torch.no_grad()
    def step(self, y: torch.Tensor) -> torch.Tensor:
        """One application of R. y: (batch, hidden) -> (batch, hidden)."""
        m = self.full_map
        if y.shape[-1] != self.hidden_size:
            raise ChaoslibError(
                f"y has last dimension {y.shape[-1]}, the map's hidden size is {self.hidden_size}."
            )
        hidden = (self.hidden_size,)
        context = F_.linear(y, self.w_value, self.b_value)
        att = F_.layer_norm(y + F_.linear(context, m.w_out, m.b_out), hidden, m.ln_att_w, m.ln_att_b, m.eps)
        act = F_.gelu(F_.linear(att, m.w_ffn, m.b_ffn), approximate=m.gelu_approximate)
        ffn_out = F_.linear(act, m.w_ffn_out, m.b_ffn_out)
        return F_.layer_norm(att + ffn_out, hidden, m.ln_out_w, m.ln_out_b, m.eps)

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


@torch.no_grad()
def reduced_vs_full(
    albert_map: AlbertMap,
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
    reduced = ReducedMap(albert_map)
    x, y = synchronise(y0, n_tokens), y0
    errors, spreads = [torch.zeros(y0.shape[0], dtype=y0.dtype, device=y0.device)], [token_spread(x)]
    for _ in range(n_steps):
        x, y = albert_map.step(x, attention_mask), reduced.step(y)
        errors.append(_relative(x - synchronise(y, n_tokens), x))
        spreads.append(token_spread(x))
    return ReducedComparison(torch.stack(errors, 1), torch.stack(spreads, 1), errors[1])


def _relative(difference: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-sample ||difference||_F / ||reference||_F. (batch, ...) -> (batch,)."""
    return difference.flatten(1).norm(dim=1) / reference.flatten(1).norm(dim=1)


@torch.no_grad()
def reduction_error(
    albert_map: AlbertMap, x: torch.Tensor, attention_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """How well R predicts one full step from a (nearly) synchronised state.

    x: (batch, tokens, hidden), e.g. the end of a long run -> (batch,)
    ||F(x) - lift(R(token_mean(x)))||_F / ||F(x)||_F. On an exactly synchronised state this is the
    rounding error; on a state a spread sigma away from synchrony it also contains O(sigma).
    """
    full = albert_map.step(x, attention_mask)
    return _relative(full - synchronise(ReducedMap(albert_map).step(token_mean(x)), x.shape[1]), full)
