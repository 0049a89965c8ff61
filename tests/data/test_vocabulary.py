"""The trained-depth series' 8,000-piece vocabulary: ALBERT's special ids, round trips, and its loaders."""

from __future__ import annotations

import pytest
import sentencepiece
from transformers import AutoTokenizer

from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.data.tokenization import SPECIAL_PIECES
from chaoslib.data.vocabulary import SERIES_VOCABULARY, vocabulary_folder
from chaoslib.errors import ChaoslibError

TEXTS = ["The quick brown fox jumps over the lazy dog.", "In 1895, the surgeon moved to Boston (Massachusetts)."]


@pytest.fixture(scope="module")
def series_tokenizer():
    return load_tokenizer(vocabulary_folder(SERIES_VOCABULARY))


def test_the_series_vocabulary_has_8000_pieces_and_albert_special_ids(series_tokenizer):
    assert len(series_tokenizer) == 8000
    assert series_tokenizer.convert_ids_to_tokens([0, 1, 2, 3, 4]) == list(SPECIAL_PIECES)
    assert (series_tokenizer.pad_token_id, series_tokenizer.unk_token_id, series_tokenizer.cls_token_id,
            series_tokenizer.sep_token_id, series_tokenizer.mask_token_id) == (0, 1, 2, 3, 4)
    hf = AutoTokenizer.from_pretrained(str(vocabulary_folder(SERIES_VOCABULARY)))
    assert len(hf) == 8000 and (hf.cls_token, hf.sep_token, hf.mask_token) == ("[CLS]", "[SEP]", "[MASK]")


def test_the_series_tokenizer_gives_sentencepieces_own_ids_after_albert_normalisation(series_tokenizer):
    """The independent reference: sentencepiece itself on the lower-cased, accent-stripped text."""
    processor = sentencepiece.SentencePieceProcessor(model_file=str(vocabulary_folder(SERIES_VOCABULARY) / "spiece.model"))
    for text in TEXTS:
        ids = series_tokenizer(text, add_special_tokens=False)["input_ids"]
        assert ids == processor.encode(text.lower())
        assert 1 not in ids, "WikiText-2 words became <unk>"
        assert series_tokenizer.decode(ids) == text.lower()  # round trip


def test_the_series_tokenizer_encodes_the_books_layout(series_tokenizer):
    encoded = encode(series_tokenizer, [TEXTS[0]], [TEXTS[1]], n_tokens=40)
    ids = encoded.input_ids[0].tolist()
    assert ids[0] == 2 and ids.count(3) == 2 and ids[-1] == 0
    assert encoded.token_type_ids[0, ids.index(3) + 1].item() == 1


def test_a_vocabulary_that_is_not_shipped_is_named():
    with pytest.raises(ChaoslibError, match="tokenizer='nope'.*wikitext2-8k"):
        vocabulary_folder("nope")
