"""Control networks: shuffling keeps each tensor's multiset of entries; the gain-matched scheme has the stated
sigma; hybrids carry the named parts bit for bit."""

from __future__ import annotations

import math

import pytest
import torch

from chaoslib.model.controls import hybrid, is_embedding_part, shuffled
from chaoslib.model.init_schemes import gain_matched_sigma
from chaoslib.model.network import load_albert

# the standard deviation of a normal truncated at +-2 sigma, in units of sigma
TRUNCATED_STD = math.sqrt(1 - 2 * 2 * math.exp(-2) / math.sqrt(2 * math.pi) / (math.erf(2 / math.sqrt(2))))


@pytest.fixture(scope="module")
def pretrained():
    return load_albert("albert-wikitext2", weights="pretrained")[0]


def test_shuffling_keeps_each_tensors_entries_and_destroys_their_order(pretrained):
    control = shuffled(pretrained, seed=0)
    reference = dict(pretrained.named_parameters())
    for name, param in control.named_parameters():
        assert torch.equal(param.detach().flatten().sort().values, reference[name].detach().flatten().sort().values), name
        if param.numel() > 100:
            assert not torch.equal(param, reference[name]), f"{name} was not shuffled"
    assert not torch.equal(shuffled(pretrained, seed=1).encoder.embedding_hidden_mapping_in.weight,
                           control.encoder.embedding_hidden_mapping_in.weight)


def test_the_gain_matched_scheme_has_albert_larges_per_matrix_gain():
    model, info = load_albert("albert-wikitext2", weights="random", init="tf-gain", seed=0)
    plain, _ = load_albert("albert-wikitext2", weights="random", init="tf", seed=0)
    sigma = gain_matched_sigma(128)
    assert sigma == pytest.approx(0.02 * math.sqrt(8)) and info.label() == "albert-wikitext2 random tf-gain #0"
    layer = model.encoder.albert_layer_groups[0].albert_layers[0]
    for name, matrix in [("query", layer.attention.query.weight), ("ffn", layer.ffn.weight)]:
        assert matrix.std().item() == pytest.approx(sigma * TRUNCATED_STD, rel=0.02), name
        assert matrix.abs().max().item() <= 2 * sigma + 1e-7, name
        assert matrix.std().item() * math.sqrt(128) == pytest.approx(0.02 * math.sqrt(1024) * TRUNCATED_STD, rel=0.02)
    # the same draws as tf, the layer's kernels scaled; embeddings untouched
    torch.testing.assert_close(layer.attention.query.weight,
                               plain.encoder.albert_layer_groups[0].albert_layers[0].attention.query.weight * sigma / 0.02)
    assert torch.equal(model.embeddings.word_embeddings.weight, plain.embeddings.word_embeddings.weight)


def test_hybrids_carry_the_named_parts_bit_for_bit(pretrained):
    random_net, _ = load_albert("albert-wikitext2", weights="random", init="tf", seed=1)
    forward, reverse = hybrid(pretrained, random_net), hybrid(random_net, pretrained)
    pre, ran = dict(pretrained.named_parameters()), dict(random_net.named_parameters())
    n_embedding = 0
    for name, param in forward.named_parameters():
        n_embedding += is_embedding_part(name)
        assert torch.equal(param, (pre if is_embedding_part(name) else ran)[name]), name
    for name, param in reverse.named_parameters():
        assert torch.equal(param, (ran if is_embedding_part(name) else pre)[name]), name
    assert n_embedding == 7  # word, position, token-type embeddings, their LayerNorm (2), the projection (2)
