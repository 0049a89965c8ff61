"""The summary pages: reproduction targets (results page), provenance and deviations (reproducibility page).

Each page is its parameters (``profile``, ``results_dir``) and one call per section:

* :func:`results_page`: the targets table and the counts and network sizes its prose quotes.
* :func:`provenance_page` and :func:`deviations_page`: the reproducibility page's two sections.

They display the Markdown of these functions:

* :func:`targets_table`: every reproduction target of the paper with what this build measured (the text a
  chapter reported with ``Chapter.target``, which names its interval), the verdict, the networks
  that chapter ran (from its ``provenance.json``) and the chapter; a target that no chapter
  reported, or that a chapter could not check, says why.
* :func:`provenance_markdown`: per chapter, the parameters, versions, device and commit.
* :func:`deviations_markdown`: every entry of ``book/deviations/*.yml`` (item, authors, ours, why,
  parameter), grouped by chapter.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from chaoslib.errors import ChaoslibError
from chaoslib.model.network import Network
from chaoslib.provenance import describe_models, load_all_provenance, load_targets
from chaoslib.settings import REPO_ROOT

DEVIATIONS_DIR = REPO_ROOT / "book" / "deviations"
DEVIATION_FIELDS = ("item", "authors", "ours", "why", "parameter")
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"

# The reproduction targets and their claims (numbered R1..R10 and
# defines no R4 or R9)
REPRODUCTION_TARGETS = {
    "R1": "transient chaos: lambda_k > 0 early, <= 0 later",
    "R2": "pretrained transient significantly longer than random",
    "R3": "pretrained transient of order 10^4 steps or more (16 tokens)",
    "R5": "tokens synchronise at the end of the transient",
    "R6": "pretrained effective dimension higher and stable",
    "R7": "STS-B score vs depth",
    "R8": "MLM accuracy vs depth",
    "R10": "reduced map equals the full layer on synchronised states",
}
VERDICTS = {True: "**holds**", False: "**does not hold**", None: "*not checkable here*"}


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


def target_rows(results_dir: str | os.PathLike) -> list[dict]:
    """One row per target: the reproduction targets first (reported or not), then any other reported id.

    Each row: id, claim, verdict, measured, networks, chapter, note, holds (True/False/None, or
    ``"missing"`` when no chapter of this build reported it).
    """
    reported = {t["id"]: t for t in load_targets(results_dir)}
    networks = _networks_by_chapter(results_dir)
    rows = []
    for target_id in [*REPRODUCTION_TARGETS, *(k for k in reported if k not in REPRODUCTION_TARGETS)]:
        t = reported.get(target_id)
        if t is None:
            rows.append(
                dict(
                    id=target_id,
                    claim=REPRODUCTION_TARGETS[target_id],
                    verdict="*not measured*",
                    measured="",
                    networks="",
                    chapter="",
                    note="no chapter of this build reported it (its chapter did not run, or failed)",
                    holds="missing",
                )
            )
            continue
        rows.append(
            dict(
                id=target_id,
                claim=t["claim"],
                verdict=VERDICTS[t["holds"]],
                measured=t["measured"],
                networks=networks.get(t.get("chapter", ""), "(no provenance record)"),
                chapter=t.get("chapter", ""),
                note=t.get("note", "") or ("" if t["holds"] is not None else "(no reason given)"),
                holds=t["holds"],
            )
        )
    return rows


def targets_table(results_dir: str | os.PathLike) -> str:
    """The results page's table (Markdown) of :func:`target_rows`."""
    header = "| id | claim | verdict | measured in this build | networks | chapter | note |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for r in target_rows(results_dir):
        cells = [r[k] for k in ("id", "claim", "verdict", "measured", "networks", "chapter", "note")]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def target_counts(results_dir: str | os.PathLike) -> dict[str, int]:
    """How many targets hold, do not hold, cannot be checked here, or were not measured."""
    rows = target_rows(results_dir)
    return {
        "n_targets": len(rows),
        "n_hold": sum(r["holds"] is True for r in rows),
        "n_fail": sum(r["holds"] is False for r in rows),
        "n_uncheckable": sum(r["holds"] is None for r in rows),
        "n_missing": sum(r["holds"] == "missing" for r in rows),
    }


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
    shared layer in pretraining), positions (the most tokens N), vocab; plus the two names.
    """
    from chaoslib.model.configs import albert_config

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
    (:func:`target_counts`) and the two editions' network sizes (:func:`network_sizes`) for its prose."""
    folder = page_results_dir("results", profile, results_dir)
    _display_markdown(targets_table(folder))
    for key, value in {**target_counts(folder), **network_sizes()}.items():
        _glue(key, value)


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
