"""The MLM corpus: seeded paragraphs > 512 characters, last 5% test, cut into 128-token blocks
across paragraph boundaries as transformers' ``TextDataset`` did for the authors.

The reference re-implements ``TextDataset`` on its own terms: the paragraphs written to one text
(one per line), the whole text tokenised at once, consecutive slices of 126 ids wrapped as
``[CLS] ... [SEP]``, the tail dropped.
"""

from __future__ import annotations

import pytest
import torch

from chaoslib.data.corpus import sample_paragraphs
from chaoslib.data.mlm_data import build_mlm_corpus, cache_path, concatenated_blocks
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.errors import ChaoslibError

N = 40


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def corpus(tokenizer, tmp_path_factory):
    return build_mlm_corpus(
        n_paragraphs=N, seed=5, tokenizer=tokenizer, cache_dir=tmp_path_factory.mktemp("mlm")
    )


def text_dataset_reference(tokenizer, paragraphs: list[str], block_size: int = 128) -> list[list[int]]:
    """transformers' TextDataset (v2-v4, gone in v5): tokenize the whole text, cut every block_size-2 ids."""
    text = "\n".join(paragraphs) + "\n"
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))
    body = block_size - 2  # ALBERT's build_inputs_with_special_tokens: [CLS] ids [SEP]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    return [[cls, *ids[i : i + body], sep] for i in range(0, len(ids) - body + 1, body)]


def test_blocks_equal_text_dataset_and_cross_paragraph_boundaries(corpus, tokenizer):
    paragraphs = sample_paragraphs(N, 512, seed=5)
    n_train = N - 2  # 5% of 40 paragraphs are test paragraphs
    for blocks, text in ((corpus.train, paragraphs[:n_train]), (corpus.test, paragraphs[n_train:])):
        want = text_dataset_reference(tokenizer, text)
        assert blocks.input_ids.tolist() == want
        assert torch.all(blocks.attention_mask == 1) and torch.all(blocks.token_type_ids == 0)
    # a paragraph of > 512 characters is ~110-250 tokens: blocks start inside paragraphs and run across
    # their boundaries, so there are about as many blocks as paragraphs, not one per paragraph
    lengths = [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in paragraphs[:n_train]]
    assert len(corpus.train) == sum(lengths) // 126
    first = tokenizer(paragraphs[0], add_special_tokens=False)["input_ids"]
    second = tokenizer(paragraphs[1], add_special_tokens=False)["input_ids"]
    stream = corpus.train.input_ids[:, 1:-1].flatten().tolist()
    assert stream[: len(first) + 5] == first + second[:5]  # the boundary lies inside a block's body
    assert len(first) % 126 != 0
    assert corpus.meta["n_train"] == len(corpus.train) and corpus.meta["n_test"] == len(corpus.test)
    assert corpus.meta["first_paragraph"] == paragraphs[0][:200]


def test_hand_example_crosses_boundaries(tokenizer):
    """Three short paragraphs (one piece per word), blocks of 7 (5 ids + 2 specials): each block takes the
    end of one paragraph and the start of the next, and the last word is the dropped tail."""
    paragraphs = ["one two three four", "five six seven eight nine", "ten eleven"]
    pieces = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in paragraphs]
    assert [len(p) for p in pieces] == [4, 5, 2]
    blocks, tail = concatenated_blocks(tokenizer, paragraphs, n_tokens=7)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert blocks.input_ids.tolist() == [
        [cls, *pieces[0], pieces[1][0], sep],
        [cls, *pieces[1][1:], pieces[2][0], sep],
    ]
    assert tail == 1
    assert blocks.input_ids.tolist() == text_dataset_reference(tokenizer, paragraphs, block_size=7)


def test_test_split_draws_test_paragraphs_from_another_split(tokenizer):
    corpus = build_mlm_corpus(
        n_paragraphs=20, test_fraction=0.25, split="valid", test_split="test", tokenizer=tokenizer
    )
    train = sample_paragraphs(15, 512, seed=0, split="valid")
    test = sample_paragraphs(5, 512, seed=0, split="test")
    assert corpus.train.input_ids.tolist() == text_dataset_reference(tokenizer, train)
    assert corpus.test.input_ids.tolist() == text_dataset_reference(tokenizer, test)
    assert "valid paragraphs" in corpus.label() and "test paragraphs" in corpus.label()


def test_cached_once_and_labelled(tokenizer, tmp_path):
    first = build_mlm_corpus(n_paragraphs=20, seed=1, tokenizer=tokenizer, cache_dir=tmp_path)
    path = cache_path(tmp_path, first.meta)
    assert path.exists() and "n20" in path.name and "seed1" in path.name and "wikitext-2" in path.name
    again = build_mlm_corpus(n_paragraphs=20, seed=1, tokenizer=None, cache_dir=tmp_path)  # no tokenisation
    for a, b in ((first.train, again.train), (first.test, again.test)):
        assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.attention_mask, b.attention_mask)
    other = build_mlm_corpus(n_paragraphs=20, seed=2, tokenizer=tokenizer, cache_dir=tmp_path)
    assert not torch.equal(other.train.input_ids[:5], first.train.input_ids[:5])
    assert "from 19 train paragraphs" in first.label() and "from 1 train paragraphs" in first.label()


def test_bad_arguments(tokenizer):
    with pytest.raises(ChaoslibError, match="source"):
        build_mlm_corpus(n_paragraphs=20, source="books", tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="n_paragraphs"):
        build_mlm_corpus(n_paragraphs=5, test_fraction=0.05, tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="test_fraction"):
        build_mlm_corpus(n_paragraphs=20, test_fraction=1.5, tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="test_split"):
        build_mlm_corpus(n_paragraphs=20, split="test", test_split="test", tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="fewer than one block"):
        concatenated_blocks(tokenizer, ["a b"], n_tokens=64)
