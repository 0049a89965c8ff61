"""n-gram masking: statistics over many sequences against their stated values.

Every statistic is measured from the masked tensors themselves (runs of chosen positions,
ids compared with the originals), not from the masker's own bookkeeping, and compared with
its target within 4 standard errors of the sampling distribution.
"""

from __future__ import annotations

import math

import pytest
import torch

from chaoslib.data.masking import IGNORE_INDEX, NGramMasking
from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.errors import ChaoslibError

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
VOCAB = 30000
N_SEQ, N_TOK = 3000, 128
Z = 4.0  # tolerance in standard errors


@pytest.fixture(scope="module")
def masking() -> NGramMasking:
    return NGramMasking(mask_token_id=MASK, vocab_size=VOCAB, special_token_ids=[PAD, UNK, CLS, SEP, MASK])


@pytest.fixture(scope="module")
def blocks() -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] tokens [SEP] pad...: most rows full (126 maskable tokens), a quarter shorter and padded."""
    gen = torch.Generator().manual_seed(123)
    ids = torch.randint(5, VOCAB, (N_SEQ, N_TOK), generator=gen)
    lengths = torch.full((N_SEQ,), N_TOK)
    lengths[: N_SEQ // 4] = torch.randint(12, N_TOK, (N_SEQ // 4,), generator=gen)
    positions = torch.arange(N_TOK)[None]
    attention = (positions < lengths[:, None]).long()
    ids[:, 0] = CLS
    ids[torch.arange(N_SEQ), lengths - 1] = SEP
    ids[attention == 0] = PAD
    return ids, attention


@pytest.fixture(scope="module")
def masked(masking, blocks):
    ids, attention = blocks
    return masking(ids, attention, torch.Generator().manual_seed(0))


def runs_of(chosen_row: torch.Tensor) -> list[tuple[int, int]]:
    """(start, length) of the runs of True in a 1-d bool tensor."""
    padded = torch.cat([torch.tensor([False]), chosen_row, torch.tensor([False])]).int()
    edges = torch.diff(padded)
    starts, ends = torch.nonzero(edges == 1).flatten(), torch.nonzero(edges == -1).flatten()
    return [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def test_masked_fraction_is_the_budget(masking, blocks, masked):
    ids, attention = blocks
    full = attention.sum(1) == N_TOK  # rows with 126 maskable tokens: the fraction per row is count / 126
    counts = masked.chosen[full].sum(1).double()
    fraction = counts.mean() / (N_TOK - 2)
    standard_error = counts.std() / math.sqrt(len(counts)) / (N_TOK - 2)
    assert abs(fraction - 0.15) < Z * standard_error, (float(fraction), float(standard_error))
    # and over all rows (padded ones included) the pooled fraction is 15% too
    pooled = masked.chosen.sum() / masking.maskable(ids, attention).sum()
    assert abs(float(pooled) - 0.15) < 0.003
    # the budget is a per-sequence budget, not only an average: each row stays close to 15%
    assert float((counts - 0.15 * (N_TOK - 2)).abs().max()) <= 4


def test_span_lengths_follow_one_over_n(masked):
    lengths = torch.tensor([length for row in masked.chosen for _, length in runs_of(row)])
    assert set(lengths.tolist()) <= {1, 2, 3}
    expected = torch.tensor([6 / 11, 3 / 11, 2 / 11], dtype=torch.float64)
    observed = torch.stack([(lengths == n).double().mean() for n in (1, 2, 3)])
    standard_error = (expected * (1 - expected) / len(lengths)).sqrt()
    assert len(lengths) > 30000
    assert torch.all((observed - expected).abs() < Z * standard_error), (observed, expected)
    # the runs in the mask are exactly the spans the masker reports (spans never touch)
    assert [runs_of(row) for row in masked.chosen] == [sorted(s) for s in masked.spans]


def test_replacement_split_80_10_10(blocks, masked):
    ids, _ = blocks
    chosen = masked.chosen
    seen, original = masked.input_ids[chosen], ids[chosen]
    n = len(seen)
    as_mask = (seen == MASK).double().mean()
    unchanged = (seen == original).double().mean()
    randomised = ((seen != MASK) & (seen != original)).double().mean()
    # a random replacement equals the original with probability 1/29995: part of "unchanged"
    p_same = 0.1 / (VOCAB - 5)
    for observed, expected in ((as_mask, 0.8), (unchanged, 0.1 + p_same), (randomised, 0.1 - p_same)):
        assert abs(float(observed) - expected) < Z * math.sqrt(expected * (1 - expected) / n), (
            observed,
            expected,
        )
    # random replacements are ordinary tokens, never special ones
    assert int(seen[(seen != MASK) & (seen != original)].min()) >= 5
    # labels: the original id where chosen, ignored elsewhere
    assert torch.equal(masked.labels[chosen], original)
    assert torch.all(masked.labels[~chosen] == IGNORE_INDEX)
    # nothing that was not chosen changes
    assert torch.equal(masked.input_ids[~chosen], ids[~chosen])


def test_never_special_tokens_or_padding(blocks, masked):
    ids, attention = blocks
    chosen = masked.chosen
    assert not chosen[attention == 0].any()
    for special in (PAD, UNK, CLS, SEP, MASK):
        assert not chosen[ids == special].any()
    assert not chosen[:, 0].any()


def test_real_tokenizer_pairs_never_cross_sep():
    """With the ALBERT tokenizer and [CLS] A [SEP] B [SEP] inputs: spans stay inside one segment."""
    tokenizer = load_tokenizer()
    masking = NGramMasking.from_tokenizer(tokenizer)
    assert masking.mask_token_id == tokenizer.mask_token_id == MASK
    assert set(masking.special_token_ids) == {PAD, UNK, CLS, SEP, MASK}
    a = ["the quick brown fox jumps over the lazy dog"] * 200
    b = ["a second sentence with a few more words in it than the first"] * 200
    enc = encode(tokenizer, a, b, n_tokens=48)
    out = masking(enc.input_ids, enc.attention_mask, torch.Generator().manual_seed(1))
    special = torch.isin(enc.input_ids, torch.tensor([PAD, UNK, CLS, SEP, MASK]))
    assert not out.chosen[special].any()
    assert out.chosen.any()
    for row, spans in zip(enc.input_ids, out.spans, strict=True):
        for start, length in spans:
            assert not torch.isin(row[start : start + length], torch.tensor([CLS, SEP, PAD])).any()


def test_seeded_and_reproducible(masking, blocks):
    ids, attention = blocks[0][:50], blocks[1][:50]
    first = masking(ids, attention, torch.Generator().manual_seed(7))
    again = masking(ids, attention, torch.Generator().manual_seed(7))
    other = masking(ids, attention, torch.Generator().manual_seed(8))
    assert torch.equal(first.input_ids, again.input_ids) and torch.equal(first.chosen, again.chosen)
    assert not torch.equal(first.chosen, other.chosen)


def test_bad_input_names_the_parameter(masking, blocks):
    ids, attention = blocks
    with pytest.raises(ChaoslibError, match="budget"):
        NGramMasking(MASK, VOCAB, [PAD], budget=0.7)
    with pytest.raises(ChaoslibError, match="generator"):
        masking(ids[:2], attention[:2], generator=0)
    with pytest.raises(ChaoslibError, match="attention_mask"):
        masking(ids[:2], attention[:3], torch.Generator())
