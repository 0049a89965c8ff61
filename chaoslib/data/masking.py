"""n-gram masking for masked language modelling (ALBERT's pretraining scheme).

Spans of n = 1, 2, 3 consecutive tokens, n drawn with probability proportional to 1/n
(6/11, 3/11, 2/11), cover on average 15% of the maskable tokens of each sequence; each
chosen token is replaced by ``[MASK]`` (80%), a random ordinary token (10%) or left
unchanged (10%). Special tokens ([CLS], [SEP], ...) and padding are never chosen.

How the spans are drawn, and why (our choice; ALBERT's own procedure rejects spans that
overflow the budget, which skews the span lengths towards 1):

1. The span lengths form a *stationary* renewal sequence on a budget line of length
   ``T = budget * L`` (L maskable tokens; T rounded up or down at random so that its
   mean is exact): the first span starts at a random offset with the forward-recurrence
   distribution ``P(k) = P(n > k) / E[n]``, every later span starts where the previous
   one ends, and the spans that start before ``T`` are kept. For a stationary renewal
   process each kept span's length is a fresh draw (so lengths follow 1/n exactly) and
   the expected number of masked tokens is exactly ``T``.
2. The kept spans are placed uniformly at random among the maskable positions, never
   overlapping and never touching (at least one unmasked token between two spans), so
   that every run of masked positions is exactly one span.

All randomness comes from one ``torch.Generator``: a seed gives the same masks on every
machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from chaoslib.errors import ChaoslibError

IGNORE_INDEX = -100  # the label of positions that are not predicted (torch / transformers convention)
MAX_PLACEMENT_TRIES = 1000


@dataclass
class MaskedBatch:
    """A masked batch.

    input_ids: (batch, tokens) the ids the encoder sees (with [MASK] / random / kept tokens);
    labels: (batch, tokens) the original id at chosen positions, ``IGNORE_INDEX`` elsewhere;
    chosen: (batch, tokens) bool, the positions to predict;
    spans: per sequence, the list of (start, length) of its masked spans.
    """

    input_ids: torch.Tensor
    labels: torch.Tensor
    chosen: torch.Tensor
    spans: list[list[tuple[int, int]]]


class NGramMasking:
    """n-gram masking with a token budget and 80/10/10 replacement.

    Args:
        mask_token_id: id of ``[MASK]``.
        vocab_size: size of the vocabulary; random replacements are drawn uniformly from the
            ids in ``0..vocab_size-1`` that are not special.
        special_token_ids: ids that are never chosen (and never drawn as replacements).
        budget: expected fraction of the maskable tokens that are chosen (0.15).
        max_ngram: longest span; n in 1..max_ngram with probability proportional to 1/n.
        mask_prob, random_prob: replacement split of the chosen tokens; the rest stays unchanged.
    """

    def __init__(
        self,
        mask_token_id: int,
        vocab_size: int,
        special_token_ids: Iterable[int],
        budget: float = 0.15,
        max_ngram: int = 3,
        mask_prob: float = 0.8,
        random_prob: float = 0.1,
    ):
        if not 0.0 < budget < 0.5:
            raise ChaoslibError(f"budget={budget}; give a fraction in (0, 0.5), e.g. 0.15.")
        if max_ngram < 1:
            raise ChaoslibError(f"max_ngram={max_ngram}; use 1 (single tokens) or more.")
        if mask_prob < 0 or random_prob < 0 or mask_prob + random_prob > 1:
            raise ChaoslibError(
                f"mask_prob={mask_prob}, random_prob={random_prob}: both must be >= 0 with sum <= 1."
            )
        self.mask_token_id = int(mask_token_id)
        self.vocab_size = int(vocab_size)
        self.special_token_ids = sorted({int(i) for i in special_token_ids} | {self.mask_token_id})
        self.budget = float(budget)
        self.max_ngram = int(max_ngram)
        self.mask_prob = float(mask_prob)
        self.random_prob = float(random_prob)
        weights = 1.0 / torch.arange(1, self.max_ngram + 1, dtype=torch.float64)
        self.ngram_probs = weights / weights.sum()  # (max_ngram,), P(n) for n = 1..max_ngram
        self.mean_span = float((self.ngram_probs * torch.arange(1, self.max_ngram + 1)).sum())
        # forward recurrence time of the stationary renewal process:
        # P(k) = P(n > k) / E[n], k = 0..max_ngram-1
        survival = 1.0 - torch.cumsum(self.ngram_probs, 0) + self.ngram_probs  # P(n >= k+1)
        self.offset_probs = survival / survival.sum()
        special = torch.zeros(self.vocab_size, dtype=torch.bool)
        special[[i for i in self.special_token_ids if i < self.vocab_size]] = True
        self._special = special
        self._ordinary_ids = torch.nonzero(~special).flatten()

    @classmethod
    def from_tokenizer(cls, tokenizer, **kwargs) -> NGramMasking:
        """Masking for a transformers tokenizer: its [MASK], special ids and vocabulary size."""
        return cls(
            mask_token_id=tokenizer.mask_token_id,
            vocab_size=len(tokenizer),
            special_token_ids=tokenizer.all_special_ids,
            **kwargs,
        )

    def maskable(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, tokens) bool, real non-special tokens. input_ids, attention_mask: (batch, tokens)."""
        ids = input_ids.clamp(0, self.vocab_size - 1)
        return (
            attention_mask.bool() & ~self._special.to(input_ids.device)[ids] & (input_ids < self.vocab_size)
        )

    def __call__(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, generator: torch.Generator
    ) -> MaskedBatch:
        """Mask a batch. input_ids, attention_mask: (batch, tokens) int; generator: a CPU torch.Generator."""
        if input_ids.shape != attention_mask.shape or input_ids.dim() != 2:
            raise ChaoslibError(
                f"input_ids {tuple(input_ids.shape)} and attention_mask {tuple(attention_mask.shape)} "
                "must both be (batch, tokens)."
            )
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise ChaoslibError(
                "generator must be a CPU torch.Generator, e.g. torch.Generator().manual_seed(0)."
            )
        ids_cpu = input_ids.detach().cpu()
        maskable = self.maskable(ids_cpu, attention_mask.detach().cpu())
        chosen = torch.zeros_like(maskable)
        spans: list[list[tuple[int, int]]] = []
        for row in range(ids_cpu.shape[0]):
            positions = torch.nonzero(maskable[row]).flatten()
            row_spans = self._place(positions, self._span_lengths(len(positions), generator), generator)
            for start, length in row_spans:
                chosen[row, start : start + length] = True
            spans.append(row_spans)
        masked_ids, labels = self._replace(ids_cpu, chosen, generator)
        device = input_ids.device
        return MaskedBatch(masked_ids.to(device), labels.to(device), chosen.to(device), spans)

    def _span_lengths(self, n_maskable: int, generator: torch.Generator) -> list[int]:
        """Lengths of the spans whose start falls before the (randomly rounded) budget line."""
        target = self.budget * n_maskable
        line = int(target) + int(
            torch.rand((), generator=generator, dtype=torch.float64) < target - int(target)
        )
        position = int(torch.multinomial(self.offset_probs, 1, generator=generator))
        lengths: list[int] = []
        while position < line:
            draws = torch.multinomial(self.ngram_probs, 16, replacement=True, generator=generator) + 1
            for n in draws.tolist():
                if position >= line:
                    break
                lengths.append(n)
                position += n
        return lengths

    def _place(
        self, positions: torch.Tensor, lengths: list[int], generator: torch.Generator
    ) -> list[tuple[int, int]]:
        """Place spans uniformly, not touching, inside runs of consecutive maskable positions.

        positions: (n_maskable,) sorted token positions. Returns (start position, length) pairs.
        Spans that cannot fit (only in sequences of fewer than ~8 maskable tokens) are dropped.
        """
        n = len(positions)
        while lengths and sum(lengths) + len(lengths) - 1 > n:
            lengths = lengths[:-1]
        if not lengths:
            return []
        k, free = len(lengths), n - sum(lengths) - (len(lengths) - 1)
        for _ in range(MAX_PLACEMENT_TRIES):
            # stars and bars: k span slots among free + k items, uniformly
            slots = torch.sort(torch.randperm(free + k, generator=generator)[:k]).values.tolist()
            spans, offset = [], 0
            for i, (slot, length) in enumerate(zip(slots, lengths, strict=True)):
                start = offset + (
                    slot - i
                )  # slot - i free cells before this span (beyond the mandatory gaps)
                first, last = int(positions[start]), int(positions[start + length - 1])
                spans.append((first, length, last - first + 1 == length))
                offset += length + 1
            if all(contiguous for _, _, contiguous in spans):
                return [(first, length) for first, length, _ in spans]
        raise ChaoslibError(
            "could not place the masked spans inside runs of ordinary tokens; the sequences have too many "
            "special tokens between short segments. Use longer segments or max_ngram=1."
        )

    def _replace(
        self, input_ids: torch.Tensor, chosen: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """80/10/10 replacement of the chosen tokens; returns (masked input_ids, labels)."""
        labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        u = torch.rand(input_ids.shape, generator=generator)
        random_ids = self._ordinary_ids[
            torch.randint(len(self._ordinary_ids), input_ids.shape, generator=generator)
        ]
        masked = input_ids.clone()
        to_mask = chosen & (u < self.mask_prob)
        to_random = chosen & (u >= self.mask_prob) & (u < self.mask_prob + self.random_prob)
        masked[to_mask] = self.mask_token_id
        masked[to_random] = random_ids[to_random]
        return masked, labels
