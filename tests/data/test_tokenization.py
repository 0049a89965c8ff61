"""Tokenizer: the offline files give the real vocabulary and the same ids as independent references."""

from __future__ import annotations

import pytest
import sentencepiece as spm
from tokenizers import Tokenizer
from transformers import AlbertTokenizer

from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.errors import ChaoslibError
from chaoslib.settings import data_dir


def test_vocabulary_and_known_ids(tokenizer):
    assert len(tokenizer) == 30000
    ids = tokenizer("the quick brown fox jumps over the lazy dog.")["input_ids"]
    assert ids == [2, 14, 2231, 886, 2385, 17659, 84, 14, 16792, 1952, 9, 3]  # data README


def test_same_ids_as_sentencepiece_and_transformers(tokenizer, tmp_path):
    texts = ["Héllo Wörld, transient chaos!", "ALBERT lower-cases AND strips accents: café."]
    spiece = data_dir() / "albert" / "spiece.model"
    sp = spm.SentencePieceProcessor(model_file=str(spiece))
    hf = AlbertTokenizer.from_pretrained(str(data_dir() / "albert"))
    raw = Tokenizer.from_file(
        str(data_dir() / "albert" / "tokenizer.json")
    )  # the Rust library, no transformers
    enc = encode(tokenizer, texts, n_tokens=24)
    for row, text in enumerate(texts):
        ours = tokenizer(text, add_special_tokens=False)["input_ids"]
        n = enc.attention_mask[row].sum().item()
        assert enc.input_ids[row, :n].tolist() == hf(text)["input_ids"] == raw.encode(text).ids
        # ALBERT's normaliser: lower-case, strip accents, then sentencepiece
        import unicodedata

        plain = "".join(
            c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c)
        )
        assert ours == sp.encode(plain)


def test_pair_layout(tokenizer):
    enc = encode(tokenizer, ["first part."], ["second part."], n_tokens=12)
    ids, types, mask = (
        enc.input_ids[0].tolist(),
        enc.token_type_ids[0].tolist(),
        enc.attention_mask[0].tolist(),
    )
    sep = ids.index(3)
    assert ids[0] == 2 and ids.count(3) == 2
    assert types[: sep + 1] == [0] * (sep + 1) and set(types[sep + 1 : sum(mask)]) == {1}
    assert ids[sum(mask) :] == [0] * (12 - sum(mask))  # <pad> is id 0


def test_bad_inputs(tokenizer):
    with pytest.raises(ChaoslibError, match="empty"):
        encode(tokenizer, [])
    with pytest.raises(ChaoslibError, match="empty string"):
        encode(tokenizer, ["fine", " "])
    with pytest.raises(ChaoslibError, match="n_tokens=600.*512"):
        encode(tokenizer, ["text"], n_tokens=600)
    with pytest.raises(ChaoslibError, match="raise n_tokens"):
        encode(tokenizer, ["word " * 50], n_tokens=8, truncate=False)


def test_five_piece_tokenizer_is_rejected(monkeypatch):
    """AlbertTokenizer(vocab_file=...) silently builds a 5-piece vocabulary; load_tokenizer refuses that."""
    import chaoslib.data.tokenization as tok

    broken = AlbertTokenizer(vocab_file=str(data_dir() / "albert" / "spiece.model"))
    assert len(broken) == 5
    monkeypatch.setattr(tok.AlbertTokenizer, "from_pretrained", classmethod(lambda cls, *a, **k: broken))
    with pytest.raises(ChaoslibError, match="30000"):
        load_tokenizer()
