"""Prediction heads of every depth on a frozen ALBERT encoder: states in one pass, heads stacked.

The encoder is frozen, so the states of depth d are simply ``F^d(x0)`` (the shared layer
applied d times, with the attention mask): one pass of the deepest depth per batch gives the
states of every depth (:func:`masked_states`).

The prediction head is ALBERT's ``AlbertMLMHead``: dense (hidden -> embedding), gelu_new,
LayerNorm, decoder (embedding -> vocabulary) plus an output bias. :class:`StackedMLMHeads`
evaluates one such head per depth together. In the authors' runs the decoder weight is tied
to the input word embeddings, which are frozen with the encoder, so it never trains
(``decoder="frozen"``, shared by every head); ``decoder="trained"`` gives each head its own
trainable copy. Logits are computed only at the masked positions (the loss and accuracy ignore
every other position), and heads are evaluated in chunks (:meth:`StackedMLMHeads.chunks`) so
that the (heads, masked, vocabulary) logits never have to fit in memory at once.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F_
from torch import nn

from chaoslib.data.masking import MaskedBatch
from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap

DECODERS = ("frozen", "trained")
LOGITS_CHUNK_ELEMENTS = 2**26  # at most this many logits (256 MB in float32) alive at once


# ---------------------------------------------------------------------------------------------
# states of every depth in one pass


@torch.no_grad()
def depth_states(
    albert_map: AlbertMap, encoded: Encoded, depths: Sequence[int]
) -> Iterator[tuple[int, torch.Tensor]]:
    """The states of the requested depths from one pass: yields ``(depth, x)`` in increasing depth.

    encoded: (batch, tokens) inputs; the attention mask is applied (pads are not attended to).
    x: (batch, tokens, hidden), equal to ``AlbertModel(num_hidden_layers=depth)``'s last hidden state.
    """
    wanted = sorted(set(int(d) for d in depths))
    if not wanted or wanted[0] < 1:
        raise ChaoslibError(f"depths={list(depths)}; give depths >= 1, e.g. range(1, 25).")
    mask = encoded.attention_mask.to(albert_map.w_qkv.device)
    x = albert_map.embed(encoded)
    done = 0
    for depth in wanted:
        x = albert_map.iterate(x, depth - done, mask)
        done = depth
        yield depth, x


def masked_states(
    albert_map: AlbertMap, encoded: Encoded, masked: MaskedBatch, depths: Sequence[int]
) -> torch.Tensor:
    """The states at the masked positions of every depth: (n_depths, n_masked, hidden), depths sorted.

    encoded: (batch, tokens) the original batch (token types, attention mask); masked: its masking.
    """
    seen = Encoded(masked.input_ids, encoded.token_type_ids, encoded.attention_mask)
    chosen = masked.chosen.to(albert_map.w_qkv.device)
    return torch.stack([x[chosen] for _, x in depth_states(albert_map, seen, depths)])


# ---------------------------------------------------------------------------------------------
# prediction heads


def readout_from_model(model: nn.Module) -> nn.Module:
    """A standalone copy of an ``AlbertForMaskedLM``'s prediction head (``model.predictions``)."""
    if not hasattr(model, "predictions"):
        raise ChaoslibError(
            "the model has no MLM prediction head; load it with "
            "chaoslib.model.network.Network(...).load(head='mlm')."
        )
    return copy.deepcopy(model.predictions)


def _check_decoder(decoder: str) -> str:
    if decoder not in DECODERS:
        raise ChaoslibError(
            f"decoder={decoder!r}; use 'frozen' (the model's decoder weight, as the paper) or 'trained'."
        )
    return decoder


class StackedMLMHeads(nn.Module):
    """``n_heads`` independent ALBERT prediction heads, evaluated together.

    dense_weight: (heads, embedding, hidden), dense_bias / ln_weight / ln_bias: (heads, embedding),
    bias: (heads, vocab); decoder_weight: (vocab, embedding), the first head's decoder weight, shared
    and frozen (``decoder="frozen"``), or (heads, vocab, embedding), one trainable copy per head
    (``decoder="trained"``).
    """

    def __init__(self, heads: Sequence[nn.Module], activation: str = "gelu_new", decoder: str = "frozen"):
        super().__init__()
        if activation not in ("gelu_new", "gelu"):
            raise ChaoslibError(f"hidden_act={activation!r} is not supported by the prediction heads.")
        self.decoder = _check_decoder(decoder)
        self.gelu_approximate = "tanh" if activation == "gelu_new" else "none"
        self.eps = heads[0].LayerNorm.eps
        stack = lambda get: nn.Parameter(torch.stack([get(h).detach().clone() for h in heads]))  # noqa: E731
        self.dense_weight = stack(lambda h: h.dense.weight)
        self.dense_bias = stack(lambda h: h.dense.bias)
        self.ln_weight = stack(lambda h: h.LayerNorm.weight)
        self.ln_bias = stack(lambda h: h.LayerNorm.bias)
        self.bias = stack(lambda h: h.decoder.bias)
        if decoder == "trained":
            self.decoder_weight = stack(lambda h: h.decoder.weight)
        else:
            self.register_buffer("decoder_weight", heads[0].decoder.weight.detach().clone(), persistent=False)

    @property
    def n_heads(self) -> int:
        return self.dense_weight.shape[0]

    def forward(self, states: torch.Tensor, heads: slice = slice(None)) -> torch.Tensor:
        """Logits. states: (n, masked, hidden) for the n heads in ``heads`` -> (n, masked, vocab)."""
        h = torch.baddbmm(self.dense_bias[heads, None, :], states, self.dense_weight[heads].transpose(1, 2))
        h = F_.gelu(h, approximate=self.gelu_approximate)
        h = (
            F_.layer_norm(h, h.shape[-1:], eps=self.eps) * self.ln_weight[heads, None, :]
            + self.ln_bias[heads, None, :]
        )
        if self.decoder == "trained":
            return torch.baddbmm(self.bias[heads, None, :], h, self.decoder_weight[heads].transpose(1, 2))
        n, masked, embedding = h.shape
        logits = (h.reshape(n * masked, embedding) @ self.decoder_weight.T).view(n, masked, -1)
        return logits + self.bias[heads, None, :]  # (in place on the view would cost a full copy in backward)

    def decayed_parameters(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(with weight decay, without): transformers' Trainer exempts biases and LayerNorm gains."""
        decay = [self.dense_weight] + ([self.decoder_weight] if self.decoder == "trained" else [])
        return decay, [self.dense_bias, self.ln_weight, self.ln_bias, self.bias]

    def chunks(self, n_masked: int, max_logits: int = LOGITS_CHUNK_ELEMENTS) -> list[slice]:
        """Slices of heads whose logits (heads, n_masked, vocab) hold at most ``max_logits`` elements."""
        vocab = self.bias.shape[1]
        size = max(1, max_logits // max(1, n_masked * vocab))
        return [slice(i, min(i + size, self.n_heads)) for i in range(0, self.n_heads, size)]

    @torch.no_grad()
    def clip_grad_norm_per_head(self, max_norm: float) -> torch.Tensor:
        """Clip each head's gradient to global norm ``max_norm`` (as ``clip_grad_norm_`` on a single head).

        Returns the per-head norms before clipping, (heads,).
        """
        params = [p for p in self.parameters() if p.grad is not None]
        norms = torch.stack([p.grad.pow(2).flatten(1).sum(1) for p in params]).sum(0).sqrt()
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(scale.view(-1, *([1] * (p.dim() - 1))))
        return norms


class _PerHeadCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy per head; the backward turns the saved log-softmax into the gradient in place.

    Same values and gradients as ``F.cross_entropy`` per head, without its full-size zero fill,
    scatter and second buffer: 3-4x faster on a CPU, and the vocabulary-wide passes are most of
    a head's cost besides the decoder product. (The graph is used once: no ``retain_graph``.)
    """

    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, masked, _ = logits.shape
        index = labels.view(1, masked, 1).expand(n, masked, 1)
        log_probs = torch.log_softmax(logits, -1)
        ctx.save_for_backward(log_probs, index)
        return -log_probs.gather(-1, index).squeeze(-1).mean(-1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        log_probs, index = ctx.saved_tensors
        probs = log_probs.exp_()  # d loss / d logits = (softmax - onehot) / masked
        probs.scatter_add_(-1, index, torch.full(index.shape, -1.0, dtype=probs.dtype, device=probs.device))
        return probs.mul_((grad / log_probs.shape[1])[:, None, None]), None


def head_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-head mean cross-entropy. logits: (n, masked, vocab); labels: (masked,). Returns (n,)."""
    return _PerHeadCrossEntropy.apply(logits, labels)


@torch.no_grad()
def position_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at each masked position. logits: (n, masked, vocab); labels: (masked,) -> (n, masked)."""
    picked = logits.gather(-1, labels.view(1, -1, 1).expand(logits.shape[0], -1, 1)).squeeze(-1)
    return torch.logsumexp(logits, -1) - picked
