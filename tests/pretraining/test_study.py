"""Chapter 08's computations on the pretraining run: its phases in words, the network the chapter records, the
protocol of its record, and step 0 rebuilt from the run's config and seed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from chaoslib.errors import ChaoslibError
from chaoslib.model.configs import CHECKPOINTS_DIR
from chaoslib.pretraining import study
from chaoslib.pretraining.diagnostics import DiagnosticSettings
from chaoslib.pretraining.train import pretraining_tokenizer
from chaoslib.store import load_dataset


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


# ------------------------------------------------------------- the protocol of a record, and step 0 rebuilt

def _settings_record(settings: dict) -> xr.Dataset:
    return xr.Dataset(coords={"checkpoint": [0, 16]}, attrs={"settings": settings})


def test_a_record_without_the_perturbation_setting_used_the_authors_protocol():
    old = {"n_inputs": 4, "tau": 10, "n_steps": 40}  # written before perturb_at was a setting
    assert study.record_settings(_settings_record(old)).perturb_at == study.AUTHORS_PROTOCOL == 0
    assert study.record_settings(_settings_record({**old, "perturb_at": 1})).perturb_at == 1
    assert study.protocol_label(0) == "authors' protocol (perturb x(0))"
    assert study.protocol_label(1) == "perturb x(1)" and study.protocol_label(2) == "perturb x(2)"


def test_the_shipped_record_is_read_with_the_authors_protocol():
    record = load_dataset(CHECKPOINTS_DIR / "albert-wikitext2" / study.RECORD_FILE)
    assert "perturb_at" not in record.attrs["settings"]
    assert study.record_settings(record).perturb_at == 0


def test_the_initial_config_is_the_first_phases_and_a_continued_start_is_refused():
    phase = {"first_step": 0, "config": {"hidden_size": 64, "num_attention_heads": 2, "seed": 7}}
    later = {"first_step": 100, "config": {"hidden_size": 64, "num_attention_heads": 2, "init_from": "x"}}
    two = {"name": "n", "training": {"config": later["config"], "phases": [phase, later]}}
    config = study.initial_config(two)
    assert (config.hidden_size, config.seed, config.init_from) == (64, 7, "")
    one = {"name": "n", "training": {"config": phase["config"]}}  # a single run: its own config
    assert study.initial_config(one).seed == 7
    with pytest.raises(ChaoslibError, match="not a seeded initialisation"):
        study.initial_config({"name": "n", "training": {"config": later["config"], "phases": [later]}})


def _step0_record(lengths, censored, exponents) -> xr.Dataset:
    exponents = np.asarray(exponents, float)
    return xr.Dataset(
        {"lambda0": (("checkpoint", "sample"), exponents[None, :, 0]),
         "exponents": (("checkpoint", "sample", "window"), exponents[None]),
         "chaos_length": (("checkpoint", "sample"), np.asarray([lengths], float)),
         "chaos_censored": (("checkpoint", "sample"), np.asarray([censored]))},
        coords={"checkpoint": [0]},
    )


def test_the_check_horizon_reaches_every_inputs_first_contracting_window():
    settings = DiagnosticSettings(n_steps=100, tau=10)
    exps = np.zeros((3, 10))
    # lengths 0, 20, 10: the longest ends where window 2 starts, so windows 0..2 (30 steps) hold them all
    assert study.check_horizon(_step0_record([0, 20, 10], [False] * 3, exps), settings) == 30
    # a censored input needs the whole horizon
    assert study.check_horizon(_step0_record([0, 100, 10], [False, True, False], exps), settings) == 100


def test_rebuild_check_compares_means_medians_and_each_exponent():
    settings = DiagnosticSettings(n_steps=40, tau=10)
    record = _step0_record([10, 10], [False, False], [[0.07, -0.01, 0.5, 0.5], [0.05, -0.02, 0.5, 0.5]])
    rebuilt = xr.Dataset({"lambda0": ("sample", [0.0705, 0.05]),
                          "exponents": (("sample", "window"), [[0.0705, -0.01], [0.05, -0.02]]),
                          "chaos_length": ("sample", [10.0, 10.0])})
    table = study.rebuild_check(record, rebuilt, settings).set_index("quantity")
    assert table.loc["lambda0_mean", "record"] == pytest.approx(0.06)
    assert table.loc["lambda0_mean", "difference"] == pytest.approx(0.00025)
    assert table.loc["chaos_length_median", "difference"] == 0
    assert table.loc["chaos_length_median", "tolerance"] == 10
    last = table.iloc[-1]
    assert table.index[-1] == "largest difference of one exponent, windows 0-1"  # only the windows rebuilt
    assert last["difference"] == pytest.approx(0.0005) and bool(table["within"].all())
    off = rebuilt.assign(exponents=(("sample", "window"), [[0.0705, -0.01], [0.05, 0.02]]))
    assert not study.rebuild_check(record, off, settings)["within"].iloc[-1]


def test_step_0_rebuilt_from_the_runs_config_and_seed_is_the_records_step_0():
    """The seeded initialisation rebuilt as train.build_model built it reproduces the record's step 0 under
    the authors' protocol (lambda_0 = +0.072 on every input, chaos length 20); it is the untrained control."""
    folder = CHECKPOINTS_DIR / "albert-wikitext2"
    record = load_dataset(folder / study.RECORD_FILE)
    card = json.loads((folder / "card.json").read_text())
    settings = study.record_settings(record)
    config = study.initial_config(card)
    tokenizer = pretraining_tokenizer(config)
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = study.rebuild_initialisation(config, len(tokenizer), Path(tmp) / "step_0000000")
        horizon = study.check_horizon(record, settings)
        assert horizon == 40  # every input's chaos length at step 0 is 20: two windows of 20
        ds = study.exponents_at(rebuilt, tokenizer, settings, settings.perturb_at, n_steps=horizon)
        assert study.same_as_untrained_control(config, "albert-wikitext2", rebuilt)
    table = study.rebuild_check(record, ds, settings)
    assert table["within"].all(), table
    assert float(ds.lambda0.mean()) == pytest.approx(0.0719, abs=5e-4) and (ds.lambda0 > 0).all()
    assert (ds.chaos_length == 20).all() and ds.attrs["protocol"] == "authors' protocol (perturb x(0))"


@pytest.mark.parametrize("name, text", [
    ("albert-wikitext2",
     "128 position embeddings, of which pretraining (examples of 64 tokens) trained positions 0..63 only"),
    ("albert-wt2-L02-s0", "64 positions, all trained (examples of 64 tokens)"),
])
def test_the_model_card_states_the_trained_positions_and_the_shipped_readme_is_the_card(name, text):
    from chaoslib.pretraining.checkpoint import model_card

    folder = CHECKPOINTS_DIR / name
    card = model_card(json.loads((folder / "card.json").read_text()))
    assert text in card and "N ≤" not in card
    untested = "nothing here tests the network on inputs longer than 64 tokens"
    assert (untested in card) == (name == "albert-wikitext2")
    assert (folder / "README.md").read_text() == card
