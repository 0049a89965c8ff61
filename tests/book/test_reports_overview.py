"""chaoslib.book.reports.overview: the landing page's abstract, from hand-built result records."""

from __future__ import annotations

import json

import pytest

from chaoslib.book.reports import overview
from chaoslib.model.network import Network
from chaoslib.provenance import report_target, save_chapter_provenance
from chaoslib.store import write_json

PRETRAINED = Network("albert-wikitext2", "pretrained", source="pretrained here: chaoslib/checkpoints/albert-wikitext2")
RANDOM = [Network("albert-wikitext2", "random", init="tf", seed=s) for s in range(3)]


@pytest.fixture
def results(tmp_path):
    """A results folder as the chapters leave it: provenance of chapter 02 and 03, three targets, one check."""
    for chapter in ("exponents", "synchronisation"):
        save_chapter_provenance(chapter, {"models": [n.as_dict() for n in [PRETRAINED, *RANDOM]]}, tmp_path)
    report_target(tmp_path, "R1", "transient chaos", "lambda_0 0.056", True, chapter="exponents",
                  unit="inputs of one network", interval="lambda_0 = 0.056 [0.043, 0.069]")
    report_target(tmp_path, "R2", "longer transient", "ratio inf", False, chapter="exponents", unit="networks",
                  interval="median 40 [25, 80] vs 0")
    report_target(tmp_path, "R8", "MLM by depth", "p_min 0.25", None, chapter="mlm_by_depth", unit="networks",
                  reason="the smallest attainable p is 0.25")
    report_target(tmp_path, "R10", "reduced map", "1e-6", True, chapter="synchronisation",
                  unit="the layer's algebra")
    write_json(tmp_path / "synchronisation" / "numbers.json",
               {"sync_ref_median": 46.0, "sync_rand_median": 830.0, "sync_ratio": 46 / 830,
                "sync_ratio_low": 0.04, "sync_ratio_high": 0.08, "sync_n_random": 3})
    return tmp_path


@pytest.fixture
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebooks")
    for stem in ("intro", "02_exponents", "03_synchronisation", "06_mlm_by_depth", "results"):
        (folder / f"{stem}.ipynb").write_text("{}")
    return folder


def test_targets_phrase_counts_the_claims_that_hold():
    assert overview.targets_phrase({"n_hold": 1, "n_targets": 7}) == "1 of 7 targets holds"
    assert overview.targets_phrase({"n_hold": 3, "n_targets": 7}) == "3 of 7 targets hold"


def test_abstract_is_built_from_the_records(results, notebooks):
    pieces = overview.abstract(results, notebooks)
    assert "**albert-wikitext2**, an ALBERT pretrained here on WikiText-2" in pieces["overview_network"]
    config = json.loads((overview.CHECKPOINTS_DIR / "albert-wikitext2" / "config.json").read_text())
    assert f"$L = {config['num_hidden_layers']}$" in pieces["overview_network"]
    # the book's targets (R1, R2, R3, R5, R6, R7, R8): here R1 holds, the others are missing or do not hold
    n_targets = len(overview.summary.REPRODUCTION_TARGETS)
    assert pieces["overview_targets"] == f"1 of {n_targets} targets holds"
    verdicts = pieces["overview_verdicts"].splitlines()
    r1 = next(line for line in verdicts if line.startswith("- **R1**"))
    assert "holds" in r1 and "[0.043, 0.069]" in r1 and "{doc}`02_exponents`" in r1
    r8 = next(line for line in verdicts if line.startswith("- **R8**"))
    assert "not testable here" in r8 and "smallest attainable p is 0.25" in r8 and "{doc}`06_mlm_by_depth`" in r8
    assert not any(line.startswith("- **R10**") for line in verdicts)  # a check of the machinery, not a claim
    assert pieces["overview_checks"].startswith("1 of 1 checks of the machinery holds (R10;")


def test_headline_turns_the_ratio_into_times_sooner_with_its_interval(results, notebooks):
    headline = overview.abstract(results, notebooks)["overview_headline"]
    assert f"about {830 / 46:.3g} times sooner than those of 3 random networks" in headline
    assert f"{1 / 0.08:.3g} to {1 / 0.04:.3g}" in headline and "no difference" not in headline
    # an interval that includes equality is said
    hedged = overview.headline_markdown({"sync_ref_median": 50.0, "sync_rand_median": 60.0, "sync_ratio": 50 / 60,
                                         "sync_ratio_low": 0.5, "sync_ratio_high": 1.3, "sync_n_random": 3}, "x")
    assert "no difference is shown" in hedged
    later = overview.headline_markdown({"sync_ref_median": 900.0, "sync_rand_median": 300.0, "sync_ratio": 3.0,
                                        "sync_ratio_low": 2.0, "sync_ratio_high": 4.0, "sync_n_random": 2}, "x")
    assert "about 3 times later" in later and "2 to 4" in later


def test_a_hub_network_is_not_called_pretrained_here(tmp_path):
    text = overview.network_markdown(Network("albert-large-v2", "pretrained"), checkpoints=tmp_path)
    assert "Hugging Face hub" in text and "pretrained here" not in text
    assert "random weights" in overview.network_markdown(RANDOM[0], checkpoints=tmp_path)


def test_missing_records_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the chapter"):
        overview.reference_network(tmp_path)
    with pytest.raises(FileNotFoundError, match="did not save its figure"):
        overview.key_figure_path(tmp_path)
