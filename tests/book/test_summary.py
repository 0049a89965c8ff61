"""The summary pages' module (chaoslib.book.summary): targets table, provenance, deviations."""

from __future__ import annotations

import json

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


def test_every_target_has_a_row_with_verdict_networks_and_reason(results):
    """Target files from before units, intervals, controls and reasons were recorded still render."""
    rows = {r["id"]: r for r in summary.target_rows(results)}
    assert list(rows) == [*summary.REPRODUCTION_TARGETS, "R11"]  # the targets' order, then other ids
    assert "R10" not in summary.REPRODUCTION_TARGETS and "R10" in summary.MACHINERY_CHECKS
    assert rows["R2"]["verdict"] == "**holds**" and rows["R5"]["verdict"] == "**does not hold**"
    # the networks come from the reporting chapter's provenance, random never called pretrained
    assert rows["R2"]["networks"] == provenance.describe_models([PRETRAINED, RANDOM])
    assert "pretrained" not in rows["R5"]["networks"] and "RANDOM" in rows["R5"]["networks"]
    # an older file's note is its reason, shown once
    assert rows["R3"]["verdict"] == "*not testable here*"
    assert rows["R3"]["reason"] == "needs albert-large-v2 on a GPU"
    assert rows["R3"]["note"] == ""
    assert rows["R1"]["verdict"] == "*not measured*" and "no chapter" in rows["R1"]["note"]
    assert (rows["R2"]["unit"], rows["R2"]["interval"], rows["R2"]["controls"]) == ("—", "—", "—")
    table = summary.targets_table(results)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.count("|") == 11 for line in lines)  # 10 columns: no stray pipes from the texts
    assert "95% CI 250-350" in table and "reason: needs albert-large-v2 on a GPU" in table
    assert summary.target_counts(results) == dict(
        n_targets=8, n_hold=2, n_fail=1, n_untestable=1, n_missing=4, n_checks=1, n_checks_hold=0
    )


def test_rows_show_unit_interval_controls_and_the_reason_of_a_new_record(results):
    from chaoslib.book.reports.verdicts import target_record

    record = target_record(
        "R2", "longer transient", "median ratio 17 [9.5, 31]", None, "the ratio is over pooled inputs",
        unit="networks", interval="median ratio 17 [9.5, 31]", controls=["untrained", "gain-matched"],
        reason="not testable here: with 11 networks the smallest attainable p is 0.0909")
    provenance.report_target(results, **{"target_id": record.pop("target_id"), **record}, chapter="exponents")
    provenance.report_target(results, "R5", "synchronise", "m", False, unit="inputs of one network",
                             interval="44% [19, 69]", controls=[], chapter="synchronisation")
    rows = {r["id"]: r for r in summary.target_rows(results)}
    r2 = rows["R2"]
    assert r2["verdict"] == "*not testable here*"
    assert (r2["unit"], r2["interval"]) == ("networks", "median ratio 17 [9.5, 31]")
    assert r2["controls"] == "untrained, gain-matched"
    # the verdict column says "not testable here": the reason column says why, and the note stays
    assert r2["reason"] == "with 11 networks the smallest attainable p is 0.0909"
    assert r2["note"] == "the ratio is over pooled inputs"
    assert rows["R5"]["controls"] == "none" and rows["R5"]["reason"] == ""  # listed, but no control
    line = next(x for x in summary.targets_table(results).splitlines() if x.startswith("| R2 |"))
    assert line == ("| R2 | longer transient | *not testable here* | networks | median ratio 17 [9.5, 31] | "
                    "untrained, gain-matched | median ratio 17 [9.5, 31] | "
                    f"{provenance.describe_models([PRETRAINED, RANDOM])} | exponents | "
                    "reason: with 11 networks the smallest attainable p is 0.0909; "
                    "the ratio is over pooled inputs |")


def test_checks_of_the_machinery_are_apart_from_the_papers_claims(results):
    provenance.report_target(results, "R10", "reduced map", "error 1.5e-07", True, chapter="synchronisation")
    provenance.report_target(results, "R12", "an identity", "exact", False, unit="the layer's algebra",
                             chapter="synchronisation")
    assert not {"R10", "R12"} & {r["id"] for r in summary.target_rows(results)}
    checks = summary.machinery_rows(results)
    assert [c["id"] for c in checks] == ["R10", "R12"]  # R10 by its id (no unit: an older file), R12 by unit
    assert checks[0]["verdict"] == "**holds**" and checks[1]["verdict"] == "**does not hold**"
    table = summary.machinery_table(results).splitlines()
    assert table[0] == "| id | check | verdict | measured in this build | chapter | reason / note |"
    assert table[2] == "| R10 | reduced map | **holds** | error 1.5e-07 | synchronisation |  |"
    counts = summary.target_counts(results)
    assert (counts["n_targets"], counts["n_checks"], counts["n_checks_hold"]) == (8, 2, 1)
    # the unit decides: an R10 reported as a claim about networks stays with the claims
    provenance.report_target(results, "R10", "reduced map", "x", True, unit="networks",
                             chapter="synchronisation")
    assert "R10" in {r["id"] for r in summary.target_rows(results)}
    assert summary.machinery_rows(results)[0]["verdict"] == "*not measured*"


def _numbers(folder, chapter: str, values: dict) -> None:
    (folder / chapter).mkdir(parents=True, exist_ok=True)
    (folder / chapter / "numbers.json").write_text(json.dumps(values))


def test_the_two_measures_of_the_transient_are_compared_by_their_intervals(tmp_path):
    _numbers(tmp_path, "exponents", {
        "exp_median_ref": 30.0, "exp_median_ref_low": 20.0, "exp_median_ref_high": 40.0,
        "exp_median_rand": 0.0, "exp_median_rand_low": 0.0, "exp_median_rand_high": 0.0,
        "exp_ref_label": "net A", "exp_T": 500})
    _numbers(tmp_path, "synchronisation", {"sync_ref_median": 49.5, "sync_ref_median_low": 48.0,
                                           "sync_ref_median_high": 51.0, "sync_rand_median": 830.5,
                                           "sync_rand_median_low": 817.0, "sync_rand_median_high": 921.0})
    assert summary.transient_agreement(tmp_path) == (
        "For net A the median chaos length (the Lyapunov exponents, chapter 02) is 30 steps (95% interval "
        "20 to 40) and the median synchronisation time (chapter 03) is 49.5 steps (95% interval 48 to 51); "
        "the two measures disagree: their 95% intervals do not overlap. For the random comparison networks "
        "the median chaos length (the Lyapunov exponents, chapter 02) is 0 steps (95% interval 0 to 0) and "
        "the median synchronisation time (chapter 03) is 830.5 steps (95% interval 817 to 921); the two "
        "measures disagree: their 95% intervals do not overlap. The two chapters draw their own inputs and "
        "horizons, so the comparison is of the two intervals, not input by input."
    )
    assert summary.intervals_agree((45, 25, 80), (49.5, 48, 51)) is True
    assert summary.intervals_agree((30, 20, 40), (49.5, 48, 51)) is False
    assert summary.intervals_agree((30, None, None), (49.5, 48, 51)) is None


def test_the_transient_comparison_reads_older_keys_and_says_what_is_missing(tmp_path):
    # chapter 02's older key names (cl_*), a censored median, no interval for t_sync, no random t_sync
    _numbers(tmp_path, "exponents", {
        "cl_median_ref": 500, "cl_median_ref_low": 400, "cl_median_ref_high": 500, "cl_T": 500,
        "cl_median_rand": 0.0, "cl_median_rand_low": 0.0, "cl_median_rand_high": float("inf")})
    _numbers(tmp_path, "synchronisation", {"sync_ref_median": 600, "sync_rand_median": "n/a"})
    text = summary.transient_agreement(tmp_path)
    assert text.startswith(
        "For the reference network the median chaos length (the Lyapunov exponents, chapter 02) is 500 steps "
        "(95% interval 400 to 500) (censored: at least the horizon) and the median synchronisation time "
        "(chapter 03) is 600 steps; the two measures have no intervals to compare.")
    assert ("For the random comparison networks the two measures of the transient cannot be compared in this "
            "build: no median synchronisation time was glued.") in text
    assert summary.transient_agreement(tmp_path / "empty") == (
        "For the reference network the two measures of the transient cannot be compared in this build: no "
        "median chaos length or synchronisation time was glued. For the random comparison networks the two "
        "measures of the transient cannot be compared in this build: no median chaos length or "
        "synchronisation time was glued."
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
    # pretrained on 64-token examples: positions 0..63 are the trained ones (its model card)
    assert sizes["offline_trained_tokens"] == 64
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


def test_results_page_shows_the_tables_and_glues_the_counts_sizes_and_the_transients(results, page):
    shown, glued = page
    summary.results_page("offline", results)
    assert shown == [summary.targets_table(results)]
    assert glued == {**summary.target_counts(results), **summary.network_sizes(),
                     "transient_agreement": summary.transient_agreement(results)}
    summary.machinery_page("offline", results)
    assert shown[1] == summary.machinery_table(results)


def test_reproducibility_page_shows_provenance_then_deviations(results, page):
    shown, glued = page
    summary.provenance_page("offline", results)
    assert shown == ["## Provenance per chapter\n\n" + summary.provenance_markdown(results)]
    assert glued == summary.count_deviations()
    summary.deviations_page()
    assert shown[1] == summary.deviations_markdown()
