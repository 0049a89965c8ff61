"""The summary pages' module (chaoslib.book.summary): targets table, provenance, deviations."""

from __future__ import annotations

import pytest

from chaoslib import provenance
from chaoslib.book import summary
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network

PRETRAINED = Network("albert-wikitext2", "pretrained", init=None, seed=None, source="pretrained here: albert-wikitext2 (...)")
RANDOM = Network("albert-wikitext2", "random", init="tf", seed=3, source="random")


@pytest.fixture
def results(tmp_path):
    """A results folder with two chapters' provenance and three targets, as chapters write them."""
    for chapter, models in (("exponents", [PRETRAINED, RANDOM]), ("synchronisation", [RANDOM])):
        record = provenance.collect("offline", "cpu", models, seed=0, parameters={"n_steps": 500, "tau": 10})
        provenance.save_chapter_provenance(chapter, record, tmp_path)
    provenance.report_target(
        tmp_path, "R2", "longer transient", "median 300 (95% CI 250-350) vs 40", True, chapter="exponents"
    )
    provenance.report_target(
        tmp_path, "R5", "tokens synchronise", "t_sync 120 (95% CI 100-130)", False, chapter="synchronisation"
    )
    provenance.report_target(
        tmp_path, "R3", "10^4 steps", "", None, note="needs albert-large-v2 on a GPU", chapter="exponents"
    )
    provenance.report_target(tmp_path, "R11", "an extra claim", "x", True, chapter="exponents")
    return tmp_path


def test_every_spec_target_has_a_row_with_verdict_networks_and_reason(results):
    rows = {r["id"]: r for r in summary.target_rows(results)}
    assert list(rows) == [*summary.REPRODUCTION_TARGETS, "R11"]  # the targets' order, then other ids
    assert rows["R2"]["verdict"] == "**holds**" and rows["R5"]["verdict"] == "**does not hold**"
    # the networks come from the reporting chapter's provenance, random never called pretrained
    assert rows["R2"]["networks"] == provenance.describe_models([PRETRAINED, RANDOM])
    assert "pretrained" not in rows["R5"]["networks"] and "RANDOM" in rows["R5"]["networks"]
    assert rows["R3"]["verdict"] == "*not checkable here*" and "GPU" in rows["R3"]["note"]
    assert rows["R1"]["verdict"] == "*not measured*" and "no chapter" in rows["R1"]["note"]
    table = summary.targets_table(results)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.count("|") == 8 for line in lines)  # 7 columns: no stray pipes from the texts
    assert "95% CI 250-350" in table
    assert summary.target_counts(results) == dict(
        n_targets=9, n_hold=2, n_fail=1, n_uncheckable=1, n_missing=5
    )


def test_provenance_markdown_lists_each_chapter_and_its_parameters(results):
    text = summary.provenance_markdown(results)
    assert "### exponents" in text and "### synchronisation" in text
    assert "| `n_steps` | `500` |" in text
    assert summary.provenance_markdown(results / "nothing").startswith("*No chapter")


VALID = """
- item: Letter curves
  authors: Arial CSV strokes (calc_reconstruction_error.py)
  ours: DejaVu Sans outlines
  why: the CSVs are not published
  parameter: start_char, end_char
- item: Ridge
  authors: lstsq
  ours: ridge 1e-4
  why: collinear features
  parameter: ridge
"""


def test_deviations_are_rendered_grouped_by_chapter(tmp_path):
    (tmp_path / "readout.yml").write_text(VALID)
    (tmp_path / "exponents.yml").write_text(VALID.split("- item: Ridge")[0])
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    (notebooks / "07_handwriting_readout.ipynb").write_text("{}")
    text = summary.deviations_markdown(tmp_path, notebooks)
    assert text.index("### Exponents") < text.index("### Readout (07_handwriting_readout)")
    for field in (
        "Letter curves",
        "Arial CSV strokes",
        "DejaVu Sans outlines",
        "not published",
        "start_char",
    ):
        assert text.count(field) == 2  # in both chapters
    assert text.count("**Ridge.**") == 1
    assert summary.count_deviations(tmp_path) == {"n_deviations": 3, "n_deviation_chapters": 2}
    (tmp_path / "exponents.yml").write_text(VALID.replace("collinear features", '"||x|| is large"'))
    assert "||x|| is large" in summary.deviations_markdown(tmp_path, notebooks)  # pipes kept outside tables


@pytest.mark.parametrize(
    "content, message",
    [
        (VALID.replace("  why: collinear features\n", ""), r"entry 2: missing or empty \['why'\]"),
        ("item: not a list\n", "non-empty list"),
        ("- item: x\n  why: |y| z\n", "not valid YAML"),
        (VALID.replace("parameter: ridge", "parameter: ''"), r"\['parameter'\]"),
    ],
)
def test_malformed_deviations_name_the_file_and_entry(tmp_path, content, message):
    (tmp_path / "readout.yml").write_text(content)
    with pytest.raises(ChaoslibError, match=message) as err:
        summary.load_deviations(tmp_path)
    assert "readout.yml" in str(err.value)


def test_the_books_deviation_files_are_well_formed():
    """Every chapter's book/deviations/<chapter>.yml loads with all five fields (the page renders them)."""
    entries = summary.load_deviations()
    assert "readout" in entries
    assert all(set(summary.DEVIATION_FIELDS) <= set(e) for chapter in entries.values() for e in chapter)


def test_network_sizes_read_the_shipped_and_the_paper_configs():
    import json

    from chaoslib.model.configs import shipped_checkpoint

    card = json.loads((shipped_checkpoint("albert-wikitext2") / "config.json").read_text())
    sizes = summary.network_sizes()
    assert (
        sizes["offline_hidden"] == card["hidden_size"]
        and sizes["offline_layers"] == card["num_hidden_layers"]
    )
    assert sizes["offline_positions"] == card["max_position_embeddings"]
    # albert-large-v2 as the hub's config.json has it
    assert (sizes["paper_hidden"], sizes["paper_heads"], sizes["paper_ffn"], sizes["paper_layers"]) == (
        1024,
        16,
        4096,
        24,
    )


# ------------------------------------------------------------------------------------ the pages


@pytest.fixture
def page(monkeypatch):
    """What a page call shows and glues, instead of the notebook's display and myst-nb's glue."""
    shown, glued = [], {}
    monkeypatch.setattr(summary, "_display_markdown", shown.append)
    monkeypatch.setattr(summary, "_glue", glued.__setitem__)
    return shown, glued


def test_pages_read_the_given_results_folder_else_the_profiles(monkeypatch, tmp_path):
    import sys
    import types

    from chaoslib.book.chapter import default_results_dir

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert summary.page_results_dir("results", "offline", tmp_path) == tmp_path
    assert summary.page_results_dir("results", "paper") == default_results_dir("paper")
    assert summary.page_results_dir("results") == default_results_dir("offline")
    # in Colab the default profile is the paper's, as for every chapter there
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert summary.page_results_dir("reproducibility", "offline") == default_results_dir("paper")
    assert summary.page_results_dir("reproducibility", "offline", tmp_path) == tmp_path


def test_results_page_shows_the_table_and_glues_the_counts_and_sizes(results, page):
    shown, glued = page
    summary.results_page("offline", results)
    assert shown == [summary.targets_table(results)]
    assert glued == {**summary.target_counts(results), **summary.network_sizes()}


def test_reproducibility_page_shows_provenance_then_deviations(results, page):
    shown, glued = page
    summary.provenance_page("offline", results)
    assert shown == ["## Provenance per chapter\n\n" + summary.provenance_markdown(results)]
    assert glued == summary.count_deviations()
    summary.deviations_page()
    assert shown[1] == summary.deviations_markdown()
