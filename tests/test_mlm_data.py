"""The MLM corpus (SPEC 2.6): seeded paragraphs > 512 characters, last 5% test, [CLS]...[SEP] blocks."""

from __future__ import annotations

import pytest
import torch

from chaoslib.data.corpus import sample_paragraphs
from chaoslib.data.mlm_data import build_mlm_corpus, cache_path
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.errors import ChaoslibError

N = 60


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="module")
def corpus(tokenizer, tmp_path_factory):
    return build_mlm_corpus(
        n_paragraphs=N, seed=5, tokenizer=tokenizer, cache_dir=tmp_path_factory.mktemp("mlm")
    )


def test_blocks_are_the_sampled_paragraphs_last_five_percent_test(corpus, tokenizer):
    assert corpus.train.input_ids.shape == (57, 128) and corpus.test.input_ids.shape == (3, 128)
    paragraphs = sample_paragraphs(N, 512, seed=5)
    assert all(len(p) > 512 for p in paragraphs)
    # independent tokenisation of the last three sampled paragraphs, by the tokenizer itself
    for row, text in zip(corpus.test.input_ids, paragraphs[-3:], strict=True):
        pieces = tokenizer(text, add_special_tokens=False)["input_ids"][:126]
        real = row[row != tokenizer.pad_token_id].tolist()
        assert real == [tokenizer.cls_token_id, *pieces, tokenizer.sep_token_id]
    assert corpus.meta["first_paragraph"] == paragraphs[0][:200]


def test_layout_cls_sep_pad(corpus, tokenizer):
    for blocks in (corpus.train, corpus.test):
        ids, mask = blocks.input_ids, blocks.attention_mask
        lengths = mask.sum(1)
        assert torch.all(ids[:, 0] == tokenizer.cls_token_id)
        assert torch.all(ids[torch.arange(len(ids)), lengths - 1] == tokenizer.sep_token_id)
        assert torch.all(ids[mask == 0] == tokenizer.pad_token_id)
        assert torch.all(blocks.token_type_ids == 0)
    # paragraphs of > 512 characters nearly always fill a 128-token block
    assert corpus.meta["full_blocks"] >= 0.8 * N


def test_cached_once_and_labelled(corpus, tokenizer, tmp_path):
    first = build_mlm_corpus(n_paragraphs=20, seed=1, tokenizer=tokenizer, cache_dir=tmp_path)
    path = cache_path(tmp_path, first.meta)
    assert path.exists() and "n20" in path.name and "seed1" in path.name and "wikitext-2" in path.name
    again = build_mlm_corpus(n_paragraphs=20, seed=1, tokenizer=None, cache_dir=tmp_path)  # no tokenisation
    for a, b in ((first.train, again.train), (first.test, again.test)):
        assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.attention_mask, b.attention_mask)
    other = build_mlm_corpus(n_paragraphs=20, seed=2, tokenizer=tokenizer, cache_dir=tmp_path)
    assert not torch.equal(other.train.input_ids, first.train.input_ids)
    assert "20 train" not in first.label() and "19 train + 1 test" in first.label()


def test_bad_arguments(tokenizer):
    with pytest.raises(ChaoslibError, match="source"):
        build_mlm_corpus(n_paragraphs=20, source="books", tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="n_paragraphs"):
        build_mlm_corpus(n_paragraphs=5, test_fraction=0.05, tokenizer=tokenizer)
    with pytest.raises(ChaoslibError, match="test_fraction"):
        build_mlm_corpus(n_paragraphs=20, test_fraction=1.5, tokenizer=tokenizer)
