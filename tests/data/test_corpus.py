"""Seeded input sampling from WikiText-2 (offline), and the authors' sampler and encoding rules."""

from __future__ import annotations

import pytest
import torch

from chaoslib.data.corpus import (
    detokenize_wikitext,
    dynamics_inputs,
    encode_authors,
    sample_article_paragraphs,
    sample_paragraphs,
    sample_sentence_pairs,
    sentences,
    wikitext_articles,
)
from chaoslib.data.tokenization import encode
from chaoslib.errors import ChaoslibError

# The authors' figure input (notebook/sample_trajectory.ipynb) and its SentencePiece ids, read off
# the ALBERT vocabulary once: A = 8 pieces, B = 3 pieces; [CLS]=2, [SEP]=3, <pad>=0.
PAIR = ("ALBERT stands for A Lite BERT.", "Hello world!")
A_IDS = [2953, 3486, 26, 21, 13, 10601, 11502, 9]
B_IDS = [10975, 126, 187]


def test_paragraphs_are_long_distinct_and_seeded():
    a = sample_paragraphs(20, min_chars=128, seed=1)
    assert len(set(a)) == 20 and all(len(p) > 128 for p in a)
    assert a == sample_paragraphs(20, min_chars=128, seed=1)
    assert a != sample_paragraphs(20, min_chars=128, seed=2)
    assert not any(p.startswith("=") for p in a)


def _article_of(paragraph_start: str) -> int:
    hits = [i for i, art in enumerate(wikitext_articles()) if any(p.startswith(paragraph_start) for p in art)]
    assert hits, paragraph_start
    return hits[0]


def test_pairs_are_the_first_two_sentences_of_a_paragraph_from_distinct_articles():
    """wiki_random_extractor with sentence_length=2: a paragraph longer than L, its FIRST two sentences,
    together at most 2L characters; one paragraph per article here (one per dump file there)."""
    min_chars = 128
    pairs = sample_sentence_pairs(12, seed=0, min_chars=min_chars)
    assert pairs == sample_sentence_pairs(12, seed=0, min_chars=min_chars)
    assert pairs != sample_sentence_pairs(12, seed=1, min_chars=min_chars)
    articles = []
    for first, second in pairs:
        assert len(first) + len(second) <= 2 * min_chars
        matches = [
            (i, p)
            for i, art in enumerate(wikitext_articles())
            for p in art
            if p.startswith(first) and len(p) > min_chars
        ]
        assert matches, first
        i, paragraph = matches[0]
        assert paragraph[len(first) :].lstrip().startswith(second)  # B follows A at the paragraph's start
        articles.append(i)
    assert len(set(articles)) == len(articles)


def test_paragraphs_one_per_article():
    paragraphs = sample_article_paragraphs(15, min_chars=256, seed=3)
    assert all(len(p) > 256 for p in paragraphs)
    assert len({_article_of(p[:80]) for p in paragraphs}) == 15


def test_sentences_keep_initials_and_abbreviations():
    text = 'In 1895, surgeon J. W. Ladd of St. Louis left the U.S. Army. He came back in 1901! " Why ? "'
    assert sentences(text) == [
        "In 1895, surgeon J. W. Ladd of St. Louis left the U.S. Army.",
        "He came back in 1901!",
        '" Why ? "',
    ]
    assert sentences('The episode " Magic Clanger. "') == ['The episode " Magic Clanger. "']


@pytest.mark.parametrize(
    "n_tokens, ids, types",
    [
        # room for everything: [CLS] A [SEP] B [SEP] <pad> <pad>
        (16, [2, *A_IDS, 3, *B_IDS, 3, 0, 0], [0] * 10 + [1] * 4 + [0, 0]),
        # B gets what A leaves before the last position: one piece
        (12, [2, *A_IDS, 3, B_IDS[0], 3], [0] * 10 + [1] * 2),
        # no room for B's pieces: B's bare [SEP] (token type 1)
        (11, [2, *A_IDS, 3, 3], [0] * 10 + [1]),
        # A fills N-2: B vanishes (their N+1-long list is cut to N by the loader)
        (10, [2, *A_IDS, 3], [0] * 10),
        # A longer than N-2 is cut from the end
        (6, [2, *A_IDS[:4], 3], [0] * 6),
    ],
)
def test_encode_authors_fills_a_first_then_b(tokenizer, n_tokens, ids, types):
    """albert_tokenization.Tokenizer.tokenize_text then the loader's [:, :max_seq_len], by hand."""
    enc = encode_authors(tokenizer, [PAIR], n_tokens)
    assert enc.input_ids[0].tolist() == ids
    assert enc.token_type_ids[0].tolist() == types
    assert enc.attention_mask[0].tolist() == [int(i != 0) for i in ids]


def test_encode_authors_differs_from_longest_first(tokenizer):
    """transformers' longest_first would shorten A to keep B; the authors' rule keeps A whole."""
    ours = encode_authors(tokenizer, [PAIR], 10)
    theirs = encode(tokenizer, [PAIR[0]], [PAIR[1]], n_tokens=10)
    assert not torch.equal(ours.input_ids, theirs.input_ids)
    assert theirs.token_type_ids.sum() > 0 and ours.token_type_ids.sum() == 0


def test_authors_figure_input_has_about_a_hundred_active_pads(tokenizer):
    enc = encode_authors(tokenizer, [PAIR], 128)
    assert int(enc.attention_mask.sum()) == 14 and int((enc.input_ids == 0).sum()) == 114


def test_detokenize():
    assert (
        detokenize_wikitext(" a 1 @,@ 000 @-@ strong army , it 's large . ")
        == "a 1,000-strong army, it's large."
    )


def test_dynamics_inputs_shapes(tokenizer):
    enc, texts = dynamics_inputs(tokenizer, 5, 64, seed=0, kind="pair")
    assert enc.input_ids.shape == (5, 64) and len(texts) == 5
    assert (enc.token_type_ids.sum(1) > 0).any()  # B segments where A leaves room
    first = texts[0].split(" [SEP] ")
    assert torch.equal(enc.input_ids[:1], encode_authors(tokenizer, [tuple(first)], 64).input_ids)
    enc, _ = dynamics_inputs(tokenizer, 4, 16, seed=0, kind="paragraph")
    assert enc.attention_mask.all()  # paragraphs > 4N characters fill N tokens


def test_bad_requests(tokenizer):
    with pytest.raises(ChaoslibError, match="lower n"):
        sample_paragraphs(10**7, min_chars=100)
    with pytest.raises(ChaoslibError, match="source="):
        sample_paragraphs(1, min_chars=100, source="books")
    with pytest.raises(ChaoslibError, match="lower n"):
        sample_sentence_pairs(10**4, min_chars=100)
    with pytest.raises(ChaoslibError, match="pair"):
        encode_authors(tokenizer, [("a", "b", "c")], 16)
