"""What ALBERT's and BERT's layers share: a post-LayerNorm Transformer layer, written out functionally.

    att = LayerNorm(x + W_o context + b_o)          context: the heads' attention-mixed values
    out = LayerNorm(att + W_2 gelu(W_1 att + b_1) + b_2)

:class:`PostLayerNormMap` is that layer as a :class:`chaoslib.model.protocol.WeightTiedMap`; a family
supplies only its attention (``_attention``: fused or separate Q, K, V; where the scale goes), the value
projection (``_value``), ``embed`` and ``pool``, and the weights under the names below. Every step, the
step with internals, the synchronised step and ``iterate`` are then the same code for every family.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_
from torch import nn

from chaoslib.errors import ChaoslibError
from chaoslib.model.protocol import INTERNALS


def frozen(t: torch.Tensor) -> nn.Parameter:
    """A copy of a weight that no optimiser or later change of the source model touches."""
    return nn.Parameter(t.detach().clone(), requires_grad=False)


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, tokens) 1/0 mask -> (batch, 1, 1, tokens) additive mask (0 or the dtype's min), as transformers."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def tiled_mask(attention_mask: torch.Tensor, batch: int, x: torch.Tensor) -> torch.Tensor:
    """The additive mask for a batch of ``batch`` states; ``attention_mask``'s (batch', tokens) rows are tiled
    when batch is a multiple of batch' (perturbed copies stacked along the batch share the mask)."""
    reps = batch // attention_mask.shape[0]
    mask = additive_mask(attention_mask.to(x.device), x.dtype)
    return mask.repeat(reps, 1, 1, 1) if reps > 1 else mask


class PostLayerNormMap(nn.Module):
    """A post-LayerNorm Transformer layer iterated as a map. Subclasses set, in ``__init__``: ``config``
    (with ``hidden_size``), ``gelu_approximate``, ``eps_att``, ``eps_out`` and the weights ``w_out``,
    ``b_out``, ``ln_att_w``, ``ln_att_b``, ``w_ffn``, ``b_ffn``, ``w_ffn_out``, ``b_ffn_out``, ``ln_out_w``,
    ``ln_out_b`` (made with :func:`frozen`), and define ``_attention``, ``_value``, ``embed`` and ``pool``."""

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    def _attention(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(probs (batch, heads, tokens, tokens), context (batch, tokens, hidden)) of x (batch, tokens, hidden)."""
        raise NotImplementedError

    def _value(self, y: torch.Tensor) -> torch.Tensor:
        """The value projection of y (batch, hidden) -> (batch, hidden): the context of equal tokens."""
        raise NotImplementedError

    def step(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """One application of the layer. x: (batch, tokens, hidden) -> same shape.

        attention_mask: optional (batch', tokens) 1/0 mask; batch must be a multiple of batch'
        (the mask is tiled, so perturbed copies stacked along the batch share it).
        """
        return self._layer(x, attention_mask, None)

    __call__ = step  # a map is a callable x -> F(x); nn.Module's hooks are not needed here

    def step_with_internals(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None, names: tuple[str, ...] = INTERNALS
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step plus intermediate values of the layer (all of :data:`INTERNALS`, whatever ``names``).

        attention_probs: (batch, heads, tokens, tokens); attention_context (values mixed by
        attention, heads concatenated): (batch, tokens, hidden); attention_output (after the
        residual and LayerNorm): (batch, tokens, hidden); ffn_activation: (batch, tokens, ffn).
        """
        unknown = set(names) - set(INTERNALS)
        if unknown:
            raise ChaoslibError(f"unknown internals {sorted(unknown)}; choose from {list(INTERNALS)}.")
        internals: dict[str, torch.Tensor] = {}
        return self._layer(x, attention_mask, internals), internals

    def _layer(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None, internals: dict | None
    ) -> torch.Tensor:
        probs, context = self._attention(x, attention_mask)
        att, act, out = self._after_attention(x, context)
        if internals is not None:
            internals.update(
                attention_probs=probs, attention_context=context, attention_output=att, ffn_activation=act
            )
        return out

    def _after_attention(
        self, x: torch.Tensor, context: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(attention output, FFN activation, layer output) from the input x and its context (..., hidden)."""
        hidden = (self.hidden_size,)
        att = F_.layer_norm(x + F_.linear(context, self.w_out, self.b_out), hidden, self.ln_att_w, self.ln_att_b,
                            self.eps_att)
        act = F_.gelu(F_.linear(att, self.w_ffn, self.b_ffn), approximate=self.gelu_approximate)
        out = F_.layer_norm(att + F_.linear(act, self.w_ffn_out, self.b_ffn_out), hidden, self.ln_out_w,
                            self.ln_out_b, self.eps_out)
        return att, act, out

    def synchronised_step(self, y: torch.Tensor) -> torch.Tensor:
        """The layer on the state whose tokens all hold y. y: (batch, hidden) -> (batch, hidden).

        Every query then sees equal keys, so attention is uniform (with or without a padding mask: any
        convex mixture of equal value vectors is that vector) and the context is the value projection
        of y; the rest of the layer acts on each token alone.
        """
        return self._after_attention(y, self._value(y))[2]

    @torch.no_grad()
    def iterate(
        self, x: torch.Tensor, n_steps: int, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """F applied ``n_steps`` times; no recording. x: (batch, tokens, hidden)."""
        for _ in range(n_steps):
            x = self._layer(x, attention_mask, None)
        return x
