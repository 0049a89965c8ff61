"""Inputs for the dynamics chapters: seeded samples of Wikipedia paragraphs and sentence pairs.

The dynamics chapters follow the authors' sampler (``src/library/utils/wiki_random_extractor.py``
with ``L = 4N``, ``src/library/model/albert_tokenization.py``):

- one paragraph per article: they open 2N random dump files (each holds many articles), shuffle
  the file's lines and take the first paragraph longer than L characters. Here the articles are
  shuffled by the seed and each contributes at most one paragraph, the first long-enough one of
  its shuffled paragraphs (:func:`sample_article_paragraphs`);
- a sentence pair is the FIRST two sentences of such a paragraph, together at most 2L characters
  (else the next paragraph is tried) (:func:`sample_sentence_pairs`);
- encoding fills the N tokens segment by segment: ``[CLS] A [SEP] B [SEP]`` where A keeps up to
  N-2 tokens and B only what A leaves; a full A leaves no B (:func:`encode_authors`). This is not
  transformers' "longest_first" truncation, which would shorten A to make room for B.

Offline the source is WikiText-2 raw (Wikipedia "Good" and "Featured" articles) from the data
folder; online it is ``wikimedia/wikipedia`` through ``datasets`` (streamed, shuffled).
``sample_paragraphs`` (a pool of paragraphs, several per article) serves the MLM chapter.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import torch

from chaoslib.data.tokenization import ALBERT_MAX_TOKENS, Encoded
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


def sample_paragraphs(n: int, min_chars: int, seed: int = 0, source: str = "wikitext-2", split: str = "train",
                      data_dir: str | os.PathLike | None = None) -> list[str]:
    """``n`` distinct paragraphs longer than ``min_chars`` characters, drawn without replacement by
    ``seed`` (several may come from one article; the MLM chapter's pool)."""
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


# Words ending in "." that rarely end a sentence: titles, company and place abbreviations, months.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st jr sr co inc ltd corp bros gen col lt capt cpt sgt maj adm cmdr rev prof hon gov "
    "sen rep pres no nos vs etc mt ft fig vol ed eds op pp ca approx est dept univ ave rd jan feb mar apr "
    "jun jul aug sep sept oct nov dec".split()
)


def sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, as the authors' spaCy splitter would cut them in the common cases.

    Splits after ``.``, ``!`` or ``?`` followed by a space and a capital, digit, quote or bracket,
    except after an initial ("J. W. Ladd"), a dotted abbreviation ("U.S.", "C.J.H.") or a word of
    ``_ABBREVIATIONS`` ("St. Thomas"): the first two sentences are the authors' pair, so a cut
    after an initial would make "In 1895, surgeon J." a sentence.
    """
    out, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        last_word = paragraph[start : match.start()].rsplit(None, 1)[-1].lstrip("(\"'")
        stem = last_word[:-1]
        if last_word.endswith(".") and (len(stem) == 1 or "." in stem or stem.lower() in _ABBREVIATIONS):
            continue
        out.append(paragraph[start : match.start()].strip())
        start = match.end()
    out.append(paragraph[start:].strip())
    merged: list[str] = []
    for piece in out:  # a closing quote alone (WikiText's spaced ' " ') belongs to the sentence before
        if merged and not any(c.isalnum() for c in piece):
            merged[-1] = f"{merged[-1]} {piece}"
        elif piece:
            merged.append(piece)
    return merged


# --- the dynamics chapters' sampler (the authors' rule) -------------------------------------------

_ARTICLE_TITLE = re.compile(r"^= [^=].* =$")  # " = Title = "; sections are " = = Section = = "


@lru_cache(maxsize=8)
def wikitext_articles(split: str = "train", data_dir: str | None = None) -> tuple[tuple[str, ...], ...]:
    """WikiText-2 as articles: one tuple of (detokenised) paragraphs per article, in file order."""
    if split not in ("train", "valid", "test"):
        raise ChaoslibError(f"split={split!r}; WikiText-2 has 'train', 'valid' and 'test'.")
    path = data_file(f"wikitext-2/{split}.txt", data_dir)
    articles: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if _ARTICLE_TITLE.match(line):
            articles.append([])
        elif line and not line.startswith("=") and articles:
            articles[-1].append(detokenize_wikitext(line))
    return tuple(tuple(a) for a in articles if a)


def _shuffled_articles(source: str, split: str, data_dir, seed: int) -> Iterator[list[str]]:
    """Articles (lists of paragraphs) in a seeded random order."""
    if source not in SOURCES:
        raise ChaoslibError(f"source={source!r}; use one of {list(SOURCES)}.")
    if source == "wikitext-2":
        articles = list(wikitext_articles(split, None if data_dir is None else str(data_dir)))
        random.Random(seed).shuffle(articles)
        yield from (list(a) for a in articles)
        return
    try:
        import datasets
    except ImportError as err:
        raise ChaoslibError("source='wikipedia' needs the `datasets` package: pip install datasets") from err
    stream = datasets.load_dataset("wikimedia/wikipedia", WIKIPEDIA_CONFIG, split="train", streaming=True)
    for article in stream.shuffle(seed=seed, buffer_size=10_000):
        yield [p.strip() for p in article["text"].split("\n") if p.strip()]


def first_sentence_pair(paragraph: str, max_chars: int) -> tuple[str, str] | None:
    """The paragraph's first two sentences when they total at most ``max_chars`` characters, else None
    (the authors' check: ``len("".join(first two sentences)) <= 2L``)."""
    found = sentences(paragraph)
    if len(found) < 2 or len(found[0]) + len(found[1]) > max_chars:
        return None
    return found[0], found[1]


def _one_per_article(n: int, pick, seed: int, source: str, split: str, data_dir, what: str) -> list:
    """At most one item per article: the first paragraph of the (seeded) shuffled article that ``pick``
    accepts (``pick(paragraph)`` returns the item or None), over articles in seeded random order."""
    if n < 1:
        raise ChaoslibError(f"n={n}; ask for at least one {what}.")
    rng = random.Random(seed)
    out = []
    for paragraphs in _shuffled_articles(source, split, data_dir, seed):
        rng.shuffle(paragraphs)
        for paragraph in paragraphs:
            item = pick(paragraph)
            if item is not None:
                out.append(item)
                break
        if len(out) == n:
            return out
    raise ChaoslibError(
        f"only {len(out)} articles of {source}/{split} hold a {what}; lower n (={n}) or the length limits."
    )


def sample_article_paragraphs(n: int, min_chars: int, seed: int = 0, source: str = "wikitext-2",
                              split: str = "train", data_dir: str | os.PathLike | None = None) -> list[str]:
    """``n`` paragraphs longer than ``min_chars`` characters, each from a different article (seeded)."""
    return _one_per_article(
        n,
        lambda p: p if len(p) > min_chars else None,
        seed,
        source,
        split,
        data_dir,
        f"paragraph longer than {min_chars} characters",
    )


def sample_sentence_pairs(
    n: int,
    seed: int = 0,
    min_chars: int = 128,
    source: str = "wikitext-2",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    max_chars: int | None = None,
) -> list[tuple[str, str]]:
    """``n`` sentence pairs (A, B), the first two sentences of a paragraph longer than ``min_chars``
    characters that together have at most ``max_chars`` characters (default ``2 * min_chars``, the
    authors' 2L); each pair from a different article."""
    max_chars = 2 * min_chars if max_chars is None else max_chars

    def pick(paragraph: str):
        return first_sentence_pair(paragraph, max_chars) if len(paragraph) > min_chars else None

    return _one_per_article(
        n,
        pick,
        seed,
        source,
        split,
        data_dir,
        f"paragraph longer than {min_chars} characters whose first two sentences fit in {max_chars}",
    )


def encode_authors(tokenizer, texts: Sequence[str | Sequence[str]], n_tokens: int) -> Encoded:
    """Encode texts (a string: one segment; a pair (A, B): two) to exactly ``n_tokens`` tokens as the
    authors' ``Tokenizer.tokenize_text`` followed by their loader's cut to N tokens.

    ``[CLS]`` then, segment by segment, the segment's pieces cut to the room left before the last
    position (at most ``N - 1 - len(so far)``) and a ``[SEP]``; the result is cut to N and padded with
    ``<pad>``. So A keeps up to N-2 tokens and B what A leaves (nothing when A fills the input; when
    A leaves exactly one position it holds B's bare ``[SEP]``). Token types: 0 for [CLS] and A, 1 for
    B, 0 for pads; attention mask 1 on the non-pad positions.
    Returns an :class:`Encoded` of shape (len(texts), n_tokens).
    """
    if isinstance(texts, str) or len(texts) == 0:
        raise ChaoslibError(
            "texts must be a non-empty list of strings or (A, B) pairs; wrap one: texts=[text]."
        )
    if not 2 <= n_tokens <= ALBERT_MAX_TOKENS:
        raise ChaoslibError(f"n_tokens={n_tokens} is outside 2..{ALBERT_MAX_TOKENS}; choose a smaller N.")
    rows = []
    for text in texts:
        segments = [text] if isinstance(text, str) else list(text)
        if not 1 <= len(segments) <= 2 or any(not isinstance(t, str) or not t.strip() for t in segments):
            raise ChaoslibError(f"text {text!r}: give one non-empty string or a pair (A, B) of them.")
        ids, types = [tokenizer.cls_token_id], [0]
        for index, segment in enumerate(segments):
            pieces = tokenizer(segment, add_special_tokens=False)["input_ids"]
            pieces = pieces[: max(0, n_tokens - 1 - len(ids))] + [tokenizer.sep_token_id]
            ids += pieces
            types += [index] * len(pieces)
        ids, types = ids[:n_tokens], types[:n_tokens]
        pad = n_tokens - len(ids)
        rows.append((ids + [tokenizer.pad_token_id] * pad, types + [0] * pad, [1] * len(ids) + [0] * pad))
    input_ids, token_type_ids, mask = (torch.tensor([row[k] for row in rows]) for k in range(3))
    return Encoded(input_ids, token_type_ids, mask)


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

    The authors' sampler with L = 4N characters: ``kind="pair"``: the first two sentences of a
    paragraph longer than L, together at most 2L, as A [SEP] B; ``kind="paragraph"``: a paragraph
    longer than L as A (cut to N tokens). One paragraph per article; encoded by :func:`encode_authors`.
    Returns (Encoded (n_samples, n_tokens), texts for display).
    """
    min_chars = 4 * n_tokens
    if kind == "pair":
        pairs = sample_sentence_pairs(n_samples, seed, min_chars, source, data_dir=data_dir)
        return encode_authors(tokenizer, pairs, n_tokens), [f"{a} [SEP] {b}" for a, b in pairs]
    if kind == "paragraph":
        paragraphs = sample_article_paragraphs(n_samples, min_chars, seed, source, data_dir=data_dir)
        return encode_authors(tokenizer, paragraphs, n_tokens), paragraphs
    raise ChaoslibError(f"kind={kind!r}; use 'pair' or 'paragraph'.")
