"""The summary pages: reproduction targets (results page), settings, provenance and deviations
(reproducibility page).

Each page is its parameters (``profile``, ``results_dir``) and one call per section:

* :func:`results_page`: the targets table with its details and the counts, network sizes, verdicts and the
  agreement of the two measures of the transient that its prose quotes; :func:`machinery_page`: the checks
  of the machinery.
* :func:`settings_page`, :func:`provenance_page` and :func:`deviations_page`: the reproducibility page's
  sections.

They display the Markdown (MyST) of these functions:

* :func:`targets_markdown`: :func:`targets_table`, one compact row per reproduction target of the paper (id,
  short claim, the verdict as a coloured sphinx-design badge, the headline number with its 95% interval, the
  unit of its test, a link to its chapter; a ``list-table`` of sized columns in HTML, with its own LaTeX
  column specification for the PDF), a line for each gap in the numbering (:data:`NUMBERING_GAPS`), then
  :func:`target_details`: per target what was measured, the reason where it is not testable here, the
  control networks, the networks the chapter ran and the note. Target files written before units, intervals,
  controls and reasons were recorded still render (their cells say so).
* :func:`machinery_markdown`: the same for the checks of the machinery (records whose unit is the layer's
  algebra), apart from the paper's claims.
* :func:`transient_agreement`: whether chapter 02's chaos length and chapter 03's synchronisation time agree.
* :func:`settings_markdown`: per chapter, the settings of the two editions as their profile files
  (``chaoslib/book/profiles/<edition>/<page>.yml``) set them.
* :func:`provenance_markdown`: per chapter, the device, commit, versions, networks, whether the run's settings
  are its profile's, and every parameter it recorded.
* :func:`deviations_markdown`: every entry of ``book/deviations/*.yml`` (item, authors, ours, why,
  parameter), grouped by chapter; ``{{offline.n_steps}}`` in an entry is the value its chapter's profile sets
  (:func:`fill_settings`), so the text cannot drift from the profiles.

Text from records is shown as written, made safe for Markdown (:func:`_literal`: nothing in it is read as
maths, emphasis, HTML or a link) and for readers (:func:`_public`: no machine paths, a path under the
repository shown relative to it and any other absolute path by its last part; ``nan`` shown as ``n/a``; an
older record's citation of the specification's section 3 named as the project's list of targets).
"""
from __future__ import annotations

import ast
import json
import math
import os
import re
from pathlib import Path

import yaml

from chaoslib.book.reports.verdicts import VERDICT_STYLES, verdict_badge
from chaoslib.book.reports.verdicts import VERDICTS as WORDS
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.provenance import describe_models, load_all_provenance, load_targets
from chaoslib.settings import REPO_ROOT

DEVIATIONS_DIR = REPO_ROOT / "book" / "deviations"
DEVIATION_FIELDS = ("item", "authors", "ours", "why", "parameter")
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"  # notebooks/profiles links here
EDITIONS = ("offline", "paper")

# The paper's claims that the book tests, under the ids of the project's list of targets (its specification,
# section 3), which numbers them R1..R10 and defines no R4 and no R9; R10 is a check of the machinery
# (:data:`MACHINERY_CHECKS`). The ids are not renumbered: the target records
# (results/<profile>/targets/R<n>.json), the chapters' reports and prose, and the deviations name them.
REPRODUCTION_TARGETS = {
    "R1": "transient chaos: positive local exponents early, none later",
    "R2": "pretrained transient significantly longer than random",
    "R3": "pretrained transient of 10,000 steps or more (16 tokens)",
    "R5": "tokens synchronise at the end of the transient",
    "R6": "pretrained effective dimension higher and stable",
    "R7": "STS-B score vs depth",
    "R8": "MLM accuracy vs depth",
}
# Checks of the machinery: identities of the layer's algebra that the estimators rely on, not claims of the
# paper. A record joins them by its unit; an older record without a unit, by its id.
MACHINERY_UNIT = "the layer's algebra"
MACHINERY_CHECKS = {"R10": "reduced map equals the full layer on synchronised states"}
# The numbers the list of targets skips, one line each under the results table.
NUMBERING_GAPS = {
    "R4": "no target: the project's list of the paper's claims has no R4 (the ids are kept as they are, so "
          "that the records and chapters that cite R5 to R10 keep their names)",
    "R9": "no target: the list has no R9 either; R10, a check of the machinery rather than a claim of the "
          "paper, is in the next section",
}
VERDICTS = {True: f"**{WORDS[True]}**", False: f"**{WORDS[False]}**", None: f"*{WORDS[None]}*"}
NOT_MEASURED = "*not measured*"
NOT_GIVEN = "—"  # a field an older target file does not have

# The chapters under short names for tables and headings (a record's ``chapter`` -> name); a chapter not
# listed is named from its record's name.
CHAPTER_NAMES = {
    "trajectories": "Trajectories",
    "exponents": "Lyapunov exponents",
    "synchronisation": "Synchronisation",
    "effective_dimension": "Effective dimension",
    "glue_by_depth": "GLUE by depth",
    "mlm_by_depth": "MLM by depth",
    "handwriting_readout": "Handwriting readout",
    "pretraining_dynamics": "Pretraining dynamics",
    "trained_depth": "Trained depth",
}
# book/deviations/<stem>.yml -> the chapters it is about, where the stem is not a chapter's name
DEVIATION_CHAPTERS = {
    "glue": ("glue_by_depth",),
    "mlm": ("mlm_by_depth",),
    "readout": ("handwriting_readout",),
    "pretraining": ("pretraining_dynamics",),
    "inputs": ("trajectories", "exponents", "synchronisation", "effective_dimension", "handwriting_readout"),
}
DEVIATION_NAMES = {"inputs": "Inputs of the dynamics chapters"}

# LaTeX column specifications (pdflatex, A4): ragged-right paragraph columns whose widths add up to the line
# (``\Y{f}`` is a fraction f of the line, less the column separation), so no table runs into the margin and
# no column head is hyphenated.
_RAGGED = r">{\raggedright\arraybackslash}"
TARGET_LATEX_COLUMNS = (0.07, 0.25, 0.13, 0.24, 0.13, 0.18)
# the same table's HTML columns (relative widths; a verdict's badge and a chapter's name set their minimum)
TARGET_HTML_COLUMNS = (5, 27, 18, 24, 12, 14)
VERDICT_TABLE_CLASS = "chaoslib-verdicts"  # styled by book/_static/results.css
SETTINGS_LATEX_COLUMNS = (0.36, 0.32, 0.32)
PARAMETERS_LATEX_COLUMNS = (0.40, 0.60)


# ------------------------------------------------------------------------------------ text


# the repository's own root is named first: a checkout may live anywhere (CI clones into /check/...)
_MACHINE_PATH = re.compile(
    r"(?<![\w.~/])(?:" + re.escape(REPO_ROOT.as_posix()) + r"(?![\w.-])"
    + r"|/(?:tmp|work|home|root|Users|mnt|var|scratch|opt|content|check|srv|data)(?=/))[^\s,;:()'\"`]*"
)
_NAN = re.compile(r"\bnan\b%?", re.IGNORECASE)
# an older record's name for the project's list of targets ("SPEC 3", "SPEC section 3")
_SPEC = re.compile(r"\bSPEC\b(?: section)?(?: \d+(?:\.\d+)*)?")


def _public(text: str) -> str:
    """``text`` without machine paths (relative to the repository where inside it, else ``…/<last part>``),
    with ``nan`` as ``n/a`` and an older record's citation of the specification's section 3 as the project's
    list of targets."""
    def shorten(match: re.Match) -> str:
        path = Path(match.group(0))
        try:
            return path.relative_to(REPO_ROOT).as_posix() or "."
        except ValueError:
            return f"…/{path.name}" if path.name else "…"

    return _SPEC.sub("the project's list of targets", _NAN.sub("n/a", _MACHINE_PATH.sub(shorten, text)))


_MARKDOWN_ESCAPES = {c: "\\" + c for c in "\\$<*_`[]#"}


def _text(value) -> str:
    """One line of Markdown: the text as written, on one line, without machine paths (see :func:`_public`)."""
    return _public(" ".join(str(value).split()))


def _literal(value) -> str:
    """One line of record text that renders as written: characters Markdown would read (maths, emphasis, raw
    HTML, links, code) are escaped."""
    return "".join(_MARKDOWN_ESCAPES.get(c, c) for c in _text(value))


def _cell(value) -> str:
    """One Markdown table cell of record text (:func:`_literal`); a pipe is escaped (it would split the
    cell)."""
    return _literal(value).replace("|", r"\|")


def _latex_columns(widths: tuple[float, ...]) -> str:
    r"""A ``tabularcolumns`` directive for the next table: ragged-right ``\Y`` columns of these fractions."""
    spec = "".join(f"{_RAGGED}\\Y{{{w:g}}}" for w in widths)
    return f"```{{tabularcolumns}} {spec}\n```"


def _table(header: list[str], rows: list[list[str]], widths: tuple[float, ...] | None = None) -> str:
    """A Markdown table; ``widths``: its LaTeX columns (:func:`_latex_columns`)."""
    lines = [_latex_columns(widths), ""] if widths else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _list_table(header: list[str], rows: list[list[str]], widths: tuple[float, ...],
                html_widths: tuple[int, ...]) -> str:
    """A ``list-table`` of class :data:`VERDICT_TABLE_CLASS` spanning the text column, its columns
    ``html_widths`` wide (relative) in HTML and ``widths`` in the PDF (:func:`_latex_columns`): unlike a
    Markdown table, its columns can be sized."""
    lines = [_latex_columns(widths), "", "````{list-table}", ":header-rows: 1",
             f":class: {VERDICT_TABLE_CLASS}", f":widths: {' '.join(map(str, html_widths))}",
             ":width: 100%", ""]
    for cells in [header, *rows]:
        lines += [f"* - {cells[0]}", *(f"  - {cell}" for cell in cells[1:])]
    return "\n".join([*lines, "````"])


# ------------------------------------------------------------------------------------ chapters


def chapter_page(chapter: str, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str | None:
    """The page of a chapter named as its records name it (``exponents`` -> ``02_exponents``), None where no
    notebook ``<NN>_<chapter>.ipynb`` exists (an installed chaoslib without the book)."""
    matches = sorted(p.stem for p in Path(notebooks).glob(f"[0-9][0-9]_{chapter}.ipynb"))
    return matches[0] if matches else None


def chapter_name(chapter: str) -> str:
    """The chapter's short name (:data:`CHAPTER_NAMES`), else its record's name in words."""
    return CHAPTER_NAMES.get(chapter) or chapter.replace("_", " ").capitalize()


def chapter_link(chapter: str, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """A ``{doc}`` link to the chapter under its short name; its name alone where it has no page."""
    if not chapter:
        return NOT_GIVEN
    page = chapter_page(chapter, notebooks)
    return f"{{doc}}`{chapter_name(chapter)} <{page}>`" if page else chapter_name(chapter)


# ------------------------------------------------------------------------------------ targets


def _networks_by_chapter(results_dir: str | os.PathLike) -> dict[str, str]:
    return {
        record["chapter"]: describe_models([Network.from_dict(m) for m in record.get("models", [])])
        for record in load_all_provenance(results_dir)
    }


def is_machinery_check(target: dict) -> bool:
    """Whether a target file records a check of the machinery (its unit is the layer's algebra; a file from
    before units were recorded: its id is one of :data:`MACHINERY_CHECKS`)."""
    unit = target.get("unit")
    return unit == MACHINERY_UNIT if unit else target.get("id") in MACHINERY_CHECKS


def _reason(target: dict) -> str:
    """Why a target is not testable here: its ``reason`` without the verdict's words (the verdict column says
    them), else an older file's note, else '(no reason given)'."""
    reason = str(target.get("reason") or target.get("note") or "").strip()
    prefix = WORDS[None] + ":"
    if reason.lower().startswith(prefix):
        reason = reason[len(prefix):].strip()
    return reason or "(no reason given)"


def _controls(target: dict) -> str:
    """The control networks a target's reference was compared with: '—' where the file predates the field,
    'none' where it lists none."""
    if "controls" not in target:
        return NOT_GIVEN
    controls = target["controls"]
    return "; ".join(map(str, controls)) if controls else "none"  # a control's name may hold a comma


MISSING = "missing"  # a row's ``holds`` where no chapter of the build reported the target
MISSING_STYLE = "warning"


def _row(target_id: str, claim: str, target: dict | None, networks: dict[str, str]) -> dict:
    """One row of a results table: id, claim (the record's), short_claim (the list's, else the record's),
    verdict (Markdown: bold or italic words), word (the verdict's words), style (the sphinx-design colour of
    its badge), badge (the MyST badge), unit, interval, controls, measured, networks, chapter, reason (only
    when not testable here), note, holds (True/False/None, or "missing": no file)."""
    if target is None:
        word = NOT_MEASURED.strip("*")
        return dict(id=target_id, claim=claim, short_claim=claim, verdict=NOT_MEASURED, word=word,
                    style=MISSING_STYLE, badge=f"{{bdg-{MISSING_STYLE}}}`{word}`", unit="", interval="",
                    controls="", measured="", networks="", chapter="", reason="",
                    note="no chapter of this build reported it (its chapter did not run, or failed)",
                    holds=MISSING)
    holds = target["holds"]
    reason = _reason(target) if holds is None else ""
    note = target.get("note", "")
    if holds is None and not target.get("reason"):
        note = ""  # an older file's note is its reason, shown once
    return dict(
        id=target_id, claim=target.get("claim", claim), short_claim=claim or target.get("claim", ""),
        verdict=VERDICTS[holds], word=WORDS[holds], style=VERDICT_STYLES[holds], badge=verdict_badge(holds),
        unit=target.get("unit") or NOT_GIVEN, interval=target.get("interval") or NOT_GIVEN,
        controls=_controls(target), measured=target.get("measured", ""),
        networks=networks.get(target.get("chapter", ""), "(no provenance record)"),
        chapter=target.get("chapter", ""), reason=reason, note=note, holds=holds,
    )


def target_rows(results_dir: str | os.PathLike) -> list[dict]:
    """One row per claim of the paper: the reproduction targets first (reported or not), then any other
    reported id that is not a check of the machinery (:func:`machinery_rows`). Fields: see :func:`_row`."""
    reported = {t["id"]: t for t in load_targets(results_dir) if not is_machinery_check(t)}
    networks = _networks_by_chapter(results_dir)
    ids = [*REPRODUCTION_TARGETS, *(k for k in reported if k not in REPRODUCTION_TARGETS)]
    return [_row(i, REPRODUCTION_TARGETS.get(i, ""), reported.get(i), networks) for i in ids]


def machinery_rows(results_dir: str | os.PathLike) -> list[dict]:
    """One row per check of the machinery: :data:`MACHINERY_CHECKS` (reported or not), then any other record
    whose unit is the layer's algebra. Fields: see :func:`_row`."""
    reported = {t["id"]: t for t in load_targets(results_dir) if is_machinery_check(t)}
    networks = _networks_by_chapter(results_dir)
    ids = [*MACHINERY_CHECKS, *(k for k in reported if k not in MACHINERY_CHECKS)]
    return [_row(i, MACHINERY_CHECKS.get(i, ""), reported.get(i), networks) for i in ids]


# the compact tables' columns: row field -> column head (short words: no head is hyphenated in the PDF)
TARGET_COLUMNS = {"id": "id", "short_claim": "claim", "badge": "verdict",
                  "interval": "headline, 95% interval", "unit": "test unit", "chapter": "chapter"}
MACHINERY_COLUMNS = {"id": "id", "short_claim": "check", "badge": "verdict",
                     "interval": "headline, 95% interval", "unit": "test unit", "chapter": "chapter"}


def _table_cells(row: dict, columns: dict[str, str], notebooks) -> list[str]:
    cells = []
    for key in columns:
        if key == "badge":
            cells.append(f"**{row['badge']}**")  # bold: the PDF shows the badge's words as text
        elif key == "chapter":
            cells.append(chapter_link(row["chapter"], notebooks))
        else:
            cells.append(_cell(row[key]) or NOT_GIVEN)
    return cells


def _compact_table(rows: list[dict], columns: dict[str, str], notebooks) -> str:
    return _list_table(list(columns.values()), [_table_cells(r, columns, notebooks) for r in rows],
                       TARGET_LATEX_COLUMNS, TARGET_HTML_COLUMNS)


def targets_table(results_dir: str | os.PathLike, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """The results page's table (MyST) of :func:`target_rows`: id, short claim, verdict badge, headline with
    its interval, test unit, chapter link; preceded by its LaTeX column specification."""
    return _compact_table(target_rows(results_dir), TARGET_COLUMNS, notebooks)


def machinery_table(results_dir: str | os.PathLike, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """The results page's table (MyST) of the checks of the machinery (:func:`machinery_rows`)."""
    return _compact_table(machinery_rows(results_dir), MACHINERY_COLUMNS, notebooks)


def numbering_gaps() -> str:
    """One line per number the list of targets skips (:data:`NUMBERING_GAPS`)."""
    return "\n".join(f"- **{i}**: {text}." for i, text in NUMBERING_GAPS.items())


def _details(row: dict) -> str:
    """One bullet of the details list: the id and claim, then what the table has no room for."""
    parts = []
    if row["claim"] and row["claim"] != row["short_claim"]:
        parts.append(("claim as tested", row["claim"]))
    parts.append(("measured", row["measured"] or NOT_GIVEN))
    if row["reason"]:
        parts.append(("why not testable here", row["reason"]))
    if row["controls"] and row["controls"] != NOT_GIVEN:
        parts.append(("control networks", row["controls"]))
    if row["networks"]:
        parts.append(("networks", row["networks"]))
    if row["note"]:
        parts.append(("note", row["note"]))
    head = f"- **{row['id']}** ({row['word']}): {_literal(row['short_claim'])}" if row["short_claim"] else (
        f"- **{row['id']}** ({row['word']})")
    return "\n".join([head, *(f"  - *{label}:* {_literal(text)}" for label, text in parts)])


def target_details(rows: list[dict]) -> str:
    """The details list below a compact table: per row its record's long texts (:func:`_details`)."""
    return "\n".join(_details(r) for r in rows)


def targets_markdown(results_dir: str | os.PathLike, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """The results page's first section: :func:`targets_table`, the gaps in the numbering, the details."""
    return "\n\n".join([
        targets_table(results_dir, notebooks),
        "Ids without a target:\n\n" + numbering_gaps(),
        "What each target's record says (as its chapter wrote it):\n\n"
        + target_details(target_rows(results_dir)),
    ])


def machinery_markdown(results_dir: str | os.PathLike, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """The checks of the machinery: :func:`machinery_table` and its details."""
    return "\n\n".join([machinery_table(results_dir, notebooks), target_details(machinery_rows(results_dir))])


def target_counts(results_dir: str | os.PathLike) -> dict[str, int]:
    """How many of the paper's claims hold, do not hold, are not testable here, or were not measured; and how
    many checks of the machinery there are and hold."""
    rows, checks = target_rows(results_dir), machinery_rows(results_dir)
    return {
        "n_targets": len(rows),
        "n_hold": sum(r["holds"] is True for r in rows),
        "n_fail": sum(r["holds"] is False for r in rows),
        "n_untestable": sum(r["holds"] is None for r in rows),
        "n_missing": sum(r["holds"] == MISSING for r in rows),
        "n_checks": len(checks),
        "n_checks_hold": sum(r["holds"] is True for r in checks),
    }


PAPER_NETWORK = "albert-large-v2"


def _reference_name(results_dir: str | os.PathLike, chapter: str) -> str | None:
    """The name of the first pretrained network a chapter ran (its provenance record), else None."""
    for record in load_all_provenance(results_dir):
        if record.get("chapter") == chapter:
            names = [m.get("name") for m in record.get("models", []) if m.get("weights") == "pretrained"]
            return names[0] if names else None
    return None


def scale_claim(results_dir: str | os.PathLike, target_id: str = "R3", paper: str = PAPER_NETWORK) -> str:
    """A sentence (plain text, for ``{glue:text}``) on the claim about scale (R3) read from its record: which
    network it was measured on in this build, and its verdict there; on another network than the paper's, that
    the protocol carries over and the number does not (the record's own note says so)."""
    row = next(r for r in target_rows(results_dir) if r["id"] == target_id)
    if row["holds"] == MISSING:
        return f"{target_id} was not measured in this build."
    network = _reference_name(results_dir, row["chapter"])
    if network is None:
        return (f'Its verdict in this build is "{row["word"]}"; no provenance record says which network it '
                "was on.")
    if network == paper:
        return f'In this build it was measured on {paper} itself, and its verdict is "{row["word"]}".'
    return (f"In this build it was measured on {network} with the authors' protocol, and its verdict, "
            f'"{row["word"]}", is about that network: the protocol carries over to {paper}, the number does '
            "not, so it neither confirms nor refutes the paper's.")


def target_verdicts(results_dir: str | os.PathLike) -> dict[str, str]:
    """``verdict_<id>`` -> the verdict's words for every target and check, for prose that names a verdict
    (so it is read from the record, never typed)."""
    rows = [*target_rows(results_dir), *machinery_rows(results_dir)]
    return {f"verdict_{r['id']}": r["word"] for r in rows}


# ------------------------------------------------------------------- two measures of the transient's length

# The numbers a chapter glued (results/<profile>/<chapter>/numbers.json) that say how long the transient
# lasts, by the keys the chapters use: the first key present is read, so a renamed key needs one entry here.
TRANSIENT_MEASURES = {
    "chaos length": ("exponents", "the Lyapunov exponents, chapter 02",
                     {"reference": ("exp_median_ref", "cl_median_ref"),
                      "random": ("exp_median_rand", "cl_median_rand"),
                      "label": ("exp_ref_label", "cl_ref_label"), "horizon": ("exp_T", "cl_T")}),
    "synchronisation time": ("synchronisation", "chapter 03",
                             {"reference": ("sync_ref_median",), "random": ("sync_rand_median",),
                              "label": ("sync_ref_label",), "horizon": ("sync_T",)}),
}


def _number(numbers: dict, keys: tuple[str, ...], suffix: str = "") -> float | None:
    """The first of ``keys`` (+ ``suffix``) present in a chapter's numbers as a finite number, else None."""
    for key in keys:
        value = numbers.get(key + suffix)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    return None


def _load_numbers(results_dir: Path, chapter: str) -> dict:
    path = Path(results_dir) / chapter / "numbers.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def transient_measures(results_dir: str | os.PathLike) -> dict[str, dict[str, tuple | None]]:
    """The two measures of the transient's length as the chapters glued them: measure -> {"reference":
    (median, low, high) or None, "random": ..., "label": text or None, "horizon": steps or None}. ``low`` and
    ``high`` (the 95% interval, keys ``<key>_low``/``<key>_high``) are None where the chapter glued none."""
    out = {}
    for measure, (chapter, _, keys) in TRANSIENT_MEASURES.items():
        numbers = _load_numbers(Path(results_dir), chapter)
        entry: dict = {}
        for group in ("reference", "random"):
            median = _number(numbers, keys[group])
            entry[group] = None if median is None else (
                median, _number(numbers, keys[group], "_low"), _number(numbers, keys[group], "_high"))
        labels = [numbers[k] for k in keys["label"] if isinstance(numbers.get(k), str)]
        entry["label"] = labels[0] if labels else None
        entry["horizon"] = _number(numbers, keys["horizon"])
        out[measure] = entry
    return out


def intervals_agree(a: tuple, b: tuple) -> bool | None:
    """Whether two (median, low, high) measures are consistent: their 95% intervals overlap. None where either
    has no interval (then the page does not say either way)."""
    if None in (a[1], a[2], b[1], b[2]):
        return None
    return not (a[1] > b[2] or b[1] > a[2])


def _measure_text(name: str, where: str, value: tuple, horizon: float | None) -> str:
    median, low, high = value
    interval = "" if low is None or high is None else f" (95% interval {low:g} to {high:g})"
    censored = " (censored: at least the horizon)" if horizon is not None and median >= horizon else ""
    return f"the median {name} ({where}) is {median:g} steps{interval}{censored}"


def transient_agreement(results_dir: str | os.PathLike) -> str:
    """Sentences saying whether the Lyapunov transient (chapter 02's chaos length) and the synchronisation
    time (chapter 03's t_sync) agree, for the reference network and for the random comparison networks,
    computed from the numbers those chapters glued (:data:`TRANSIENT_MEASURES`); else which are missing."""
    measures = transient_measures(results_dir)
    (first, second) = TRANSIENT_MEASURES
    where = {m: TRANSIENT_MEASURES[m][1] for m in TRANSIENT_MEASURES}
    label = measures[first]["label"] or measures[second]["label"] or "the reference network"
    sentences, compared = [], False
    for group, who in (("reference", f"For {label}"), ("random", "For the random comparison networks")):
        a, b = measures[first][group], measures[second][group]
        missing = [m for m, v in ((first, a), (second, b)) if v is None]
        if missing:
            sentences.append(f"{who} the two measures of the transient cannot be compared in this build: "
                             f"no median {' or '.join(missing)} was glued.")
            continue
        both = (f"{_measure_text(first, where[first], a, measures[first]['horizon'])} and "
                f"{_measure_text(second, where[second], b, measures[second]['horizon'])}")
        agree = intervals_agree(a, b)
        if agree is None:
            verdict = "have no intervals to compare"
        elif agree:
            verdict = "are consistent: their 95% intervals overlap"
        else:
            verdict = "disagree: their 95% intervals do not overlap"
        sentences.append(f"{who} {both}; the two measures {verdict}.")
        compared = True
    if compared:
        sentences.append("The two chapters draw their own inputs and horizons, so the comparison is of the "
                         "two intervals, not input by input.")
    return " ".join(sentences)



# ------------------------------------------------------------------------------------ settings


def format_setting(value) -> str:
    """A setting's value for a reader: ``none``, ``true``/``false``, integers from 10,000 with thousands
    separators, floats in their shortest form (``1e-5``), runs of consecutive integers as ``1 to 10``, lists
    joined by commas, a list of texts as quoted texts."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{value:g}")
    if isinstance(value, (list, tuple)):
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        if ints and len(value) >= 3 and list(value) == list(range(value[0], value[0] + len(value))):
            return f"{value[0]} to {value[-1]}"
        if value and all(isinstance(v, str) for v in value) and any(" " in v for v in value):
            return " / ".join(f'"{v}"' for v in value)
        nested = any(isinstance(v, (list, tuple)) for v in value)
        return ("; " if nested else ", ").join(format_setting(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_setting(v)}" for k, v in value.items()) or "none"
    return str(value)


def profile_settings(page: str, edition: str, profiles: str | os.PathLike = PROFILES_DIR) -> dict:
    """What ``<profiles>/<edition>/<page>.yml`` sets ({} where there is no such file), ``profile`` left
    out."""
    path = Path(profiles) / edition / f"{page}.yml"
    values = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    return {k: v for k, v in values.items() if k != "profile"}


def notebook_defaults(page: str, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> dict:
    """The literal values of a notebook's parameters cell: what a run gets for a setting its profile does not
    set ({} where the notebook is not there)."""
    path = Path(notebooks) / f"{page}.ipynb"
    if not path.is_file():
        return {}
    cells = [c for c in json.loads(path.read_text())["cells"]
             if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    values = {}
    for cell in cells[:1]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for node in ast.parse(source).body:
            single = isinstance(node, ast.Assign) and len(node.targets) == 1
            if single and isinstance(node.targets[0], ast.Name):
                try:
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
    return values


def edition_settings(page: str, edition: str, profiles: str | os.PathLike = PROFILES_DIR,
                     notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> dict[str, tuple]:
    """Setting -> (value, source) of one edition's run of a page: the profile file's value (source
    ``"profile"``), else the notebook's default (``"default"``); only the settings either profile sets."""
    own, other = profile_settings(page, edition, profiles), profile_settings(
        page, next(e for e in EDITIONS if e != edition) if edition in EDITIONS else edition, profiles)
    defaults = notebook_defaults(page, notebooks)
    out = {}
    for key in [*own, *(k for k in other if k not in own)]:
        if key in own:
            out[key] = (own[key], "profile")
        elif key in defaults:
            out[key] = (defaults[key], "default")
        else:
            out[key] = (None, "unset")
    return out


def profile_pages(profiles: str | os.PathLike = PROFILES_DIR) -> list[str]:
    """The pages that have a profile file in any edition, in the order of their names."""
    return sorted({p.stem for edition in EDITIONS for p in (Path(profiles) / edition).glob("*.yml")})


def settings_rows(page: str, profiles: str | os.PathLike = PROFILES_DIR,
                  notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> list[dict]:
    """One row per setting either edition's profile sets: setting, then per edition its value and source
    (``<edition>``, ``<edition>_source``: "profile", "default" or "unset")."""
    per_edition = {e: edition_settings(page, e, profiles, notebooks) for e in EDITIONS}
    keys = list(dict.fromkeys(k for e in EDITIONS for k in per_edition[e]))
    rows = []
    for key in keys:
        row = {"setting": key}
        for edition in EDITIONS:
            row[edition], row[f"{edition}_source"] = per_edition[edition][key]
        rows.append(row)
    return rows


def _setting_text(value, source: str) -> str:
    if source == "unset":
        return NOT_GIVEN
    text = _cell(format_setting(value))
    return f"{text} *(default)*" if source == "default" else text


def _page_chapter(page: str) -> str:
    """``02_exponents`` -> ``exponents``."""
    head, _, rest = page.partition("_")
    return rest if head.isdigit() and rest else page


def settings_markdown(
    profiles: str | os.PathLike = PROFILES_DIR, notebooks: str | os.PathLike = NOTEBOOKS_DIR
) -> str:
    """Per chapter, the settings that differ between the editions (a table: setting, offline, paper) and a
    line with those they share, as the profile files set them (a value marked *default* is the notebook's own,
    which the profile does not change)."""
    blocks = []
    for page in profile_pages(profiles):
        rows = settings_rows(page, profiles, notebooks)
        if not rows:
            continue
        chapter = _page_chapter(page)
        link = f"{{doc}}`{page}`" if (Path(notebooks) / f"{page}.ipynb").is_file() else page
        files = ", ".join(
            f"`profiles/{e}/{page}.yml`" for e in EDITIONS if (Path(profiles) / e / f"{page}.yml").is_file()
        )
        lines = [f"### {chapter_name(chapter)}", "", f"Chapter {link}; profile files {files}.", ""]
        shown = {r["setting"]: [(r[e], r[f"{e}_source"] == "unset") for e in EDITIONS] for r in rows}
        differ = [r for r in rows if len({repr(v) for v in shown[r["setting"]]}) > 1]
        same = [r for r in rows if r not in differ]
        if differ:
            cells = [[f"`{r['setting']}`", *(_setting_text(r[e], r[f"{e}_source"]) for e in EDITIONS)]
                     for r in differ]
            lines.append(_table(["setting", *EDITIONS], cells, SETTINGS_LATEX_COLUMNS))
        if same:
            lines += ["", "The same in both editions: " + "; ".join(
                f"`{r['setting']}` {_setting_text(r['offline'], r['offline_source'])}" for r in same) + "."]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "*No profile files were found.*"


# ------------------------------------------------------------------------------------ provenance


NOT_RECORDED = object()


def settings_differences(
    record: dict, profiles: str | os.PathLike = PROFILES_DIR, notebooks: str | os.PathLike = NOTEBOOKS_DIR
) -> list[tuple[str, object, object]] | None:
    """(setting, value the run recorded, value its profile sets) for every setting of the record's profile
    file that the run did not use (:data:`NOT_RECORDED` where the record lacks it); None where the chapter has
    no page or profile file to compare with."""
    page = chapter_page(record.get("chapter", ""), notebooks)
    if page is None or not (Path(profiles) / str(record.get("profile")) / f"{page}.yml").is_file():
        return None
    run = record.get("parameters", {})
    return [(key, run.get(key, NOT_RECORDED), value)
            for key, value in profile_settings(page, record["profile"], profiles).items()
            if run.get(key, NOT_RECORDED) != value]


def _settings_line(record: dict, profiles, notebooks) -> str:
    differences = settings_differences(record, profiles, notebooks)
    profile = record.get("profile")
    if differences is None:
        return f"- settings: no profile file of the `{profile}` edition to compare the run with"
    if not differences:
        return f"- settings: every setting of the `{profile}` profile, as listed above"
    items = "; ".join(
        f"`{key}` {'not recorded' if run is NOT_RECORDED else _cell(format_setting(run))} "
        f"(the profile: {_cell(format_setting(value))})" for key, run, value in differences)
    return f"- settings: **the run differs from the `{profile}` profile**: {items}"


def _created(text) -> str:
    return _text(str(text).replace("T", " ", 1).replace("+00:00", " UTC"))


def provenance_markdown(results_dir: str | os.PathLike, profiles: str | os.PathLike = PROFILES_DIR,
                        notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """Per chapter: its page, profile, device, commit, time, networks, seed, versions, whether the run used
    its profile's settings (:func:`settings_differences`) and, in a collapsed block, every parameter it
    recorded."""
    blocks = []
    for record in load_all_provenance(results_dir):
        chapter = record["chapter"]
        models = [Network.from_dict(m) for m in record.get("models", [])]
        parameters = record.get("parameters", {})
        cells = [[f"`{key}`", _cell(format_setting(value))] for key, value in sorted(parameters.items())]
        table = _table(["parameter", "value"], cells, PARAMETERS_LATEX_COLUMNS)
        lines = [
            f"### {chapter_name(chapter)}",
            "",
            f"- chapter {chapter_link(chapter, notebooks)}; profile `{record['profile']}`; device: "
            f"{_literal(record['device'])}; commit `{_text(record['commit'])}`; "
            f"run {_created(record['created'])}",
            f"- networks: {_literal(describe_models(models))}",
            f"- seed: {format_setting(record.get('seed'))}",
            "- versions: " + ", ".join(f"{k} {_literal(v)}" for k, v in record["versions"].items()),
            _settings_line(record, profiles, notebooks),
            "",
            f"````{{dropdown}} Every parameter of this run ({len(parameters)})",
            table,
            "````",
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "*No chapter has saved its provenance in this results folder yet.*"


# ------------------------------------------------------------------------------------ deviations

# ``{{offline.n_steps}}``: the setting of the deviation's chapter in that edition; ``{{paper.depths|len}}``:
# how many values a list holds; ``{{paper.long_run_steps:,}}``: a Python format specification
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\.(\w+)(\|len)?(?::([^}]*))?\s*\}\}")


def deviation_chapters(stem: str) -> tuple[str, ...]:
    """The chapters a ``book/deviations/<stem>.yml`` is about (:data:`DEVIATION_CHAPTERS`, else the stem)."""
    return DEVIATION_CHAPTERS.get(stem, (stem,))


def fill_settings(text: str, page: str | None, where: str, profiles: str | os.PathLike = PROFILES_DIR,
                  notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> str:
    """``text`` with every ``{{<edition>.<setting>}}`` replaced by what that edition runs ``page`` with
    (:func:`edition_settings`; see :data:`_PLACEHOLDER` for ``|len`` and format specifications).

    Raises ChaoslibError naming ``where`` for an unknown edition or setting, or where there is no page."""
    def value(match: re.Match) -> str:
        edition, key, count, spec = match.groups()
        if page is None:
            raise ChaoslibError(
                f"{where}: {match.group(0)} needs the deviation's one chapter; this file has none."
            )
        if edition not in EDITIONS:
            raise ChaoslibError(f"{where}: {match.group(0)}: the edition is one of {list(EDITIONS)}.")
        settings = edition_settings(page, edition, profiles, notebooks)
        if key not in settings or settings[key][1] == "unset":
            defaults = notebook_defaults(page, notebooks)
            if key not in defaults:
                raise ChaoslibError(f"{where}: {match.group(0)}: no setting {key!r} in {edition}/{page}.yml "
                                    f"or in the notebook's parameters.")
            setting = defaults[key]
        else:
            setting = settings[key][0]
        if count:
            setting = len(setting)
        return format(setting, spec) if spec else format_setting(setting)

    return _PLACEHOLDER.sub(value, text)


def load_deviations(
    directory: str | os.PathLike = DEVIATIONS_DIR,
    profiles: str | os.PathLike = PROFILES_DIR,
    notebooks: str | os.PathLike = NOTEBOOKS_DIR,
) -> dict[str, list[dict]]:
    """Every ``<chapter>.yml`` in ``directory``: chapter -> its entries, each with the five fields, the
    settings they name filled in from the profiles (:func:`fill_settings`).

    Raises ChaoslibError naming the file and the entry when a file is not a list of mappings with
    ``item``, ``authors``, ``ours``, ``why`` and ``parameter``, or names a setting no profile has.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ChaoslibError(
            f"{directory} does not exist; each chapter records its deviations there as <chapter>.yml."
        )
    out = {}
    for path in sorted(directory.glob("*.yml")):
        try:
            entries = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ChaoslibError(
                f"{path} is not valid YAML ({err}); quote values that start with | or >."
            ) from err
        if not isinstance(entries, list) or not entries:
            raise ChaoslibError(
                f"{path}: expected a non-empty list of entries {{{', '.join(DEVIATION_FIELDS)}}}."
            )
        chapters = deviation_chapters(path.stem)
        page = chapter_page(chapters[0], notebooks) if len(chapters) == 1 else None
        for i, entry in enumerate(entries):
            missing = [
                f for f in DEVIATION_FIELDS if not (isinstance(entry, dict) and str(entry.get(f, "")).strip())
            ]
            if missing:
                raise ChaoslibError(
                    f"{path}, entry {i + 1}: missing or empty {missing}; "
                    f"every entry states all of {list(DEVIATION_FIELDS)}."
                )
            for field in DEVIATION_FIELDS:
                entry[field] = fill_settings(str(entry[field]), page, f"{path}, entry {i + 1}, {field}",
                                             profiles, notebooks)
        out[path.stem] = entries
    return out


def deviation_heading(stem: str, notebooks: str | os.PathLike = NOTEBOOKS_DIR) -> tuple[str, str]:
    """(heading, line with links to the chapters) of a deviations file: for ``glue``, "GLUE by depth" and a
    line linking chapter ``05_glue_by_depth`` under its title; a file about several chapters links each under
    its short name."""
    chapters = deviation_chapters(stem)
    title = DEVIATION_NAMES.get(stem) or chapter_name(chapters[0] if len(chapters) == 1 else stem)
    pages = {c: chapter_page(c, notebooks) for c in chapters}
    if len(chapters) == 1:  # the chapter's own title
        return title, (f"Chapter {{doc}}`{pages[chapters[0]]}`." if pages[chapters[0]] else "")
    links = [chapter_link(c, notebooks) for c in chapters if pages[c]]  # their short names
    return title, ("Chapters " + ", ".join(links) + ".") if links else ""


def deviations_markdown(
    directory: str | os.PathLike = DEVIATIONS_DIR,
    notebooks: str | os.PathLike = NOTEBOOKS_DIR,
    profiles: str | os.PathLike = PROFILES_DIR,
) -> str:
    """Every deviation, grouped by chapter: the item, then what the authors' code does, what we do,
    why, and the parameter that switches it."""
    blocks = []
    for stem, entries in load_deviations(directory, profiles, notebooks).items():
        title, links = deviation_heading(stem, notebooks)
        lines = [f"### {title}", ""] + ([links, ""] if links else [])
        for e in entries:
            lines += [
                f"- **{_literal(e['item'])}.** *Authors:* {_literal(e['authors'])}",
                f"  *Here:* {_literal(e['ours'])} *Why:* {_literal(e['why'])} "
                f"*Switch:* {_literal(e['parameter'])}",
            ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def count_deviations(directory: str | os.PathLike = DEVIATIONS_DIR) -> dict[str, int]:
    entries = load_deviations(directory)
    return {"n_deviations": sum(len(e) for e in entries.values()), "n_deviation_chapters": len(entries)}


# ------------------------------------------------------------------------------ offline network


def network_sizes(offline: str = "albert-wikitext2", paper: str = "albert-large-v2") -> dict[str, int | str]:
    """The architectures of the offline edition's network and the paper's, for the results page's prose.

    Keys ``offline_*`` and ``paper_*``: hidden, heads, ffn, embedding, layers (the iterations of the
    shared layer in pretraining), positions (the configuration's position embeddings), vocab; plus the two
    names and ``offline_trained_tokens``: the length of the examples the offline network was pretrained on
    (its model card), so positions 0..offline_trained_tokens-1 are the trained ones.
    """
    from chaoslib.model.configs import CHECKPOINTS_DIR, albert_config

    out: dict[str, int | str] = {"offline_name": offline, "paper_name": paper}
    for prefix, name in (("offline", offline), ("paper", paper)):
        c = albert_config(name)
        out.update(
            {
                f"{prefix}_hidden": c.hidden_size,
                f"{prefix}_heads": c.num_attention_heads,
                f"{prefix}_ffn": c.intermediate_size,
                f"{prefix}_embedding": c.embedding_size,
                f"{prefix}_layers": c.num_hidden_layers,
                f"{prefix}_positions": c.max_position_embeddings,
                f"{prefix}_vocab": c.vocab_size,
            }
        )
    card = CHECKPOINTS_DIR / offline / "card.json"
    trained = json.loads(card.read_text())["training"]["config"]["n_tokens"] if card.exists() else None
    out["offline_trained_tokens"] = int(trained) if trained else out["offline_positions"]
    return out


# ------------------------------------------------------------------------------------ the pages


def page_results_dir(
    page: str, profile: str = "offline", results_dir: str | os.PathLike | None = None
) -> Path:
    """The results folder a summary page reads: ``results_dir`` when given (the book build passes its own),
    else the book's results of ``profile``. In Colab the default ``offline`` profile becomes ``paper``, as it
    does for every chapter there (:func:`chaoslib.book.colab.colab_parameters`)."""
    from chaoslib.book.chapter import default_results_dir
    from chaoslib.book.colab import colab_parameters

    if results_dir:
        return Path(results_dir)
    return default_results_dir(colab_parameters(page, profile).get("profile", profile))


def results_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The results page: show the targets (:func:`targets_markdown`) and glue for its prose the counts of
    verdicts (:func:`target_counts`), each target's verdict (``verdict_<id>``: :func:`target_verdicts`), the
    two editions' network sizes (:func:`network_sizes`), the agreement of the two measures of the transient
    (``transient_agreement``: :func:`transient_agreement`) and what the claim about scale's verdict is about
    (``scale_claim``: :func:`scale_claim`)."""
    folder = page_results_dir("results", profile, results_dir)
    _display_markdown(targets_markdown(folder))
    glued = {**target_counts(folder), **target_verdicts(folder), **network_sizes(),
             "transient_agreement": transient_agreement(folder), "scale_claim": scale_claim(folder)}
    for key, value in glued.items():
        _glue(key, value)


def machinery_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The results page's checks of the machinery (:func:`machinery_markdown`)."""
    _display_markdown(machinery_markdown(page_results_dir("results", profile, results_dir)))


def settings_page() -> None:
    """The reproducibility page's settings of the two editions (:func:`settings_markdown`), read from the
    profile files."""
    _display_markdown(settings_markdown())


def provenance_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The reproducibility page's provenance of every chapter of this build (:func:`provenance_markdown`);
    glues the counts of deviations (:func:`count_deviations`) for the next section's prose."""
    folder = page_results_dir("reproducibility", profile, results_dir)
    _display_markdown(provenance_markdown(folder))
    for key, value in count_deviations().items():
        _glue(key, value)


def deviations_page() -> None:
    """The reproducibility page's deviations from the authors' code, grouped by chapter
    (:func:`deviations_markdown`)."""
    _display_markdown(deviations_markdown())


def _display_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))


def _glue(name: str, value) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # outside the book (a plain script): nothing to glue into
        return
    glue(name, value, display=False)
