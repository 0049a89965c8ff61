"""Shared fixtures: tiny ALBERT networks of the real code path, the offline tokenizer."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

import pytest
import torch

from chaoslib.data.tokenization import encode, load_tokenizer
from chaoslib.model.albert_map import AlbertMap
from chaoslib.model.network import load_albert

TINY = dict(hidden_size=64, num_attention_heads=4, intermediate_size=128, num_hidden_layers=3)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "ALBERT applies one shared layer again and again.",
    "Transient chaos fades as the tokens synchronise.",
]


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for modules of tiny tensors: there, thread synchronisation costs more than
    the work, and on a busy two-core machine two threads can be 10-100x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="session")
def encoded(tokenizer):
    return encode(tokenizer, SENTENCES, n_tokens=16)


def tiny_model(dtype=torch.float32, seed=0, init="tf", **overrides):
    config = {**TINY, **overrides}
    return load_albert("albert-base-v2", weights="random", init=init, seed=seed, dtype=dtype, **config)


@pytest.fixture
def tiny_map():
    model, _ = tiny_model()
    return AlbertMap(model)
