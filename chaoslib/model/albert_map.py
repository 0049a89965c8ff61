"""ALBERT as a discrete-time dynamical system: ``x(t+1) = F(x(t))``.

ALBERT applies ONE shared Transformer layer again and again: every layer of the network is the same
layer, so its depth is the number of steps of one map. ``AlbertMap`` is that map, an implementation of
:class:`chaoslib.model.protocol.WeightTiedMap` (the layer after attention is
:class:`chaoslib.model.post_ln_layer.PostLayerNormMap`, shared with BERT's):

- ``x0 = AlbertMap.embed(encoded)``: the embedding output after the 128 -> D projection
  (position and token-type embeddings enter only here), shape (batch, tokens, hidden);
- ``F = AlbertMap.step``: the shared layer in eval mode, written out functionally so that it
  can be differentiated forward (``torch.func.jvp``), fused (one QKV product), captured in a
  CUDA graph, and asked for its intermediate values;
- ``AlbertMap.synchronised_step``: the same layer on a state whose tokens are all equal, (batch, D).

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
from chaoslib.model.post_ln_layer import PostLayerNormMap, frozen, tiled_mask


class AlbertMap(PostLayerNormMap):
    """The map of one ALBERT network (a :class:`~chaoslib.model.protocol.WeightTiedMap`).

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
        self.eps_att = self.eps_out = config.layer_norm_eps
        self.gelu_approximate = "tanh" if config.hidden_act == "gelu_new" else "none"
        scale = self.head_dim**-0.5
        with torch.no_grad():
            w_qkv = torch.cat([att.query.weight * scale, att.key.weight, att.value.weight])
            b_qkv = torch.cat([att.query.bias * scale, att.key.bias, att.value.bias])
        self.w_qkv, self.b_qkv = frozen(w_qkv), frozen(b_qkv)
        self.w_out, self.b_out = frozen(att.dense.weight), frozen(att.dense.bias)
        self.ln_att_w, self.ln_att_b = frozen(att.LayerNorm.weight), frozen(att.LayerNorm.bias)
        self.w_ffn, self.b_ffn = frozen(layer.ffn.weight), frozen(layer.ffn.bias)
        self.w_ffn_out, self.b_ffn_out = frozen(layer.ffn_output.weight), frozen(layer.ffn_output.bias)
        self.ln_out_w = frozen(layer.full_layer_layer_norm.weight)
        self.ln_out_b = frozen(layer.full_layer_layer_norm.bias)
        self.eval()

    @torch.no_grad()
    def embed(self, encoded: Encoded) -> torch.Tensor:
        """x(0) for a batch: (batch, tokens) ids -> (batch, tokens, hidden)."""
        device = self.w_qkv.device
        emb = self.embeddings(encoded.input_ids.to(device), token_type_ids=encoded.token_type_ids.to(device))
        return self.projection(emb)

    def _attention(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, tokens, hidden = x.shape
        qkv = F_.linear(x, self.w_qkv, self.b_qkv).view(batch, tokens, 3, self.n_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, heads, tokens, head_dim)
        scores = q @ k.transpose(-1, -2)
        if attention_mask is not None:
            scores = scores + tiled_mask(attention_mask, batch, x)
        probs = torch.softmax(scores, dim=-1)
        return probs, (probs @ v).transpose(1, 2).reshape(batch, tokens, hidden)

    def _value(self, y: torch.Tensor) -> torch.Tensor:
        # fused QKV rows are [query * scale; key; value]: the value projection is the last block
        value_rows = slice(2 * self.hidden_size, None)
        return F_.linear(y, self.w_qkv[value_rows], self.b_qkv[value_rows])

    @torch.no_grad()
    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """ALBERT's pooled output: tanh(W x[:, 0] + b). x: (batch, tokens, hidden) -> (batch, hidden)."""
        if self.pooler is None:
            raise ChaoslibError("this model has no pooler (built with add_pooling_layer=False).")
        return torch.tanh(self.pooler(x[:, 0]))
