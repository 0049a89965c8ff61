"""Chapter 08's computations on the pretraining run: its phases in words, the network the chapter records."""

from __future__ import annotations

import xarray as xr

from chaoslib.pretraining import study


def test_phases_of_one_run_and_of_several():
    one = {"training": {"steps": 5000}}
    assert study.phase_starts(one) == [] and study.phases_text(one) == "in one run of 5,000 steps"
    two = {"training": {"steps": 6000, "phases": [
        {"first_step": 0, "steps": 4000, "config": {"lr": 1e-3}},
        {"first_step": 4000, "steps": 6000, "config": {"lr": 3e-4}},
    ]}}
    assert study.phase_starts(two) == [4000]
    assert study.phases_text(two) == (
        "in 2 phases, each later one continuing the previous network with a fresh AdamW: "
        "steps 0–4,000 (peak learning rate 0.001), then steps 4,000–6,000 (peak learning rate 0.0003)"
    )


def test_the_followed_network_is_the_shipped_pretrained_one():
    record = xr.Dataset(coords={"checkpoint": [0, 16, 32]})
    network = study.followed_network("albert-wikitext2", record)
    assert (network.weights, network.init, network.seed) == ("pretrained", None, None)
    assert network.label() == "albert-wikitext2 pretrained here"
    assert network.source == "pretrained here: albert-wikitext2, checkpoints at steps 0..32"
    assert network.as_dict()["source"] == network.source
