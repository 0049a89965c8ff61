"""Frozen-encoder features of a GLUE split at every depth, from ONE trajectory.

ALBERT repeats one layer, so the pooled output of ``AlbertModel(num_hidden_layers=d)`` is
``pool(F^d(x0))`` with the attention mask: a single run to the deepest depth records the
features of every depth (:func:`depth_features`), and the frozen sweep over depths 1..100 costs
one 100-layer pass. :func:`cached_depth_features` keeps them on disk, keyed by what they depend on.

Also here: the seeded train and dev subsamples of a task (:func:`load_subsets`), the encoding of a split
(:func:`encode_split`), length batching and trimming of all-pad columns (exact under the mask), and the depth
lists of a sweep.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from chaoslib.data.tokenization import Encoded, encode
from chaoslib.errors import ChaoslibError
from chaoslib.model.albert_map import AlbertMap
from chaoslib.store import atomic_write_bytes
from chaoslib.tasks.glue import DEV_SPLIT, GlueSplit, get_task, load_glue

MAX_SEQ_LENGTH = 64  # the authors' --max_seq_length 64


def load_subsets(
    task: str,
    n_train: int | None,
    n_dev: int | None,
    subsample_seed: int = 0,
    data_source: str = "local",
    data_dir: str | os.PathLike | None = None,
) -> tuple[GlueSplit, GlueSplit]:
    """The seeded train and dev subsamples of ``task`` (None: every row)."""
    spec = get_task(task)
    train = load_glue(spec.name, "train", source=data_source, data_dir=data_dir)
    dev = load_glue(spec.name, DEV_SPLIT[spec.name], source=data_source, data_dir=data_dir)
    return train.subsample(n_train, seed=subsample_seed), dev.subsample(n_dev, seed=subsample_seed)


def check_depths(depths: Sequence[int]) -> list[int]:
    """Sorted unique positive depths, or an error naming the bad entries."""
    depths = [int(d) for d in depths]
    bad = [d for d in depths if d < 1]
    if not depths or bad:
        raise ChaoslibError(f"depths={depths}: give at least one depth, all >= 1 (bad: {bad}).")
    return sorted(set(depths))


def parse_depths(depths: str | int | Sequence[int] | None) -> list[int]:
    """Depths from a list, an int n (1..n), or text: ``"1..100"``, ``"1,2,4,8"``, ``"1..10,20,50"``.

    ``None``, ``""`` or an empty list: no depths (the arm is skipped).
    """
    if depths is None or (not isinstance(depths, int) and len(depths) == 0):
        return []
    if isinstance(depths, int):
        return check_depths(range(1, depths + 1))
    if isinstance(depths, str):
        out: list[int] = []
        try:
            for part in depths.replace(" ", "").split(","):
                if ".." in part:
                    lo, hi = part.split("..")
                    out.extend(range(int(lo), int(hi) + 1))
                elif part:
                    out.append(int(part))
        except ValueError as err:
            raise ChaoslibError(
                f"depths={depths!r}: write depths as '1..100', '1,2,4' or '1..10,20,50'."
            ) from err
        return check_depths(out)
    return check_depths(depths)


def settings_key(settings: dict) -> str:
    """A short stable hash of a settings dict: results computed with other settings never mix."""
    return hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]


def encode_split(tokenizer, split: GlueSplit, n_tokens: int = MAX_SEQ_LENGTH) -> Encoded:
    """``[CLS] A [SEP] (B [SEP])`` of every row, truncated and padded to n_tokens: (n, n_tokens)."""
    return encode(tokenizer, split.text_a, split.text_b, n_tokens=n_tokens, truncate=True)


def trimmed(enc: Encoded) -> Encoded:
    """Cut the columns that are padding in every row. With the attention mask a pad position
    gets exactly zero attention, so the real tokens (and the pooled [CLS]) do not change."""
    length = int(enc.attention_mask.sum(1).max())
    return Encoded(enc.input_ids[:, :length], enc.token_type_ids[:, :length], enc.attention_mask[:, :length])


def length_batches(enc: Encoded, batch_size: int) -> list[torch.Tensor]:
    """Row indices in batches of similar length (sorted by real length), so trimming pays off."""
    order = torch.argsort(enc.attention_mask.sum(1), stable=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.no_grad()
def depth_features(
    albert_map: AlbertMap,
    encoded: Encoded,
    depths: Sequence[int],
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """Pooled output at every depth from one trajectory, with the attention mask.

    ``features[i]`` equals ``AlbertModel(num_hidden_layers=depths[i])(...).pooler_output``.

    Args:
        albert_map: the network's map (its pooler is used).
        encoded: (n, tokens) inputs with their attention mask.
        depths: layer counts to record (sorted, unique, >= 1); the trajectory runs to max(depths).
        batch_size: inputs per forward pass (rows of similar length are batched together and
            the all-pad columns cut off, which changes nothing under the mask).

    Returns:
        (len(depths), n, hidden) float tensor on the map's device.
    """
    depths = check_depths(depths)
    device = albert_map.w_qkv.device
    slot = {d: i for i, d in enumerate(depths)}
    out = torch.empty(
        len(depths), len(encoded), albert_map.hidden_size, device=device, dtype=albert_map.w_qkv.dtype
    )
    batches = length_batches(encoded, batch_size)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(batches) * depths[-1], desc="frozen features (layer steps)")
    for rows in batches:
        enc = trimmed(encoded[rows]).to(device)
        rows = rows.to(device)
        x = albert_map.embed(enc)
        for t in range(1, depths[-1] + 1):
            x = albert_map.step(x, enc.attention_mask)
            if t in slot:
                out[slot[t], rows] = albert_map.pool(x)
        if bar is not None:
            bar.update(depths[-1])
    if bar is not None:
        bar.close()
    return out


def cached_depth_features(
    albert_map: AlbertMap,
    encoded: Encoded,
    depths: Sequence[int],
    cache_path: str | os.PathLike | None,
    description: dict | None = None,
    batch_size: int = 64,
    progress: bool = False,
) -> torch.Tensor:
    """:func:`depth_features`, saved to / loaded from ``cache_path`` (None: no cache).

    ``description`` (model label, task, split, rows...) is stored with the features and must
    match on load, together with the depths and the input ids, or the cache is recomputed.
    """
    depths = check_depths(depths)
    meta = {
        "depths": depths,
        "description": description or {},
        "inputs": hashlib.sha1(encoded.input_ids.numpy().tobytes()).hexdigest(),
    }
    if cache_path is not None and Path(cache_path).exists():
        saved = torch.load(cache_path, map_location="cpu", weights_only=True)
        if json.loads(saved["meta"]) == meta:
            return saved["features"].to(albert_map.w_qkv.device)
    features = depth_features(albert_map, encoded, depths, batch_size=batch_size, progress=progress)
    if cache_path is not None:
        buffer = io.BytesIO()
        torch.save({"features": features.cpu(), "meta": json.dumps(meta)}, buffer)
        atomic_write_bytes(cache_path, buffer.getvalue())
    return features
