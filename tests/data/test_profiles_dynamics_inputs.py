"""The dynamics chapters' profiles: the authors' inputs where the chapter reproduces their figure, sizes
the networks allow, and offline inputs that the sampler can deliver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chaoslib.data.corpus import dynamics_inputs, encode_authors
from chaoslib.model.configs import shipped_checkpoint

PROFILES = Path(__file__).resolve().parents[2] / "notebooks" / "profiles"
AUTHORS_PAIR = ["ALBERT stands for A Lite BERT.", "Hello world!"]  # notebook/sample_trajectory.ipynb


def profile(edition: str, chapter: str) -> dict:
    return yaml.safe_load((PROFILES / edition / f"{chapter}.yml").read_text())


def max_positions(model_name: str) -> int:
    shipped = shipped_checkpoint(model_name)
    if shipped is None:
        return 512  # albert-*-v2 on the hub
    return json.loads((shipped / "config.json").read_text())["max_position_embeddings"]


def test_trajectories_paper_profile_is_the_authors_figure_and_long_run():
    p = profile("paper", "01_trajectories")
    assert p["model_name"] == "albert-large-v2" and p["reference_weights"] == "pretrained"
    assert p["texts"] == [AUTHORS_PAIR]
    assert (p["n_tokens"], p["n_steps"]) == (128, 500)
    assert (p["long_run_tokens"], p["long_run_steps"]) == (16, 100_000)
    assert p["comparison_init"] == "tf" and len(p["comparison_seeds"]) >= 5


def test_trajectories_offline_profile_runs_the_authors_pair_on_the_network_pretrained_here():
    p = profile("offline", "01_trajectories")
    assert p["model_name"] == "albert-wikitext2" and p["reference_weights"] == "pretrained"
    assert p["texts"] == [AUTHORS_PAIR] and p["long_run_tokens"] == 16
    assert max(p["n_tokens"], p["long_run_tokens"]) <= max_positions(p["model_name"])
    assert p["comparison_init"] == "tf" and 5 <= len(p["comparison_seeds"]) <= 10


def test_authors_pair_leaves_about_a_hundred_active_pads(tokenizer):
    p = profile("paper", "01_trajectories")
    enc = encode_authors(tokenizer, p["texts"], p["n_tokens"])
    assert 100 <= int((enc.attention_mask == 0).sum()) <= 120


def test_synchronisation_profiles():
    paper, offline = profile("paper", "03_synchronisation"), profile("offline", "03_synchronisation")
    assert paper["model_name"] == "albert-large-v2" and paper["reference_weights"] == "pretrained"
    # the authors' chaos-length comparison: 100 paragraphs, N=128, eps=1e-2, tau=100
    assert (paper["input_kind"], paper["n_samples"], paper["n_tokens"]) == ("paragraph", 100, 128)
    assert (paper["eps"], paper["tau"]) == (1e-2, 100)
    assert offline["model_name"] == "albert-wikitext2" and offline["reference_weights"] == "pretrained"
    assert offline["n_tokens"] <= max_positions(offline["model_name"])
    for p in (paper, offline):
        assert p["comparison_init"] == "tf" and len(p["comparison_seeds"]) >= 5
        assert p["n_steps"] % p["tau"] == 0


DYNAMICS = ["01_trajectories", "02_exponents", "03_synchronisation", "04_effective_dimension"]


@pytest.mark.parametrize("chapter", DYNAMICS)
def test_offline_inputs_can_be_sampled(tokenizer, chapter):
    """Every offline dynamics profile asks the sampler for inputs it can deliver (one per article)."""
    p = profile("offline", chapter)
    n_tokens = p.get("n_tokens", p.get("long_run_tokens"))
    n_samples = p.get("n_samples", p.get("long_run_samples", 1))
    assert n_tokens <= max_positions(p.get("model_name", "albert-large-v2"))
    enc, texts = dynamics_inputs(
        tokenizer, n_samples, n_tokens, seed=p.get("seed", 0), kind=p.get("input_kind", "pair")
    )
    assert enc.input_ids.shape == (n_samples, n_tokens) and len(texts) == n_samples
