"""The landing page's abstract, glued from the results of the build (never typed: a verdict that changes
changes the abstract).

It reads what the chapters recorded under ``results/<profile>/``: the target records (through
:mod:`chaoslib.book.summary`), each chapter's provenance (which networks ran) and glued numbers, and the
shipped model card of a network pretrained here. Every function returns Markdown (MyST) for ``{glue:md}``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from chaoslib.book import summary
from chaoslib.book.reports.verdicts import VERDICTS
from chaoslib.model.configs import CHECKPOINTS_DIR
from chaoslib.model.network import Network
from chaoslib.provenance import load_all_provenance
from chaoslib.store import read_json

# the chapter whose reference network names the edition, and the one that holds the headline
EDITION_CHAPTER = "exponents"
HEADLINE_CHAPTER = "synchronisation"


def reference_network(results_dir: str | os.PathLike, chapter: str = EDITION_CHAPTER) -> Network:
    """The reference network of ``chapter`` (the first pretrained network it ran), from its provenance record."""
    for record in load_all_provenance(results_dir):
        if record.get("chapter") != chapter:
            continue
        models = [Network.from_dict(m) for m in record.get("models", [])]
        pretrained = [m for m in models if m.weights == "pretrained"]
        if pretrained:
            return pretrained[0]
        if models:
            return models[0]
    raise FileNotFoundError(f"no provenance record of chapter {chapter!r} under {results_dir}: run the chapter.")


def network_markdown(network: Network, checkpoints: Path = CHECKPOINTS_DIR) -> str:
    """One phrase naming the edition's network and where its weights come from, e.g. ``**albert-wikitext2**, an
    ALBERT pretrained here on WikiText-2 (D = 128, ...)``."""
    if network.weights != "pretrained":
        return f"**{network.label()}**, a network with random weights (no pretrained network ran)"
    card_path = checkpoints / network.name / "card.json"
    if not card_path.exists():
        return f"**{network.name}**, the pretrained ALBERT from the Hugging Face hub"
    card, config = read_json(card_path), read_json(checkpoints / network.name / "config.json")
    evaluation = card.get("test", {}).get("evaluation", {})
    accuracy = evaluation.get("mlm_accuracy")
    tokens = card.get("training", {}).get("tokens_seen")
    facts = [f"$D = {config['hidden_size']}$",
             f"its shared layer applied $L = {config['num_hidden_layers']}$ times in training"]
    if tokens:
        facts.append(f"{tokens / 1e6:.0f} M tokens")
    if accuracy is not None:
        facts.append(f"{100 * accuracy:.1f}% masked-token accuracy on WikiText-2 test")
    return f"**{network.name}**, an ALBERT pretrained here on WikiText-2 ({', '.join(facts)})"


def targets_phrase(counts: dict[str, int]) -> str:
    """``K of M targets hold`` (``holds`` when K is 1), M the paper's claims this book checks."""
    hold, total = counts["n_hold"], counts["n_targets"]
    return f"{hold} of {total} targets {'holds' if hold == 1 else 'hold'}"


def _link(chapter: str, notebooks: Path | None) -> str:
    page = summary.chapter_page(chapter, notebooks or summary.NOTEBOOKS_DIR)
    return f"{{doc}}`{page}`" if page else chapter


def verdict_list_markdown(rows: list[dict], notebooks: Path | None = None) -> str:
    """A bullet per target: id, claim, verdict, its number with interval and unit, its chapter (links)."""
    lines = []
    for row in rows:
        verdict = row["verdict"]
        detail = row["interval"] if row["interval"] not in ("", summary.NOT_GIVEN) else row["measured"]
        unit = f" (unit: {row['unit']})" if row["unit"] not in ("", summary.NOT_GIVEN) else ""
        why = f" Why: {row['reason'].rstrip('.')}." if row["holds"] is None and row["reason"] else ""
        where = f" See {_link(row['chapter'], notebooks)}." if row["chapter"] else ""
        text = " ".join(f"**{row['id']}** {row.get('short_claim') or row['claim']}: {verdict}.".split())
        lines.append(f"- {text} {summary._text(detail)}{unit}.{why}{where}".replace("..", "."))
    return "\n".join(lines)


def _finite(*values) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def headline_markdown(numbers: dict, network: str) -> str:
    """The synchronisation headline from chapter 03's numbers: how many times sooner (or later) the reference's
    tokens synchronise than the random networks', with the interval (networks, then inputs)."""
    ref, rand = numbers.get("sync_ref_median"), numbers.get("sync_rand_median")
    ratio, low, high = numbers.get("sync_ratio"), numbers.get("sync_ratio_low"), numbers.get("sync_ratio_high")
    n_random = numbers.get("sync_n_random")
    if not _finite(ref, rand, ratio) or ratio <= 0:
        return "The synchronisation chapter recorded no comparison with random networks in this build."
    if ratio < 1:
        factor, how = 1 / ratio, "sooner"
        bounds = (1 / high, 1 / low) if _finite(low, high) and low > 0 else None
    else:
        factor, how = ratio, "later"
        bounds = (low, high) if _finite(low, high) else None
    interval = f" (95% interval {bounds[0]:.3g} to {bounds[1]:.3g}, networks then inputs)" if bounds else ""
    excludes_one = _finite(low, high) and (high < 1 or low > 1)
    hedge = "" if excludes_one else " — an interval that includes equality, so no difference is shown"
    return (
        f"**{network}'s tokens synchronise about {factor:.3g} times {how} than those of {n_random} random "
        f"networks**{interval}{hedge}: a median $t_{{\\mathrm{{sync}}}}$ of {ref:.0f} steps against {rand:.0f}."
    )


def abstract(results_dir: str | os.PathLike, notebooks: Path | None = None) -> dict[str, str]:
    """The landing page's glued pieces (Markdown): ``overview_network``, ``overview_targets`` (one phrase),
    ``overview_verdicts`` (a bullet list), ``overview_checks`` and ``overview_headline``."""
    results_dir = Path(results_dir)
    network = reference_network(results_dir)
    counts = summary.target_counts(results_dir)
    numbers_path = results_dir / HEADLINE_CHAPTER / "numbers.json"
    numbers = read_json(numbers_path) if numbers_path.exists() else {}
    checks = summary.machinery_rows(results_dir)
    held = sum(r["holds"] is True for r in checks)
    return {
        "overview_network": network_markdown(network),
        "overview_targets": targets_phrase(counts),
        "overview_verdicts": verdict_list_markdown(summary.target_rows(results_dir), notebooks),
        "overview_checks": (
            f"{held} of {len(checks)} checks of the machinery {'holds' if held == 1 else 'hold'} "
            f"({', '.join(r['id'] for r in checks)}; '{VERDICTS[True]}' means the computation agrees with its "
            "independent reference)"
        ),
        "overview_headline": headline_markdown(numbers, network.name),
    }


# the key figure of the landing page: a chapter's saved figure (with its own provenance stamp)
KEY_FIGURE = ("synchronisation", "sync_offsets")


def key_figure_path(results_dir: str | os.PathLike, chapter: str = KEY_FIGURE[0], name: str = KEY_FIGURE[1]) -> Path:
    """The PNG a chapter saved beside its results (:meth:`chaoslib.book.chapter.Chapter.figure`)."""
    path = Path(results_dir) / chapter / f"{name}.png"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the {chapter} chapter did not save its figure {name!r}.")
    return path


def overview_page(profile: str = "offline", results_dir: str | os.PathLike | None = None) -> None:
    """The landing page: glue the abstract's pieces (:func:`abstract`; ``overview_targets`` as plain text, the
    rest as MyST Markdown) and the key figure (``overview_figure``)."""
    from IPython.display import Image, Markdown

    folder = summary.page_results_dir("intro", profile, results_dir)
    for key, text in abstract(folder).items():
        summary._glue(key, text if key == "overview_targets" else Markdown(text))
    summary._glue("overview_figure", Image(filename=str(key_figure_path(folder))))
