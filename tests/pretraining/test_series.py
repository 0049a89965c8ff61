"""The trained-depth series: one command trains, diagnoses and ships a network (here at a tiny size), the
shipped folder loads by name with its own tokenizer, and the MLM-by-depth pass agrees with transformers."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from transformers import AlbertForPreTraining, AutoTokenizer

import chaoslib.model.configs as configs
from chaoslib.data.vocabulary import SERIES_VOCABULARY, vocabulary_folder
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.pretraining import series
from chaoslib.pretraining.data import SOPSampler, load_corpus
from chaoslib.pretraining.evaluation import eval_batches, eval_masking, evaluate, mlm_accuracy_by_depth
from chaoslib.pretraining.train import PretrainConfig

TINY = dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, embedding_size=16, max_position_embeddings=32,
            n_tokens=32, batch_size=4, max_documents=40, eval_batches=2, eval_every=4, steps=6, save_every=3,
            checkpoint_steps=[0, 6], warmup_steps=2)


def test_mlm_accuracy_at_depth_l_equals_transformers_forward_pass(one_thread):
    """The one-pass depth sweep at depth L is the network's own forward pass (evaluate uses model.albert)."""
    tokenizer = load_tokenizer(vocabulary_folder(SERIES_VOCABULARY))
    config = PretrainConfig(**{**TINY, "num_hidden_layers": 3, "tokenizer": SERIES_VOCABULARY})
    torch.manual_seed(0)
    model = AlbertForPreTraining(config.albert_config(len(tokenizer))).eval()
    corpus = load_corpus(tokenizer, "wikitext-2", "test", max_documents=10)
    sampler = SOPSampler(corpus, 32, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    batches = eval_batches(sampler, eval_masking(tokenizer), 2, 8, seed=0)
    accuracy, loss = mlm_accuracy_by_depth(model, batches, 6)
    reference = evaluate(model, batches)
    assert accuracy.shape == (6,)
    assert accuracy[2].item() == pytest.approx(reference.mlm_accuracy, abs=1e-12)
    assert loss[2].item() == pytest.approx(reference.mlm_loss, rel=1e-5)
    assert loss[0].item() != loss[5].item()  # each depth is its own state


def test_series_configs_differ_only_in_depth_seed_and_the_pilots_rate():
    a, b = series.series_config(2, 0), series.series_config(16, 1)
    differing = {k for k in a.__dict__ if getattr(a, k) != getattr(b, k)}
    assert differing <= {"num_hidden_layers", "seed", "lr", "warmup_steps"}
    assert (a.num_hidden_layers, b.num_hidden_layers, b.seed) == (2, 16, 1)
    assert a.tokenizer == SERIES_VOCABULARY and a.n_tokens == a.max_position_embeddings == 64
    assert a.tokens_per_step() * a.steps >= 32_000_000
    assert series.series_name(4, 0) == "albert-wt2-L04-s0"


@pytest.mark.slow
def _tiny_series(tmp_path, monkeypatch, **config):
    """The series at a tiny size, shipping into ``tmp_path/checkpoints``: (that folder, diagnostic settings)."""
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    monkeypatch.setattr(configs, "CHECKPOINTS_DIR", checkpoints)
    monkeypatch.setattr(series, "CHECKPOINTS_DIR", checkpoints)
    monkeypatch.setattr("chaoslib.pretraining.checkpoint.CHECKPOINTS_DIR", checkpoints)
    full_config, full_settings = series.series_config, series.series_diagnostic_settings
    monkeypatch.setattr(series, "series_config",
                        lambda depth, seed: replace(full_config(depth, seed), **{**TINY, **config}))
    settings = replace(full_settings(), n_inputs=3, n_steps=40, ed_inputs=4, ed_steps=5,
                       spectrum_inputs=1, spectrum_k=2, spectrum_steps=10, eval_batches=1, eval_tokens=32)
    monkeypatch.setattr(series, "series_diagnostic_settings", lambda: settings)
    return checkpoints, settings


def test_one_command_trains_diagnoses_and_ships_a_series_network(tmp_path, monkeypatch, one_thread):
    checkpoints, settings = _tiny_series(tmp_path, monkeypatch)
    out = series.train_diagnose_ship(2, 0, tmp_path / "runs", device="cpu")
    assert out == checkpoints / "albert-wt2-L02-s0"
    card = json.loads((out / "card.json").read_text())
    assert card["weights_dtype"] == "float16" and card["vocab_size"] == 8000
    assert card["training"]["config"]["num_hidden_layers"] == 2 and card["training"]["config"]["seed"] == 0
    assert card["training"]["tokens_seen"] == 6 * 4 * 32
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert len(tokenizer) == 8000 and (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id) == (2, 3, 4)
    monkeypatch.setattr(configs, "SHIPPED_NAMES", ("albert-wt2-L02-s0",))
    from chaoslib.model.network import load_albert

    model, info = load_albert("albert-wt2-L02-s0", weights="pretrained")
    assert info.label() == "albert-wt2-L02-s0 pretrained here" and model.dtype == torch.float32
    from chaoslib.store import load_dataset

    record = load_dataset(out / "diagnostics.nc")
    assert list(record.checkpoint.values) == [0, 6] and record.attrs["settings"]["perturb_at"] == 1
    assert record.mlm_accuracy_by_depth.sizes["mlm_depth"] == 8  # 1..4L
    # the record's final row is the shipped (float16) network: its held-out accuracy recomputes exactly
    from chaoslib.pretraining.diagnostics import checkpoint_diagnostics

    live = checkpoint_diagnostics(out, settings)
    assert live["mlm_accuracy"] == record.mlm_accuracy.sel(checkpoint=6).item()
    assert (live["lambda0"] == record.lambda0.sel(checkpoint=6).values).all()


def test_a_carried_run_ships_the_record_of_an_uninterrupted_one(tmp_path, monkeypatch, one_thread):
    """Stopped at step 4, carried (checkpoints diagnosed, their weights dropped), resumed and shipped: the
    record equals that of a run that never stopped, and only the resume point and small files were kept."""
    from chaoslib.errors import ChaoslibError
    from chaoslib.pretraining.diagnostics import run_diagnostics
    from chaoslib.store import load_dataset

    checkpoints, settings = _tiny_series(tmp_path, monkeypatch, checkpoint_steps=[0, 2, 6])
    runs = tmp_path / "carried"
    assert series.train_diagnose_ship(2, 0, runs, device="cpu", stop_after=4) is None
    run_dir = series.carry(2, 0, runs)
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_0000000", "step_0000002"]
    assert not list(run_dir.glob("checkpoints/*/model.safetensors")) and (run_dir / "state.pt").exists()
    assert len(list((run_dir / "diagnostics_trials").glob("*.json"))) == 2
    carried = load_dataset(series.train_diagnose_ship(2, 0, runs, device="cpu") / "diagnostics.nc")
    with pytest.raises(ChaoslibError, match="has reached its last step"):
        series.carry(2, 0, runs)
    straight = load_dataset(series.train_diagnose_ship(2, 0, tmp_path / "straight", device="cpu", force=True)
                            / "diagnostics.nc")
    assert list(carried.checkpoint.values) == [0, 2, 6]
    for name, variable in straight.data_vars.items():
        np.testing.assert_array_equal(carried[name].values, variable.values, err_msg=name)
    # a dropped checkpoint whose stored diagnosis does not match the settings asked for is refused by name
    other = replace(settings, n_steps=20)
    with pytest.raises(ChaoslibError, match=r"steps \[0, 2\] .* hold no weights"):
        run_diagnostics(run_dir, tmp_path / "other.nc", other, steps=[0, 2])
