"""Masked language modelling by depth: one prediction head per depth, all trained in one pass (SPEC 2.6).

The encoder is frozen, so the states of depth d are simply ``F^d(x0)`` (the shared layer
applied d times, with the attention mask). One pass of the deepest depth per batch gives
the states of every depth, and a prediction head per depth learns from its own (detached)
states at the same time. The loss is the SUM of the per-head losses and the heads share no
trainable parameter, so each head gets exactly its own gradient; AdamW and the schedule act
element by element, and gradients are clipped head by head. Head ``h`` therefore follows the
same path as a separate run of a ``depth``-layer model with the same data, masks and seed
(the tests check this against transformers' ``AlbertForMaskedLM``), at the cost of one run
of the deepest model.

The prediction head is ALBERT's ``AlbertMLMHead``: dense (hidden -> embedding), gelu_new,
LayerNorm, decoder (embedding -> vocabulary). Its decoder weight is TIED to the input word
embeddings, which are part of the frozen encoder, so by default (``decoder="tied"``) it stays
fixed and is shared by every head (what freezing ``model.albert`` does to an
``AlbertForMaskedLM``); ``decoder="free"`` gives each head its own trainable copy.

Two savings that change no result: logits are computed only at the masked positions (the
loss and accuracy ignore every other position), and heads are evaluated in chunks so that the
(heads, masked, vocabulary) logits never have to fit in memory at once.

Modes (the SPEC's three read-outs):

- ``trained``: the model's own head (pretrained, or the random init of a random model), trained;
- ``reinit``: the head re-drawn by :func:`init_readout` (scheme ``mlm``, seeded), trained;
- ``untrained``: the model's own head, evaluated as it is.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F_
import xarray as xr
from torch import nn
from tqdm import tqdm

from chaoslib.data.masking import MaskedBatch, NGramMasking
from chaoslib.data.mlm_data import MLMCorpus
from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.init_schemes import check_init, initialize
from chaoslib.model.loading import ModelInfo
from chaoslib.store import load_dataset, save_dataset
from chaoslib.tasks.heads import batch_order

MODES: tuple[str, ...] = ("trained", "reinit", "untrained")
MODE_DESCRIPTIONS = {
    "trained": "model's head, trained",
    "reinit": "re-initialised head (init_readout), trained",
    "untrained": "model's head, untrained",
}
TRAINED_MODES = ("trained", "reinit")
DECODERS = ("tied", "free")
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
            "the model has no MLM prediction head; load it with chaoslib.model.loading.load_albert(..., head='mlm')."
        )
    return copy.deepcopy(model.predictions)


@torch.no_grad()
def init_readout(head: nn.Module, seed: int, scheme: str = "mlm", decoder: str = "tied") -> nn.Module:
    """Re-draw an ``AlbertMLMHead`` in place: dense, LayerNorm and output bias (and the decoder weight
    when ``decoder="free"``; a tied decoder is the frozen input embedding and is left alone).

    scheme: a ``chaoslib.model.init_schemes`` scheme (``mlm``: every parameter uniform(+-1/sqrt(d)),
    the MLM chapter's scheme), drawn from ``seed`` in the order dense, LayerNorm, bias (, decoder).
    """
    check_init(scheme)
    _check_decoder(decoder)
    holder = nn.Module()  # only the parameters to re-draw, under their own names
    holder.dense, holder.LayerNorm, holder.bias = head.dense, head.LayerNorm, head.bias
    if decoder == "free":
        holder.decoder = head.decoder
    initialize(holder, scheme, seed)
    return head


def _check_decoder(decoder: str) -> str:
    if decoder not in DECODERS:
        raise ChaoslibError(f"decoder={decoder!r}; use 'tied' (frozen input embeddings) or 'free'.")
    return decoder


class StackedMLMHeads(nn.Module):
    """``n_heads`` independent ALBERT prediction heads, evaluated together.

    dense_weight: (heads, embedding, hidden), dense_bias / ln_weight / ln_bias: (heads, embedding),
    bias: (heads, vocab); decoder_weight: (vocab, embedding) shared and frozen (tied) or
    (heads, vocab, embedding) trainable (free).
    """

    def __init__(self, heads: Sequence[nn.Module], activation: str = "gelu_new", decoder: str = "tied"):
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
        if decoder == "free":
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
        if self.decoder == "free":
            return torch.baddbmm(self.bias[heads, None, :], h, self.decoder_weight[heads].transpose(1, 2))
        n, masked, embedding = h.shape
        logits = (h.reshape(n * masked, embedding) @ self.decoder_weight.T).view(n, masked, -1)
        return logits + self.bias[heads, None, :]  # (in place on the view would cost a full copy in backward)

    def decayed_parameters(self) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
        """(with weight decay, without): transformers' Trainer exempts biases and LayerNorm gains."""
        decay = [self.dense_weight] + ([self.decoder_weight] if self.decoder == "free" else [])
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


# ---------------------------------------------------------------------------------------------
# the sweep


class MLMDepthSweep:
    """Prediction heads of every depth (and every mode) on a frozen encoder, trained in one pass.

    Args:
        depths: encoder depths (number of layer applications), e.g. ``range(1, 25)``.
        modes: a subset of :data:`MODES`.
        lr, epochs, batch_size, warmup_steps, weight_decay: AdamW with linear warmup then linear
            decay to 0 (transformers' ``get_linear_schedule_with_warmup``); SPEC: 2e-3, 3, 32, 100, 0.001.
        max_grad_norm: per-head gradient clipping (transformers' Trainer default 1.0; None = off).
        adam_epsilon: AdamW's epsilon (Trainer default 1e-8).
        decoder: ``"tied"`` (the frozen input embeddings, shared) or ``"free"`` (trainable per head).
        readout_scheme, readout_seed: how ``reinit`` heads are drawn (:func:`init_readout`).
        seed: seeds the batch order and the training masks; the test masks use ``seed + 1``.
        eval_batch_size: blocks per evaluation batch.
        max_logits: at most this many logits alive at once (heads are processed in chunks; larger
            chunks are faster on a GPU with memory to spare).
        progress: show a progress bar.

    After :meth:`fit`: ``heads_`` (StackedMLMHeads, one per (trained mode, depth)), ``head_index_``
    (list of (mode, depth) per head), ``train_loss_`` ((steps, heads) per-step training loss),
    ``fit_seconds_``, ``n_steps_``. :meth:`evaluate` returns a labelled dataset.
    """

    def __init__(
        self,
        depths: Sequence[int] = tuple(range(1, 25)),
        modes: Sequence[str] = MODES,
        lr: float = 2e-3,
        epochs: int = 3,
        batch_size: int = 32,
        warmup_steps: int = 100,
        weight_decay: float = 0.001,
        max_grad_norm: float | None = 1.0,
        adam_epsilon: float = 1e-8,
        decoder: str = "tied",
        readout_scheme: str = "mlm",
        readout_seed: int = 0,
        seed: int = 0,
        eval_batch_size: int = 64,
        max_logits: int = LOGITS_CHUNK_ELEMENTS,
        progress: bool = False,
    ):
        self.depths = tuple(sorted(set(int(d) for d in depths)))
        if not self.depths or self.depths[0] < 1:
            raise ChaoslibError(f"depths={list(depths)}; give depths >= 1, e.g. range(1, 25).")
        unknown = set(modes) - set(MODES)
        if unknown or not modes:
            raise ChaoslibError(f"modes={list(modes)}; choose from {list(MODES)}.")
        if epochs < 0 or batch_size < 1 or warmup_steps < 0 or lr <= 0:
            raise ChaoslibError(
                f"epochs={epochs}, batch_size={batch_size}, warmup_steps={warmup_steps}, lr={lr}: "
                "need epochs >= 0, batch_size >= 1, warmup_steps >= 0 and lr > 0."
            )
        self.modes = tuple(m for m in MODES if m in modes)
        self.lr, self.epochs, self.batch_size = float(lr), int(epochs), int(batch_size)
        self.warmup_steps, self.weight_decay = int(warmup_steps), float(weight_decay)
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.adam_epsilon = float(adam_epsilon)
        self.decoder = _check_decoder(decoder)
        self.readout_scheme, self.readout_seed = check_init(readout_scheme), int(readout_seed)
        self.seed, self.eval_batch_size, self.progress = int(seed), int(eval_batch_size), progress
        self.max_logits = int(max_logits)

    def get_params(self) -> dict:
        """The constructor arguments (for provenance and cache keys)."""
        return {
            "depths": list(self.depths),
            "modes": list(self.modes),
            "lr": self.lr,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "warmup_steps": self.warmup_steps,
            "weight_decay": self.weight_decay,
            "max_grad_norm": self.max_grad_norm,
            "adam_epsilon": self.adam_epsilon,
            "decoder": self.decoder,
            "readout_scheme": self.readout_scheme,
            "readout_seed": self.readout_seed,
            "seed": self.seed,
        }

    # -- building blocks ---------------------------------------------------------------------

    def _heads_for(
        self, model: nn.Module, modes: Sequence[str]
    ) -> tuple[StackedMLMHeads, list[tuple[str, int]]]:
        own = readout_from_model(model)
        fresh = init_readout(readout_from_model(model), self.readout_seed, self.readout_scheme, self.decoder)
        index = [(mode, depth) for mode in modes for depth in self.depths]
        heads = [fresh if mode == "reinit" else own for mode, _ in index]
        stacked = StackedMLMHeads(heads, model.config.hidden_act, self.decoder)
        return stacked.to(next(model.parameters()).device), index

    def _states_for_heads(self, states: torch.Tensor, index: list[tuple[str, int]]) -> torch.Tensor:
        """(n_depths, masked, hidden) -> (n_heads, masked, hidden) following the heads' depths."""
        rows = torch.tensor([self.depths.index(depth) for _, depth in index], device=states.device)
        return states.index_select(0, rows)

    # -- training ----------------------------------------------------------------------------

    def fit(self, model: nn.Module, train: Encoded, masking: NGramMasking) -> MLMDepthSweep:
        """Train the heads of the trained modes on ``train`` (blocks, (n, tokens)) with a frozen ``model``.

        model: an ``AlbertForMaskedLM`` (``load_albert(..., head="mlm")``); it is not modified.
        """
        from transformers import get_linear_schedule_with_warmup

        trained_modes = [m for m in self.modes if m in TRAINED_MODES]
        self.head_index_ = [(m, d) for m in trained_modes for d in self.depths]
        self.n_steps_, self.fit_seconds_ = 0, 0.0
        self.train_loss_ = torch.empty(0, len(self.head_index_))
        if not trained_modes:
            self.heads_ = None
            return self
        start = time.perf_counter()
        fmap = AlbertMap(model)
        heads, index = self._heads_for(model, trained_modes)
        decay, no_decay = heads.decayed_parameters()
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.lr,
            eps=self.adam_epsilon,
        )
        order = batch_order(len(train), self.epochs, self.batch_size, self.seed)
        schedule = get_linear_schedule_with_warmup(optimizer, self.warmup_steps, len(order))
        mask_gen = torch.Generator().manual_seed(self.seed)
        losses = []
        heads.train()
        for rows in tqdm(order, desc="MLM heads", disable=not self.progress):
            batch = train[rows]
            masked = masking(batch.input_ids, batch.attention_mask, mask_gen)
            states = self._states_for_heads(masked_states(fmap, batch, masked, self.depths), index)
            labels = masked.labels[masked.chosen].to(states.device)
            optimizer.zero_grad(set_to_none=True)
            step_loss = torch.empty(heads.n_heads)
            for part in heads.chunks(len(labels), self.max_logits):
                loss = head_losses(heads(states[part], part), labels)
                loss.sum().backward()  # heads share no trainable parameter: each gets its own gradient
                step_loss[part] = loss.detach().cpu()
            if self.max_grad_norm is not None:
                heads.clip_grad_norm_per_head(self.max_grad_norm)
            optimizer.step()
            schedule.step()
            losses.append(step_loss)
        heads.eval()
        self.heads_ = heads
        self.train_loss_ = torch.stack(losses) if losses else self.train_loss_
        self.n_steps_ = len(order)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    # -- evaluation --------------------------------------------------------------------------

    def test_masks(self, test: Encoded, masking: NGramMasking) -> MaskedBatch:
        """The fixed masking of the test blocks (seed + 1), the same for every depth, mode and encoder."""
        return masking(test.input_ids, test.attention_mask, torch.Generator().manual_seed(self.seed + 1))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, test: Encoded, masking: NGramMasking) -> xr.Dataset:
        """Accuracy and perplexity on the masked positions of ``test`` (blocks, (n, tokens)), per mode, depth.

        Returns a dataset with dims (mode, depth): ``accuracy``, ``perplexity`` (exp of the mean
        cross-entropy over all masked test positions), ``loss``; attrs ``n_masked``, ``n_blocks``.
        """
        fmap = AlbertMap(model)
        groups: list[tuple[StackedMLMHeads, list[tuple[str, int]]]] = []
        if any(m in TRAINED_MODES for m in self.modes):
            if getattr(self, "heads_", None) is None:
                raise ChaoslibError("the trained modes need fit(model, train, masking) before evaluate().")
            groups.append((self.heads_, self.head_index_))
        if "untrained" in self.modes:
            groups.append(self._heads_for(model, ["untrained"]))
        masks = self.test_masks(test, masking)
        total_loss = {key: 0.0 for _, index in groups for key in index}
        total_correct = dict.fromkeys(total_loss, 0)
        n_masked = 0
        for i in range(0, len(test), self.eval_batch_size):
            rows = slice(i, i + self.eval_batch_size)
            batch = test[rows]
            masked = MaskedBatch(
                masks.input_ids[rows], masks.labels[rows], masks.chosen[rows], masks.spans[rows]
            )
            states = masked_states(fmap, batch, masked, self.depths)
            labels = masked.labels[masked.chosen].to(states.device)
            n_masked += len(labels)
            for heads, index in groups:
                head_states = self._states_for_heads(states, index)
                for part in heads.chunks(len(labels), self.max_logits):
                    logits = heads(head_states[part], part)
                    loss, correct = head_losses(logits, labels), (logits.argmax(-1) == labels).sum(1)
                    for key, l_, c in zip(index[part], loss.tolist(), correct.tolist(), strict=True):
                        total_loss[key] += l_ * len(labels)
                        total_correct[key] += c
        if n_masked == 0:
            raise ChaoslibError("the test blocks have no maskable tokens; give more (or longer) test blocks.")
        shape = (len(self.modes), len(self.depths))
        accuracy, mean_loss = np.full(shape, np.nan), np.full(shape, np.nan)
        for (mode, depth), value in total_loss.items():
            at = (self.modes.index(mode), self.depths.index(depth))
            mean_loss[at] = value / n_masked
            accuracy[at] = total_correct[(mode, depth)] / n_masked
        coords = {"mode": list(self.modes), "depth": list(self.depths)}
        return xr.Dataset(
            {
                "accuracy": (("mode", "depth"), accuracy, {"long_name": "accuracy on masked positions"}),
                "loss": (("mode", "depth"), mean_loss, {"long_name": "mean cross-entropy (nats)"}),
                "perplexity": (("mode", "depth"), np.exp(mean_loss), {"long_name": "perplexity"}),
            },
            coords=coords,
            attrs={"n_masked": int(n_masked), "n_blocks": len(test), **_flat(self.get_params())},
        )

    def train_loss_dataset(self) -> xr.Dataset:
        """The per-step training loss as a dataset with dims (mode, depth, step)."""
        trained = [m for m in self.modes if m in TRAINED_MODES]
        values = self.train_loss_.numpy().reshape(-1, len(trained), len(self.depths)).transpose(1, 2, 0)
        return xr.Dataset(
            {"train_loss": (("mode", "depth", "step"), values)},
            coords={"mode": trained, "depth": list(self.depths), "step": np.arange(values.shape[-1]) + 1},
        )


def _flat(params: dict) -> dict:
    """Attrs-friendly copy: lists and None as strings."""
    return {k: (str(v) if isinstance(v, (list, tuple)) or v is None else v) for k, v in params.items()}


def chance_accuracy(test_labels: torch.Tensor) -> float:
    """Accuracy of always predicting the most frequent masked token. test_labels: (n_masked,)."""
    counts = torch.bincount(test_labels.flatten())
    return float(counts.max()) / max(1, int(counts.sum()))


def perplexity_of_unigram(train_ids: torch.Tensor, test_labels: torch.Tensor, vocab_size: int) -> float:
    """Perplexity of the add-one-smoothed unigram model of ``train_ids`` on ``test_labels`` (a baseline)."""
    counts = torch.bincount(train_ids.flatten(), minlength=vocab_size).double() + 1.0
    log_p = (counts / counts.sum()).log()
    return float(math.exp(-log_p[test_labels.flatten()].mean()))


# ---------------------------------------------------------------------------------------------
# the chapter's computation: every encoder, cached


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def encoder_label(model: nn.Module, info: ModelInfo) -> str:
    """``albert-large-v2 pretrained (hidden 1024)``: the model's label with its width, so that a reduced
    random architecture is never mistaken for the named one."""
    return f"{info.label()} (hidden {model.config.hidden_size})"


def mlm_by_depth(
    encoders: Sequence[tuple[nn.Module, ModelInfo]],
    corpus: MLMCorpus,
    masking: NGramMasking,
    sweep: MLMDepthSweep,
    out_dir: str | os.PathLike | None = None,
) -> xr.Dataset:
    """Fit and evaluate ``sweep`` for each encoder: dims (encoder, mode, depth) and (..., step).

    encoders: (``AlbertForMaskedLM``, its ModelInfo) pairs, e.g. pretrained and ``mlm``-init.
    Each encoder's result is saved as ``<out_dir>/mlm_by_depth__<label>.nc`` and reused by a rerun
    with the same sweep parameters and corpus. Variables: ``accuracy``, ``loss``, ``perplexity``,
    ``train_loss``; coordinate ``weights`` (pretrained/random) along ``encoder``; attrs: the
    sweep parameters, the corpus label, ``n_masked``, and ``fit_seconds`` per encoder.
    """
    if not encoders:
        raise ChaoslibError("encoders is empty; give at least one (model, ModelInfo) pair.")
    key = {
        "sweep": sweep.get_params(),
        "corpus": {k: v for k, v in corpus.meta.items() if k != "first_paragraph"},
    }
    results = []
    for model, info in encoders:
        label = encoder_label(model, info)
        path = None if out_dir is None else Path(out_dir) / f"mlm_by_depth__{_slug(label)}.nc"
        if path is not None and path.exists():
            cached = load_dataset(path)
            if (
                cached.attrs.get("key") == json.loads(json.dumps(key))
                and cached.attrs.get("model") == info.as_dict()
            ):
                results.append(cached)
                continue
        sweep.fit(model, corpus.train, masking)
        result = sweep.evaluate(model, corpus.test, masking)
        if sweep.heads_ is not None:
            result = result.merge(sweep.train_loss_dataset(), join="left")
        result = result.expand_dims(encoder=[label]).assign_coords(weights=("encoder", [info.weights]))
        result.attrs.update(
            key=key, model=info.as_dict(), fit_seconds=sweep.fit_seconds_, corpus=corpus.label()
        )
        if path is not None:
            save_dataset(result, path)
        results.append(result)
    combined = xr.concat(results, dim="encoder", combine_attrs="drop")
    combined.attrs.update(
        {k: v for k, v in results[0].attrs.items() if k not in ("model", "fit_seconds", "key")},
        fit_seconds=[float(r.attrs["fit_seconds"]) for r in results],
    )
    return combined


def baselines(corpus: MLMCorpus, masking: NGramMasking, sweep: MLMDepthSweep) -> dict[str, float]:
    """Reference points on the same test masks: the most frequent masked token's accuracy, and the
    perplexity of the train blocks' unigram distribution (add-one smoothed)."""
    masks = sweep.test_masks(corpus.test, masking)
    labels = masks.labels[masks.chosen]
    train = corpus.train.input_ids[masking.maskable(corpus.train.input_ids, corpus.train.attention_mask)]
    return {
        "majority_accuracy": chance_accuracy(labels),
        "unigram_perplexity": perplexity_of_unigram(train, labels, masking.vocab_size),
        "uniform_perplexity": float(masking.vocab_size),
    }
