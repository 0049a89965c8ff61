"""One layer of a BERT encoder iterated as if it were shared: a second weight-tied map.

BERT stacks L layers with their own weights. ``BertLayerMap`` takes ONE of them (the first by default)
and applies it again and again, ``x(t+1) = F(x(t))``, with BERT's embeddings as ``x(0)`` and BERT's
pooler as the readout: a :class:`chaoslib.model.protocol.WeightTiedMap` built from a network that was
not trained to be iterated, so every analysis of ``chaoslib.dynamics`` runs on it unchanged.

The layer is written out functionally (so ``torch.func.jvp`` and CUDA graphs go through it, and it can
return its intermediate values), in the order of transformers' eager attention: separate Q, K, V
products, the 1/sqrt(head_dim) scale applied to the scores. As for ALBERT, no attention mask is used
by default (pads are active units); ``attention_mask`` switches to the masked variant. The tests check
one step against transformers' ``BertLayer`` and ``embed`` against ``BertModel.embeddings``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_
from torch import nn

from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.post_ln_layer import PostLayerNormMap, frozen, tiled_mask

GELU_APPROXIMATION = {"gelu": "none", "gelu_new": "tanh"}
"""BERT's ``hidden_act`` values this map computes, as ``torch.nn.functional.gelu``'s ``approximate``."""


class BertLayerMap(PostLayerNormMap):
    """Layer ``layer`` of a BERT encoder as a map (a :class:`~chaoslib.model.protocol.WeightTiedMap`).

    Args:
        model: a ``BertModel`` or a model with a ``.bert`` attribute (MLM, classification).
        layer: which encoder layer to iterate (``model.encoder.layer[layer]``).

    The layer's weights are copied when the map is built (later changes to ``model`` do not reach
    the step); the embeddings and the pooler are ``model``'s own modules.
    """

    def __init__(self, model: nn.Module, layer: int = 0):
        super().__init__()
        bert = getattr(model, "bert", model)
        config = bert.config
        if config.is_decoder or config.add_cross_attention:
            raise ChaoslibError(
                "BertLayerMap iterates an encoder layer; this BERT is a decoder (causal attention)."
            )
        if config.hidden_act not in GELU_APPROXIMATION:
            raise ChaoslibError(
                f"hidden_act={config.hidden_act!r} is not supported by BertLayerMap; use one of "
                f"{list(GELU_APPROXIMATION)}."
            )
        if not 0 <= layer < config.num_hidden_layers:
            raise ChaoslibError(f"layer={layer}; this BERT has layers 0..{config.num_hidden_layers - 1}.")
        self.config = config
        self.layer_index = layer
        self.embeddings = bert.embeddings
        self.pooler = getattr(bert, "pooler", None)
        hf_layer = bert.encoder.layer[layer]
        attention, out = hf_layer.attention, hf_layer.output
        self.n_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.n_heads
        self.scaling = self.head_dim**-0.5
        self.gelu_approximate = GELU_APPROXIMATION[config.hidden_act]
        self.eps_att, self.eps_out = attention.output.LayerNorm.eps, out.LayerNorm.eps
        self.w_query, self.b_query = frozen(attention.self.query.weight), frozen(attention.self.query.bias)
        self.w_key, self.b_key = frozen(attention.self.key.weight), frozen(attention.self.key.bias)
        self.w_value, self.b_value = frozen(attention.self.value.weight), frozen(attention.self.value.bias)
        self.w_out, self.b_out = frozen(attention.output.dense.weight), frozen(attention.output.dense.bias)
        self.ln_att_w = frozen(attention.output.LayerNorm.weight)
        self.ln_att_b = frozen(attention.output.LayerNorm.bias)
        self.w_ffn, self.b_ffn = frozen(hf_layer.intermediate.dense.weight), frozen(hf_layer.intermediate.dense.bias)
        self.w_ffn_out, self.b_ffn_out = frozen(out.dense.weight), frozen(out.dense.bias)
        self.ln_out_w, self.ln_out_b = frozen(out.LayerNorm.weight), frozen(out.LayerNorm.bias)
        self.eval()

    @torch.no_grad()
    def embed(self, encoded: Encoded) -> torch.Tensor:
        """x(0), BERT's embeddings (word + token type + position, then LayerNorm).

        (batch, tokens) ids -> (batch, tokens, hidden).
        """
        device = self.w_query.device
        return self.embeddings(
            input_ids=encoded.input_ids.to(device), token_type_ids=encoded.token_type_ids.to(device)
        )

    def _attention(
        self, x: torch.Tensor, attention_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, tokens, hidden = x.shape
        split = (batch, tokens, self.n_heads, self.head_dim)
        # each (batch, heads, tokens, head_dim)
        q = F_.linear(x, self.w_query, self.b_query).view(split).transpose(1, 2)
        k = F_.linear(x, self.w_key, self.b_key).view(split).transpose(1, 2)
        v = F_.linear(x, self.w_value, self.b_value).view(split).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        if attention_mask is not None:
            scores = scores + tiled_mask(attention_mask, batch, x)
        probs = torch.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, tokens, hidden)
        return probs, context

    def _value(self, y: torch.Tensor) -> torch.Tensor:
        return F_.linear(y, self.w_value, self.b_value)

    @torch.no_grad()
    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """BERT's pooled output tanh(W x[:, 0] + b). x: (batch, tokens, hidden) -> (batch, hidden)."""
        if self.pooler is None:
            raise ChaoslibError("this model has no pooler (built with add_pooling_layer=False).")
        return self.pooler(x)
