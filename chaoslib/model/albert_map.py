"""ALBERT as a discrete-time dynamical system: ``x(t+1) = F(x(t))``.

ALBERT applies ONE shared Transformer layer again and again (SPEC 1). This module exposes

- ``x0 = AlbertMap.embed(encoded)``: the embedding output after the 128 -> D projection
  (position and token-type embeddings enter only here), shape (batch, tokens, hidden);
- ``F = AlbertMap.step``: the shared layer in eval mode, written out functionally so that it
  can be differentiated forward (``torch.func.jvp``), fused (one QKV product), captured in a
  CUDA graph, and asked for its intermediate values.

By default no attention mask is used: ``<pad>`` positions are active units, as in the authors'
dynamics. ``attention_mask`` switches to the masked variant, never silently.
The map is checked against ``AlbertModel(num_hidden_layers=n)`` in the tests.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_
from torch import nn

from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError

INTERNALS = ("attention_probs", "attention_context", "attention_output", "ffn_activation")


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, tokens) 1/0 mask -> (batch, 1, 1, tokens) additive mask (0 or the dtype's min), as transformers."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


class AlbertMap(nn.Module):
    """The map of one ALBERT network.

    Args:
        model: an ``AlbertModel`` or a model with an ``.albert`` attribute (MLM, classification).

    The layer's weights are copied (QKV fused, the 1/sqrt(head_dim) scale folded into Q) when the
    map is built: later changes to ``model`` do not reach the map.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        albert = getattr(model, "albert", model)
        config = albert.config
        if config.num_hidden_groups != 1 or config.inner_group_num != 1:
            raise ChaoslibError("AlbertMap needs one shared layer (num_hidden_groups=inner_group_num=1).")
        if config.hidden_act not in ("gelu_new", "gelu"):
            raise ChaoslibError(f"hidden_act={config.hidden_act!r} is not supported by AlbertMap.")
        self.config = config
        self.embeddings = albert.embeddings
        self.projection = albert.encoder.embedding_hidden_mapping_in
        self.pooler = getattr(albert, "pooler", None)
        layer = albert.encoder.albert_layer_groups[0].albert_layers[0]
        att = layer.attention
        self.n_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.n_heads
        self.eps = config.layer_norm_eps
        self.gelu_approximate = "tanh" if config.hidden_act == "gelu_new" else "none"
        scale = self.head_dim**-0.5
        with torch.no_grad():
            w_qkv = torch.cat([att.query.weight * scale, att.key.weight, att.value.weight])
            b_qkv = torch.cat([att.query.bias * scale, att.key.bias, att.value.bias])
        clone = lambda t: nn.Parameter(t.detach().clone(), requires_grad=False)  # noqa: E731
        self.w_qkv, self.b_qkv = clone(w_qkv), clone(b_qkv)
        self.w_out, self.b_out = clone(att.dense.weight), clone(att.dense.bias)
        self.ln_att_w, self.ln_att_b = clone(att.LayerNorm.weight), clone(att.LayerNorm.bias)
        self.w_ffn, self.b_ffn = clone(layer.ffn.weight), clone(layer.ffn.bias)
        self.w_ffn_out, self.b_ffn_out = clone(layer.ffn_output.weight), clone(layer.ffn_output.bias)
        self.ln_out_w, self.ln_out_b = (
            clone(layer.full_layer_layer_norm.weight),
            clone(layer.full_layer_layer_norm.bias),
        )
        self.eval()

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    @torch.no_grad()
    def embed(self, encoded: Encoded) -> torch.Tensor:
        """x(0) for a batch: (batch, tokens) ids -> (batch, tokens, hidden)."""
        device = self.w_qkv.device
        emb = self.embeddings(encoded.input_ids.to(device), token_type_ids=encoded.token_type_ids.to(device))
        return self.projection(emb)

    def step(self, x: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """One application of the shared layer. x: (batch, tokens, hidden) -> same shape.

        attention_mask: optional (batch', tokens) 1/0 mask; batch must be a multiple of batch'
        (the mask is tiled, so perturbed copies stacked along the batch share it).
        """
        return self._layer(x, attention_mask, None)

    __call__ = step  # a map is a callable x -> F(x); nn.Module's hooks are not needed here

    def step_with_internals(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None = None, names: tuple[str, ...] = INTERNALS
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One step plus intermediate values of the layer.

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
        batch, tokens, hidden = x.shape
        qkv = F_.linear(x, self.w_qkv, self.b_qkv).view(batch, tokens, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, heads, tokens, head_dim)
        scores = q @ k.transpose(-1, -2)
        if attention_mask is not None:
            reps = batch // attention_mask.shape[0]
            mask = additive_mask(attention_mask.to(x.device), x.dtype)
            scores = scores + (mask.repeat(reps, 1, 1, 1) if reps > 1 else mask)
        probs = torch.softmax(scores, dim=-1)
        context = (probs @ v).transpose(1, 2).reshape(batch, tokens, hidden)
        att = F_.layer_norm(
            x + F_.linear(context, self.w_out, self.b_out), (hidden,), self.ln_att_w, self.ln_att_b, self.eps
        )
        act = F_.gelu(F_.linear(att, self.w_ffn, self.b_ffn), approximate=self.gelu_approximate)
        out = F_.layer_norm(
            att + F_.linear(act, self.w_ffn_out, self.b_ffn_out),
            (hidden,),
            self.ln_out_w,
            self.ln_out_b,
            self.eps,
        )
        if internals is not None:
            internals.update(
                attention_probs=probs, attention_context=context, attention_output=att, ffn_activation=act
            )
        return out

    @torch.no_grad()
    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """ALBERT's pooled output: tanh(W x[:, 0] + b). x: (batch, tokens, hidden) -> (batch, hidden)."""
        if self.pooler is None:
            raise ChaoslibError("this model has no pooler (built with add_pooling_layer=False).")
        return torch.tanh(self.pooler(x[:, 0]))

    @torch.no_grad()
    def iterate(
        self, x: torch.Tensor, n_steps: int, attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """F applied ``n_steps`` times; no recording. x: (batch, tokens, hidden)."""
        for _ in range(n_steps):
            x = self._layer(x, attention_mask, None)
        return x
