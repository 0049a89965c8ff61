"""ALBERT tokenizer and fixed-length encoding: ``[CLS] A [SEP] (B [SEP])`` padded with ``<pad>``.

The tokenizer lower-cases and strips accents (ALBERT's normaliser). Its vocabulary is checked
to hold every piece of its SentencePiece model (ALBERT's 30000, or a vocabulary trained here, see
:mod:`chaoslib.data.vocabulary`), because a wrongly built ALBERT tokenizer silently ends up with
only the five special pieces; ALBERT's special pieces must sit at ALBERT's ids 0..4.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AlbertTokenizer, PreTrainedTokenizerBase

from chaoslib.errors import ChaoslibError, DataNotFound
from chaoslib.settings import data_dir as resolve_data_dir

ALBERT_VOCAB_SIZE = 30000
ALBERT_MAX_TOKENS = 512
SPECIAL_PIECES = ("<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]")  # at ids 0..4, as in ALBERT's model


@dataclass
class Encoded:
    """A batch of fixed-length encodings.

    input_ids, token_type_ids, attention_mask: (batch, tokens) int64; mask 1 = real token, 0 = pad.
    """

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    attention_mask: torch.Tensor

    def to(self, device: torch.device | str) -> Encoded:
        return Encoded(*(t.to(device) for t in (self.input_ids, self.token_type_ids, self.attention_mask)))

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def __getitem__(self, index) -> Encoded:
        """Rows ``index`` (an int, slice or index tensor), kept two-dimensional."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return Encoded(self.input_ids[index], self.token_type_ids[index], self.attention_mask[index])


def load_tokenizer(source: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None):
    """The ALBERT tokenizer from a local folder (spiece.model / tokenizer.json) or a hub id.

    ``source=None`` uses ``<data_dir>/albert``, the offline copy (ALBERT's 30000 pieces). A folder may
    hold another SentencePiece vocabulary with ALBERT's special pieces at ids 0..4 (the trained-depth
    series' 8000 pieces): its size is checked against its own SentencePiece model.
    """
    if source is None:
        source = resolve_data_dir(data_dir) / "albert"
    expected = ALBERT_VOCAB_SIZE
    if isinstance(source, os.PathLike) or Path(str(source)).exists():
        folder = Path(source)
        if not ((folder / "spiece.model").exists() or (folder / "tokenizer.json").exists()):
            raise DataNotFound(f"tokenizer folder {folder} holds neither spiece.model nor tokenizer.json.")
        tokenizer = AlbertTokenizer.from_pretrained(str(folder))
        if (folder / "spiece.model").exists():
            import sentencepiece

            expected = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spiece.model")).get_piece_size()
    else:
        tokenizer = AlbertTokenizer.from_pretrained(str(source))
    if len(tokenizer) != expected:
        raise ChaoslibError(
            f"the tokenizer from {source} has {len(tokenizer)} pieces, not the {expected} of its SentencePiece "
            "model: it was built without its vocabulary. Point the tokenizer at a folder with spiece.model."
        )
    check_special_ids(tokenizer, str(source))
    return tokenizer


def check_special_ids(tokenizer, source: str) -> None:
    """ALBERT's special pieces must sit at ALBERT's ids: the embeddings and every sampler rely on them."""
    found = tokenizer.convert_ids_to_tokens(list(range(len(SPECIAL_PIECES))))
    if tuple(found) != SPECIAL_PIECES:
        raise ChaoslibError(f"the vocabulary {source} has {found} at ids 0..4, not ALBERT's {list(SPECIAL_PIECES)}.")
    named = (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id,
             tokenizer.mask_token_id)
    if named != tuple(range(len(SPECIAL_PIECES))):
        raise ChaoslibError(f"the tokenizer from {source} names its special tokens at ids {named}, not 0..4.")



def encode(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    pairs: Sequence[str] | None = None,
    n_tokens: int = 32,
    truncate: bool = True,
    max_tokens: int = ALBERT_MAX_TOKENS,
) -> Encoded:
    """Encode ``texts`` (and optional second segments ``pairs``) to exactly ``n_tokens`` tokens.

    Longer inputs are truncated (``truncate=True``, the dynamics chapters' choice, as the
    authors cut paragraphs to N tokens) or rejected. Token types are 0 for A, 1 for B.
    Returns an :class:`Encoded` of shape (len(texts), n_tokens).
    """
    if isinstance(texts, str):
        raise ChaoslibError("texts must be a list of strings, not one string; wrap it: texts=[text].")
    if len(texts) == 0:
        raise ChaoslibError("texts is empty; give at least one text.")
    if any(not t or not t.strip() for t in texts):
        raise ChaoslibError("texts contains an empty string; every input needs some text.")
    if pairs is not None and len(pairs) != len(texts):
        raise ChaoslibError(f"pairs has {len(pairs)} entries but texts has {len(texts)}; give one B per A.")
    if not 2 <= n_tokens <= max_tokens:
        raise ChaoslibError(
            f"n_tokens={n_tokens} is outside 2..{max_tokens}, the model's position-embedding limit; choose a smaller N."
        )
    batch = tokenizer(
        list(texts),
        list(pairs) if pairs is not None else None,
        padding="max_length",
        truncation=True if truncate else False,
        max_length=n_tokens,
        return_token_type_ids=True,
        return_attention_mask=True,
        return_tensors="pt",
    )
    if batch["input_ids"].shape[1] != n_tokens:
        raise ChaoslibError(
            f"an input is {batch['input_ids'].shape[1]} tokens long, more than n_tokens={n_tokens}; "
            "raise n_tokens (at most 512) or pass truncate=True."
        )
    return Encoded(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"])
