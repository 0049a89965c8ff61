"""Model loading: clear errors, never a silent fallback to random weights."""

from __future__ import annotations

import time

import pytest

from chaoslib.errors import ChaoslibError, DataNotFound, PretrainedWeightsUnavailable
from chaoslib.model.configs import ALBERT_NAMES, albert_config
from chaoslib.model.network import load_albert
from chaoslib.settings import data_dir


def test_eight_architectures_known_offline():
    assert len(ALBERT_NAMES) == 8
    large = albert_config("albert-large-v2")
    assert (large.hidden_size, large.num_attention_heads, large.intermediate_size, large.embedding_size) == (
        1024,
        16,
        4096,
        128,
    )
    assert large.hidden_act == "gelu_new" and large.vocab_size == 30000
    xx = albert_config("albert-xxlarge-v1")
    assert (xx.hidden_size, xx.num_attention_heads, xx.num_hidden_layers) == (4096, 64, 12)
    assert albert_config("albert-base-v2")._attn_implementation == "eager"


def test_unknown_model_lists_valid_names():
    with pytest.raises(ChaoslibError, match="albert-large-v2"):
        load_albert("bert-base-uncased")


def test_pretrained_offline_fails_fast_with_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache
    tic = time.perf_counter()
    with pytest.raises(PretrainedWeightsUnavailable, match="weights='random'"):
        load_albert("albert-base-v2", weights="pretrained")
    assert time.perf_counter() - tic < 10


def test_pretrained_unreachable_hub_fails_fast(monkeypatch, tmp_path):
    import chaoslib.model.loading as models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(models, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(PretrainedWeightsUnavailable, match="unreachable"):
        load_albert("albert-base-v2", weights="pretrained")


def test_pretrained_from_a_local_folder(tmp_path):
    """A saved model folder is a real pretrained source: round-trip a (random) model through it."""
    import torch

    model, _ = load_albert("albert-base-v2", hidden_size=32, num_attention_heads=2, intermediate_size=64)
    model.save_pretrained(tmp_path)
    loaded, info = load_albert("albert-base-v2", weights="pretrained", weights_dir=tmp_path)
    assert info.weights == "pretrained" and info.source == str(tmp_path)
    for (name, a), b in zip(model.named_parameters(), loaded.parameters(), strict=True):
        assert torch.equal(a, b), name


def test_missing_data_folder(monkeypatch, tmp_path):
    with pytest.raises(DataNotFound, match="data_dir"):
        data_dir(tmp_path / "nope")
    monkeypatch.setenv("CHAOSLIB_DATA", str(tmp_path / "missing"))
    with pytest.raises(DataNotFound, match="CHAOSLIB_DATA"):
        data_dir()
