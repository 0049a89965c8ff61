"""Pretrained weights come through one loading path: the hub cache layout, a folder, or a shipped checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from chaoslib.model.configs import CHECKPOINTS_DIR, SHIPPED_NAMES
from chaoslib.model.network import load_albert
from chaoslib.store import sha256_file as sha256

from conftest import tiny_model

REPO = Path(__file__).resolve().parents[2]

LOAD_FROM_CACHE = """
import json, sys, torch
from chaoslib.model.network import load_albert
model, info = load_albert("albert-base-v2", weights="pretrained")
print(json.dumps({"source": info.source, "weights": info.weights, "label": info.label(),
                  "first": model.embeddings.word_embeddings.weight[:2, :3].tolist()}))
"""


def test_pretrained_weights_load_offline_from_a_cache_folder_in_the_hub_layout(tmp_path):
    """models--albert--albert-base-v2/snapshots/<revision>/ with refs/main, HF_HUB_OFFLINE=1."""
    model, _ = tiny_model(seed=7)
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--albert--albert-base-v2"
    model.save_pretrained(repo / "snapshots" / revision, safe_serialization=True)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", LOAD_FROM_CACHE], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert loaded["source"] == "cache:albert/albert-base-v2"
    assert loaded["weights"] == "pretrained" and loaded["label"] == "albert-base-v2 pretrained"
    expected = model.embeddings.word_embeddings.weight[:2, :3]
    torch.testing.assert_close(torch.tensor(loaded["first"]), expected, rtol=0, atol=0)


def test_without_the_cache_offline_pretrained_weights_fail_at_once_and_say_how(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "empty"), "HF_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", LOAD_FROM_CACHE], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "PretrainedWeightsUnavailable" in run.stderr and "weights='random'" in run.stderr


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_a_shipped_checkpoint_matches_its_model_card_and_loads_by_name_as_pretrained_here(name):
    folder = CHECKPOINTS_DIR / name
    card = json.loads((folder / "card.json").read_text())
    assert sha256(folder / card["weights_file"]) == card["sha256"], "the weights differ from the model card"
    assert (folder / card["weights_file"]).stat().st_size <= 25 * 2**20
    model, info = load_albert(name, weights="pretrained")
    assert info.weights == "pretrained" and info.pretrained_here
    assert info.label() == f"{name} pretrained here" and name in info.source
    stored = load_file(folder / card["weights_file"])  # float32, or float16 for the trained-depth series
    for key, value in model.state_dict().items():
        assert value.dtype == torch.float32, key
        torch.testing.assert_close(value, stored[f"albert.{key}"].float(), rtol=0, atol=0, msg=key)
    random_model, random_info = load_albert(name, weights="random", init="tf", seed=0)
    assert random_info.label() == f"{name} random tf #0" and not random_info.pretrained_here
    assert random_model.config.hidden_size == model.config.hidden_size
    assert not torch.equal(random_model.embeddings.word_embeddings.weight, model.embeddings.word_embeddings.weight)


# the command is rerun for albert-wikitext2 and one network of the trained-depth series (each run tokenises
# WikiText-2 anew); every card's figures are checked against the bars below
EVALUATED = ["albert-wikitext2", *[n for n in SHIPPED_NAMES if n.startswith("albert-wt2-")][:1]]


# Shipped networks known to miss the accuracy bar, with their ratio: they ship all the same, since the series
# keeps every network it trained (dropping one for training worse would choose the networks by their outcome),
# and chapter 9 names them. A card listed here that clears the bar fails the test too.
BELOW_ACCURACY_BAR = {"albert-wt2-L16-s1": 1.44, "albert-wt2-L16-s2": 1.426}


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_every_shipped_card_clears_the_bars(name):
    """All-[MASK] accuracy >= 1.5x the most-frequent-token baseline (except the known misses above, at their
    recorded ratio) and loss below the unigram entropy of train (albert-wikitext2 also >= 0.75 nat below it), at
    the trained length."""
    from chaoslib.pretraining.checkpoint import MIN_ACCURACY_RATIO, MIN_LOSS_MARGIN

    card = json.loads((CHECKPOINTS_DIR / name / "card.json").read_text())
    ev, base = card["test"]["evaluation"], card["test"]["baselines"]
    assert card["test"]["settings"]["n_tokens"] == card["training"]["config"]["n_tokens"]
    ratio = ev["mlm_accuracy"] / base["most_frequent_accuracy"]
    if name in BELOW_ACCURACY_BAR:
        assert ratio < MIN_ACCURACY_RATIO and ratio == pytest.approx(BELOW_ACCURACY_BAR[name], abs=0.005)
    else:
        assert ratio >= MIN_ACCURACY_RATIO
    margin = MIN_LOSS_MARGIN if name == "albert-wikitext2" else 0.0
    assert base["unigram_entropy"] - ev["mlm_loss"] > margin


@pytest.mark.slow
@pytest.mark.parametrize("name", EVALUATED)
def test_the_evaluation_command_reproduces_the_model_cards_figures(name):
    """`python -m chaoslib.pretraining evaluate` on the WikiText-2 test split gives the card's numbers (which
    test_every_shipped_card_clears_the_bars holds to the project's bars)."""
    folder = CHECKPOINTS_DIR / name
    card = json.loads((folder / "card.json").read_text())["test"]
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "evaluate", "--checkpoint", str(folder)]
    done = subprocess.run(cmd, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    now = json.loads(done.stdout[done.stdout.index("{"):])
    assert now["settings"] == card["settings"]
    assert now["evaluation"]["n_masked"] == card["evaluation"]["n_masked"]
    for key in ("mlm_loss", "mlm_accuracy", "sop_accuracy"):  # other BLAS builds move the last digits only
        assert now["evaluation"][key] == pytest.approx(card["evaluation"][key], abs=1e-3), key
    for key, value in card["baselines"].items():
        assert now["baselines"][key] == pytest.approx(value, rel=1e-9), key


@pytest.fixture()
def damaged_copy(tmp_path, monkeypatch):
    """albert-wikitext2 copied into a checkpoints folder of its own, with one byte of its weights changed."""
    import shutil

    import chaoslib.model.configs as configs

    folder = tmp_path / "checkpoints" / "albert-wikitext2"
    shutil.copytree(CHECKPOINTS_DIR / "albert-wikitext2", folder)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte inside a weight tensor
    weights.write_bytes(bytes(data))
    monkeypatch.setattr(configs, "CHECKPOINTS_DIR", folder.parent)
    return folder


def test_a_shipped_checkpoint_with_one_byte_changed_is_refused_by_load_albert(damaged_copy):
    from chaoslib.model.configs import CheckpointCorrupt

    with pytest.raises(CheckpointCorrupt, match=r"model\.safetensors has SHA-256 .* not the .* its card records"):
        load_albert("albert-wikitext2", weights="pretrained")
    load_albert("albert-wikitext2", weights="random", init="tf", seed=0)  # the architecture alone is still usable


def test_a_checkpoint_with_one_byte_changed_is_refused_by_evaluate(damaged_copy):
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "evaluate", "--checkpoint", str(damaged_copy)]
    done = subprocess.run(cmd, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    assert done.returncode != 0 and "its card records" in done.stderr and "git checkout" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_truncated_weights_file_is_named(tmp_path):
    model, _ = tiny_model()
    model.save_pretrained(tmp_path / "net")
    weights = tmp_path / "net" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:20])
    with pytest.raises(Exception, match=str(tmp_path / "net")):
        load_albert("albert-base-v2", weights="pretrained", weights_dir=tmp_path / "net")


def test_ship_refuses_to_replace_an_existing_network_without_force(tmp_path):
    from chaoslib.errors import ChaoslibError
    from chaoslib.pretraining.checkpoint import ship

    existing = tmp_path / "checkpoints" / "albert-wikitext2"
    existing.mkdir(parents=True)
    (existing / "diagnostics.nc").write_bytes(b"the record of another network")
    with pytest.raises(ChaoslibError, match="already holds a network.*--force"):
        ship(tmp_path / "runs" / "any", "albert-wikitext2", "cmd", destination=existing)
    assert (existing / "diagnostics.nc").read_bytes() == b"the record of another network"


def test_loading_a_network_prints_no_progress_bar_or_load_report():
    """A book page shows no "Loading weights" widget and no report of unused keys (fixed at the source)."""
    code = ("from chaoslib.model.network import load_albert\n"
            "load_albert('albert-wikitext2', weights='pretrained', head='mlm')\n"
            "from chaoslib.pretraining.checkpoint import load_pretraining_network\n"
            "from chaoslib.model.configs import CHECKPOINTS_DIR\n"
            "load_pretraining_network(CHECKPOINTS_DIR / 'albert-wikitext2')\n"
            "from transformers.utils import logging\n"
            "assert logging.is_progress_bar_enabled()  # restored after each load\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading weights" not in done.stderr + done.stdout and "LOAD REPORT" not in done.stderr + done.stdout
