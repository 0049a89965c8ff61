"""chaoslib.book.sphinx_ext: the editions' adjustments, on doctrees shaped as myst-nb makes them."""

from __future__ import annotations

import json

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

from chaoslib.book.sphinx_ext import (
    API_LAYERS,
    PDF_NAME,
    api_reference_markdown,
    drop_html_only_chapters,
    edition,
    escape_shape_stars,
    footer_html,
    intro_as_one_chapter,
    package_modules,
    strip_code,
    tag_injected_parameters,
    title_page_latex,
    unique_scripts,
)


def test_injected_parameters_cell_is_collapsed():
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["parameters", "hide-cell"]}, "source": "a = 1"},
            {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "a = 2"},
            {"cell_type": "code", "metadata": {}, "source": "f(a)"},
        ]
    }
    out = json.loads(tag_injected_parameters(json.dumps(nb)))
    assert [c["metadata"].get("tags") for c in out["cells"]] == [
        ["parameters", "hide-cell"],
        ["injected-parameters", "hide-cell"],
        None,
    ]
    prompts = [c["metadata"].get("mystnb", {}).get("code_prompt_show") for c in out["cells"]]
    assert prompts[0] != prompts[1] and None not in prompts[:2] and prompts[2] is None
    plain = json.dumps({"cells": []})
    assert tag_injected_parameters(plain) is plain  # untouched when papermill injected nothing


def test_injected_parameters_are_removed_with_a_removed_parameters_cell():
    """A summary page removes its parameters cell: papermill's injected cell goes too, not collapsed."""
    nb = {"cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters", "remove-cell"]}, "source": "a = 1"},
        {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}, "source": "a = 2"},
    ]}
    out = json.loads(tag_injected_parameters(json.dumps(nb)))
    assert out["cells"][1]["metadata"]["tags"] == ["injected-parameters", "remove-cell"]


def _executed(path, profile):
    path.write_text(json.dumps({"cells": [], "metadata": {"papermill": {"parameters": {"profile": profile}}}}))


def test_edition_is_read_from_the_executed_chapters(tmp_path):
    assert edition(tmp_path) == "not executed"
    _executed(tmp_path / "01_a.ipynb", "offline")
    _executed(tmp_path / "02_b.ipynb", "offline")
    assert edition(tmp_path) == "offline"
    _executed(tmp_path / "03_c.ipynb", "paper")
    assert edition(tmp_path) == "mixed (offline, paper)"


def test_title_page_and_footer_state_the_build():
    stamp = {"commit": "0123456789ab", "date": "2026-12-07", "edition": "offline"}
    title = title_page_latex(stamp, "Transient Chaos in BERT: a reproducible book", "The chaoslib authors")
    assert title.startswith("\\begin{titlepage}") and title.rstrip().endswith("\\end{titlepage}")
    for expected in ("Phys. Rev. Research 4, 013204 (2022)", "Inoue", "Offline edition",
                     "\\texttt{0123456789ab} on 2026-12-07"):
        assert expected in title
    assert "Paper edition" in title_page_latex({**stamp, "edition": "paper"}, "T", "A")
    footer = footer_html(stamp)
    assert f'href="{PDF_NAME}"' in footer and "0123456789ab" in footer and "2026-12-07" in footer
    assert 'href="intro.html#how-to-cite"' in footer and "MIT" in footer


def test_html_only_chapters_leave_the_pdf_but_their_citations_stay():
    from sphinx import addnodes

    doc = new_document("<test>", get_default_settings(Parser))
    wrapper = nodes.compound(classes=["toctree-wrapper"])
    for name in ("results", "bibliography", "api"):
        chapter = addnodes.start_of_file(docname=name)
        section = nodes.section()
        section += nodes.title("", name.title())
        section += nodes.paragraph("", f"{name} prose")
        if name == "bibliography":
            citation = nodes.citation(ids=["inoue2022"])
            citation += nodes.label("", "Inoue2022")
            citation += nodes.paragraph("", "Transient chaos in BERT")
            section += citation
        chapter += section
        wrapper += chapter
    doc += wrapper
    assert drop_html_only_chapters(doc) == ["bibliography", "api"]
    assert [c.get("docname") for c in doc.findall(addnodes.start_of_file)] == ["results"]
    text = doc.astext()
    assert "bibliography prose" not in text and "api prose" not in text and "results prose" in text
    assert [c["ids"] for c in doc.findall(nodes.citation)] == [["inoue2022"]]


def _cell(tags, source=True, outputs=()):
    cell = nodes.container(nb_element="cell_code", cell_metadata={"tags": list(tags)}, classes=["cell"])
    if source:
        src = nodes.container(nb_element="cell_code_source")
        src += nodes.literal_block("", "ch.figure('x', f(ds))")
        cell += src
    if outputs:
        out = nodes.container(nb_element="cell_code_output")
        for kind in outputs:
            if kind == "image":
                out += nodes.image(uri="x.png")
            else:
                out += nodes.literal_block("", "log line", classes=["output", kind])
        cell += out
    return cell


def test_strip_code_keeps_figures_and_drops_code_and_logs():
    doc = new_document("<test>", get_default_settings(Parser))
    section = nodes.section()
    section += nodes.title("", "Chapter")
    section += nodes.paragraph("", "prose")
    section += _cell(["parameters", "hide-cell"])
    section += _cell(["injected-parameters", "hide-cell"])
    section += _cell(["hide-input"], outputs=["stream", "image"])
    section += _cell(["hide-input"], outputs=["stderr", "text_plain"])
    section += nodes.literal_block("", "a code block written in the prose stays")
    doc += section
    removed = strip_code(doc)
    assert removed == {"sources": 2, "parameter_cells": 2, "text_outputs": 3, "empty_cells": 1}
    kept = [c for c in doc.findall(nodes.container) if c.get("nb_element") == "cell_code"]
    assert len(kept) == 1 and len(list(kept[0].findall(nodes.image))) == 1
    assert not [c for c in doc.findall(nodes.container) if c.get("nb_element") == "cell_code_source"]
    assert "prose stays" in doc.astext()


def test_intro_becomes_one_unnumbered_chapter():
    from sphinx import addnodes

    doc = new_document("<test>", get_default_settings(Parser))
    root = nodes.section(ids=["title"])
    root += nodes.title("", "The book")
    root += nodes.paragraph("", "opening")
    claims = nodes.section(ids=["what-the-paper-claims"])
    claims += nodes.title("", "What the paper claims")
    claims += nodes.paragraph("", "claims text")
    wrapper = nodes.compound(classes=["toctree-wrapper"])
    chapter = addnodes.start_of_file(docname="01_trajectories")
    chapter_section = nodes.section()
    chapter_section += nodes.title("", "Trajectories")
    chapter += chapter_section
    wrapper += chapter
    claims += wrapper  # sphinx-external-toc may leave the toctree inside the last section
    root += claims
    doc += root
    intro_as_one_chapter(doc, {"01_trajectories": "Dynamics"})
    raw = [n.astext() for n in doc.findall(nodes.raw)]
    assert raw[0].startswith("\\chapter*{Introduction}")
    assert "\\section*{What the paper claims}\n" in raw
    assert "\\part{Dynamics}\n" in raw
    # only the root's title and the inlined chapter remain as sections
    assert [s[0].astext() for s in doc.findall(nodes.section)] == ["The book", "Trajectories"]
    # order: opening, the claims, then the part and its chapter
    text = doc.astext()
    assert text.index("opening") < text.index("claims text") < text.index("Trajectories")
    assert any("what-the-paper-claims" in t.get("ids", []) for t in doc.findall(nodes.target))


def test_api_reference_covers_every_module_in_a_layer():
    modules = package_modules()
    assert "chaoslib.dynamics.lyapunov" in modules and "chaoslib.book.sphinx_ext" in modules
    page = api_reference_markdown(modules)
    for module in modules:
        assert f".. automodule:: {module}\n" in page
    # a module outside every layer would land under "Other modules": give it a layer instead
    assert "## Other modules" not in page, "add the new module's package to API_LAYERS"
    headings = [line[3:] for line in page.splitlines() if line.startswith("## ")]
    assert headings == [title for title, _ in API_LAYERS]
    assert "## Other modules" in api_reference_markdown(["chaoslib.newthing.x"])


def test_shape_stars_are_escaped_outside_literals():
    """``(batch, *state)`` in a docstring: reStructuredText reads the star as an emphasis that never ends and
    links it to a missing anchor; escaped, it renders as a star. Literals and real emphasis are untouched."""
    assert escape_shape_stars("any map (batch, *state) -> (batch, *state)") == (
        "any map (batch, \\*state) -> (batch, \\*state)"
    )
    assert escape_shape_stars("x: (*state)") == "x: (\\*state)"
    literal = "for ``step(x: (batch, *state))`` only"
    assert escape_shape_stars(literal) == literal
    assert escape_shape_stars("an *emphasised* word") == "an *emphasised* word"
    assert escape_shape_stars("share with |l - l_perp| <= tau") == "share with \\|l - l_perp\\| <= tau"
    from docutils.core import publish_doctree

    text = "map (batch, *state) -> (batch, *state) where |l - l_perp| <= tau"
    raw = publish_doctree(text, settings_overrides={"report_level": 5})
    assert list(raw.findall(nodes.problematic))  # what the API page showed before
    tree = publish_doctree(escape_shape_stars(text), settings_overrides={"report_level": 5})
    assert not list(tree.findall(nodes.problematic)) and tree.astext() == text


def test_unique_scripts_drops_the_repeated_inline_script():
    class Script:
        def __init__(self, filename, body):
            self.filename, self.attributes = filename, {"body": body}

    scripts = [Script("a.js", ""), Script(None, "const X = 1"), Script("", "const X = 1"), Script(None, "var y")]
    kept = unique_scripts(scripts)
    assert [s.attributes["body"] for s in kept] == ["", "const X = 1", "var y"]
    assert unique_scripts(["a.js", "a.js", "b.js"]) == ["a.js", "b.js"]
