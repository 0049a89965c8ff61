"""Inputs for the dynamics chapters: seeded samples of Wikipedia-like paragraphs and sentence pairs.

The authors sampled random English Wikipedia paragraphs longer than 4*N characters, used either
whole (as segment A) or as two consecutive sentences (A/B). Offline the source is WikiText-2 raw
(Wikipedia "Good" and "Featured" articles) from the data folder; online it is ``wikimedia/wikipedia``
through ``datasets`` (streamed).
"""

from __future__ import annotations

import os
import random
import re
from functools import lru_cache

from chaoslib.data.tokenization import Encoded, encode
from chaoslib.errors import ChaoslibError
from chaoslib.settings import data_file

SOURCES = ("wikitext-2", "wikipedia")
WIKIPEDIA_CONFIG = "20231101.en"

# WikiText's tokenisation artefacts, undone so that the text reads like the Wikipedia the authors used
_DETOK = [
    (" @-@ ", "-"),
    (" @,@ ", ","),
    (" @.@ ", "."),
    (" , ", ", "),
    (" . ", ". "),
    (" ; ", "; "),
    (" : ", ": "),
    (" 's", "'s"),
    (" n't", "n't"),
    ("( ", "("),
    (" )", ")"),
    (" %", "%"),
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def detokenize_wikitext(line: str) -> str:
    text = line.strip()
    for old, new in _DETOK:
        text = text.replace(old, new)
    if text.endswith(" ."):
        text = text[:-2] + "."
    return text


@lru_cache(maxsize=8)
def _wikitext_paragraphs(split: str, data_dir: str | None) -> tuple[str, ...]:
    if split not in ("train", "valid", "test"):
        raise ChaoslibError(f"split={split!r}; WikiText-2 has 'train', 'valid' and 'test'.")
    path = data_file(f"wikitext-2/{split}.txt", data_dir)
    paragraphs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("="):  # headings are " = Title = "
            paragraphs.append(detokenize_wikitext(line))
    return tuple(paragraphs)


def _wikipedia_paragraphs(min_chars: int, n: int, seed: int) -> list[str]:
    try:
        import datasets
    except ImportError as err:
        raise ChaoslibError("source='wikipedia' needs the `datasets` package: pip install datasets") from err
    stream = datasets.load_dataset("wikimedia/wikipedia", WIKIPEDIA_CONFIG, split="train", streaming=True)
    stream = stream.shuffle(seed=seed, buffer_size=10_000)
    out: list[str] = []
    for article in stream:
        out.extend(p.strip() for p in article["text"].split("\n") if len(p.strip()) > min_chars)
        if len(out) >= 4 * n:
            break
    return out


def candidate_paragraphs(
    min_chars: int,
    source: str = "wikitext-2",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    n_hint: int = 1000,
    seed: int = 0,
) -> list[str]:
    """All paragraphs longer than ``min_chars`` characters from ``source`` (a large pool for online)."""
    if source not in SOURCES:
        raise ChaoslibError(f"source={source!r}; use one of {list(SOURCES)}.")
    if source == "wikipedia":
        return _wikipedia_paragraphs(min_chars, n_hint, seed)
    return [
        p
        for p in _wikitext_paragraphs(split, None if data_dir is None else str(data_dir))
        if len(p) > min_chars
    ]


def sample_paragraphs(
    n: int,
    min_chars: int,
    seed: int = 0,
    source: str = "wikitext-2",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
) -> list[str]:
    """``n`` distinct paragraphs longer than ``min_chars`` characters, drawn without replacement by ``seed``."""
    if n < 1:
        raise ChaoslibError(f"n={n}; ask for at least one paragraph.")
    pool = candidate_paragraphs(min_chars, source, split, data_dir, n_hint=n, seed=seed)
    if len(pool) < n:
        raise ChaoslibError(
            f"only {len(pool)} paragraphs longer than {min_chars} characters in {source}/{split}; "
            f"lower n (={n}) or min_chars."
        )
    return random.Random(seed).sample(pool, n)


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def sample_sentence_pairs(
    n: int,
    seed: int = 0,
    min_chars: int = 128,
    source: str = "wikitext-2",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
) -> list[tuple[str, str]]:
    """``n`` pairs of consecutive sentences (A, B), each from a different paragraph longer than ``min_chars``."""
    pool = candidate_paragraphs(min_chars, source, split, data_dir, n_hint=n, seed=seed)
    rng = random.Random(seed)
    rng.shuffle(pool)
    pairs = []
    for paragraph in pool:
        sentences = split_sentences(paragraph)
        if len(sentences) >= 2:
            i = rng.randrange(len(sentences) - 1)
            pairs.append((sentences[i], sentences[i + 1]))
            if len(pairs) == n:
                return pairs
    raise ChaoslibError(f"only {len(pairs)} sentence pairs available in {source}/{split}; lower n (={n}).")


def dynamics_inputs(
    tokenizer,
    n_samples: int,
    n_tokens: int,
    seed: int = 0,
    kind: str = "pair",
    source: str = "wikitext-2",
    data_dir: str | os.PathLike | None = None,
) -> tuple[Encoded, list[str]]:
    """The dynamics chapters' inputs: ``n_samples`` encodings of ``n_tokens`` tokens, and their texts.

    ``kind="pair"``: two consecutive sentences as A [SEP] B; ``kind="paragraph"``: a whole paragraph
    as A (truncated to N tokens). Paragraphs are longer than 4*N characters (SPEC 2).
    Returns (Encoded (n_samples, n_tokens), texts for display).
    """
    min_chars = 4 * n_tokens
    if kind == "pair":
        pairs = sample_sentence_pairs(n_samples, seed, min_chars, source, data_dir=data_dir)
        encoded = encode(tokenizer, [a for a, _ in pairs], [b for _, b in pairs], n_tokens=n_tokens)
        return encoded, [f"{a} [SEP] {b}" for a, b in pairs]
    if kind == "paragraph":
        paragraphs = sample_paragraphs(n_samples, min_chars, seed, source, data_dir=data_dir)
        return encode(tokenizer, paragraphs, n_tokens=n_tokens), paragraphs
    raise ChaoslibError(f"kind={kind!r}; use 'pair' or 'paragraph'.")
