"""The summary pages: reproduction targets (results page), provenance and deviations (reproducibility page).

Each page is its parameters (``profile``, ``results_dir``) and one call per section:

* :func:`results_page`: the targets table and the counts, network sizes and the agreement of the two
  measures of the transient that its prose quotes; :func:`machinery_page`: the checks of the machinery.
* :func:`provenance_page` and :func:`deviations_page`: the reproducibility page's two sections.

They display the Markdown of these functions:

* :func:`targets_table`: every reproduction target of the paper with its verdict ("holds", "does not hold",
  "not testable here"), the unit of its test, its headline number with the 95% interval, the control
  networks it was compared with, what this build measured (the text a chapter reported with
  ``Chapter.verdict``), the networks that chapter ran (from its ``provenance.json``) and the chapter; the
  reason wherever it is not testable here, and why a target no chapter reported is missing. Target files
  written before units, intervals, controls and reasons were recorded still render (their cells say so).
* :func:`machinery_table`: the checks of the machinery (records whose unit is the layer's algebra), apart
  from the paper's claims.
* :func:`transient_agreement`: whether chapter 02's chaos length and chapter 03's synchronisation time agree.
* :func:`provenance_markdown`: per chapter, the parameters, versions, device and commit.
* :func:`deviations_markdown`: every entry of ``book/deviations/*.yml`` (item, authors, ours, why,
  parameter), grouped by chapter.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import yaml

from chaoslib.book.reports.verdicts import VERDICTS as WORDS
from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.provenance import describe_models, load_all_provenance, load_targets
from chaoslib.settings import REPO_ROOT

DEVIATIONS_DIR = REPO_ROOT / "book" / "deviations"
DEVIATION_FIELDS = ("item", "authors", "ours", "why", "parameter")
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

# The paper's claims that the book tests, under the ids of the project's list of targets; that list numbers
# them R1..R8 and has no R4 (the numbering is kept so that ids stay stable across editions).
REPRODUCTION_TARGETS = {
    "R1": "transient chaos: lambda_k > 0 early, <= 0 later",
    "R2": "pretrained transient significantly longer than random",
    "R3": "pretrained transient of order 10^4 steps or more (16 tokens)",
    "R5": "tokens synchronise at the end of the transient",
    "R6": "pretrained effective dimension higher and stable",
    "R7": "STS-B score vs depth",
    "R8": "MLM accuracy vs depth",
}
# Checks of the machinery: identities of the layer's algebra that the estimators rely on, not claims of the
# paper. A record joins them by its unit; an older record without a unit, by its id.
MACHINERY_UNIT = "the layer's algebra"
MACHINERY_CHECKS = {"R10": "reduced map equals the full layer on synchronised states"}
VERDICTS = {True: f"**{WORDS[True]}**", False: f"**{WORDS[False]}**", None: f"*{WORDS[None]}*"}
NOT_MEASURED = "*not measured*"
NOT_GIVEN = "—"  # a field an older target file does not have


def _text(value) -> str:
    """One line of Markdown."""
    return " ".join(str(value).split())


def _cell(value) -> str:
    """One Markdown table cell: one line, no pipes (they would split the cell)."""
    return _text(value).replace("|", "/")


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
    return ", ".join(map(str, controls)) if controls else "none"


def _row(target_id: str, claim: str, target: dict | None, networks: dict[str, str]) -> dict:
    """One row of a results table: id, claim, verdict, unit, interval, controls, measured, networks, chapter,
    reason (only when not testable here), note, holds (True/False/None, or "missing": no file)."""
    if target is None:
        return dict(id=target_id, claim=claim, verdict=NOT_MEASURED, unit="", interval="", controls="",
                    measured="", networks="", chapter="", reason="",
                    note="no chapter of this build reported it (its chapter did not run, or failed)",
                    holds="missing")
    holds = target["holds"]
    reason = _reason(target) if holds is None else ""
    note = target.get("note", "")
    if holds is None and not target.get("reason"):
        note = ""  # an older file's note is its reason, shown once
    return dict(
        id=target_id, claim=target.get("claim", claim), verdict=VERDICTS[holds],
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


TARGET_COLUMNS = {"id": "id", "claim": "claim", "verdict": "verdict", "unit": "unit of the test",
                  "interval": "headline with its 95% interval", "controls": "controls compared",
                  "measured": "measured in this build", "networks": "networks", "chapter": "chapter",
                  "why": "reason (not testable here) / note"}
MACHINERY_COLUMNS = {"id": "id", "claim": "check", "verdict": "verdict", "measured": "measured in this build",
                     "chapter": "chapter", "why": "reason / note"}


def _why(row: dict) -> str:
    """The last column: the reason where the target is not testable here, then any note."""
    parts = [f"reason: {row['reason']}" if row["reason"] else "", row["note"]]
    return "; ".join(p for p in parts if p)


def _table(rows: list[dict], columns: dict[str, str]) -> str:
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [_why(r) if key == "why" else r[key] for key in columns]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def targets_table(results_dir: str | os.PathLike) -> str:
    """The results page's table (Markdown) of :func:`target_rows`."""
    return _table(target_rows(results_dir), TARGET_COLUMNS)


def machinery_table(results_dir: str | os.PathLike) -> str:
    """The results page's short table (Markdown) of the checks of the machinery (:func:`machinery_rows`)."""
    return _table(machinery_rows(results_dir), MACHINERY_COLUMNS)


def target_counts(results_dir: str | os.PathLike) -> dict[str, int]:
    """How many of the paper's claims hold, do not hold, are not testable here, or were not measured; and how
    many checks of the machinery there are and hold."""
    rows, checks = target_rows(results_dir), machinery_rows(results_dir)
    return {
        "n_targets": len(rows),
        "n_hold": sum(r["holds"] is True for r in rows),
        "n_fail": sum(r["holds"] is False for r in rows),
        "n_untestable": sum(r["holds"] is None for r in rows),
        "n_missing": sum(r["holds"] == "missing" for r in rows),
        "n_checks": len(checks),
        "n_checks_hold": sum(r["holds"] is True for r in checks),
    }


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


# ------------------------------------------------------------------------------------ provenance


def provenance_markdown(results_dir: str | os.PathLike) -> str:
    """Per chapter: profile, device, commit, networks, seed, versions and the parameters table."""
    blocks = []
    for record in load_all_provenance(results_dir):
        models = [Network.from_dict(m) for m in record.get("models", [])]
        lines = [
            f"### {record['chapter']}",
            "",
            f"- profile: `{record['profile']}`; device: {record['device']}; commit: `{record['commit']}`; "
            f"created {record['created']}",
            f"- networks: {describe_models(models)}",
            f"- seed: {record.get('seed')}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()),
            "",
            "| parameter | value |",
            "|---|---|",
        ]
        for key, value in sorted(record.get("parameters", {}).items()):
            lines.append(f"| `{key}` | `{_cell(json.dumps(value, default=str)[:120])}` |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "*No chapter has saved its provenance in this results folder yet.*"


# ------------------------------------------------------------------------------------ deviations


def load_deviations(directory: str | os.PathLike = DEVIATIONS_DIR) -> dict[str, list[dict]]:
    """Every ``<chapter>.yml`` in ``directory``: chapter -> its entries, each with the five fields.

    Raises ChaoslibError naming the file and the entry when a file is not a list of mappings with
    ``item``, ``authors``, ``ours``, ``why`` and ``parameter``.
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
        for i, entry in enumerate(entries):
            missing = [
                f for f in DEVIATION_FIELDS if not (isinstance(entry, dict) and str(entry.get(f, "")).strip())
            ]
            if missing:
                raise ChaoslibError(
                    f"{path}, entry {i + 1}: missing or empty {missing}; "
                    f"every entry states all of {list(DEVIATION_FIELDS)}."
                )
        out[path.stem] = entries
    return out


def _chapter_heading(stem: str, notebooks: Path) -> str:
    """``Readout (07_handwriting_readout)`` when a chapter notebook's name ends with the file's stem."""
    title = stem.replace("_", " ").capitalize()
    matches = sorted(p.stem for p in notebooks.glob("[0-9]*.ipynb") if p.stem.endswith(stem))
    return f"{title} ({matches[0]})" if matches else title


def deviations_markdown(
    directory: str | os.PathLike = DEVIATIONS_DIR, notebooks: str | os.PathLike = NOTEBOOKS_DIR
) -> str:
    """Every deviation, grouped by chapter: the item, then what the authors' code does, what we do,
    why, and the parameter that switches it."""
    blocks = []
    for stem, entries in load_deviations(directory).items():
        lines = [f"### {_chapter_heading(stem, Path(notebooks))}", ""]
        for e in entries:
            lines += [
                f"- **{_text(e['item'])}.** *Authors:* {_text(e['authors'])}",
                f"  *Here:* {_text(e['ours'])} *Why:* {_text(e['why'])} *Switch:* {_text(e['parameter'])}",
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
    """The results page: show the targets table (:func:`targets_table`) and glue the counts of verdicts
    (:func:`target_counts`), the two editions' network sizes (:func:`network_sizes`) and the agreement of the
    two measures of the transient (``transient_agreement``: :func:`transient_agreement`) for its prose."""
    folder = page_results_dir("results", profile, results_dir)
    _display_markdown(targets_table(folder))
    for key, value in {**target_counts(folder), **network_sizes(),
                       "transient_agreement": transient_agreement(folder)}.items():
        _glue(key, value)


def machinery_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The results page's checks of the machinery (:func:`machinery_table`)."""
    _display_markdown(machinery_table(page_results_dir("results", profile, results_dir)))


def provenance_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The reproducibility page's first section: the provenance of every chapter
    (:func:`provenance_markdown`); glues the counts of deviations (:func:`count_deviations`) for the next
    section's prose."""
    folder = page_results_dir("reproducibility", profile, results_dir)
    _display_markdown("## Provenance per chapter\n\n" + provenance_markdown(folder))
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
