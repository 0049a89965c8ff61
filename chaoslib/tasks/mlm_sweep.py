"""Masked language modelling by depth: one prediction head per depth, all trained in one pass (the authors' calc_masked_language_modeling.py).

:class:`MLMDepthSweep` takes ONE network (an ``AlbertForMaskedLM`` as a mode builds it, see
:mod:`chaoslib.tasks.mlm_networks`) and trains a copy of its head for every depth at once: one
pass of the deepest depth per batch gives the states of every depth
(:func:`chaoslib.tasks.mlm_heads.masked_states`), and each head learns from its own (detached)
states. The loss is the SUM of the per-head losses and the heads share no trainable
parameter, so each head gets exactly its own gradient; AdamW and the schedule act element by
element, and gradients are clipped head by head. Head ``d`` therefore follows the same path as
a separate run of a ``d``-layer model with the same data, masks and seed (the tests check this
against transformers' ``AlbertForMaskedLM``), at the cost of one run of the deepest model.

Evaluation keeps the counts per test block: ``correct`` and ``loss_sum`` (depth, block) and
``n_masked`` (block). The authors' accuracy is the MEAN OF PER-BLOCK accuracies
(``acc_metrics`` in their script); :func:`chaoslib.tasks.mlm_results.mlm_metrics` derives it, the
pooled accuracy and the perplexity, and bootstrap intervals over the blocks.

:func:`mlm_by_depth` runs every (encoder, mode) point as one trial of :mod:`chaoslib.sweep` (local or
Ray, finished trials kept and never rerun).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from torch import nn
from tqdm import tqdm

from chaoslib.data.masking import MaskedBatch, NGramMasking
from chaoslib.data.mlm_data import MLMCorpus
from chaoslib.data.tokenization import Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import Network
from chaoslib.tasks.heads import batch_order
from chaoslib.tasks.mlm_heads import (
    LOGITS_CHUNK_ELEMENTS,
    StackedMLMHeads,
    _check_decoder,
    head_losses,
    masked_states,
    position_losses,
    readout_from_model,
)
from chaoslib.tasks.mlm_networks import (
    MODES,
    TRAINED_MODES,
    check_modes,
    network_for_mode,
    random_encoder,
)


class MLMDepthSweep:
    """Prediction heads of every depth on one frozen network, trained in one pass.

    Args:
        depths: encoder depths (number of layer applications), e.g. ``range(1, 25)``.
        lr, epochs, batch_size, warmup_steps, weight_decay: AdamW with linear warmup then linear
            decay to 0 (transformers' ``get_linear_schedule_with_warmup``); the authors': 2e-3, 3, 32, 100, 0.001.
        max_grad_norm: per-head gradient clipping (transformers' Trainer default 1.0; None = off).
        adam_epsilon: AdamW's epsilon (Trainer default 1e-8).
        decoder: ``"frozen"`` (the network's decoder weight, shared; the authors') or ``"trained"``.
        seed: seeds the batch order and the training masks; the test masks use ``seed + 1``.
        eval_batch_size: blocks per evaluation batch.
        max_logits: at most this many logits alive at once (heads are processed in chunks).
        progress: show a progress bar.

    After :meth:`fit`: ``heads_`` (StackedMLMHeads, one per depth), ``train_loss_`` ((steps, depths)
    per-step training loss), ``fit_seconds_``, ``n_steps_``.
    """

    def __init__(
        self,
        depths: Sequence[int] = tuple(range(1, 25)),
        lr: float = 2e-3,
        epochs: int = 3,
        batch_size: int = 32,
        warmup_steps: int = 100,
        weight_decay: float = 0.001,
        max_grad_norm: float | None = 1.0,
        adam_epsilon: float = 1e-8,
        decoder: str = "frozen",
        seed: int = 0,
        eval_batch_size: int = 64,
        max_logits: int = LOGITS_CHUNK_ELEMENTS,
        progress: bool = False,
    ):
        self.depths = tuple(sorted(set(int(d) for d in depths)))
        if not self.depths or self.depths[0] < 1:
            raise ChaoslibError(f"depths={list(depths)}; give depths >= 1, e.g. range(1, 25).")
        if epochs < 0 or batch_size < 1 or warmup_steps < 0 or lr <= 0:
            raise ChaoslibError(
                f"epochs={epochs}, batch_size={batch_size}, warmup_steps={warmup_steps}, lr={lr}: "
                "need epochs >= 0, batch_size >= 1, warmup_steps >= 0 and lr > 0."
            )
        self.lr, self.epochs, self.batch_size = float(lr), int(epochs), int(batch_size)
        self.warmup_steps, self.weight_decay = int(warmup_steps), float(weight_decay)
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.adam_epsilon = float(adam_epsilon)
        self.decoder = _check_decoder(decoder)
        self.seed, self.eval_batch_size, self.progress = int(seed), int(eval_batch_size), progress
        self.max_logits = int(max_logits)
        self.heads_: StackedMLMHeads | None = None

    def get_params(self) -> dict:
        """The parameters that change a result (for provenance and cache keys)."""
        return {
            "depths": list(self.depths),
            "lr": self.lr,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "warmup_steps": self.warmup_steps,
            "weight_decay": self.weight_decay,
            "max_grad_norm": self.max_grad_norm,
            "adam_epsilon": self.adam_epsilon,
            "decoder": self.decoder,
            "seed": self.seed,
        }

    def _heads(self, model: nn.Module) -> StackedMLMHeads:
        head = readout_from_model(model)
        stacked = StackedMLMHeads([head] * len(self.depths), model.config.hidden_act, self.decoder)
        return stacked.to(next(model.parameters()).device)

    # -- training ----------------------------------------------------------------------------

    def fit(self, model: nn.Module, train: Encoded, masking: NGramMasking) -> MLMDepthSweep:
        """Train a copy of ``model``'s head per depth on ``train`` (blocks, (n, tokens)), encoder frozen.

        model: an ``AlbertForMaskedLM``; it is not modified.
        """
        from transformers import get_linear_schedule_with_warmup

        start = time.perf_counter()
        fmap = AlbertMap(model)
        heads = self._heads(model)
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
            states = masked_states(fmap, batch, masked, self.depths)
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
        self.train_loss_ = torch.stack(losses) if losses else torch.empty(0, len(self.depths))
        self.n_steps_ = len(order)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    # -- evaluation --------------------------------------------------------------------------

    def test_masks(self, test: Encoded, masking: NGramMasking) -> MaskedBatch:
        """The fixed masking of the test blocks (seed + 1), the same for every depth, mode and encoder."""
        return masking(test.input_ids, test.attention_mask, torch.Generator().manual_seed(self.seed + 1))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, test: Encoded, masking: NGramMasking, trained: bool) -> xr.Dataset:
        """Counts per depth and test block: the trained heads (``trained``) or ``model``'s own head.

        test: blocks (n_blocks, tokens). Returns a dataset with ``correct`` (depth, block; argmax
        equals the masked token), ``loss_sum`` (depth, block; summed cross-entropy, nats) and
        ``n_masked`` (block).
        """
        if trained and self.heads_ is None:
            raise ChaoslibError("trained=True needs fit(model, train, masking) before evaluate().")
        heads = self.heads_ if trained else self._heads(model)
        fmap = AlbertMap(model)
        masks = self.test_masks(test, masking)
        n_blocks = len(test)
        correct = torch.zeros(len(self.depths), n_blocks, dtype=torch.float64)
        loss_sum = torch.zeros(len(self.depths), n_blocks, dtype=torch.float64)
        for i in range(0, n_blocks, self.eval_batch_size):
            rows = slice(i, i + self.eval_batch_size)
            masked = MaskedBatch(
                masks.input_ids[rows], masks.labels[rows], masks.chosen[rows], masks.spans[rows]
            )
            states = masked_states(fmap, test[rows], masked, self.depths)
            labels = masked.labels[masked.chosen].to(states.device)
            block = (masked.chosen.nonzero()[:, 0] + i).cpu()  # (masked,) the block of each position
            for part in heads.chunks(len(labels), self.max_logits):
                logits = heads(states[part], part)
                hit = (logits.argmax(-1) == labels).double().cpu()
                correct[part].index_add_(1, block, hit)
                loss_sum[part].index_add_(1, block, position_losses(logits, labels).double().cpu())
        n_masked = masks.chosen.sum(1).cpu().numpy()
        if n_masked.sum() == 0:
            raise ChaoslibError("the test blocks have no maskable tokens; give more (or longer) test blocks.")
        return xr.Dataset(
            {
                "correct": (("depth", "block"), correct.numpy(), {"long_name": "correct masked predictions"}),
                "loss_sum": (
                    ("depth", "block"),
                    loss_sum.numpy(),
                    {"long_name": "summed cross-entropy (nats)"},
                ),
                "n_masked": (("block",), n_masked.astype(np.int64), {"long_name": "masked positions"}),
            },
            coords={"depth": list(self.depths), "block": np.arange(n_blocks)},
        )

    def run(self, model: nn.Module, corpus: MLMCorpus, masking: NGramMasking, train: bool) -> xr.Dataset:
        """Fit (when ``train``) and evaluate one network: :meth:`evaluate`'s counts plus ``train_loss``
        (depth, step) and attrs ``fit_seconds``, ``n_steps``."""
        if train:
            self.fit(model, corpus.train, masking)
        result = self.evaluate(model, corpus.test, masking, trained=train)
        steps = self.train_loss_.shape[0] if train else 0
        loss = self.train_loss_.numpy().T if train else np.empty((len(self.depths), 0))
        result["train_loss"] = (("depth", "step"), loss, {"long_name": "training loss (nats)"})
        result = result.assign_coords(step=np.arange(steps) + 1)
        result.attrs.update(fit_seconds=self.fit_seconds_ if train else 0.0, n_steps=steps)
        return result


# ---------------------------------------------------------------------------------------------
# the chapter's computation: every (encoder, mode) a trial of chaoslib.sweep


def encoder_label(info: Network) -> str:
    """``albert-wikitext2 pretrained here`` / ``albert-wikitext2 random mlm #2``."""
    return info.label()


def pretrained_positions(name: str) -> int | None:
    """How many positions the network ``name`` was pretrained on: a network pretrained here records it in its
    card (``training.n_tokens``, e.g. 64 for albert-wikitext2); None for the others (the hub's ALBERT was
    pretrained on up to 512 positions, its configuration's limit)."""
    from chaoslib.model.configs import shipped_checkpoint
    from chaoslib.store import read_json

    folder = shipped_checkpoint(name)
    if folder is None:
        return None
    training = read_json(folder / "card.json").get("training", {})
    n = training.get("n_tokens", training.get("config", {}).get("n_tokens"))
    return None if n is None else int(n)


def check_block_positions(networks: Sequence[Network], n_tokens: int) -> None:
    """Refuse blocks longer than the examples a network was pretrained on: a block of ``n_tokens`` tokens
    reads positions 0..n_tokens-1, and positions beyond pretraining's hold untrained position embeddings
    (a random encoder is made from the pretrained network of its name, so the same limit applies)."""
    for net in networks:
        limit = pretrained_positions(net.name)
        if limit is not None and n_tokens > limit:
            raise ChaoslibError(
                f"blocks of {n_tokens} tokens read positions {limit}..{n_tokens - 1}, which {net.name} was "
                f"never pretrained on (its examples had {limit} tokens); use n_tokens <= {limit}."
            )


def positions_read(name: str, n_tokens: int) -> str:
    """In words, which positions blocks of ``n_tokens`` tokens read, against what ``name`` was pretrained
    on."""
    limit = pretrained_positions(name)
    if limit is None:
        return f"positions 0 to {n_tokens - 1} ({name}'s pretraining length is not recorded here)"
    within = "all within" if n_tokens <= limit else "beyond"
    return f"positions 0 to {n_tokens - 1}, {within} the {limit}-token examples {name} was pretrained on"


def check_encoders(networks: Sequence[Network]) -> list[Network]:
    """The encoders of a chapter, checked: at least one, each a plain pretrained or random ALBERT (a
    random one is the authors' random encoder, made from the pretrained network of its name:
    :func:`load_encoder`)."""
    networks = list(networks)
    if not networks:
        raise ChaoslibError(
            "networks is empty; give the encoders to compare (e.g. reference_and_comparisons(...))."
        )
    if not all(isinstance(n, Network) and not n.derived for n in networks):
        raise ChaoslibError(
            "networks must be chaoslib.model.network.Network descriptions, not derived networks."
        )
    if any(getattr(n, "config", None) for n in networks):
        raise ChaoslibError(
            "a random encoder is the pretrained network with model.albert re-drawn: it has the pretrained "
            "architecture, so give its Network no config."
        )
    return networks


def load_encoder(settings: dict) -> tuple[nn.Module, Network]:
    """A trial's encoder: the pretrained ``AlbertForMaskedLM`` (``settings["network"]``), or the
    random-encoder copy of the pretrained network ``settings["pretrained"]``."""
    network = Network.from_key(settings["network"])
    options = dict(device=settings["device"], dtype=settings["dtype"], data_dir=settings["data_dir"])
    if network.weights == "pretrained":
        return network.load(head="mlm", **options)
    model, info = Network.from_key(settings["pretrained"]).load(head="mlm", **options)
    return random_encoder(model, info, network.seed, network.init)


def mlm_trial(
    settings: dict, cache_dir: str | os.PathLike | None = None, runtime: dict | None = None
) -> dict:
    """One (encoder, mode) point from its settings, for :func:`chaoslib.sweep.run_sweep`.

    Returns the counts of :meth:`MLMDepthSweep.evaluate` (``correct``, ``loss_sum``: (depth, block);
    ``n_masked``: (block,)), ``train_loss`` (depth, step), ``fit_seconds``, the network's
    Network as a dict and ``trained_depth``, the pretrained checkpoint's number of layers.
    ``runtime``: MLMDepthSweep arguments that do not change the result (``eval_batch_size``,
    ``max_logits``, ``progress``).
    """
    from chaoslib.data.mlm_data import build_mlm_corpus
    from chaoslib.data.tokenization import load_tokenizer

    tokenizer = load_tokenizer(data_dir=settings["data_dir"])
    corpus = build_mlm_corpus(
        **settings["corpus"], tokenizer=tokenizer, data_dir=settings["data_dir"], cache_dir=cache_dir
    )
    model, info = load_encoder(settings)
    trained_depth = int(
        model.config.num_hidden_layers
    )  # the checkpoint's own depth (the random copy keeps it)
    network = network_for_mode(model, settings["mode"], settings["readout_seed"], settings["readout_scheme"])
    sweep = MLMDepthSweep(**settings["sweep"], **(runtime or {}))
    result = sweep.run(
        network, corpus, NGramMasking.from_tokenizer(tokenizer), train=settings["mode"] in TRAINED_MODES
    )
    return {
        "correct": result.correct.values,
        "loss_sum": result.loss_sum.values,
        "n_masked": result.n_masked.values,
        "train_loss": result.train_loss.values,
        "fit_seconds": float(result.attrs["fit_seconds"]),
        "model": info.as_dict(),
        "trained_depth": trained_depth,
    }


def mlm_by_depth(
    networks: Sequence[Network],
    corpus_params: dict,
    sweep: MLMDepthSweep,
    modes: Sequence[str],
    random_modes: Sequence[str] | None = None,
    readout_seed: int = 0,
    readout_scheme: str = "mlm",
    weights_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    executor: str = "local",
    ray_address: str | None = None,
    store_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[xr.Dataset, list[Network]]:
    """Each (encoder, mode) point as one :func:`chaoslib.sweep.run_sweep` trial, dims (encoder, mode, depth).

    Args:
        networks: the encoders, in order (e.g. the network under test, then the random encoders it is compared
            with: :func:`chaoslib.model.network.reference_and_comparisons`). A pretrained one is loaded as it
            is; a random one (``init`` scheme, ``seed``) is the authors' random encoder: the pretrained
            ``AlbertForMaskedLM`` of its name (from ``weights_dir``) with ``model.albert`` re-drawn, its
            head kept.
        corpus_params: :func:`~chaoslib.data.mlm_data.build_mlm_corpus` arguments (no tokenizer, dirs).
        sweep: depths and training settings; modes: a subset of :data:`~chaoslib.tasks.mlm_networks.MODES`;
            random_modes: the random encoders' modes when they differ (None: ``modes``); the
            (encoder, mode) points not run are NaN.
        readout_seed, readout_scheme: how the re-initialised heads are drawn.
        executor, ray_address: where the trials run; store_dir: finished trials (and the cached
            corpus) live here, so a rerun only runs what is missing.

    Returns the counts (``correct``, ``loss_sum``, ``n_masked``, ``train_loss`` (encoder, mode,
    depth, step; NaN for untrained modes), ``fit_seconds`` (encoder, mode)), coordinates ``weights``,
    ``init_seed`` and ``role`` (``"reference"`` for the first network, ``"comparison"`` for the others) along
    ``encoder``, the sweep parameters as attrs; and the networks' Networks in encoder order.

    Raises :class:`~chaoslib.errors.ChaoslibError` when the blocks are longer than the examples a network was
    pretrained on (:func:`check_block_positions`).
    """
    from chaoslib.sweep import run_sweep

    modes = check_modes(modes)
    mine = {"pretrained": modes, "random": modes if random_modes is None else check_modes(random_modes)}
    nets = check_encoders(networks)
    check_block_positions(nets, int(corpus_params.get("n_tokens", 128)))  # build_mlm_corpus's default: 128
    all_modes = tuple(m for m in MODES if any(m in mine[n.weights] for n in nets))
    common = {
        "data_dir": None if data_dir is None else str(data_dir),
        "device": str(device),
        "dtype": str(dtype),
        "corpus": dict(corpus_params),
        "sweep": sweep.get_params(),
        "readout_seed": int(readout_seed),
        "readout_scheme": readout_scheme,
    }
    where = [(i, all_modes.index(m)) for i, net in enumerate(nets) for m in mine[net.weights]]
    trials = [{**common, **_encoder_settings(nets[i], weights_dir), "mode": all_modes[j]} for i, j in where]
    runtime = {"eval_batch_size": sweep.eval_batch_size, "max_logits": sweep.max_logits}
    cache = None if store_dir is None or executor != "local" else Path(store_dir)
    records = run_sweep(
        trials,
        functools.partial(mlm_trial, cache_dir=cache, runtime=runtime),
        executor=executor,
        ray_address=ray_address,
        store=None if store_dir is None else Path(store_dir) / "trials",
        resources={"num_gpus": 1} if str(device).startswith("cuda") else None,
        progress=progress,
        desc="MLM (encoder x mode)",
    )
    results = [r.result for r in records]
    n_blocks, n_depths = len(results[0]["n_masked"]), len(sweep.depths)
    n_steps = max(r["train_loss"].shape[1] for r in results)
    shape = (len(nets), len(all_modes), n_depths)
    correct, loss_sum = np.full((*shape, n_blocks), np.nan), np.full((*shape, n_blocks), np.nan)
    train_loss, fit_seconds = np.full((*shape, n_steps), np.nan), np.full(shape[:2], np.nan)
    infos: list = [None] * len(nets)
    for (i, j), r in zip(where, results, strict=True):  # (encoder, mode) points not run stay NaN
        correct[i, j], loss_sum[i, j] = r["correct"], r["loss_sum"]
        train_loss[i, j, :, : r["train_loss"].shape[1]] = r["train_loss"]
        fit_seconds[i, j], infos[i] = r["fit_seconds"], Network.from_dict(r["model"])
    dims = ("encoder", "mode", "depth")
    ds = xr.Dataset(
        {
            "correct": ((*dims, "block"), correct, {"long_name": "correct masked predictions"}),
            "loss_sum": ((*dims, "block"), loss_sum, {"long_name": "summed cross-entropy (nats)"}),
            "n_masked": (("block",), results[0]["n_masked"], {"long_name": "masked positions"}),
            "train_loss": ((*dims, "step"), train_loss, {"long_name": "training loss (nats)"}),
            "fit_seconds": (("encoder", "mode"), fit_seconds),
        },
        coords={
            "encoder": [encoder_label(i) for i in infos],
            "mode": list(all_modes),
            "depth": list(sweep.depths),
            "block": np.arange(n_blocks),
            "step": np.arange(n_steps) + 1,
            "weights": ("encoder", [i.weights for i in infos]),
            "init_seed": ("encoder", [-1 if i.seed is None else int(i.seed) for i in infos]),
            # the first network is the one under test (Chapter.networks: the reference, then its comparisons)
            "role": ("encoder", ["reference"] + ["comparison"] * (len(infos) - 1)),
        },
        attrs={
            "readout_seed": int(readout_seed),
            "readout_scheme": readout_scheme,
            "trained_depth": int(results[0]["trained_depth"]),
            **{
                k: (str(v) if isinstance(v, (list, tuple)) or v is None else v)
                for k, v in sweep.get_params().items()
            },
        },
    )
    return ds, infos


def _encoder_settings(network: Network, weights_dir: str | os.PathLike | None) -> dict:
    """A trial's encoder, as JSON values: the network's key and, for a random encoder, that of the pretrained
    network it is made from."""
    if network.weights == "pretrained":
        return {"network": network.key()}
    folder = None if weights_dir is None else str(weights_dir)
    pretrained = Network(network.name, "pretrained", weights_dir=folder)
    return {"network": network.key(), "pretrained": pretrained.key()}


# ---------------------------------------------------------------------------------------------
# baselines


def majority_baseline(corpus: MLMCorpus, masking: NGramMasking, sweep: MLMDepthSweep) -> xr.Dataset:
    """Always answering the train blocks' most frequent maskable token, on the same test masks.

    Returns ``correct`` and ``loss_sum`` (block; the loss of the add-one-smoothed unigram model of the
    train blocks) and ``n_masked`` (block), the layout :func:`~chaoslib.tasks.mlm_results.mlm_metrics`
    reads; attrs ``token`` (the majority token id).
    """
    masks = sweep.test_masks(corpus.test, masking)
    train_ids = corpus.train.input_ids[masking.maskable(corpus.train.input_ids, corpus.train.attention_mask)]
    counts = torch.bincount(train_ids, minlength=masking.vocab_size).double()
    token = int(counts.argmax())
    log_p = ((counts + 1.0) / (counts + 1.0).sum()).log()
    labels = torch.where(masks.chosen, masks.labels, torch.zeros_like(masks.labels))
    correct = ((labels == token) & masks.chosen).sum(1).double()
    loss_sum = torch.where(masks.chosen, -log_p[labels], torch.zeros_like(log_p[labels])).sum(1)
    return xr.Dataset(
        {
            "correct": (("block",), correct.numpy()),
            "loss_sum": (("block",), loss_sum.numpy()),
            "n_masked": (("block",), masks.chosen.sum(1).numpy().astype(np.int64)),
        },
        coords={"block": np.arange(len(corpus.test))},
        attrs={"token": token},
    )


# ---------------------------------------------------------------------------------------------
# the chapter's run


def chapter_counts(
    networks: Sequence[Network], parameters: Mapping[str, Any], store_dir: str | os.PathLike, device: Any
) -> tuple[xr.Dataset, xr.Dataset, list[Network], str]:
    """The MLM-by-depth chapter's counts from its parameters (the notebook's parameters cell).

    The corpus (:func:`~chaoslib.data.mlm_data.build_mlm_corpus` of ``n_paragraphs``, ``corpus``,
    ``min_chars``, ``n_tokens``, ``test_fraction``, ``seed``, ``split``, ``test_split``, cached in
    ``store_dir``), the sweep (:class:`MLMDepthSweep` of ``depths``, ``lr``, ``epochs``, ``batch_size``,
    ``warmup_steps``, ``weight_decay``, ``max_grad_norm``, ``decoder``, ``seed``), every (encoder, mode) point
    of ``networks`` (:func:`mlm_by_depth` with ``modes``, ``random_modes``, ``readout_seed``, ``weights_dir``,
    ``data_dir``, ``dtype``, ``executor``, ``ray_address``; trials kept in ``store_dir``) and the
    majority-token baseline on the same test masks (:func:`majority_baseline`).

    Returns the counts, the baseline, the networks as loaded (encoder order) and the corpus's label.
    """
    from chaoslib.data.mlm_data import build_mlm_corpus
    from chaoslib.data.tokenization import load_tokenizer

    p = dict(parameters)
    corpus_params = dict(n_paragraphs=p["n_paragraphs"], source=p["corpus"], min_chars=p["min_chars"],
                         n_tokens=p["n_tokens"], test_fraction=p["test_fraction"], seed=p["seed"],
                         split=p["split"], test_split=p["test_split"])
    sweep = MLMDepthSweep(depths=p["depths"], lr=p["lr"], epochs=p["epochs"], batch_size=p["batch_size"],
                          warmup_steps=p["warmup_steps"], weight_decay=p["weight_decay"],
                          max_grad_norm=p["max_grad_norm"], decoder=p["decoder"], seed=p["seed"])
    tokenizer = load_tokenizer(data_dir=p["data_dir"])
    blocks = build_mlm_corpus(
        **corpus_params, tokenizer=tokenizer, data_dir=p["data_dir"], cache_dir=store_dir
    )
    counts, loaded = mlm_by_depth(
        networks, corpus_params, sweep, p["modes"], p["random_modes"], p["readout_seed"],
        weights_dir=p["weights_dir"], data_dir=p["data_dir"], device=device, dtype=p["dtype"],
        executor=p["executor"], ray_address=p["ray_address"], store_dir=store_dir,
    )
    baseline = majority_baseline(blocks, NGramMasking.from_tokenizer(tokenizer), sweep)
    return counts, baseline, loaded, blocks.label()
