"""Seeded input sampling from WikiText-2 (offline)."""

from __future__ import annotations

import pytest

from chaoslib.data.corpus import (
    detokenize_wikitext,
    dynamics_inputs,
    sample_paragraphs,
    sample_sentence_pairs,
)
from chaoslib.errors import ChaoslibError


def test_paragraphs_are_long_distinct_and_seeded():
    a = sample_paragraphs(20, min_chars=128, seed=1)
    assert len(set(a)) == 20 and all(len(p) > 128 for p in a)
    assert a == sample_paragraphs(20, min_chars=128, seed=1)
    assert a != sample_paragraphs(20, min_chars=128, seed=2)
    assert not any(p.startswith("=") for p in a)


def test_pairs_are_consecutive_sentences():
    pairs = sample_sentence_pairs(10, seed=0, min_chars=128)
    for first, second in pairs:
        assert first[-1] in ".!?" and first and second


def test_detokenize():
    assert (
        detokenize_wikitext(" a 1 @,@ 000 @-@ strong army , it 's large . ")
        == "a 1,000-strong army, it's large."
    )


def test_dynamics_inputs_shapes(tokenizer):
    enc, texts = dynamics_inputs(tokenizer, 5, 32, seed=0, kind="pair")
    assert enc.input_ids.shape == (5, 32) and len(texts) == 5
    assert (enc.token_type_ids.sum(1) > 0).all()  # B segments present
    enc, _ = dynamics_inputs(tokenizer, 4, 16, seed=0, kind="paragraph")
    assert enc.attention_mask.all()  # paragraphs > 4N characters fill N tokens


def test_bad_requests():
    with pytest.raises(ChaoslibError, match="lower n"):
        sample_paragraphs(10**7, min_chars=100)
    with pytest.raises(ChaoslibError, match="source="):
        sample_paragraphs(1, min_chars=100, source="books")
