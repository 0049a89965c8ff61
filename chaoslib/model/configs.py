"""The eight ALBERT architectures, known offline, and the networks pretrained by this project.

albert-base-v2 and albert-large-v2 come verbatim from the hub's config.json files (read from
the data folder when it has them); the other sizes follow the ALBERT paper's Table 1 and the
hub's conventions (v1: ``gelu``, v2: ``gelu_new``; dropout 0 for v2, 0.1 for v1; dropout is
inactive in the dynamics anyway, which always run in eval mode). A pretrained checkpoint always
brings its own config.json, so these tables only shape randomly initialised networks.
"""

from __future__ import annotations

import os
from pathlib import Path

from transformers import AlbertConfig

from chaoslib.errors import ChaoslibError, DataNotFound
from chaoslib.settings import data_dir as resolve_data_dir

# size -> (hidden, layers, heads, ffn)
_SIZES = {
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
    "xlarge": (2048, 24, 16, 8192),
    "xxlarge": (4096, 12, 64, 16384),
}
ALBERT_NAMES: tuple[str, ...] = tuple(f"albert-{size}-v{v}" for v in (1, 2) for size in _SIZES)

# Networks pretrained by this project (``python -m chaoslib.pretraining``), shipped in the package with a
# model card: every folder of CHECKPOINTS_DIR holding config.json, model.safetensors and card.json
# (albert-wikitext2, and the trained-depth series), which may carry its own tokenizer files.
CHECKPOINTS_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
WEIGHTS_FILE = "model.safetensors"
SHIPPED_NAMES: tuple[str, ...] = tuple(
    sorted(p.name for p in CHECKPOINTS_DIR.glob("*")
           if not p.name.startswith(".") and (p / "config.json").exists() and (p / "card.json").exists())
)


class CheckpointCorrupt(ChaoslibError):
    """A shipped network's weights differ from the SHA-256 its card records."""


def shipped_checkpoint(name: str) -> Path | None:
    """The folder of a network pretrained by this project, or None for the hub's ALBERT models."""
    return CHECKPOINTS_DIR / name if name in SHIPPED_NAMES else None


_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify_checkpoint(folder: str | os.PathLike) -> dict:
    """The card of a network pretrained here, after checking its weights file against the card's SHA-256.

    Raises :class:`CheckpointCorrupt` naming the file and how to restore it. Folders without a card
    (a run's intermediate checkpoints) have nothing to check against and return ``{}``.
    """
    from chaoslib.store import read_json, sha256_file

    folder = Path(folder)
    if not (folder / "card.json").exists():
        return {}
    card = read_json(folder / "card.json")
    weights = folder / card.get("weights_file", WEIGHTS_FILE)
    if not weights.exists():
        raise CheckpointCorrupt(f"{weights} is missing (its card {folder / 'card.json'} names it); {_restore(folder)}")
    stat = weights.stat()
    memo = (str(weights), stat.st_size, stat.st_mtime_ns)
    if memo not in _VERIFIED:
        _VERIFIED[memo] = sha256_file(weights)
    if _VERIFIED[memo] != card["sha256"]:
        raise CheckpointCorrupt(
            f"{weights} has SHA-256 {_VERIFIED[memo][:16]}..., not the {card['sha256'][:16]}... its card records: the "
            f"file was changed or damaged, so it is not the network the card describes. {_restore(folder)}"
        )
    return card


def _restore(folder: Path) -> str:
    return (f"Restore it with `git checkout -- {folder.relative_to(folder.parent.parent.parent)}` in a checkout "
            "(or reinstall chaoslib), or ship the network again with `python -m chaoslib.pretraining ship`.")


def check_model_name(name: str) -> str:
    """Return ``name`` if it is an ALBERT model or a shipped checkpoint, else raise with the valid list."""
    if name not in ALBERT_NAMES and name not in SHIPPED_NAMES:
        raise ChaoslibError(
            f"model_name={name!r} is not an ALBERT model; use one of {list(ALBERT_NAMES)} or a network "
            f"pretrained by this project: {list(SHIPPED_NAMES)}."
        )
    return name


def albert_config(
    name: str = "albert-large-v2",
    data_dir: str | os.PathLike | None = None,
    attn_implementation: str = "eager",
    **overrides,
) -> AlbertConfig:
    """The architecture of ``name``; ``overrides`` replace fields (e.g. ``num_hidden_layers=3``).

    ``attn_implementation="eager"`` by default: the dynamics need forward-mode AD, which the
    SDPA kernels lack.
    """
    check_model_name(name)
    shipped = shipped_checkpoint(name)
    if shipped is not None:  # the architecture of a network pretrained here comes with its weights
        config = AlbertConfig.from_json_file(str(shipped / "config.json"))
        for key, value in overrides.items():
            setattr(config, key, value)
        config._attn_implementation = attn_implementation
        return config
    try:
        path = resolve_data_dir(data_dir) / "albert" / "configs" / f"{name}.json"
    except DataNotFound:
        path = None
    if path is not None and path.exists():
        config = AlbertConfig.from_json_file(str(path))
    else:
        size, version = name.split("-")[1], name[-1]
        hidden, layers, heads, ffn = _SIZES[size]
        dropout = 0.0 if version == "2" else 0.1
        config = AlbertConfig(
            vocab_size=30000,
            embedding_size=128,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=ffn,
            hidden_act="gelu_new" if version == "2" else "gelu",
            hidden_dropout_prob=dropout,
            attention_probs_dropout_prob=dropout,
            max_position_embeddings=512,
            type_vocab_size=2,
            initializer_range=0.02,
            layer_norm_eps=1e-12,
            num_hidden_groups=1,
            inner_group_num=1,
        )
    for key, value in overrides.items():
        setattr(config, key, value)
    config._attn_implementation = attn_implementation
    return config
