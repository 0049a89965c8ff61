"""Pretraining: the SOP data, exact resumption after SIGKILL, and the objective against transformers."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AlbertForPreTraining

from chaoslib.data.masking import IGNORE_INDEX, NGramMasking
from chaoslib.errors import ChaoslibError
from chaoslib.pretraining.data import MIN_SEGMENT_TOKENS, SOPSampler, load_corpus, tokenise_documents
from chaoslib.pretraining.objective import pretraining_objective
from chaoslib.pretraining.train import PretrainConfig, build_model, pretrain

REPO = Path(__file__).resolve().parents[2]

# a network small enough to train for a dozen steps in seconds
TINY = dict(
    hidden_size=32,
    num_attention_heads=2,
    intermediate_size=64,
    num_hidden_layers=2,
    embedding_size=16,
    max_position_embeddings=32,
    n_tokens=32,
    batch_size=4,
    max_documents=40,
    eval_batches=2,
    eval_every=4,
    lr=1e-3,
    warmup_steps=2,
)


def test_sop_examples_are_consecutive_segments_of_one_document_swapped_half_the_time(tokenizer):
    documents = [[f"sentence {d} {i} is here with words." for i in range(12)] for d in range(3)]
    corpus = tokenise_documents(tokenizer, documents, "synthetic")
    sampler = SOPSampler(corpus, 40, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    generator = torch.Generator().manual_seed(0)
    flat = corpus.ids.tolist()
    labels = []
    for _ in range(200):
        a, b, label = sampler.example(generator)
        first, second = (b, a) if label else (a, b)  # the original order
        joined = first + second
        starts = [i for i in range(len(flat) - len(joined) + 1) if flat[i : i + len(joined)] == joined]
        assert starts, "the two segments are not consecutive text of the corpus"
        doc = int(torch.searchsorted(corpus.doc_starts, torch.tensor(starts[0]), right=True)) - 1
        assert starts[0] + len(joined) <= int(corpus.doc_starts[doc + 1]), "a pair crosses documents"
        assert len(a) >= MIN_SEGMENT_TOKENS and len(b) >= MIN_SEGMENT_TOKENS
        assert len(a) + len(b) + 3 <= 40
        labels.append(label)
    assert 0.4 < sum(labels) / len(labels) < 0.6


def test_objective_equals_transformers_pretraining_loss_at_the_masked_positions(tokenizer):
    """Our masked-positions-only loss equals AlbertForPreTraining's own loss (which projects every token)."""
    config = PretrainConfig(**{k: v for k, v in TINY.items()})
    model = build_model(config, len(tokenizer)).eval()
    corpus = load_corpus(tokenizer, max_documents=5)
    sampler = SOPSampler(corpus, 32, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    generator = torch.Generator().manual_seed(1)
    batch = sampler.batch(4, generator)
    masked = NGramMasking.from_tokenizer(tokenizer)(batch.encoded.input_ids, batch.encoded.attention_mask, generator)
    ours = pretraining_objective(model, batch.encoded, masked, batch.sop_labels)
    theirs = model(
        input_ids=masked.input_ids,
        attention_mask=batch.encoded.attention_mask,
        token_type_ids=batch.encoded.token_type_ids,
        labels=masked.labels,
        sentence_order_label=batch.sop_labels,
    )
    assert (masked.labels != IGNORE_INDEX).sum() > 0
    torch.testing.assert_close(ours.loss, theirs.loss, rtol=1e-5, atol=1e-6)


def _weights(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    return load_file(run_dir / "checkpoints" / f"step_{step:07d}" / "model.safetensors")


def _steps_logged(run_dir: Path) -> int:
    try:
        with (run_dir / "log.csv").open(newline="") as handle:
            return sum(1 for _ in handle) - 1
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_a_run_killed_between_saves_resumes_and_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, one_thread):
    steps = 12
    settings = {**TINY, "steps": steps, "save_every": 3, "checkpoint_steps": [0, steps]}
    whole = tmp_path / "corpora" / "whole"
    pretrain(PretrainConfig(**settings), whole, device="cpu", progress=False)

    killed = tmp_path / "corpora" / "killed"
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "train", "--run-dir", str(killed), "--threads", "1",
           "--device", "cpu", "--set", *(f"{k}={v}".replace("'", '"') for k, v in settings.items())]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while _steps_logged(killed) < 5 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # between the saves at steps 3 and 6, or later
    proc.wait()
    assert 5 <= _steps_logged(killed) < steps, "the run was not killed in the middle"

    pretrain(PretrainConfig(**settings), killed, device="cpu", progress=False)
    with (killed / "starts.csv").open(newline="") as handle:
        starts = [int(row[0]) for row in csv.reader(handle)]
    assert starts[0] == 0 and starts[-1] > 0, f"the second call did not resume: started at {starts}"
    resumed, reference = _weights(killed, steps), _weights(whole, steps)
    assert resumed.keys() == reference.keys()
    for name in reference:
        assert torch.equal(resumed[name], reference[name]), name
    assert not torch.equal(_weights(whole, 0)["albert.encoder.embedding_hidden_mapping_in.weight"],
                           reference["albert.encoder.embedding_hidden_mapping_in.weight"]), "nothing trained"
    with (killed / "log.csv").open(newline="") as handle:
        logged = [int(r["step"]) for r in csv.DictReader(handle)]
    assert logged == list(range(1, steps + 1)), "the log lost or repeated steps"


def test_a_run_refuses_to_resume_with_other_settings(tmp_path, one_thread):
    run = tmp_path / "runs" / "a"
    pretrain(PretrainConfig(**{**TINY, "steps": 1}), run, device="cpu", progress=False)
    with pytest.raises(Exception, match="other settings"):
        pretrain(PretrainConfig(**{**TINY, "steps": 2, "lr": 5e-3}), run, device="cpu", progress=False)


def test_bad_config_names_the_parameter():
    with pytest.raises(Exception, match="num_attention_heads"):
        PretrainConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(Exception, match="n_tokens"):
        PretrainConfig(n_tokens=256, max_position_embeddings=128)


@pytest.mark.parametrize(
    "override, field",
    [({"lr": -0.001}, "lr"), ({"lr": 0}, "lr"), ({"warmup_steps": -1}, "warmup_steps"),
     ({"adam_betas": [0.9, 1.2]}, "adam_betas"), ({"mask_budget": 1.5}, "mask_budget"),
     ({"batch_size": "64"}, "batch_size"), ({"tokenizer": "no-such-vocabulary"}, "tokenizer"),
     ({"init_from": "no/such/network"}, "init_from")],
)
def test_a_bad_config_is_refused_before_the_run_folder_gets_a_config(tmp_path, override, field):
    run = tmp_path / "runs" / "a"
    with pytest.raises(ChaoslibError, match=field):
        pretrain(PretrainConfig(**{**TINY, "steps": 1, **override}), run, device="cpu", progress=False)
    assert not (run / "config.json").exists(), "a refused start left a config behind"


def test_the_corrected_command_then_runs_in_the_same_folder(tmp_path, one_thread):
    run = tmp_path / "runs" / "a"
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "train", "--run-dir", str(run), "--threads", "1",
           "--device", "cpu", "--set", *(f"{k}={v}" for k, v in {**TINY, "steps": 1}.items() if k != "lr")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    refused = subprocess.run([*cmd, "lr=-0.001"], cwd=REPO, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "lr=-0.001 is outside (0, 1)" in refused.stderr
    assert "Traceback" not in refused.stderr and not (run / "config.json").exists()
    done = subprocess.run([*cmd, "lr=0.001"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((run / "config.json").read_text())["config"]["lr"] == 0.001


@pytest.mark.parametrize("item, message", [("warmup_step=5", "not a PretrainConfig field"),
                                           ("lr=abc", "lr=abc: the value is not a number"),
                                           ("lr", "write KEY=VALUE")])
def test_bad_set_values_are_named_without_a_traceback(tmp_path, item, message):
    cmd = [sys.executable, "-m", "chaoslib.pretraining", "train", "--run-dir", str(tmp_path / "r"), "--set", item]
    done = subprocess.run(cmd, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
    assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "r").exists()


def test_set_parses_each_field_by_its_type():
    assert PretrainConfig.field_value("lr", "0.001") == 0.001
    assert PretrainConfig.field_value("adam_betas", "[0.9, 0.98]") == [0.9, 0.98]
    assert PretrainConfig.field_value("tokenizer", "wikitext2-8k") == "wikitext2-8k"
    assert PretrainConfig.field_value("tokenizer", '"wikitext2-8k"') == "wikitext2-8k"


def test_a_run_with_the_series_vocabulary_resumed_midway_ends_bit_identical(tmp_path, one_thread):
    """The trained-depth series' numerics at a tiny size: its 8,000-piece vocabulary, stopped after 3 steps
    and resumed from state.pt, ends with exactly the weights of an uninterrupted run."""
    settings = {**TINY, "steps": 7, "save_every": 2, "checkpoint_steps": [0, 7], "tokenizer": "wikitext2-8k",
                "max_position_embeddings": 32}
    whole, split = tmp_path / "c" / "whole", tmp_path / "c" / "split"
    pretrain(PretrainConfig(**settings), whole, device="cpu", progress=False)
    pretrain(PretrainConfig(**settings), split, device="cpu", progress=False, stop_after=3)
    assert not (split / "checkpoints" / "step_0000007").exists()
    pretrain(PretrainConfig(**settings), split, device="cpu", progress=False)
    resumed, reference = _weights(split, 7), _weights(whole, 7)
    assert reference["albert.embeddings.word_embeddings.weight"].shape[0] == 8000
    for name in reference:
        assert torch.equal(resumed[name], reference[name]), name
    assert not torch.equal(_weights(whole, 0)["predictions.dense.weight"], reference["predictions.dense.weight"])
