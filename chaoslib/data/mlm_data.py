"""The MLM chapter's corpus: seeded paragraphs cut into 128-token blocks across paragraphs (the paper: 10,000 paragraphs longer than 512 characters, 5% of them for testing, 128-token blocks).

As the authors' script (``calc_masked_language_modeling.py`` with transformers' ``TextDataset``):
the sampled paragraphs are written one after the other, the whole text is tokenised, and the
token stream is cut into consecutive blocks of ``n_tokens - 2`` (126) tokens, each wrapped as
``[CLS] ... [SEP]``; a block may therefore start in one paragraph and end in the next, and the
tail shorter than one block is dropped. Every block is full (no padding).

Paragraphs longer than ``min_chars`` (512) characters are sampled by seed
(:func:`chaoslib.data.corpus.sample_paragraphs`: ``wikipedia`` online through ``datasets``, or
``wikitext-2`` offline from the data folder). The test paragraphs are either the last
``test_fraction`` (5%) of the sample (the paper) or, with ``test_split``, paragraphs sampled from
another split (the offline edition trains its heads on WikiText-2 ``valid`` and tests on ``test``,
because the network pretrained here has seen WikiText-2 ``train``).

Each paragraph is tokenised on its own and the pieces are concatenated: ALBERT's tokenizer turns
the newline between paragraphs into a word boundary, so this is the tokenisation of the joined
text (the tests check it against tokenising ``"\\n".join(paragraphs)`` at once).

The blocks are saved once under ``<cache_dir>/mlm_corpus__<labels>.pt`` (ids as int16, the
label in the file name and inside), so that every encoder and mode of a chapter sees the same
data and a rerun skips the tokenisation.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from chaoslib.data.corpus import SOURCES, sample_paragraphs
from chaoslib.data.tokenization import ALBERT_VOCAB_SIZE, Encoded, load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.store import atomic_write_bytes

CACHE_FORMAT = 2  # 2: blocks cut from the concatenated text (1: one truncated block per paragraph)


@dataclass
class MLMCorpus:
    """Train and test blocks. train, test: :class:`Encoded` (n, n_tokens); meta: how they were made."""

    train: Encoded
    test: Encoded
    meta: dict

    def label(self) -> str:
        m = self.meta
        test_from = m["split"] if m.get("test_split") is None else m["test_split"]
        return (
            f"{m['source']}: {len(self.train)} train blocks from {m['n_train_paragraphs']} {m['split']} "
            f"paragraphs, "
            f"{len(self.test)} test blocks from {m['n_test_paragraphs']} {test_from} paragraphs "
            f"(> {m['min_chars']} characters, seed {m['seed']}), {m['n_tokens']} tokens per block"
        )


def corpus_meta(
    n_paragraphs: int,
    source: str,
    min_chars: int,
    n_tokens: int,
    test_fraction: float,
    seed: int,
    split: str,
    test_split: str | None = None,
) -> dict:
    """The parameters that identify a corpus (its cache label)."""
    n_test = int(round(test_fraction * n_paragraphs))
    return {
        "format": CACHE_FORMAT,
        "source": source,
        "split": split,
        "test_split": test_split,
        "n_paragraphs": int(n_paragraphs),
        "min_chars": int(min_chars),
        "n_tokens": int(n_tokens),
        "test_fraction": float(test_fraction),
        "seed": int(seed),
        "n_train_paragraphs": int(n_paragraphs) - n_test,
        "n_test_paragraphs": n_test,
    }


def cache_path(cache_dir: str | os.PathLike, meta: dict) -> Path:
    test = "" if meta.get("test_split") is None else f"-{meta['test_split']}"
    name = (
        f"mlm_corpus__{meta['source']}-{meta['split']}{test}__n{meta['n_paragraphs']}__min{meta['min_chars']}"
        f"__tok{meta['n_tokens']}__test{meta['test_fraction']:g}__seed{meta['seed']}__f{meta['format']}.pt"
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
            "set; raise n_paragraphs."
        )
    if not 8 <= n_tokens <= 512:
        raise ChaoslibError(f"n_tokens={n_tokens}; use a block length in 8..512 (the paper: 128).")
    if min_chars < 0:
        raise ChaoslibError(f"min_chars={min_chars}; give a non-negative number of characters (the paper: 512).")


def concatenated_blocks(tokenizer, paragraphs: Sequence[str], n_tokens: int) -> tuple[Encoded, int]:
    """The paragraphs' token stream cut into ``[CLS] 126 tokens [SEP]`` blocks (``TextDataset``'s way).

    Returns the blocks, (n_blocks, n_tokens) with every position real (attention mask 1, token
    type 0), and the number of tokens of the dropped tail (fewer than ``n_tokens - 2``).
    """
    if isinstance(paragraphs, str) or len(paragraphs) == 0:
        raise ChaoslibError("paragraphs must be a non-empty list of strings.")
    pieces = tokenizer(list(paragraphs), add_special_tokens=False)["input_ids"]
    stream = torch.tensor([i for ids in pieces for i in ids], dtype=torch.long)
    body = n_tokens - 2  # tokenizer.num_special_tokens_to_add(pair=False) == 2 for ALBERT
    n_blocks = len(stream) // body
    if n_blocks == 0:
        raise ChaoslibError(
            f"the paragraphs hold {len(stream)} tokens, fewer than one block of {body}; give more paragraphs."
        )
    ids = torch.empty(n_blocks, n_tokens, dtype=torch.long)
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    ids[:, 1:-1] = stream[: n_blocks * body].view(n_blocks, body)
    return Encoded(ids, torch.zeros_like(ids), torch.ones_like(ids)), len(stream) - n_blocks * body


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
    test_split: str | None = None,
    tokenizer=None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> MLMCorpus:
    """The MLM corpus: ``n_paragraphs`` seeded paragraphs as concatenated blocks, ``test_fraction`` as test.

    Args:
        n_paragraphs: paragraphs sampled (the paper: 10,000), train and test together.
        source: ``"wikipedia"`` (online, ``datasets``) or ``"wikitext-2"`` (offline, data folder).
        min_chars: only paragraphs longer than this many characters (the paper: 512).
        n_tokens: block length, ``[CLS]`` and ``[SEP]`` included (the paper: 128).
        test_fraction: share of the paragraphs that are test paragraphs (the paper: 0.05).
        seed: the sampling seed.
        split: the source's split the train paragraphs come from (WikiText-2: train/valid/test).
        test_split: None: the test paragraphs are the last ``test_fraction`` of the sample from
            ``split`` (the paper); a split name: they are sampled (same seed) from that split.
        tokenizer: the ALBERT tokenizer (default ``load_tokenizer(data_dir=data_dir)``).
        cache_dir: where the blocks are cached (e.g. the chapter's results folder); None: no cache.

    Returns:
        an :class:`MLMCorpus`; ``meta`` also holds the block counts, the dropped tail tokens and the
        first characters of the first paragraph.
    """
    _check(n_paragraphs, source, min_chars, n_tokens, test_fraction)
    if test_split is not None and test_split == split:
        raise ChaoslibError(f"test_split={test_split!r} equals split; use None for a held-out share of it.")
    meta = corpus_meta(n_paragraphs, source, min_chars, n_tokens, test_fraction, seed, split, test_split)
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
    n_train, n_test = meta["n_train_paragraphs"], meta["n_test_paragraphs"]
    if test_split is None:
        paragraphs = sample_paragraphs(
            n_paragraphs, min_chars, seed=seed, source=source, split=split, data_dir=data_dir
        )
        train_text, test_text = paragraphs[:n_train], paragraphs[n_train:]
    else:
        train_text = sample_paragraphs(
            n_train, min_chars, seed=seed, source=source, split=split, data_dir=data_dir
        )
        test_text = sample_paragraphs(
            n_test, min_chars, seed=seed, source=source, split=test_split, data_dir=data_dir
        )
    train, train_tail = concatenated_blocks(tokenizer, train_text, n_tokens)
    test, test_tail = concatenated_blocks(tokenizer, test_text, n_tokens)
    meta = {
        **meta,
        "n_train": len(train),
        "n_test": len(test),
        "dropped_tail_tokens": [train_tail, test_tail],
        "tokenizer": str(getattr(tokenizer, "name_or_path", "")),
        "first_paragraph": train_text[0][:200],
    }
    if path is not None:
        atomic_write_bytes(path, _to_bytes(train, test, meta))
    return MLMCorpus(train, test, meta)
