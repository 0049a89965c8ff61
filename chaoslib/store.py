"""Results as labelled, self-describing files, written atomically so a crash loses nothing.

- Arrays: ``xarray.Dataset`` saved as netCDF-4 (h5netcdf). Attributes that are not plain
  numbers or strings (provenance dicts, lists) are stored as JSON strings and decoded on load.
- Sweeps: :class:`TrialStore` keeps one JSON file per finished trial; a rerun skips them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from chaoslib.errors import ChaoslibError

_JSON_PREFIX = "json:"


class CorruptFile(ChaoslibError):
    """A result, record or store file that cannot be read (truncated, or not what its name says)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a result is an ordinary file (0666 less the umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True, default=str).encode())


def read_json(path: str | os.PathLike) -> Any:
    """The JSON content of ``path``; a truncated or corrupt file raises :class:`CorruptFile` naming it."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptFile(
            f"{path} is not valid JSON ({err}); it was truncated or overwritten. Delete it and rerun the "
            "command that wrote it (a sweep then recomputes just that trial), or restore it with git if it is tracked."
        ) from err


def _encode_attrs(attrs: dict) -> dict:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, (str, int, float, np.integer, np.floating)) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = _JSON_PREFIX + json.dumps(_jsonable(value), default=str)
    return out


def _decode_attrs(attrs: dict) -> dict:
    return {
        k: json.loads(v[len(_JSON_PREFIX) :]) if isinstance(v, str) and v.startswith(_JSON_PREFIX) else v
        for k, v in attrs.items()
    }


def save_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Save ``ds`` (attrs may hold dicts, e.g. provenance) atomically as netCDF-4."""
    path = Path(path)
    encoded = ds.copy()
    encoded.attrs = _encode_attrs(ds.attrs)
    for name in encoded.variables:
        encoded[name].attrs = _encode_attrs(ds[name].attrs)
    atomic_write_bytes(path, encoded.to_netcdf(engine="h5netcdf"))
    return path


def load_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a dataset written by :func:`save_dataset` fully into memory, attrs decoded."""
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except (OSError, ValueError) as err:
        if not Path(path).exists():
            raise
        raise CorruptFile(
            f"{path} cannot be read as netCDF ({type(err).__name__}: {err}); it was truncated or overwritten. "
            "Delete it and rerun the chapter that wrote it, or restore it with git if it is tracked."
        ) from err
    ds.attrs = _decode_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _decode_attrs(ds[name].attrs)
    return ds


def _slug(key: str | dict) -> str:
    if isinstance(key, dict):
        key = "__".join(f"{k}={key[k]}" for k in sorted(key))
    return re.sub(r"[^A-Za-z0-9=_.+-]", "_", str(key))


class TrialStore:
    """One JSON file per finished trial under ``root``: resumable sweeps.

    A key is a string or a dict of parameters (e.g. ``{"task": "stsb", "depth": 12, "arm": "trained"}``);
    ``save`` stores the record together with its key, atomically.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str | dict) -> Path:
        return self.root / f"{_slug(key)}.json"

    def done(self, key: str | dict) -> bool:
        return self.path(key).exists()

    def save(self, key: str | dict, record: dict) -> None:
        write_json(self.path(key), {"key": key, **record})

    def load(self, key: str | dict) -> dict:
        return read_json(self.path(key))

    def all(self) -> list[dict]:
        return [read_json(p) for p in sorted(self.root.glob("*.json"))]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.all())
