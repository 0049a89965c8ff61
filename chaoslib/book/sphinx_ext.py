"""Sphinx extension that makes the rendered book read like the paper (loaded from ``_config.yml``).

jupyter-book renders one set of parsed pages into two editions; this extension adjusts each:

HTML
    * papermill's ``injected-parameters`` cell is collapsed like the parameters cell (it gets the
      ``hide-cell`` tag when the notebook is read), so the profile's values are one click away;
    * MathJax comes from the book itself (``_static/mathjax/tex-svg-full.js``, set as
      ``mathjax_path`` in ``_config.yml``): jupyter-book adds every ``.js`` file under ``_static``
      to every page, which would load MathJax a second time, so that entry is dropped here.

PDF (any LaTeX builder)
    * no code at all: the source of every code cell, the parameters and injected-parameters cells
      and the plain-text outputs of code cells (logs, progress bars, reprs of values) are removed;
      figures, tables (Markdown outputs), equations and prose stay;
    * the root page (the introduction) becomes one unnumbered chapter, ``Introduction``, with its
      sections as unnumbered sections, instead of one chapter per section, so the chapters carry
      the same numbers as in the HTML edition (Fig. 2.3 is Fig. 2.3 in both);
    * each part of the table of contents opens with ``\\part{caption}``;
    * a title page with the paper's citation, the edition (the profile the chapters were executed with) and
      the commit;
    * the HTML-only pages (:data:`HTML_ONLY_DOCS`: the bibliography's preface, the API reference) are left
      out; the references are printed at the end.

Both
    * every HTML page's footer says which commit, date and edition it was built from, links to the PDF
      (copied into the HTML tree when the HTML is built) and to how to cite, and states the licence.

API reference
    ``book/api.md`` holds the marker ``<!-- chaoslib-api -->``; when the page is read, it is
    replaced by one ``automodule`` section per module of the package, grouped by layer, so a new
    module appears in the reference without editing the page.

The HTML edition keeps the code behind "show code" toggles, the PDF has none: this is why the
removal is done here for the LaTeX builder, at the last step, on the assembled document, rather
than by a notebook-wide option that would also remove the code from the HTML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes

# cells that hold the run's parameters: collapsed in HTML, gone from the PDF
PARAMETER_TAGS = {"parameters", "injected-parameters"}
LATEX_FORMAT = "latex"
INTRO_TITLE = "Introduction"
API_DOCNAME = "api"
API_MARKER = "<!-- chaoslib-api -->"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# the package's layers, in the order the data flows: the reference's sections, and the one-way import rule
# that tests/foundation/test_imports.py checks
API_LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Foundation",
        (
            "chaoslib.errors",
            "chaoslib.settings",
            "chaoslib.store",
            "chaoslib.provenance",
            "chaoslib.stats",
            "chaoslib.sweep",
        ),
    ),
    ("Data", ("chaoslib.data",)),
    ("Model", ("chaoslib.model",)),
    ("Dynamics", ("chaoslib.dynamics",)),
    ("Studies", ("chaoslib.studies",)),
    ("Tasks", ("chaoslib.tasks",)),
    ("Pretraining", ("chaoslib.pretraining",)),
    ("Book", ("chaoslib.book",)),
]


def package_modules(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Dotted names of the package's modules (not ``__init__``/``__main__``, not ``_private``)."""
    names = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] in ("__init__", "__main__") or any(p.startswith("_") for p in parts):
            continue
        names.append(".".join(parts))
    return names


def api_reference_markdown(modules: list[str]) -> str:
    """MyST for the API reference: a section per layer, an ``automodule`` per module."""
    out, placed = [], set()
    for title, prefixes in API_LAYERS + [("Other modules", ("",))]:
        members = [
            m
            for m in modules
            if m not in placed and any(m == p or m.startswith(p + ".") or not p for p in prefixes)
        ]
        if not members:
            continue
        placed.update(members)
        out.append(f"## {title}\n")
        for module in members:
            out.append(f"### `{module}`\n\n```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n```\n")
    return "\n".join(out)


PROMPTS = {
    "parameters": "Parameters: this chapter's defaults",
    "injected-parameters": "Parameters of this edition (its profile)",
}


def tag_injected_parameters(notebook_json: str) -> str:
    """Collapse papermill's ``injected-parameters`` cell (``hide-cell``) and label both parameter
    cells' toggles; a notebook without them is returned unchanged.

    Args:
        notebook_json: an ``.ipynb`` file's text.

    Returns:
        The notebook's text, re-serialised only when something was added.
    """
    if '"parameters"' not in notebook_json and "injected-parameters" not in notebook_json:
        return notebook_json
    nb = json.loads(notebook_json)
    changed = False
    # a page whose own parameters cell is removed (the summary pages) shows neither parameters cell
    removed = any(
        {"parameters", "remove-cell"} <= set(cell.get("metadata", {}).get("tags", [])) for cell in nb.get("cells", [])
    )
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        kind = (
            "injected-parameters"
            if "injected-parameters" in tags
            else "parameters"
            if "parameters" in tags
            else None
        )
        if kind is None:
            continue
        if kind == "injected-parameters" and removed and "remove-cell" not in tags:
            tags.append("remove-cell")
        elif kind == "injected-parameters" and not removed and "hide-cell" not in tags:
            tags.append("hide-cell")
        # myst-nb's cell-level setting for the toggle's label
        cell["metadata"].setdefault("mystnb", {}).setdefault("code_prompt_show", PROMPTS[kind])
        changed = True
    return json.dumps(nb) if changed else notebook_json


def _source_read(app, docname: str, source: list[str]) -> None:
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = tag_injected_parameters(source[0])
    elif docname == API_DOCNAME and API_MARKER in source[0]:
        source[0] = source[0].replace(API_MARKER, api_reference_markdown(package_modules()))


PDF_NAME = "transient-chaos-bert.pdf"
PAPER_CITATION = (
    "K. Inoue, S. Ohara, Y. Kuniyoshi and K. Nakajima, \u201cTransient chaos in BERT\u201d, "
    "Phys. Rev. Research 4, 013204 (2022), doi:10.1103/PhysRevResearch.4.013204"
)
EDITIONS = {
    "offline": "Offline edition: an ALBERT pretrained by this project on WikiText-2 against random networks, "
               "computed on a CPU without network access",
    "paper": "Paper edition: the pretrained albert-large-v2 against random networks, the paper's settings, "
             "computed on a GPU",
}
# closing pages that are HTML only: the PDF prints its references at the end without the page's preface, and
# the API reference is generated from the docstrings for the HTML edition
HTML_ONLY_DOCS = ("bibliography", "api")


def edition(srcdir: Path) -> str:
    """The profile the executed chapters of ``srcdir`` were built with (papermill's record of the injected
    ``profile``): ``offline``, ``paper``, ``mixed (offline, paper)``, or ``not executed``."""
    profiles = set()
    for notebook in sorted(Path(srcdir).glob("*.ipynb")):
        try:
            parameters = json.loads(notebook.read_text()).get("metadata", {}).get("papermill", {}).get("parameters", {})
        except (OSError, ValueError):
            continue
        if "profile" in parameters:
            profiles.add(str(parameters["profile"]))
    if not profiles:
        return "not executed"
    return profiles.pop() if len(profiles) == 1 else f"mixed ({', '.join(sorted(profiles))})"


def build_stamp(srcdir: Path) -> dict[str, str]:
    """What every page says of its build: ``commit`` (with ``+dirty`` for uncommitted changes), ``date`` (UTC,
    of the build) and ``edition`` (:func:`edition`)."""
    from datetime import datetime, timezone

    from chaoslib.provenance import git_commit

    return {"commit": git_commit(), "date": datetime.now(timezone.utc).date().isoformat(),
            "edition": edition(srcdir)}


def footer_html(stamp: dict[str, str]) -> str:
    """The HTML footer of every page: the build, the PDF (relative link: every page sits at the top of the
    site), how to cite and the licence."""
    return (
        f'Built from commit <code>{stamp["commit"]}</code> on {stamp["date"]} ({stamp["edition"]} edition)'
        f' &middot; <a href="{PDF_NAME}">PDF edition</a>'
        ' &middot; <a href="intro.html#how-to-cite">How to cite</a>'
        ' &middot; Code: MIT licence; text and figures: CC BY 4.0'
    )


def title_page_latex(stamp: dict[str, str], title: str, author: str) -> str:
    """The PDF's title page: title, authors, the paper it reproduces, the edition and the commit."""
    edition_text = EDITIONS.get(stamp["edition"], f"Edition: {stamp['edition']}")
    citation = PAPER_CITATION.replace("\u201c", "``").replace("\u201d", "''")
    return (
        "\\begin{titlepage}\\centering\n"
        f"\\vspace*{{3cm}}{{\\Huge\\bfseries {_latex_escape(title)}\\par}}\n"
        f"\\vspace{{1.5cm}}{{\\Large {_latex_escape(author)}\\par}}\n"
        "\\vspace{2cm}{\\large A reproduction of\\par}\\vspace{0.5em}\n"
        f"{{\\large {_latex_escape(citation)}\\par}}\n"
        f"\\vspace{{2cm}}{{\\large {_latex_escape(edition_text)}\\par}}\n"
        "\\vfill\n"
        f"Built from commit \\texttt{{{_latex_escape(stamp['commit'])}}} on {stamp['date']}.\\par\n"
        "The HTML edition adds the code of every chapter and the reference of chaoslib's API.\\par\n"
        "Code: MIT licence; text and figures: CC BY 4.0.\\par\n"
        "\\end{titlepage}\n"
    )


def _book_title(config) -> str:
    """The book's title as jupyter-book passes it (``html_title`` from ``_config.yml``'s ``title``)."""
    for candidate in (getattr(config, "html_title", None), config.project):
        if candidate and candidate != "Project name not set":
            return str(candidate)
    return "Transient Chaos in BERT"


def _config_inited(app, config) -> None:
    stamp = build_stamp(Path(app.srcdir))
    theme_options = dict(config.html_theme_options or {})
    theme_options["extra_footer"] = footer_html(stamp)
    config.html_theme_options = theme_options
    # pydata-sphinx-theme reads the colour mode from the reader's storage or the page context's default; left
    # empty, every first visit logs "Got invalid theme mode" to the console
    config.html_context = {**(config.html_context or {}), "default_mode": "light"}
    config.latex_elements = {
        **(config.latex_elements or {}),
        "maketitle": title_page_latex(stamp, _book_title(config), config.author or ""),
    }
    # jupyter-book lists every .js under _static as a page script; MathJax is loaded by
    # sphinx.ext.mathjax from mathjax_path (only on pages with maths, with its configuration)
    config.html_js_files = [
        entry
        for entry in config.html_js_files
        if not str(entry[0] if isinstance(entry, tuple) else entry).startswith("mathjax/")
    ]


def strip_code(doctree: nodes.Node) -> dict[str, int]:
    """Remove code from a rendered notebook doctree, in place (the PDF edition).

    Removes each code cell's source, whole cells tagged ``parameters`` or ``injected-parameters``,
    plain-text outputs of code cells (streams, tracebacks, the repr of a cell's last value, a
    progress bar's text) and cells left empty; figures, images and Markdown/LaTeX outputs (the
    results tables) stay, and so does glued text in the prose. Returns counts of what was removed.
    """
    removed = {"sources": 0, "parameter_cells": 0, "text_outputs": 0, "empty_cells": 0}
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") != "cell_code" or cell.parent is None:
            continue
        tags = set(cell.get("cell_metadata", {}).get("tags", []))
        if tags & PARAMETER_TAGS:
            cell.parent.remove(cell)
            removed["parameter_cells"] += 1
            continue
        for part in list(cell.findall(nodes.container)):
            if part.get("nb_element") == "cell_code_source" and part.parent is not None:
                part.parent.remove(part)
                removed["sources"] += 1
        for block in list(cell.findall(nodes.literal_block)):
            if {"stream", "stderr", "traceback", "text_plain"} & set(block.get("classes", [])):
                block.parent.remove(block)
                removed["text_outputs"] += 1
        for part in list(cell.findall(nodes.container)):
            if part.get("nb_element") == "cell_code_output" and not part.children:
                part.parent.remove(part)
        if not any(child for child in cell.children) and cell.parent is not None:
            cell.parent.remove(cell)
            removed["empty_cells"] += 1
    return removed


def _raw_latex(text: str) -> nodes.raw:
    return nodes.raw("", text, format="latex")


def _latex_escape(text: str) -> str:
    for char, escaped in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("#", r"\#"),
        ("_", r"\_"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("$", r"\$"),
    ):
        text = text.replace(char, escaped)
    return text


def intro_as_one_chapter(largetree: nodes.document, part_of: dict[str, str] | None = None) -> None:
    """Make the root page one unnumbered chapter of the assembled LaTeX document, in place.

    Sphinx takes the root page's title as the document's title and turns each of its sections into
    a chapter. Here its content becomes ``\\chapter*{Introduction}`` and its sections
    ``\\section*``; the inlined chapters (after the root page's content) are left as they are.
    ``part_of`` maps a chapter's docname to the caption of the part it opens (``\\part``).
    """
    root = next(iter(largetree.findall(nodes.section)), None)
    if root is None:
        return
    # the inlined chapters sit in the toctree wrappers (compound nodes); keep them aside
    wrappers = [node for node in root.findall(nodes.compound) if "toctree-wrapper" in node.get("classes", [])]
    for wrapper in wrappers:
        wrapper.parent.remove(wrapper)
    body = [child for child in root.children if not isinstance(child, nodes.title)]
    for child in body:
        root.remove(child)
    heading = "\\chapter*{%s}\\addcontentsline{toc}{chapter}{%s}\\markboth{%s}{%s}\n" % ((INTRO_TITLE,) * 4)
    intro = [_raw_latex(heading)]
    intro += [_flatten_section(child) if isinstance(child, nodes.section) else child for child in body]
    root.extend(intro)
    for wrapper in wrappers:
        if part_of:
            for chapter in list(wrapper.children):
                caption = part_of.get(chapter.get("docname", ""))
                if caption:
                    wrapper.insert(
                        wrapper.index(chapter), _raw_latex(f"\\part{{{_latex_escape(caption)}}}\n")
                    )
        root.append(wrapper)


def _flatten_section(section: nodes.section, level: int = 0) -> nodes.Element:
    """A section as ``\\section*`` (``\\subsection*`` ...) raw headings followed by its body."""
    command = ("section", "subsection", "subsubsection", "paragraph")[min(level, 3)]
    out = nodes.container()
    for child in section.children:
        if isinstance(child, nodes.title):
            out += _raw_latex(f"\\{command}*{{{_latex_escape(child.astext())}}}\n")
            # keep the section's ids so references to it still resolve to this place
            out += nodes.target("", "", ids=list(section.get("ids", [])))
        elif isinstance(child, nodes.section):
            out += _flatten_section(child, level + 1)
        else:
            out += child.deepcopy()
    return out


def _part_captions(app) -> dict[str, str]:
    """First docname of each captioned part of the table of contents -> the part's caption."""
    site_map = getattr(app.env, "external_site_map", None)
    if site_map is None:
        return {}
    captions = {}
    root = site_map[site_map.root.docname] if hasattr(site_map, "root") else None
    for subtree in getattr(root, "subtrees", []) or []:
        if subtree.caption and subtree.items:
            first = subtree.items[0]
            captions[getattr(first, "docname", str(first))] = subtree.caption
    return captions


def drop_html_only_chapters(largetree: nodes.document, docnames=HTML_ONLY_DOCS) -> list[str]:
    """Remove the chapters of ``docnames`` from the assembled LaTeX document, in place, keeping their citation
    entries (LaTeX prints every reference in the bibliography at the end). Returns the docnames removed."""
    from sphinx import addnodes

    removed = []
    for chapter in list(largetree.findall(addnodes.start_of_file)):
        if chapter.get("docname") not in docnames or chapter.parent is None:
            continue
        citations = [c.deepcopy() for c in chapter.findall(nodes.citation)]
        parent = chapter.parent
        index = parent.index(chapter)
        parent.remove(chapter)
        for offset, citation in enumerate(citations):
            parent.insert(index + offset, citation)
        removed.append(chapter.get("docname"))
    return removed


def _doctree_resolved(app, doctree: nodes.document, docname: str) -> None:
    if getattr(app.builder, "format", None) != LATEX_FORMAT:
        return
    strip_code(doctree)
    if docname == app.config.root_doc:
        drop_html_only_chapters(doctree)
        intro_as_one_chapter(doctree, _part_captions(app))


# a star that opens a shape's variadic part, as in "(batch, *state)": after "(" or ", ", before a name
_SHAPE_STAR = re.compile(r"(?<=\()\*(?=\w)|(?<=, )\*(?=\w)")
_INLINE_LITERAL = re.compile(r"(``.+?``)")


def escape_shape_stars(line: str) -> str:
    """Escape, outside inline literals, the ``*`` of a docstring's shape notation (``(batch, *state)``) and the
    bars of an absolute value (``|l - l_perp|``), which reStructuredText would otherwise read as an emphasis that
    never ends or a substitution that does not exist (each a broken anchor on the API page)."""
    parts = _INLINE_LITERAL.split(line)
    return "".join(
        part if part.startswith("``") else _SHAPE_STAR.sub(r"\\*", part).replace("|", r"\|") for part in parts
    )


def _process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = [escape_shape_stars(line) for line in lines]


def _skip_member(app, what, name, obj, skip, options):
    # a module's type alias (``Map = Callable[...]``) would be documented with typing's own docstring
    if getattr(obj, "__module__", None) in ("typing", "collections.abc") and not isinstance(obj, type):
        return True
    return None


def unique_scripts(scripts: list) -> list:
    """The page's scripts without repeats. An inline script that an extension adds while the builder starts
    (sphinx-thebe's ``const THEBE_JS_URL = ...``) reaches the page twice in Sphinx 7.4, once named ``None`` and
    once ``''``, and the second ``const`` is a page error."""
    seen, out = set(), []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""
        attributes = tuple(sorted((k, str(v)) for k, v in (getattr(script, "attributes", {}) or {}).items()))
        key = (str(filename), attributes)
        if key not in seen:
            seen.add(key)
            out.append(script)
    return out


def _html_page_context(app, pagename, templatename, context, doctree) -> None:
    if "script_files" in context:
        context["script_files"] = unique_scripts(context["script_files"])


def _builder_inited(app) -> None:
    # Sphinx names the PDF's table of contents after the caption of the root page's first toctree (here the
    # first part, "Dynamics"); the contents are the whole book's
    if getattr(app.builder, "format", None) == LATEX_FORMAT and hasattr(app.builder, "get_contentsname"):
        app.builder.get_contentsname = lambda indexfile: "Contents"


def _build_finished(app, exception) -> None:
    """Copy the PDF edition into the HTML tree, so the footer's relative link works wherever the site is served
    (``make book`` renders the PDF first; ``jupyter-book build book`` finds the last one built)."""
    if exception is not None or getattr(app.builder, "format", None) != "html":
        return
    import shutil

    pdf = Path(app.outdir).parent / "latex" / PDF_NAME
    if pdf.exists():
        shutil.copy2(pdf, Path(app.outdir) / PDF_NAME)


def setup(app) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")  # its events (docstrings, members) are connected below
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    app.connect("doctree-resolved", _doctree_resolved)
    app.connect("builder-inited", _builder_inited)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("html-page-context", _html_page_context)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
