"""Result files: ordinary permissions, and damaged files named with the way to recover."""

from __future__ import annotations

import os

import pytest
import xarray as xr

from chaoslib.store import CorruptFile, TrialStore, load_dataset, save_dataset, write_json


def test_results_are_written_with_ordinary_permissions(tmp_path):
    before = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        save_dataset(xr.Dataset({"v": ("i", [1.0, 2.0])}), tmp_path / "b.nc")
    finally:
        os.umask(before)
    for name in ("a.json", "b.nc"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


def test_a_truncated_store_json_names_the_file_and_the_fix(tmp_path):
    store = TrialStore(tmp_path / "store")
    store.save({"network": "a", "depth": 3}, {"value": list(range(50))})
    path = store.path({"network": "a", "depth": 3})
    path.write_text(path.read_text()[:40])
    with pytest.raises(CorruptFile, match=f"{path}.*not valid JSON.*Delete it and rerun"):
        store.all()


def test_a_truncated_netcdf_names_the_file(tmp_path):
    path = save_dataset(xr.Dataset({"v": ("i", [1.0, 2.0])}), tmp_path / "b.nc")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptFile, match=str(path)):
        load_dataset(path)
