"""The MLM chapter's corpus: seeded Wikipedia paragraphs as 128-token blocks, built once, cached (SPEC 2.6).

Paragraphs longer than ``min_chars`` (512) characters are sampled by seed
(:func:`chaoslib.data.corpus.sample_paragraphs`: ``wikipedia`` online through ``datasets``, or
``wikitext-2`` offline from the data folder), in the sampled order; the last
``test_fraction`` (5%) of them are the test set. Each paragraph becomes one block
``[CLS] tokens [SEP]`` of ``n_tokens`` (128) ALBERT tokens: longer paragraphs are cut (a
512-character paragraph is about 110-130 tokens, so most blocks are full), shorter ones padded
and masked out by the attention mask.

The blocks are saved once under ``<cache_dir>/mlm_corpus__<labels>.pt`` (ids as int16, the
label in the file name and inside), so that every encoder and mode of a chapter sees the same
data and a rerun skips the tokenisation.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from chaoslib.data.corpus import SOURCES, sample_paragraphs
from chaoslib.data.tokenization import ALBERT_VOCAB_SIZE, Encoded, encode, load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.store import atomic_write_bytes

CACHE_FORMAT = 1


@dataclass
class MLMCorpus:
    """Train and test blocks. train, test: :class:`Encoded` (n, n_tokens); meta: how they were made."""

    train: Encoded
    test: Encoded
    meta: dict

    def label(self) -> str:
        m = self.meta
        return (
            f"{m['source']} ({m['split']}): {m['n_train']} train + {m['n_test']} test blocks of "
            f"{m['n_tokens']} "
            f"tokens from paragraphs > {m['min_chars']} characters, seed {m['seed']}"
        )


def corpus_meta(
    n_paragraphs: int, source: str, min_chars: int, n_tokens: int, test_fraction: float, seed: int, split: str
) -> dict:
    """The parameters that identify a corpus (its cache label)."""
    n_test = int(round(test_fraction * n_paragraphs))
    return {
        "format": CACHE_FORMAT,
        "source": source,
        "split": split,
        "n_paragraphs": int(n_paragraphs),
        "min_chars": int(min_chars),
        "n_tokens": int(n_tokens),
        "test_fraction": float(test_fraction),
        "seed": int(seed),
        "n_train": int(n_paragraphs) - n_test,
        "n_test": n_test,
    }


def cache_path(cache_dir: str | os.PathLike, meta: dict) -> Path:
    name = (
        f"mlm_corpus__{meta['source']}-{meta['split']}__n{meta['n_paragraphs']}__min{meta['min_chars']}"
        f"__tok{meta['n_tokens']}__test{meta['test_fraction']:g}__seed{meta['seed']}.pt"
    )
    return Path(cache_dir) / name


def _check(n_paragraphs: int, source: str, min_chars: int, n_tokens: int, test_fraction: float) -> None:
    if source not in SOURCES:
        raise ChaoslibError(
            f"source={source!r}; use one of {list(SOURCES)} (wikipedia needs `datasets` online)."
        )
    if not 0.0 < test_fraction < 1.0:
        raise ChaoslibError(f"test_fraction={test_fraction}; give a fraction in (0, 1), e.g. 0.05.")
    n_test = int(round(test_fraction * n_paragraphs))
    if n_test < 1 or n_paragraphs - n_test < 1:
        raise ChaoslibError(
            f"n_paragraphs={n_paragraphs} with test_fraction={test_fraction} leaves an empty train or test "
            "set; "
            "raise n_paragraphs."
        )
    if not 8 <= n_tokens <= 512:
        raise ChaoslibError(f"n_tokens={n_tokens}; use a block length in 8..512 (SPEC: 128).")
    if min_chars < 0:
        raise ChaoslibError(f"min_chars={min_chars}; give a non-negative number of characters (SPEC: 512).")


def _to_bytes(train: Encoded, test: Encoded, meta: dict) -> bytes:
    pack = lambda e: {  # noqa: E731  ids < 30000 fit int16; types and mask are 0/1
        "input_ids": e.input_ids.to(torch.int16),
        "token_type_ids": e.token_type_ids.to(torch.int8),
        "attention_mask": e.attention_mask.to(torch.int8),
    }
    buffer = io.BytesIO()
    torch.save({"meta": meta, "train": pack(train), "test": pack(test)}, buffer)
    return buffer.getvalue()


def _from_file(path: Path) -> tuple[Encoded, Encoded, dict]:
    data = torch.load(path, weights_only=True)
    unpack = lambda d: Encoded(*(d[k].long() for k in ("input_ids", "token_type_ids", "attention_mask")))  # noqa: E731
    return unpack(data["train"]), unpack(data["test"]), data["meta"]


def build_mlm_corpus(
    n_paragraphs: int = 10_000,
    source: str = "wikitext-2",
    min_chars: int = 512,
    n_tokens: int = 128,
    test_fraction: float = 0.05,
    seed: int = 0,
    split: str = "train",
    tokenizer=None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> MLMCorpus:
    """The MLM corpus: ``n_paragraphs`` seeded paragraphs as blocks, the last ``test_fraction`` as test.

    Args:
        n_paragraphs: paragraphs sampled (SPEC: 10,000); one block each.
        source: ``"wikipedia"`` (online, ``datasets``) or ``"wikitext-2"`` (offline, data folder).
        min_chars: only paragraphs longer than this many characters (SPEC: 512).
        n_tokens: block length, ``[CLS]`` and ``[SEP]`` included (SPEC: 128).
        test_fraction: the last fraction of the sampled paragraphs is the test set (SPEC: 0.05).
        seed: the sampling seed.
        split: the source's split to sample from (WikiText-2: train/valid/test).
        tokenizer: the ALBERT tokenizer (default ``load_tokenizer(data_dir=data_dir)``).
        cache_dir: where the blocks are cached (e.g. the chapter's results folder); None: no cache.

    Returns:
        an :class:`MLMCorpus`; ``meta`` also holds the first characters of the first paragraph.
    """
    _check(n_paragraphs, source, min_chars, n_tokens, test_fraction)
    meta = corpus_meta(n_paragraphs, source, min_chars, n_tokens, test_fraction, seed, split)
    path = cache_path(cache_dir, meta) if cache_dir is not None else None
    if path is not None and path.exists():
        train, test, stored = _from_file(path)
        if {k: stored.get(k) for k in meta} != meta:
            raise ChaoslibError(
                f"the cached corpus {path} does not match its label; delete it and run again."
            )
        return MLMCorpus(train, test, stored)
    tokenizer = tokenizer if tokenizer is not None else load_tokenizer(data_dir=data_dir)
    if len(tokenizer) != ALBERT_VOCAB_SIZE:
        raise ChaoslibError(
            f"the tokenizer has {len(tokenizer)} pieces; the MLM corpus needs ALBERT's tokenizer."
        )
    paragraphs = sample_paragraphs(
        n_paragraphs, min_chars, seed=seed, source=source, split=split, data_dir=data_dir
    )
    blocks = encode(tokenizer, paragraphs, n_tokens=n_tokens, truncate=True)
    n_train = meta["n_train"]
    train, test = blocks[slice(0, n_train)], blocks[slice(n_train, n_paragraphs)]
    full = int((blocks.attention_mask.sum(1) == n_tokens).sum())
    meta = {
        **meta,
        "tokenizer": str(getattr(tokenizer, "name_or_path", "")),
        "full_blocks": full,
        "first_paragraph": paragraphs[0][:200],
    }
    if path is not None:
        atomic_write_bytes(path, _to_bytes(train, test, meta))
    return MLMCorpus(train, test, meta)
