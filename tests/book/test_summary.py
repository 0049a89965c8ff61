"""The summary pages' module (chaoslib.book.summary): targets table, provenance, deviations."""

from __future__ import annotations

import json

import pytest

from chaoslib import provenance
from chaoslib.book import summary
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.settings import REPO_ROOT

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


@pytest.fixture
def notebooks(tmp_path):
    """A notebooks folder with the chapters' pages (a parameters cell each), as the book has them."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    parameters = "profile = 'offline'\nn_steps = 300  # the notebook's default\ntau = 10\nseed = 0\n"
    pages = ("01_trajectories", "02_exponents", "03_synchronisation", "05_glue_by_depth", "06_mlm_by_depth")
    for page in pages:
        _page(folder, page, parameters)
    return folder


def _page(folder, page: str, parameters: str) -> None:
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters", "hide-cell"]}, "source": parameters,
            "outputs": [], "execution_count": None}
    (folder / f"{page}.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}}))


def _html(markdown: str) -> str:
    """The Markdown as a CommonMark parser with tables renders it (what a reader sees, tags aside)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(markdown)


def _table_rows(markdown: str) -> list[list[str]]:
    """The cells of the body rows of the tables in ``markdown``: Markdown tables (escaped pipes kept inside
    their cell) and list-tables (one header row)."""
    rows, listed = [], []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = line.strip()[1:-1].replace(r"\|", "\0").split("|")
            rows.append([c.strip().replace("\0", r"\|") for c in cells])
        elif line.startswith("* - "):
            listed.append([line[4:]])
        elif line.startswith("  - ") and listed:
            listed[-1].append(line[4:])
    return rows[1:] + listed[1:]


def _table_header(markdown: str) -> list[str]:
    """The header row of the first list-table in ``markdown``."""
    lines = markdown[markdown.index("```{list-table}"):].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("* - "))
    return [lines[first][4:]] + [line[4:] for line in lines[first + 1:] if line.startswith("  - ")][:5]


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
    assert summary.target_counts(results) == dict(
        n_targets=8, n_hold=2, n_fail=1, n_untestable=1, n_missing=4, n_checks=1, n_checks_hold=0
    )


def test_the_table_has_a_compact_row_per_target_with_a_coloured_verdict_and_a_link(results, notebooks):
    table = summary.targets_table(results, notebooks)
    assert _table_header(table) == ["id", "claim", "verdict", "headline, 95% interval", "test unit",
                                    "chapter"]
    assert ":widths: 5 27 18 24 12 14" in table and ":width: 100%" in table
    cells = {row[0]: row for row in _table_rows(table)}
    # every target the book defines, in order, then the other reported ids; six cells each
    assert list(cells) == [*summary.REPRODUCTION_TARGETS, "R11"]
    assert {len(row) for row in cells.values()} == {6}
    # the verdict's words and colour follow the record: holds green, does not hold red, not testable grey
    expected = {"R2": ("success", "holds"), "R5": ("danger", "does not hold"),
                "R3": ("muted", "not testable here"), "R1": ("warning", "not measured"),
                "R11": ("success", "holds")}
    for target_id, (style, word) in expected.items():
        assert cells[target_id][2] == f"**{{bdg-{style}}}`{word}`**", target_id
        row = next(r for r in summary.target_rows(results) if r["id"] == target_id)
        assert (row["style"], row["word"]) == (style, word)
    # the link to the reporting chapter, under its short name; a chapter without a page is named only
    assert cells["R2"][5] == "{doc}`Lyapunov exponents <02_exponents>`"
    assert cells["R5"][5] == "{doc}`Synchronisation <03_synchronisation>`"
    assert cells["R1"][5] == "—"
    assert summary.chapter_link("effective_dimension", notebooks) == "Effective dimension"
    # the short claim of the list, not the record's long one; the long texts are not columns
    assert cells["R2"][1] == summary.REPRODUCTION_TARGETS["R2"].replace("_", r"\_")
    assert "95% CI 250-350" not in table and "needs albert-large-v2" not in table
    # the PDF's columns: ragged right, their widths adding up to the line
    spec = table.splitlines()[0]
    assert spec.startswith("```{tabularcolumns}") and spec.count(r"\raggedright") == 6
    assert sum(summary.TARGET_LATEX_COLUMNS) == pytest.approx(1.0)


def test_the_gaps_in_the_numbering_have_a_line_each_and_the_details_follow_the_table(results, notebooks):
    text = summary.targets_markdown(results, notebooks)
    gaps = [line for line in text.splitlines() if line.startswith("- **R4**") or line.startswith("- **R9**")]
    assert len(gaps) == 2 and "has no R4" in gaps[0] and "no R9" in gaps[1] and "R10" in gaps[1]
    assert set(summary.NUMBERING_GAPS) == {"R4", "R9"}
    assert not set(summary.NUMBERING_GAPS) & {*summary.REPRODUCTION_TARGETS, *summary.MACHINERY_CHECKS}
    details = text[text.index("What each target's record says"):]
    assert text.index("* - R11") < text.index("- **R4**") < text.index("What each target's record says")
    # each target's long texts, under its id: measured, reason (not testable here), networks, note
    r2 = details[details.index("- **R2** (holds)"):details.index("- **R3**")]
    assert "*measured:* median 300 (95% CI 250-350) vs 40" in r2
    assert f"*networks:* {provenance.describe_models([PRETRAINED, RANDOM])}" in r2
    r3 = details[details.index("- **R3** (not testable here)"):details.index("- **R5**")]
    assert "*why not testable here:* needs albert-large-v2 on a GPU" in r3
    assert "- **R1** (not measured)" in details and "no chapter of this build reported it" in details


def test_rows_show_unit_interval_controls_and_the_reason_of_a_new_record(results, notebooks):
    from chaoslib.book.reports.verdicts import target_record

    record = target_record(
        "R2", "longer transient", "median ratio 17 [9.5, 31]", None, "the ratio is over pooled inputs",
        unit="networks", interval="median ratio 17 [9.5, 31]",
        controls=["untrained", "reference embeddings, random layer"],
        reason="not testable here: with 11 networks the smallest attainable p is 0.0909")
    provenance.report_target(results, **{"target_id": record.pop("target_id"), **record}, chapter="exponents")
    provenance.report_target(results, "R5", "synchronise", "m", False, unit="inputs of one network",
                             interval="|l - l_perp| <= tau for 44% [19, 69] of 9 inputs", controls=[],
                             chapter="synchronisation")
    rows = {r["id"]: r for r in summary.target_rows(results)}
    r2 = rows["R2"]
    assert r2["verdict"] == "*not testable here*"
    assert (r2["unit"], r2["interval"]) == ("networks", "median ratio 17 [9.5, 31]")
    assert r2["controls"] == "untrained; reference embeddings, random layer"  # a control's name holds a comma
    # the verdict column says "not testable here": the reason says why, and the note stays
    assert r2["reason"] == "with 11 networks the smallest attainable p is 0.0909"
    assert r2["note"] == "the ratio is over pooled inputs"
    assert rows["R5"]["controls"] == "none" and rows["R5"]["reason"] == ""  # listed, but no control
    cells = {row[0]: row for row in _table_rows(summary.targets_table(results, notebooks))}
    assert cells["R2"][1:] == [summary.REPRODUCTION_TARGETS["R2"], "**{bdg-muted}`not testable here`**",
                               r"median ratio 17 \[9.5, 31\]", "networks",
                               "{doc}`Lyapunov exponents <02_exponents>`"]
    # a pipe inside a cell stays in it, and the reader sees the text as the chapter wrote it
    assert cells["R5"][3] == r"\|l - l\_perp\| \<= tau for 44% \[19, 69\] of 9 inputs"
    assert _html(cells["R5"][3]) == "<p>|l - l_perp| &lt;= tau for 44% [19, 69] of 9 inputs</p>\n"
    details = summary.target_details(summary.target_rows(results))
    assert "  - *claim as tested:* longer transient" in details
    assert "  - *control networks:* untrained; reference embeddings, random layer" in details


def test_checks_of_the_machinery_are_apart_from_the_papers_claims(results, notebooks):
    provenance.report_target(results, "R10", "reduced map", "error 1.5e-07", True, chapter="synchronisation")
    provenance.report_target(results, "R12", "an identity", "exact", False, unit="the layer's algebra",
                             chapter="synchronisation")
    assert not {"R10", "R12"} & {r["id"] for r in summary.target_rows(results)}
    checks = summary.machinery_rows(results)
    assert [c["id"] for c in checks] == ["R10", "R12"]  # R10 by its id (no unit: an older file), R12 by unit
    assert checks[0]["verdict"] == "**holds**" and checks[1]["verdict"] == "**does not hold**"
    table = summary.machinery_table(results, notebooks)
    assert _table_header(table) == ["id", "check", "verdict", "headline, 95% interval", "test unit",
                                    "chapter"]
    assert _table_rows(table)[0] == ["R10", summary.MACHINERY_CHECKS["R10"], "**{bdg-success}`holds`**", "—",
                                     "—", "{doc}`Synchronisation <03_synchronisation>`"]
    assert "*measured:* error 1.5e-07" in summary.machinery_markdown(results, notebooks)
    counts = summary.target_counts(results)
    assert (counts["n_targets"], counts["n_checks"], counts["n_checks_hold"]) == (8, 2, 1)
    assert summary.target_verdicts(results)["verdict_R10"] == "holds"
    # the unit decides: an R10 reported as a claim about networks stays with the claims
    provenance.report_target(results, "R10", "reduced map", "x", True, unit="networks",
                             chapter="synchronisation")
    assert "R10" in {r["id"] for r in summary.target_rows(results)}
    assert summary.machinery_rows(results)[0]["verdict"] == "*not measured*"


def test_page_text_holds_no_machine_path_nan_or_spec(results, notebooks):
    provenance.report_target(
        results, "R6", "ED", "gap nan% [nan, nan] of 0 inputs; saved in /tmp/build-7/results/offline/x.nc",
        True,
        note=f"SPEC 3 asks for more; see {REPO_ROOT}/results/offline/effective_dimension/numbers.json",
        chapter="exponents")
    text = summary.targets_markdown(results, notebooks)
    text += summary.provenance_markdown(results, notebooks=notebooks)
    html = _html(text)
    for word in ("PosixPath(", "Traceback", "NaN", "nan", "SPEC", "/tmp/", "/work/", "/home/"):
        assert word not in html, word
    assert "gap n/a [n/a, n/a] of 0 inputs; saved in …/x.nc" in html
    assert ("the project's list of targets asks for more; see "
            "results/offline/effective_dimension/numbers.json") in html


def test_the_claim_about_scale_is_phrased_from_its_record(results, monkeypatch):
    assert summary.scale_claim(results) == (
        "In this build it was measured on albert-wikitext2 with the authors' protocol, and its verdict, "
        "\"not testable here\", is about that network: the protocol carries over to albert-large-v2, the "
        "number does not, so it neither confirms nor refutes the paper's.")
    provenance.report_target(results, "R3", "10^4 steps", "t_sync = 812", False, chapter="exponents")
    assert '"does not hold"' in summary.scale_claim(results)
    paper = Network("albert-large-v2", "pretrained", init=None, seed=None, source="hub")
    record = provenance.collect("paper", "cpu", [paper], seed=0, parameters={})
    provenance.save_chapter_provenance("exponents", record, results)
    assert summary.scale_claim(results) == (
        'In this build it was measured on albert-large-v2 itself, and its verdict is "does not hold".')
    (results / "targets" / "R3.json").unlink()
    assert summary.scale_claim(results) == "R3 was not measured in this build."


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


# ------------------------------------------------------------------------------------ settings


@pytest.fixture
def profiles(tmp_path):
    """Two editions' profile files of chapter 02 (tau left to the notebook's default offline)."""
    for edition, text in (("offline", "profile: offline\nn_steps: 1200\ncomparison_seeds: [1, 2, 3, 4, 5]\n"
                                      "eps: 1.0e-2\ndevice: cpu\n"),
                          ("paper", "profile: paper\nn_steps: 100000\ncomparison_seeds: [1, 2, 3, 4, 5]\n"
                                    "eps: 1.0e-2\ndevice: cuda\ntau: 50\n")):
        (tmp_path / "profiles" / edition).mkdir(parents=True)
        (tmp_path / "profiles" / edition / "02_exponents.yml").write_text(text)
    return tmp_path / "profiles"


def test_the_settings_are_the_profiles_and_the_defaults_where_a_profile_is_silent(profiles, notebooks):
    rows = {r["setting"]: r for r in summary.settings_rows("02_exponents", profiles, notebooks)}
    # every setting a profile sets
    assert list(rows) == ["n_steps", "comparison_seeds", "eps", "device", "tau"]
    # the profile's value, never the notebook's default (n_steps = 300 in the notebook)
    assert (rows["n_steps"]["offline"], rows["n_steps"]["offline_source"]) == (1200, "profile")
    assert (rows["tau"]["offline"], rows["tau"]["offline_source"]) == (10, "default")  # offline is silent
    assert (rows["tau"]["paper"], rows["tau"]["paper_source"]) == (50, "profile")
    text = summary.settings_markdown(profiles, notebooks)
    assert text.startswith("### Lyapunov exponents\n\nChapter {doc}`02_exponents`;")
    table = {row[0]: row[1:] for row in _table_rows(text)}
    assert table == {"`n_steps`": ["1200", "100,000"], "`device`": ["cpu", "cuda"],
                     "`tau`": ["10 *(default)*", "50"]}
    assert "The same in both editions: `comparison_seeds` 1 to 5; `eps` 0.01." in text
    assert "300" not in text


def test_the_books_settings_text_is_true_to_its_profile_files():
    """The reproducibility page's settings, against the profile files read here on their own."""
    import yaml

    folder = summary.PROFILES_DIR
    text = summary.settings_markdown()
    for page in ("03_synchronisation", "01_trajectories"):
        offline = yaml.safe_load((folder / "offline" / f"{page}.yml").read_text())
        paper = yaml.safe_load((folder / "paper" / f"{page}.yml").read_text())
        block = text[text.index(f"{{doc}}`{page}`"):]
        block = block[:block.find("\n### ")] if "\n### " in block else block
        cells = {row[0]: row[1:] for row in _table_rows(block)}
        for key in sorted(set(offline) & set(paper) - {"profile"}):
            if offline[key] != paper[key]:
                assert cells[f"`{key}`"] == [summary.format_setting(offline[key]),
                                             summary.format_setting(paper[key])], (page, key)
            else:
                assert f"`{key}` {summary._cell(summary.format_setting(offline[key]))}" in block, (page, key)
    sync = yaml.safe_load((folder / "offline" / "03_synchronisation.yml").read_text())
    assert f"| `n_steps` | {sync['n_steps']} |" in text
    for page in summary.profile_pages():
        assert page in text


def test_settings_are_formatted_for_readers():
    f = summary.format_setting
    assert [f(None), f(True), f(1e-05), f(0.01), f(1.0), f(2500), f(100000)] == [
        "none", "true", "1e-5", "0.01", "1", "2500", "100,000"]
    assert [f([1, 2, 3, 4]), f([0, 1]), f([[1, 2], [3]]), f(["a", "b"])] == [
        "1 to 4", "0, 1", "1, 2; 3", "a, b"]
    assert f([["ALBERT stands for A Lite BERT.", "Hello world!"]]) == (
        '"ALBERT stands for A Lite BERT." / "Hello world!"')


# ------------------------------------------------------------------------------------ provenance


def test_provenance_lists_each_chapter_under_its_name_and_says_where_the_run_left_its_profile(
        results, profiles, notebooks):
    text = summary.provenance_markdown(results, profiles, notebooks)
    assert "### Lyapunov exponents" in text and "### Synchronisation" in text and "### exponents" not in text
    assert "- chapter {doc}`Lyapunov exponents <02_exponents>`; profile `offline`;" in text
    # every parameter, in a table behind a toggle: real column names, formatted values
    assert "````{dropdown} Every parameter of this run (2)" in text
    assert "| parameter | value |" in text and "| `n_steps` | 500 |" in text
    # the run (n_steps 500) is not the offline profile (1200, no tau): said, with both values
    exponents = text[text.index("### Lyapunov exponents"):text.index("### Synchronisation")]
    assert ("- settings: **the run differs from the `offline` profile**: `n_steps` 500 (the profile: 1200); "
            "`comparison_seeds` not recorded") in exponents
    assert summary.settings_differences(
        {"chapter": "exponents", "profile": "offline",
         "parameters": {"n_steps": 1200, "comparison_seeds": [1, 2, 3, 4, 5], "eps": 0.01, "device": "cpu"}},
        profiles, notebooks) == []
    # synchronisation has no profile file here: nothing to compare with
    assert "no profile file of the `offline` edition" in text[text.index("### Synchronisation"):]
    assert summary.provenance_markdown(results / "nothing").startswith("*No chapter")


# ------------------------------------------------------------------------------------ deviations

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


def test_deviations_are_rendered_grouped_by_chapter_under_their_names(tmp_path):
    (tmp_path / "readout.yml").write_text(VALID)
    (tmp_path / "exponents.yml").write_text(VALID.split("- item: Ridge")[0])
    (tmp_path / "glue.yml").write_text(VALID.split("- item: Ridge")[0])
    (tmp_path / "mlm.yml").write_text(VALID.split("- item: Ridge")[0])
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    for page in ("07_handwriting_readout", "05_glue_by_depth", "06_mlm_by_depth"):
        (notebooks / f"{page}.ipynb").write_text("{}")
    text = summary.deviations_markdown(tmp_path, notebooks)
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### Lyapunov exponents", "### GLUE by depth", "### MLM by depth",
                        "### Handwriting readout"]
    assert "### GLUE by depth\n\nChapter {doc}`05_glue_by_depth`.\n" in text
    assert "### Lyapunov exponents\n\n- **Letter curves.**" in text  # no page of chapter 02 here: no link
    for field in ("Letter curves", "Arial CSV strokes", "DejaVu Sans outlines", "not published",
                  r"start\_char"):
        assert text.count(field) == 4  # in each chapter
    assert text.count("**Ridge.**") == 1
    assert summary.count_deviations(tmp_path) == {"n_deviations": 5, "n_deviation_chapters": 4}
    (tmp_path / "exponents.yml").write_text(
        VALID.replace("collinear features", '"||x|| < results/<profile>/"'))
    html = _html(summary.deviations_markdown(tmp_path, notebooks))
    assert "||x|| &lt; results/&lt;profile&gt;/" in html  # shown as written: no HTML tag, no table cell


def test_the_books_deviations_have_display_names_and_are_shown_as_written():
    text = summary.deviations_markdown()
    headings = [line[4:] for line in text.splitlines() if line.startswith("### ")]
    assert {"GLUE by depth", "MLM by depth", "Inputs of the dynamics chapters"} <= set(headings)
    assert not {"Glue", "Mlm", "Readout", "Inputs"} & {h.split(" (")[0] for h in headings}
    assert "results/&lt;profile&gt;/mlm_by_depth/counts.nc" in _html(text)
    assert "{{" not in text and "}}" not in text


def test_deviations_name_the_profiles_settings(tmp_path, profiles, notebooks):
    (tmp_path / "exponents.yml").write_text(VALID.replace(
        "ours: ridge 1e-4", "ours: 'T={{offline.n_steps}} (paper {{paper.n_steps:,}}), tau={{offline.tau}}, "
                            "{{offline.comparison_seeds|len}} networks'"))
    entries = summary.load_deviations(tmp_path, profiles, notebooks)
    assert entries["exponents"][1]["ours"] == "T=1200 (paper 100,000), tau=10, 5 networks"
    (tmp_path / "exponents.yml").write_text(VALID.replace("ours: ridge 1e-4", "ours: '{{offline.n_stepz}}'"))
    with pytest.raises(ChaoslibError, match=r"exponents.yml, entry 2, ours: .*no setting 'n_stepz'"):
        summary.load_deviations(tmp_path, profiles, notebooks)
    (tmp_path / "exponents.yml").unlink()
    (tmp_path / "inputs.yml").write_text(VALID.replace("ours: ridge 1e-4", "ours: '{{offline.n_steps}}'"))
    with pytest.raises(ChaoslibError, match="inputs.yml, entry 2, ours: .*one chapter"):
        summary.load_deviations(tmp_path, profiles, notebooks)


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


def test_the_books_deviations_state_the_profiles_sizes():
    """The sizes the deviations state are the profile files' (read here on their own)."""
    import yaml

    def profile(edition: str, page: str) -> dict:
        return yaml.safe_load((summary.PROFILES_DIR / edition / f"{page}.yml").read_text())

    entries = summary.load_deviations()
    horizon = next(e for e in entries["synchronisation"] if e["item"] == "horizon")["ours"]
    offline, paper = profile("offline", "03_synchronisation"), profile("paper", "03_synchronisation")
    assert f"T={paper['n_steps']} " in horizon
    assert (f"offline: {offline['n_samples']} sentence pairs, N={offline['n_tokens']}, tau={offline['tau']}, "
            f"T={offline['n_steps']} through {offline['model_name']} and "
            f"{len(offline['comparison_seeds'])} random tf networks") in horizon
    long_run = next(e for e in entries["trajectories"] if e["item"] == "long-run length")["ours"]
    assert f"offline: {profile('offline', '01_trajectories')['long_run_steps']:,} steps" in long_run
    assert f"({profile('paper', '01_trajectories')['long_run_steps']:,} steps" in long_run


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


def test_results_page_shows_the_tables_and_glues_the_counts_verdicts_sizes_and_the_transients(results, page):
    shown, glued = page
    summary.results_page("offline", results)
    assert shown == [summary.targets_markdown(results)]
    assert glued == {**summary.target_counts(results), **summary.target_verdicts(results),
                     **summary.network_sizes(), "transient_agreement": summary.transient_agreement(results),
                     "scale_claim": summary.scale_claim(results)}
    assert (glued["verdict_R2"], glued["verdict_R3"], glued["verdict_R1"]) == (
        "holds", "not testable here", "not measured")
    summary.machinery_page("offline", results)
    assert shown[1] == summary.machinery_markdown(results)


def test_reproducibility_page_shows_settings_provenance_then_deviations(results, page):
    shown, glued = page
    summary.settings_page()
    summary.provenance_page("offline", results)
    summary.deviations_page()
    assert shown == [summary.settings_markdown(), summary.provenance_markdown(results),
                     summary.deviations_markdown()]
    assert glued == summary.count_deviations()


def _cells(name: str) -> list[dict]:
    return json.loads((summary.NOTEBOOKS_DIR / f"{name}.ipynb").read_text())["cells"]


@pytest.mark.parametrize("name", ["results", "reproducibility"])
def test_the_summary_pages_show_no_parameters_cell(name):
    """The pages' parameters (the profile and the results folder) say nothing to a reader: the cell is
    removed, and with it the injected parameters (chaoslib.book.sphinx_ext)."""
    params = [c for c in _cells(name) if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1 and "remove-cell" in params[0]["metadata"]["tags"]


def test_the_results_prose_reads_the_claim_about_scale_from_its_record():
    prose = " ".join("".join(c["source"]) for c in _cells("results") if c["cell_type"] == "markdown")
    assert "{glue:text}`scale_claim`" in prose
    assert "can only be checked on the paper's network" not in prose


def test_the_reproducibility_page_has_its_sections_in_order():
    prose = "\n".join("".join(c["source"]) for c in _cells("reproducibility") if c["cell_type"] == "markdown")
    headings = [line for line in prose.splitlines() if line.startswith("## ")]
    assert headings == ["## Settings of the two editions", "## Provenance of this build",
                        "## Deviations from the authors' code"]


@pytest.mark.parametrize(("text", "expected"), [
    # a checkout anywhere (CI clones into /check/...): a path inside it is written relative to it
    (f"see {REPO_ROOT}/results/a.json.", "see results/a.json."),
    ("saved in /check/ci-3/main/results/x.nc, then", "saved in …/x.nc, then"),
    ("cache /srv/cache/y.zarr", "cache …/y.zarr"),
    # words and ratios that only look like paths stay as written
    ("the /workshop's tokens/s and 1/2", "the /workshop's tokens/s and 1/2"),
])
def test_public_text_names_no_machine_path_wherever_the_checkout_lives(text, expected):
    assert summary._public(text) == expected
