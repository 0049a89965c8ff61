"""Chapter 08's record: the diagnostics command equals the chapters' functions called directly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AlbertModel

from chaoslib.data.corpus import dynamics_inputs
from chaoslib.data.tokenization import load_tokenizer
from chaoslib.dynamics.effective_dimension import effective_dimension_trajectory
from chaoslib.dynamics.lyapunov import chaos_length, local_exponents
from chaoslib.dynamics.probes import TokenSpread
from chaoslib.dynamics.runner import run_trajectory
from chaoslib.dynamics.spectrum import kaplan_yorke_dimension, lyapunov_spectrum
from chaoslib.dynamics.sync import sync_offset
from chaoslib.model.albert_map import AlbertMap
from chaoslib.pretraining.checkpoint import evaluate_checkpoint
from chaoslib.pretraining.diagnostics import DiagnosticSettings
from chaoslib.pretraining.train import PretrainConfig, pretrain
from chaoslib.store import load_dataset

REPO = Path(__file__).resolve().parents[2]
TINY_RUN = dict(hidden_size=32, num_attention_heads=2, intermediate_size=64, num_hidden_layers=2, embedding_size=16,
                max_position_embeddings=32, n_tokens=32, batch_size=4, max_documents=40, eval_batches=1,
                eval_every=2, lr=1e-3, warmup_steps=1, steps=3, save_every=1, checkpoint_steps=[0, 3])
TINY_DIAGNOSTICS = dict(n_inputs=3, n_tokens=16, n_steps=20, tau=5, ed_inputs=4, ed_steps=5, spectrum_inputs=1,
                        spectrum_k=2, spectrum_steps=5, eval_batches=1, eval_tokens=32, stsb_train=16, stsb_dev=16,
                        stsb_depths=[1, 2], stsb_epochs=1, stsb_tokens=32)


def direct(folder: Path, s: DiagnosticSettings) -> dict:
    """The chapters' functions, called one by one on a checkpoint."""
    torch.manual_seed(s.seed)
    model = AlbertModel.from_pretrained(str(folder), attn_implementation="eager").eval()
    albert_map = AlbertMap(model)
    tokenizer = load_tokenizer()
    x0 = albert_map.embed(dynamics_inputs(tokenizer, s.n_inputs, s.n_tokens, seed=s.seed)[0])
    with torch.no_grad():
        exps = local_exponents(albert_map, x0, eps=s.eps, tau=s.tau, n_steps=s.n_steps, seed=s.seed)
        spread = run_trajectory(albert_map, x0, s.n_steps, probes=(TokenSpread(),), progress=False)["token_spread"]
        ed_x0 = albert_map.embed(dynamics_inputs(tokenizer, s.ed_inputs, s.n_tokens, seed=s.seed + 1)[0])
        ed = effective_dimension_trajectory(albert_map, ed_x0, s.ed_steps).effective_dimension
    spectrum = lyapunov_spectrum(albert_map, x0[: s.spectrum_inputs], k=s.spectrum_k, n_steps=s.spectrum_steps,
                                 seed=s.seed).exponents
    held_out = evaluate_checkpoint(folder, "test", n_batches=s.eval_batches, n_tokens=s.eval_tokens)["evaluation"]
    return {
        "lambda0": exps.exponents[:, 0].numpy(),
        "chaos_length": chaos_length(exps.exponents, s.tau, s.n_steps)[0].numpy(),
        "t_sync": sync_offset(spread).offset,
        "effective_dimension": ed,
        "spectrum": spectrum.numpy(),
        "kaplan_yorke": kaplan_yorke_dimension(spectrum).numpy(),
        "mlm_accuracy": held_out["mlm_accuracy"],
        "sop_accuracy": held_out["sop_accuracy"],
    }


@pytest.mark.slow
def test_the_diagnostics_command_equals_the_chapter_functions_on_two_tiny_checkpoints(tmp_path, one_thread):
    run = tmp_path / "runs" / "tiny"
    pretrain(PretrainConfig(**TINY_RUN), run, device="cpu", progress=False)
    out = tmp_path / "record.nc"
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "diagnostics", "--run-dir", str(run), "--out", str(out),
           "--threads", "1", "--set", *(f"{k}={json.dumps(v)}" for k, v in TINY_DIAGNOSTICS.items())]
    done = subprocess.run(cmd, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    record = load_dataset(out)
    assert list(record.checkpoint.values) == [0, 3]
    settings = DiagnosticSettings(**TINY_DIAGNOSTICS)
    for step in (0, 3):
        expected = direct(run / "checkpoints" / f"step_{step:07d}", settings)
        row = record.sel(checkpoint=step)
        for key, value in expected.items():
            np.testing.assert_allclose(row[key].values, value, rtol=1e-6, atol=1e-9, err_msg=f"{key} at step {step}")
    assert not np.allclose(record.effective_dimension.sel(checkpoint=0), record.effective_dimension.sel(checkpoint=3))
    assert record.attrs["command"].startswith("python -m chaoslib.pretraining diagnostics")


def test_the_paper_pretraining_config_runs_at_a_tiny_size(tmp_path, one_thread):
    """Every setting of the paper edition's run but the sizes and the (online) corpus, for two steps."""
    config = PretrainConfig.from_file(
        REPO / "chaoslib/pretraining/configs/albert-base-wikipedia.yml",
        **{k: v for k, v in TINY_RUN.items() if k not in ("lr", "warmup_steps", "save_every")},
        corpus="wikitext-2", eval_split="test",
    )
    assert (config.hidden_act, config.grad_clip, config.weight_decay) == ("gelu_new", 1.0, 0.01)
    run = pretrain(config, tmp_path / "runs" / "paper-tiny", device="cpu", progress=False)
    saved = run / "checkpoints" / "step_0000003"
    assert (saved / "model.safetensors").stat().st_size > 0
    # the checkpoint is the paper edition's architecture, not the defaults
    assert json.loads((saved / "config.json").read_text())["hidden_act"] == "gelu_new"


@pytest.mark.slow
def test_a_continued_run_starts_at_its_start_networks_step_and_ships_one_history(tmp_path, one_thread):
    """init_from: phase 2 starts from phase 1's shipped network at its step, resumes exactly, and its shipped
    card, logs and diagnostics record cover both phases (phase 1's record rows kept, the shared step recomputed)."""
    from safetensors.torch import load_file

    from chaoslib.pretraining.checkpoint import ship
    from chaoslib.pretraining.diagnostics import run_diagnostics

    settings = DiagnosticSettings(**TINY_DIAGNOSTICS)
    first = pretrain(PretrainConfig(**TINY_RUN), tmp_path / "runs" / "first", device="cpu", progress=False)
    first_record = run_diagnostics(first, tmp_path / "first.nc", settings)
    shipped = ship(first, "tiny", "phase 1 command", destination=tmp_path / "shipped-first")
    (tmp_path / "first.nc").rename(shipped / "diagnostics.nc")

    later = {**TINY_RUN, "init_from": str(shipped), "steps": 6, "checkpoint_steps": [0, 3, 6], "save_every": 1}
    whole = pretrain(PretrainConfig(**later), tmp_path / "runs" / "second", device="cpu", progress=False)
    interrupted = tmp_path / "runs" / "interrupted"
    pretrain(PretrainConfig(**later), interrupted, device="cpu", progress=False, stop_after=2)
    pretrain(PretrainConfig(**later), interrupted, device="cpu", progress=False)

    weights = lambda run, step: load_file(run / "checkpoints" / f"step_{step:07d}" / "model.safetensors")  # noqa: E731
    start, phase_one_end = weights(whole, 3), weights(first, 3)
    assert all(torch.equal(start[k], phase_one_end[k]) for k in phase_one_end), "phase 2 did not start from phase 1"
    end, resumed = weights(whole, 6), weights(interrupted, 6)
    assert all(torch.equal(end[k], resumed[k]) for k in end), "a resumed phase 2 ended elsewhere"
    assert not torch.equal(end["predictions.bias"], start["predictions.bias"]), "nothing trained"
    tokens_per_step = TINY_RUN["n_tokens"] * TINY_RUN["batch_size"]
    step_file = json.loads((whole / "checkpoints" / "step_0000006" / "pretraining_step.json").read_text())
    assert step_file == {"step": 6, "tokens_seen": 6 * tokens_per_step}

    record = run_diagnostics(whole, tmp_path / "second.nc", settings)
    assert list(record.checkpoint.values) == [0, 3, 6]
    for key in ("lambda0", "effective_dimension", "mlm_accuracy", "spectrum"):
        np.testing.assert_array_equal(record[key].sel(checkpoint=0), first_record[key].sel(checkpoint=0), key)
        np.testing.assert_allclose(record[key].sel(checkpoint=3), first_record[key].sel(checkpoint=3), rtol=1e-6,
                                   err_msg=f"{key}: the shared step recomputed differs")
    assert np.isfinite(record.train_mlm_loss.sel(checkpoint=6)) and np.isfinite(record.train_mlm_loss.sel(checkpoint=3))

    card = json.loads((ship(whole, "tiny", "both commands", destination=tmp_path / "shipped-second") / "card.json").read_text())
    phases = card["training"]["phases"]
    assert [(p["first_step"], p["steps"]) for p in phases] == [(0, 3), (3, 6)]
    assert card["training"]["tokens_seen"] == 6 * tokens_per_step
    assert card["training"]["train_seconds"] == pytest.approx(sum(p["train_seconds"] for p in phases))
    with (tmp_path / "shipped-second" / "training_log.csv").open() as handle:
        assert [int(line.split(",")[0]) for line in list(handle)[1:]] == [1, 2, 3, 4, 5, 6]
    assert "Trained in phases" in (tmp_path / "shipped-second" / "README.md").read_text()
    from chaoslib.pretraining.study import phase_starts, phases_text

    assert phase_starts(card) == [3] and phases_text(card).startswith("in 2 phases")
    assert "steps 0–3 " in phases_text(card) and "steps 3–6 " in phases_text(card)


def test_init_from_names_the_parameter_when_it_is_neither_a_folder_nor_a_shipped_name(tmp_path):
    with pytest.raises(Exception, match="init_from='no-such-network'"):
        pretrain(PretrainConfig(**{**TINY_RUN, "init_from": "no-such-network"}), tmp_path / "run", device="cpu",
                 progress=False)


def test_diagnostics_refuse_inputs_longer_than_the_networks_positions(tmp_path):
    from chaoslib.errors import ChaoslibError
    from chaoslib.pretraining.diagnostics import run_diagnostics

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {"max_position_embeddings": 32}}))
    settings = DiagnosticSettings(**{**TINY_DIAGNOSTICS, "eval_tokens": 64})
    with pytest.raises(ChaoslibError, match="'eval_tokens': 64.*32 positions"):
        run_diagnostics(run, tmp_path / "out.nc", settings)


def test_chapter_08_names_a_record_that_belongs_to_another_network(tmp_path, monkeypatch):
    import shutil

    from chaoslib.errors import ChaoslibError
    from chaoslib.model.configs import CHECKPOINTS_DIR
    from chaoslib.pretraining import study
    from chaoslib.store import save_dataset

    folder = tmp_path / "albert-wikitext2"
    shutil.copytree(CHECKPOINTS_DIR / "albert-wikitext2", folder)
    record = load_dataset(folder / "diagnostics.nc")
    save_dataset(record.isel(checkpoint=slice(0, -1)), folder / "diagnostics.nc")  # as if from a shorter run
    monkeypatch.setattr(study, "CHECKPOINTS_DIR", tmp_path)
    with pytest.raises(ChaoslibError, match="belongs to another network"):
        study.load_study("albert-wikitext2")
