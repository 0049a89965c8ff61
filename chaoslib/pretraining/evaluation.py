"""Held-out evaluation of a pretrained network, and the baselines it must beat.

Evaluation replaces every selected position by ``[MASK]`` (no kept or random tokens, which a
model could copy), on a fixed, seeded set of SOP examples from the held-out split. Baselines come
from the training split's token frequencies: the most-frequent-token accuracy and the unigram
entropy (the loss of a model that ignores its context).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from chaoslib.data.masking import IGNORE_INDEX, NGramMasking
from chaoslib.data.tokenization import Encoded
from chaoslib.pretraining.data import SOPSampler, TokenisedCorpus
from chaoslib.pretraining.objective import pretraining_objective


@dataclass
class Baselines:
    """Context-free predictors from the training split's unigram distribution."""

    most_frequent_token: int
    most_frequent_accuracy: float  # on the evaluation's masked positions
    unigram_entropy: float  # nats, of the training split
    unigram_cross_entropy: float  # nats, the training unigram's loss on the evaluation's masked positions


@dataclass
class Evaluation:
    mlm_loss: float
    mlm_accuracy: float
    sop_accuracy: float
    n_masked: int
    n_sequences: int

    def as_dict(self) -> dict:
        return asdict(self)


def eval_masking(tokenizer, budget: float = 0.15, max_ngram: int = 3) -> NGramMasking:
    """The evaluation's masking: the training spans, every chosen token shown as ``[MASK]``."""
    return NGramMasking.from_tokenizer(
        tokenizer, budget=budget, max_ngram=max_ngram, mask_prob=1.0, random_prob=0.0
    )


def eval_batches(
    sampler: SOPSampler, masking: NGramMasking, n_batches: int, batch_size: int, seed: int = 1234
):
    """The fixed evaluation set: ``n_batches`` (SOPBatch, MaskedBatch) pairs drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        sop = sampler.batch(batch_size, generator)
        out.append((sop, masking(sop.encoded.input_ids, sop.encoded.attention_mask, generator)))
    return out


@torch.no_grad()
def evaluate(model, batches, device: torch.device | str = "cpu") -> Evaluation:
    """Masked-LM loss (nats per masked token, pooled), masked-token accuracy and SOP accuracy."""
    was_training = model.training
    model.eval()
    loss_sum, correct, masked, sop_correct, sequences = 0.0, 0, 0, 0, 0
    for sop, mask in batches:
        out = pretraining_objective(
            model, sop.encoded.to(device), _to(mask, device), sop.sop_labels.to(device)
        )
        loss_sum += float(out.mlm_loss) * out.n_masked
        correct += out.mlm_correct
        masked += out.n_masked
        sop_correct += out.sop_correct
        sequences += out.n_sequences
    model.train(was_training)
    return Evaluation(loss_sum / masked, correct / masked, sop_correct / sequences, masked, sequences)


def _to(mask, device):
    from chaoslib.data.masking import MaskedBatch

    return MaskedBatch(mask.input_ids.to(device), mask.labels.to(device), mask.chosen.to(device), mask.spans)


def baselines(train: TokenisedCorpus, vocab_size: int, batches) -> Baselines:
    """Most-frequent-token accuracy and unigram losses; ``batches`` as from :func:`eval_batches`."""
    counts = torch.bincount(train.ids.long(), minlength=vocab_size).double()
    p = counts / counts.sum()
    entropy = float(-(p[p > 0] * p[p > 0].log()).sum())
    top = int(counts.argmax())
    labels = torch.cat([mask.labels[mask.chosen] for _, mask in batches])
    smoothed = (counts + 1.0) / (counts.sum() + vocab_size)  # add-one, so unseen test tokens are finite
    return Baselines(
        most_frequent_token=top,
        most_frequent_accuracy=float((labels == top).double().mean()),
        unigram_entropy=entropy,
        unigram_cross_entropy=float(-smoothed[labels].log().mean()),
    )


def nats_to_perplexity(nats: float) -> float:
    return math.exp(nats)


@torch.no_grad()
def mlm_accuracy_by_depth(model, batches, max_depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked-token accuracy and loss of the network's own MLM head after 1..``max_depth`` applications of the
    shared layer, in one pass (the state at depth t is the state at depth t - 1 advanced by one step).

    model: an ``AlbertForPreTraining`` (or any model with ``.albert`` and ``.predictions``); batches: as
    :func:`eval_batches` (normal attention masks, every selected position shown as ``[MASK]``).
    Returns (max_depth,) accuracy and (max_depth,) loss in nats, pooled over the masked positions.
    """
    from chaoslib.model.albert_map import AlbertMap

    albert_map = AlbertMap(model)
    correct = torch.zeros(max_depth, dtype=torch.float64)
    loss = torch.zeros(max_depth, dtype=torch.float64)
    total = 0
    for sop, mask in batches:
        x = albert_map.embed(Encoded(mask.input_ids, sop.encoded.token_type_ids, sop.encoded.attention_mask))
        selected = mask.labels != IGNORE_INDEX
        targets = mask.labels[selected]
        for depth in range(max_depth):
            x = albert_map.step(x, sop.encoded.attention_mask)
            logits = model.predictions(x[selected]).double()
            correct[depth] += float((logits.argmax(-1) == targets).sum())
            loss[depth] += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        total += int(targets.numel())
    return correct / total, loss / total
