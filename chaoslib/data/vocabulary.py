"""Vocabularies: ALBERT's 30,000-piece SentencePiece model, and small ones trained here on WikiText-2.

The trained-depth series pretrains many small networks; at D = 128 a 30,000-piece embedding and output
layer cost more than the shared layer, so the series uses an 8,000-piece SentencePiece vocabulary trained
on the detokenised WikiText-2 train text (the text the networks are trained on), with ALBERT's special
pieces at ALBERT's ids (``<pad>`` 0, ``<unk>`` 1, ``[CLS]`` 2, ``[SEP]`` 3, ``[MASK]`` 4) and ALBERT's
normalisation (lower case, accents stripped), so that every part of chaoslib that encodes text works
with it unchanged. The trained model ships under ``chaoslib/data/vocabularies/<name>/`` and is copied
into each network's folder, where ``AutoTokenizer.from_pretrained(folder)`` loads it.

    python -m chaoslib.data.vocabulary --vocab-size 8000 --out chaoslib/data/vocabularies/wikitext2-8k
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from chaoslib.data.tokenization import SPECIAL_PIECES
from chaoslib.errors import ChaoslibError

VOCABULARIES_DIR = Path(__file__).resolve().parent / "vocabularies"
SERIES_VOCABULARY = "wikitext2-8k"


def vocabulary_folder(name: str) -> Path:
    """The folder of a vocabulary shipped with chaoslib (``spiece.model`` + tokenizer files)."""
    folder = VOCABULARIES_DIR / name
    if not (folder / "spiece.model").exists():
        shipped = sorted(p.name for p in VOCABULARIES_DIR.glob("*") if (p / "spiece.model").exists())
        raise ChaoslibError(f"tokenizer={name!r} is not a vocabulary shipped with chaoslib; use one of {shipped}, "
                            "or '' for ALBERT's 30,000-piece model from the data folder.")
    return folder


def training_text(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The detokenised WikiText-2 train sentences, normalised as ALBERT's tokenizer does before SentencePiece."""
    from chaoslib.data.corpus import split_sentences, wikitext_articles
    from chaoslib.data.tokenization import load_tokenizer

    normalizer = load_tokenizer(data_dir=data_dir).backend_tokenizer.normalizer
    articles = wikitext_articles("train", None if data_dir is None else str(data_dir))
    return [normalizer.normalize_str(s) for article in articles for p in article for s in split_sentences(p)]


def train_vocabulary(out: str | os.PathLike, vocab_size: int = 8000, data_dir: str | os.PathLike | None = None,
                     seed_sentences: int = 0) -> Path:
    """Train a unigram SentencePiece model on WikiText-2 train; save it with ALBERT tokenizer files in ``out``.

    The result loads with ``AutoTokenizer.from_pretrained(out)`` (an ``AlbertTokenizer``) and with
    :func:`chaoslib.data.tokenization.load_tokenizer`.
    """
    import sentencepiece as spm

    if vocab_size <= len(SPECIAL_PIECES):
        raise ChaoslibError(f"vocab_size={vocab_size} leaves no room beside the {len(SPECIAL_PIECES)} special pieces.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "train.txt"
        text.write_text("\n".join(training_text(data_dir)) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(text), model_prefix=str(out / "spiece"), vocab_size=vocab_size, model_type="unigram",
            character_coverage=1.0, pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
            pad_piece="<pad>", unk_piece="<unk>", control_symbols=["[CLS]", "[SEP]", "[MASK]"],
            normalization_rule_name="identity",  # ALBERT's normaliser ran above, as it runs before encoding
            num_threads=1, input_sentence_size=seed_sentences, shuffle_input_sentence=False,
            minloglevel=2,
        )
    (out / "spiece.vocab").unlink(missing_ok=True)
    save_albert_tokenizer(out)
    return out


def save_albert_tokenizer(folder: Path) -> None:
    """Write the ALBERT tokenizer files of ``folder/spiece.model`` beside it (special tokens set, checked)."""
    from chaoslib.data.tokenization import load_tokenizer

    for stale in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / stale).unlink(missing_ok=True)  # from_pretrained must read the SentencePiece model itself
    tokenizer = load_tokenizer(folder)  # converts spiece.model; checks the piece count and the special ids
    tokenizer.save_pretrained(str(folder))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chaoslib.data.vocabulary", description=__doc__.splitlines()[0])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--out", default=str(VOCABULARIES_DIR / SERIES_VOCABULARY))
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    print(train_vocabulary(args.out, args.vocab_size, args.data_dir))


if __name__ == "__main__":
    main()
