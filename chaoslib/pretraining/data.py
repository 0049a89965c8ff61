"""Pretraining examples: two consecutive segments of one document, swapped half the time (SOP).

A corpus is a list of documents, each tokenised once into a flat id array with the offsets where
its sentences start. An example of ``n_tokens`` tokens is built as ALBERT's data pipeline does:
a run of consecutive sentences of one document is cut at a sentence boundary into segment A and
segment B; with probability 1/2 the two are swapped (label 1 = swapped). The layout is
``[CLS] A [SEP] B [SEP]`` padded with ``<pad>``, token types 0 for A and 1 for B.

Every batch is a pure function of (corpus, seed, step): the data position of a resumed run is its
step number, so a killed run continues with exactly the batches it would have seen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from chaoslib.data.corpus import detokenize_wikitext, split_sentences
from chaoslib.data.tokenization import ALBERT_VOCAB_SIZE, Encoded
from chaoslib.errors import ChaoslibError
from chaoslib.settings import data_file

MIN_SEGMENT_TOKENS = 8  # short enough for any two sentences, long enough to hold a masked span


@dataclass
class TokenisedCorpus:
    """Documents as one flat id tensor.

    ids: (total_tokens,) int32, every document's sentences back to back;
    doc_starts: (n_docs + 1,) int64 offsets of the documents in ``ids``;
    sentence_starts: (n_sentences + 1,) int64 offsets of every sentence in ``ids`` (document
    starts are sentence starts).
    """

    ids: torch.Tensor
    doc_starts: torch.Tensor
    sentence_starts: torch.Tensor
    name: str

    @property
    def n_tokens(self) -> int:
        return int(self.ids.numel())

    @property
    def n_documents(self) -> int:
        return int(self.doc_starts.numel() - 1)


def wikitext_documents(split: str, data_dir: str | os.PathLike | None = None) -> list[list[str]]:
    """WikiText-2 ``split`` as articles, each a list of sentences (headings separate articles).

    An article starts at a level-1 heading `` = Title = ``; sub-headings (`` = = ...``) are dropped.
    """
    if split not in ("train", "valid", "test"):
        raise ChaoslibError(f"split={split!r}; WikiText-2 has 'train', 'valid' and 'test'.")
    lines = data_file(f"wikitext-2/{split}.txt", data_dir).read_text(encoding="utf-8").splitlines()
    documents: list[list[str]] = []
    current: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("= ") and not line.startswith("= ="):  # a new article
            if current:
                documents.append(current)
            current = []
            continue
        if line.startswith("="):
            continue
        current.extend(split_sentences(detokenize_wikitext(line)))
    if current:
        documents.append(current)
    return documents


def dataset_documents(
    name: str, split: str, config: str | None = None, text_field: str = "text"
) -> list[list[str]]:
    """Documents of a ``datasets`` corpus (online), one per record, paragraphs split into sentences."""
    try:
        import datasets
    except ImportError as err:
        raise ChaoslibError("corpus from `datasets` needs the package: pip install datasets") from err
    records = datasets.load_dataset(name, config, split=split)
    out = []
    for record in records:
        sentences = [s for p in record[text_field].split("\n") for s in split_sentences(p.strip())]
        if sentences:
            out.append(sentences)
    return out


def tokenise_documents(tokenizer, documents: list[list[str]], name: str) -> TokenisedCorpus:
    """Tokenise every sentence once (no specials). documents: lists of sentences."""
    sentences = [s for doc in documents for s in doc]
    encoded = tokenizer(sentences, add_special_tokens=False)["input_ids"]
    lengths = torch.tensor([len(e) for e in encoded], dtype=torch.int64)
    ids = torch.tensor([i for e in encoded for i in e], dtype=torch.int32)
    sentence_starts = torch.zeros(len(encoded) + 1, dtype=torch.int64)
    sentence_starts[1:] = torch.cumsum(lengths, 0)
    doc_sentence_counts = torch.tensor([0] + [len(doc) for doc in documents], dtype=torch.int64)
    doc_starts = sentence_starts[torch.cumsum(doc_sentence_counts, 0)]
    return TokenisedCorpus(ids, doc_starts, sentence_starts, name)


def load_corpus(
    tokenizer,
    corpus: str = "wikitext-2",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    max_documents: int = 0,
) -> TokenisedCorpus:
    """A tokenised corpus: ``wikitext-2`` from the data folder, or a ``datasets`` name (online).

    ``corpus`` may be ``"name"`` or ``"name:config"`` for ``datasets`` (e.g. ``wikitext:wikitext-103-raw-v1``).
    ``max_documents``: keep only the first n documents (0: all). The token ids are cached in ``cache_dir``.
    """
    label = f"{corpus}-{split}".replace("/", "_").replace(":", "_") + (f"-first{max_documents}" if max_documents else "")
    if len(tokenizer) != ALBERT_VOCAB_SIZE:  # another vocabulary: other ids (ALBERT's cache keeps its old name)
        label += f"-vocab{len(tokenizer)}"
    path = Path(cache_dir) / f"pretrain_corpus__{label}.pt" if cache_dir is not None else None
    if path is not None and path.exists():
        data = torch.load(path, weights_only=True)
        return TokenisedCorpus(data["ids"], data["doc_starts"], data["sentence_starts"], data["name"])
    if corpus == "wikitext-2":
        documents = wikitext_documents(split, data_dir)
    else:
        name, _, config = corpus.partition(":")
        documents = dataset_documents(name, "validation" if split == "valid" else split, config or None)
    if max_documents:
        documents = documents[:max_documents]
    tokenised = tokenise_documents(tokenizer, documents, f"{corpus} ({split})")
    if path is not None:
        import io

        from chaoslib.store import atomic_write_bytes

        buffer = io.BytesIO()
        torch.save(
            {
                "ids": tokenised.ids,
                "doc_starts": tokenised.doc_starts,
                "sentence_starts": tokenised.sentence_starts,
                "name": tokenised.name,
            },
            buffer,
        )
        atomic_write_bytes(path, buffer.getvalue())
    return tokenised


@dataclass
class SOPBatch:
    """A batch of segment pairs. encoded: (batch, tokens); sop_labels: (batch,) 1 = swapped."""

    encoded: Encoded
    sop_labels: torch.Tensor


class SOPSampler:
    """Draws SOP examples of ``n_tokens`` tokens from a :class:`TokenisedCorpus`.

    Args:
        corpus: the tokenised documents.
        n_tokens: sequence length including ``[CLS]`` and two ``[SEP]``.
        cls_id, sep_id, pad_id: the tokenizer's special ids.
    """

    def __init__(self, corpus: TokenisedCorpus, n_tokens: int, cls_id: int, sep_id: int, pad_id: int):
        if n_tokens < 3 + 2 * MIN_SEGMENT_TOKENS:
            raise ChaoslibError(
                f"n_tokens={n_tokens}; an SOP example needs at least {3 + 2 * MIN_SEGMENT_TOKENS}."
            )
        self.corpus, self.n_tokens = corpus, int(n_tokens)
        self.cls_id, self.sep_id, self.pad_id = int(cls_id), int(sep_id), int(pad_id)
        starts, ends = corpus.sentence_starts[:-1], corpus.sentence_starts[1:]
        doc_of_sentence = torch.searchsorted(corpus.doc_starts, starts, right=True) - 1
        doc_end = corpus.doc_starts[1:][doc_of_sentence]
        # a sentence can start an example when its document holds enough tokens after it for A and B
        self._start_sentences = torch.nonzero((doc_end - starts) >= 2 * MIN_SEGMENT_TOKENS).flatten()
        self._doc_end = doc_end
        self._ends = ends
        if len(self._start_sentences) == 0:
            raise ChaoslibError(f"corpus {corpus.name} has no document long enough for a segment pair.")

    def example(self, generator: torch.Generator) -> tuple[list[int], list[int], int]:
        """One example: (segment A ids, segment B ids, label) with label 1 when swapped.

        Both segments end at sentence ends where the document allows it, so that a segment that
        stops mid-sentence does not tell the order away (a model would learn the punctuation
        before ``[SEP]`` instead of the order of the content).
        """
        c = self.corpus
        k = int(torch.randint(len(self._start_sentences), (), generator=generator))
        first = int(self._start_sentences[k])
        start = int(c.sentence_starts[first])
        limit = min(int(self._doc_end[first]), start + self.n_tokens - 3)
        # sentence ends inside the budget that leave room for a segment before them
        ends = c.sentence_starts[first + 1 :]
        ends = ends[(ends >= start + MIN_SEGMENT_TOKENS) & (ends <= limit)]
        end = int(ends[-1]) if len(ends) >= 2 else limit
        cuts = ends[ends <= end - MIN_SEGMENT_TOKENS]
        if len(ends) >= 2 and len(cuts) > 0:  # A and B both whole sentences
            cut = int(cuts[int(torch.randint(len(cuts), (), generator=generator))])
        else:  # sentences longer than the budget: cut inside, as ALBERT does with over-long segments
            end = limit
            cut = start + int(
                torch.randint(MIN_SEGMENT_TOKENS, end - start - MIN_SEGMENT_TOKENS + 1, (), generator=generator)
            )
        a = c.ids[start:cut].tolist()
        b = c.ids[cut:end].tolist()
        swapped = int(torch.rand((), generator=generator) < 0.5)
        return (b, a, 1) if swapped else (a, b, 0)

    def batch(self, batch_size: int, generator: torch.Generator) -> SOPBatch:
        """``batch_size`` examples. Returns :class:`SOPBatch` with (batch, n_tokens) tensors."""
        n = self.n_tokens
        input_ids = torch.full((batch_size, n), self.pad_id, dtype=torch.int64)
        token_types = torch.zeros((batch_size, n), dtype=torch.int64)
        attention = torch.zeros((batch_size, n), dtype=torch.int64)
        labels = torch.zeros(batch_size, dtype=torch.int64)
        for row in range(batch_size):
            a, b, label = self.example(generator)
            ids = [self.cls_id, *a, self.sep_id, *b, self.sep_id]
            input_ids[row, : len(ids)] = torch.tensor(ids)
            token_types[row, len(a) + 2 : len(ids)] = 1
            attention[row, : len(ids)] = 1
            labels[row] = label
        return SOPBatch(Encoded(input_ids, token_types, attention), labels)
