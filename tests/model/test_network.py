"""The typed network description: one way to name a network, load it, record it and key a stored result."""

from __future__ import annotations

import pytest
import torch

from chaoslib.errors import ChaoslibError
from chaoslib.model import controls
from chaoslib.model.network import CONTROL_ROLES, Network, control_networks, load_albert, reference_and_comparisons

TINY = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_hidden_layers": 2}


def test_labels_and_records_round_trip():
    pretrained = Network("albert-wikitext2", "pretrained", init="tf", seed=3)
    assert (pretrained.init, pretrained.seed) == (None, None)  # pretrained weights have no init and no seed
    assert pretrained.label() == "albert-wikitext2 pretrained here"
    assert Network("albert-large-v2", "pretrained").label() == "albert-large-v2 pretrained"
    random = Network("albert-wikitext2", "random", init="tf", seed=3)
    assert random.label() == "albert-wikitext2 random tf #3"
    shuffled = Network("albert-wikitext2", "pretrained", derived=("shuffled", 1))
    hybrid = Network("albert-wikitext2", "pretrained", derived=("hybrid", random))
    assert shuffled.label() == "albert-wikitext2 pretrained here shuffled #1"
    assert hybrid.label() == "albert-wikitext2 pretrained here with the layer of albert-wikitext2 random tf #3"
    for network in (pretrained, random, shuffled, hybrid, Network("albert-base-v2", config=TINY)):
        assert Network.from_dict(network.as_dict()) == network
    # a record written before `family`, `config` and `derived` existed still reads
    old = {"name": "albert-wikitext2", "weights": "random", "init": "tf", "seed": 2, "source": "random"}
    assert Network.from_dict(old) == Network("albert-wikitext2", "random", init="tf", seed=2)


def test_bad_descriptions_are_refused_naming_the_field():
    with pytest.raises(ChaoslibError, match="weights='trained'"):
        Network("albert-wikitext2", "trained")
    with pytest.raises(ChaoslibError, match="init"):
        Network("albert-wikitext2", "random", init="xavier")
    with pytest.raises(ChaoslibError, match="seed"):
        Network("albert-wikitext2", "random", seed="3")
    with pytest.raises(ChaoslibError, match="derived"):
        Network("albert-wikitext2", derived=("rotated", 1))
    with pytest.raises(ChaoslibError, match="comparison_seeds"):
        reference_and_comparisons("albert-wikitext2", comparison_seeds="[1, 2]")


def test_reference_and_comparisons_in_order():
    networks = reference_and_comparisons("albert-wikitext2", "pretrained", comparison_init="tf-gain",
                                         comparison_seeds=[4, 2])
    assert [n.label() for n in networks] == [
        "albert-wikitext2 pretrained here", "albert-wikitext2 random tf-gain #4", "albert-wikitext2 random tf-gain #2"]
    assert reference_and_comparisons("albert-wikitext2", "random", "hf", 7)[0] == Network(
        "albert-wikitext2", "random", init="hf", seed=7)


def test_load_equals_load_albert_and_fills_the_source():
    network = Network("albert-base-v2", "random", init="tf", seed=5, config=TINY)
    model, loaded = network.load(dtype="float64")
    reference, _ = load_albert("albert-base-v2", weights="random", init="tf", seed=5, dtype="float64", **TINY)
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert loaded == network and loaded.source == "random"
    shipped, loaded = Network("albert-wikitext2", "pretrained").load()
    assert loaded.source.startswith("pretrained here")


def test_derived_networks_are_their_controls():
    base = Network("albert-base-v2", "random", init="tf", seed=1, config=TINY)
    donor = Network("albert-base-v2", "random", init="tf", seed=2, config=TINY)
    base_model, _ = base.load()
    donor_model, _ = donor.load()
    shuffled, _ = Network("albert-base-v2", "random", init="tf", seed=1, config=TINY, derived=("shuffled", 0)).load()
    for (name, a), (_, b) in zip(base_model.named_parameters(), shuffled.named_parameters(), strict=True):
        assert torch.equal(torch.sort(a.flatten()).values, torch.sort(b.flatten()).values), name
    hybrid, _ = Network("albert-base-v2", "random", init="tf", seed=1, config=TINY, derived=("hybrid", donor)).load()
    hybrid_params, base_params, donor_params = (dict(m.named_parameters()) for m in (hybrid, base_model, donor_model))
    for name, value in hybrid_params.items():
        source = base_params if name.startswith(("embeddings.", "encoder.embedding_hidden_mapping_in.")) else donor_params
        assert torch.equal(value, source[name]), name


def test_key_names_the_weights_of_a_shipped_network():
    pretrained = Network("albert-wikitext2", "pretrained")
    key = pretrained.key()
    assert key["weight_files"] and len(key["weight_files"]) == 20
    assert Network("albert-wikitext2", "random", seed=1).key() != Network("albert-wikitext2", "random", seed=2).key()


def test_from_key_gives_back_the_network():
    random = Network("albert-wikitext2", "random", init="tf", seed=3)
    for network in (Network("albert-wikitext2", "pretrained"), random,
                    Network("albert-wikitext2", "pretrained", derived=("hybrid", random)),
                    Network("albert-base-v2", config=TINY, derived=("shuffled", 2))):
        assert Network.from_key(network.key()) == network


def test_control_networks_are_defined_relative_to_the_reference_and_load_as_described():
    reference = Network("albert-base-v2", "random", init="mlm", seed=3, config=TINY)
    comparison = Network("albert-base-v2", "random", init="tf", seed=1, config=TINY)
    made = dict(control_networks(reference, comparison, seed=5))
    assert list(made) == list(CONTROL_ROLES)
    assert (made["untrained"].init, made["gain-matched"].init) == ("hf", "tf-gain")
    assert made["untrained"].config == TINY and made["gain-matched"].seed == 5
    ref_model, _ = reference.load()
    cmp_model, _ = comparison.load()
    # each description loads to the control built by hand from the two networks, bit for bit
    expected = {
        "shuffled": controls.shuffled(ref_model, 5),
        "reference embeddings, random layer": controls.hybrid(ref_model, cmp_model),
        "random embeddings, reference layer": controls.hybrid(cmp_model, ref_model),
    }
    for role, model in expected.items():
        loaded, described = made[role].load()
        assert described.source is not None
        for (name, a), (_, b) in zip(loaded.named_parameters(), model.named_parameters(), strict=True):
            assert torch.equal(a, b), (role, name)
    # and a hybrid is neither parent
    hybrid, _ = made["reference embeddings, random layer"].load()
    ref_layer = dict(ref_model.named_parameters())
    assert not all(torch.equal(p, ref_layer[n]) for n, p in hybrid.named_parameters())
    with pytest.raises(ChaoslibError, match="roles"):
        control_networks(reference, comparison, roles=("identity",))
    with pytest.raises(ChaoslibError, match="architecture"):
        control_networks(reference, Network("albert-base-v2", "random", config={**TINY, "hidden_size": 64}))
