"""The built HTML book opened in a real browser: what a reader would see broken, page by page.

    python -m chaoslib.book.site_check book/_build/html [--config _config.yml]   # exit 1 on a failure

The build folder is served on 127.0.0.1 by a thread of :mod:`http.server` and every page is opened
in headless Chromium (Debian's ``chromium``, or the executable in ``CHAOSLIB_CHROMIUM``; Playwright
only drives it, no browser is downloaded) at a 1280 px wide viewport, after MathJax has finished
typesetting. One line is printed per failure, ``page: check: detail``. The checks:

``console``
    console messages of type error, uncaught page errors, failed requests and HTTP errors; a
    request to any host but 127.0.0.1 is blocked and is a failure (the book must work offline).
``image``
    an ``<img>`` that did not load (``naturalWidth`` 0 and the browser cannot decode it).
``tex``
    TeX left unrendered in the visible text of the article, outside MathJax's output and outside
    code: ``$...$``, ``\\(``, ``\\[`` or a command such as ``\\frac``; or MathJax that never finished.
``overflow``
    an element of the article (``article.bd-article``) wider than the article itself (+1 px),
    named by tag, class and first words; only the outermost such element is reported.
``leak``
    the article's text, collapsed cells included (``textContent``), holding what only the build
    machine should see (``LEAK_PATTERNS``): the repr of a pathlib path, a Python traceback, a
    not-a-number (allowed on ``api.html``), the spec placeholder in capitals, a path under the
    machine's temporary, work or home folder, a progress bar's rate, or a glue key myst-nb left
    unresolved. (Written in words here: this docstring is on the book's API page.)
``pdf-link``
    no link on the page to ``transient-chaos-bert.pdf`` that resolves to a file of the build.
``launch``
    a page built from a notebook (``_sources/<page>.ipynb``) without a Colab button, or with a launch
    button (Colab, Binder) that does not point at ``repository.url`` of ``_config.yml``.
``link``
    a relative link (``page.html#anchor``, ``#anchor``, a file) to a file missing from the build or to
    an anchor no element of the target page carries as ``id`` (or ``name``); read from the HTML files.

Which pages: every ``.html`` file of the build except ``_static/``, ``_sources/`` and ``_images/``
(assets), and three pages Sphinx generates rather than the book: ``genindex.html``, ``search.html``
and ``py-modindex.html`` (indices with no content of ours), and redirect stubs (``index.html`` is a
bare ``<meta http-equiv="refresh">``). The link check alone reads those too, since their links
lead into the book. The configuration is ``--config``, else the book's own ``_config.yml`` (two
folders above ``_build/html``, the one jupyter-book read), else the repository's (three above).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import yaml

from chaoslib.settings import REPO_ROOT

CHECKS = ("console", "image", "tex", "overflow", "leak", "pdf-link", "launch", "link")
PDF_NAME = "transient-chaos-bert.pdf"
ASSET_DIRS = {"_static", "_sources", "_images"}
GENERATED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
NAN_ALLOWED = {"api.html"}
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_TIMEOUT_MS = 30_000
MATHJAX_TIMEOUT_MS = 30_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

LEAK_PATTERNS: dict[str, re.Pattern[str]] = {
    "a PosixPath repr": re.compile(r"PosixPath\("),
    "a traceback": re.compile(r"Traceback"),
    "NaN": re.compile(r"\bNaN\b"),
    "SPEC": re.compile(r"\bSPEC\b"),
    "a build-machine path": re.compile(r"/(?:tmp|work|home|check|root)/"),
    # the checkout may live anywhere; its own root never belongs on a page
    "the checkout's path": re.compile(re.escape(REPO_ROOT.as_posix()) + r"/"),
    "a progress line": re.compile(r"(?:it/s|s/it)\]"),
    "a raw glue key": re.compile(r"\{glue[:}]|\bglue:(?:text|md|figure|math|any)\b"),
    # a MyST directive printed as text (e.g. a fence whose argument holds a backtick, which ends no fence)
    "an unrendered directive": re.compile(r"```\{[\w:-]+\}"),
}
TEX_PATTERNS: dict[str, re.Pattern[str]] = {
    # pandoc's rule: no space inside the dollars, no word character outside ($HOME/x and $5 pass)
    "$...$": re.compile(r"(?<!\w)\$[^\s$](?:[^$]*[^\s$])?\$(?!\w)"),
    "\\( or \\[": re.compile(r"\\[(\[]"),
    "a TeX command": re.compile(r"\\[A-Za-z]{2,}"),
}


@dataclass(frozen=True, order=True)
class Failure:
    """One thing wrong on one page."""

    page: str
    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.page}: {self.check}: {self.detail}"


def find_chromium() -> str | None:
    """The Chromium executable: ``CHAOSLIB_CHROMIUM`` if set, else ``chromium`` on the PATH."""
    return os.environ.get("CHAOSLIB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def html_files(html_dir: Path) -> list[str]:
    """Every ``.html`` file of the build outside the asset folders, as paths relative to it."""
    found = []
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir)
        if not ASSET_DIRS & set(relative.parts[:-1]):
            found.append(relative.as_posix())
    return found


# ---------------------------------------------------------------- the HTML files, read without a browser


@dataclass
class ParsedPage:
    """What the static checks need from one HTML file."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # href of the a and area elements, in order
    redirect: str | None = None  # the URL of a <meta http-equiv="refresh">
    has_body: bool = False


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.page.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.page.ids.add(values["name"])
        if tag in ("a", "area") and values.get("href"):
            self.page.links.append(values["href"])
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*(\S+)", values.get("content", ""), re.I)
            if match:
                self.page.redirect = match.group(1).strip("'\"")
        if tag == "body":
            self.page.has_body = True


def parse_page(path: Path) -> ParsedPage:
    """The ids, links and redirect of one HTML file."""
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser.page


def is_redirect_stub(parsed: ParsedPage) -> bool:
    """A page that only forwards the reader elsewhere (Sphinx's ``index.html``)."""
    return parsed.redirect is not None and not parsed.has_body


def content_pages(html_dir: Path, parsed: dict[str, ParsedPage]) -> list[str]:
    """The pages opened in the browser: all but Sphinx's generated indices and redirect stubs."""
    return [
        page
        for page in html_files(html_dir)
        if Path(page).name not in GENERATED_PAGES and not is_redirect_stub(parsed[page])
    ]


def _resolve(html_dir: Path, page: str, href: str) -> tuple[Path, str] | None:
    """The file and fragment a relative href of ``page`` points to; None for an absolute URL."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("/"):
        return None
    target = (html_dir / page).parent / unquote(parts.path) if parts.path else html_dir / page
    target = Path(os.path.normpath(target))
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def check_links(html_dir: Path, parsed: dict[str, ParsedPage]) -> list[Failure]:
    """Every relative link (and redirect) of every page leads to a file of the build and an anchor on it."""
    failures = []
    for page, info in parsed.items():
        counts: dict[str, int] = {}
        for href in info.links + ([info.redirect] if info.redirect else []):
            counts[href] = counts.get(href, 0) + 1
        for href, count in counts.items():
            resolved = _resolve(html_dir, page, href)
            if resolved is None:
                continue
            target, fragment = resolved
            times = f" ({count} links)" if count > 1 else ""
            if not target.is_relative_to(html_dir) or not target.is_file():
                failures.append(
                    Failure(page, "link", f"{href!r}: no file {target.name!r} in the build{times}")
                )
                continue
            if not fragment or target.suffix != ".html":
                continue
            relative = target.relative_to(html_dir).as_posix()
            ids = (parsed[relative] if relative in parsed else parse_page(target)).ids
            if fragment not in ids:
                failures.append(
                    Failure(page, "link", f"{href!r}: no element with id {fragment!r} on {relative}{times}")
                )
    return failures


def check_pdf_link(html_dir: Path, page: str, parsed: ParsedPage) -> list[Failure]:
    """The page links to the PDF edition, and the link resolves to a file of the build."""
    broken = []
    for href in parsed.links:
        resolved = _resolve(html_dir, page, href)
        if resolved is None or resolved[0].name != PDF_NAME:
            continue
        if resolved[0].is_relative_to(html_dir) and resolved[0].is_file():
            return []
        broken.append(href)
    detail = f"the links {broken} do not resolve to a file of the build" if broken else "no link"
    return [Failure(page, "pdf-link", f"{detail} to {PDF_NAME}")]


# ---------------------------------------------------------------- launch buttons against _config.yml


@dataclass(frozen=True)
class LaunchConfig:
    """The repository and launch providers of ``_config.yml``, as sphinx-book-theme builds its links."""

    org: str
    repo: str
    branch: str = "main"
    path_to_book: str = ""
    colab_url: str = ""
    binderhub_url: str = ""

    @classmethod
    def read(cls, config_path: Path) -> LaunchConfig | None:
        """From ``repository`` and ``launch_buttons``; None without a GitHub ``repository.url``."""
        config = yaml.safe_load(config_path.read_text()) or {}
        repository = config.get("repository") or {}
        launch = config.get("launch_buttons") or {}
        parts = urlsplit(str(repository.get("url", "")))
        path = [p for p in parts.path.removesuffix(".git").split("/") if p]
        if parts.hostname != "github.com" or len(path) < 2:
            return None
        return cls(
            org=path[0],
            repo=path[1],
            branch=str(repository.get("branch") or "main"),
            path_to_book=str(repository.get("path_to_book") or "").strip("/"),
            colab_url=str(launch.get("colab_url") or "").rstrip("/"),
            binderhub_url=str(launch.get("binderhub_url") or "").rstrip("/"),
        )

    def colab_prefix(self, page: str) -> str:
        """The Colab link of ``page`` up to the notebook's suffix."""
        folder = f"{self.path_to_book}/" if self.path_to_book else ""
        stem = page.removesuffix(".html")
        return f"{self.colab_url}/github/{self.org}/{self.repo}/blob/{self.branch}/{folder}{stem}."

    def binder_prefix(self) -> str:
        """The start of every Binder link to the repository."""
        return f"{self.binderhub_url}/v2/gh/{self.org}/{self.repo}/{self.branch}?"


def find_config(html_dir: Path) -> Path | None:
    """The book's ``_config.yml`` (``_build/html/../../``), else the repository's (``../../../``)."""
    for up in (2, 3):
        candidate = html_dir.joinpath(*[".."] * up, "_config.yml")
        if candidate.is_file():
            return candidate.resolve()
    return None


def check_launch(html_dir: Path, page: str, parsed: ParsedPage, launch: LaunchConfig) -> list[Failure]:
    """A notebook page has a Colab button, and each launch button points at the configured repository."""
    colab = [h for h in parsed.links if launch.colab_url and h.startswith(launch.colab_url + "/")]
    binder = [h for h in parsed.links if launch.binderhub_url and h.startswith(launch.binderhub_url + "/")]
    notebook = (html_dir / "_sources" / page).with_suffix(".ipynb").is_file()
    failures = []
    if launch.colab_url and notebook and not colab:
        failures.append(Failure(page, "launch", "a page built from a notebook with no Colab launch button"))
    expected = launch.colab_prefix(page)
    failures += [
        Failure(page, "launch", f"Colab link {href!r} is not {expected}ipynb")
        for href in colab
        if not href.startswith(expected)
    ]
    failures += [
        Failure(page, "launch", f"Binder link {href!r} does not start with {launch.binder_prefix()}")
        for href in binder
        if not href.startswith(launch.binder_prefix())
    ]
    return failures


# ---------------------------------------------------------------- text rules (run on what the browser read)


def _snippet(text: str, start: int, end: int, around: int = 30) -> str:
    """The match with a little context, on one line."""
    return " ".join(text[max(0, start - around) : end + around].split())


# patterns that are leaks in prose only: a docstring on the API page may name a glue role in a code literal
PROSE_ONLY = {"a raw glue key", "an unrendered directive"}


def leak_failures(page: str, text: str, prose: str | None = None) -> list[Failure]:
    """The leak patterns found in the article's text (``prose``: the same without code literals and blocks, for
    :data:`PROSE_ONLY` patterns): one failure per pattern, with a count and a sample."""
    failures = []
    for name, pattern in LEAK_PATTERNS.items():
        if name == "NaN" and Path(page).name in NAN_ALLOWED:
            continue
        searched = prose if name in PROSE_ONLY and prose is not None else text
        matches = list(pattern.finditer(searched))
        text_of_match = searched
        if matches:
            first = matches[0]
            failures.append(
                Failure(
                    page,
                    "leak",
                    f'{name} ({len(matches)}x), e.g. "{_snippet(text_of_match, first.start(), first.end())}"',
                )
            )
    return failures


def tex_failures(page: str, blocks: list[dict[str, str]]) -> list[Failure]:
    """TeX in the visible text blocks (``{"where": ..., "text": ...}``) the browser collected."""
    failures = []
    for block in blocks:
        for name, pattern in TEX_PATTERNS.items():
            match = pattern.search(block["text"])
            if match:
                sample = _snippet(block["text"], match.start(), match.end())
                failures.append(Failure(page, "tex", f'{name} in {block["where"]}: "{sample}"'))
                break
    return failures


# ---------------------------------------------------------------- the browser

# waits for MathJax's first typesetting; 'absent' when the page loads no MathJax
_MATHJAX_JS = """
async (timeout) => {
  const script = document.querySelector('script[src*="mathjax" i]');
  const mj = window.MathJax;
  if (!mj || !mj.startup || !mj.startup.promise) return script ? 'not started' : 'absent';
  const late = new Promise(resolve => setTimeout(() => resolve('timeout'), timeout));
  return await Promise.race([mj.startup.promise.then(() => 'done'), late]);
}
"""

# images that did not load, once every image (lazy ones too) has loaded or failed
_IMAGES_JS = """
async () => {
  const images = Array.from(document.images);
  images.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener('load', resolve, {once: true});
    img.addEventListener('error', resolve, {once: true});
    setTimeout(resolve, 10000);
  })));
  const broken = [];
  for (const img of images) {
    if (img.naturalWidth > 0) continue;
    try { await img.decode(); } catch (e) { broken.push(img.getAttribute('src') || '(no src)'); }
  }
  return broken;
}
"""

# What the article shows. The article is the content column of the pydata/sphinx-book theme, else the
# page's main element. Returns the visible text blocks outside maths and code (tex), the outermost
# elements wider than the column (overflow) and the whole text, collapsed parts included (leak).
_ARTICLE_REPORT_JS = """
() => {
  const article = document.querySelector('article.bd-article')
    || document.querySelector('[role=main], main') || document.body;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.getAttribute('class') || '').split(/\\s+/).filter(Boolean).slice(0, 3).map(c => '.' + c).join('');
  const words = (el) => (el.textContent || '').trim().split(/\\s+/).filter(Boolean).slice(0, 6).join(' ');

  const skip = 'mjx-container, mjx-assistive-mml, math, pre, code, kbd, samp, tt, .pre, .highlight, '
    + 'script, style, textarea, noscript, template';
  const blockOf = 'p, li, td, th, dd, dt, h1, h2, h3, h4, h5, h6, figcaption, caption, div, section, article';
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const shown = el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
    return shown && box.width > 1 && box.height > 1;
  };
  const blocks = new Map();
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.data.trim() || !parent || parent.closest(skip) || !visible(parent)) continue;
    const block = parent.closest(blockOf) || article;
    blocks.set(block, (blocks.get(block) || '') + node.data);
  }

  const column = article.getBoundingClientRect().width;
  const wide = [];
  const walk = (el) => {
    for (const child of el.children) {
      const width = child.getBoundingClientRect().width;
      if (width > column + 1 && child.checkVisibility()) {
        wide.push({name: name(child), words: words(child), width: Math.round(width)});
      } else {
        walk(child);
      }
    }
  };
  walk(article);

  const copy = article.cloneNode(true);
  copy.querySelectorAll('script, style, template').forEach(el => el.remove());
  const prose = copy.cloneNode(true);
  prose.querySelectorAll('code, pre').forEach(el => el.remove());
  return {
    article: name(article), column: Math.round(column), wide: wide, content: copy.textContent,
    prose: prose.textContent,
    texts: Array.from(blocks, ([el, text]) => ({where: name(el), text: text})),
  };
}
"""


@contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """The build folder served on 127.0.0.1 (a free port) by a thread; yields the base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_dir))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS


def check_in_browser(browser: Any, base_url: str, page: str) -> list[Failure]:
    """The browser checks of one page (console, image, tex, overflow, leak), as a first-time reader sees it.

    Each page gets a fresh browser context (no storage, no cache), so what a page logs does not
    depend on the pages opened before it.
    """
    events: list[str] = []  # console and page errors
    requests: dict[str, str] = {}  # url -> what went wrong

    def block(route: Any) -> None:
        requests[route.request.url] = "request to an external host (blocked: the book must work offline)"
        route.abort()

    def failed(request: Any) -> None:
        requests.setdefault(request.url, f"request failed ({request.failure})")

    def response(resp: Any) -> None:
        if resp.status >= 400:
            requests.setdefault(resp.url, f"HTTP {resp.status}")

    def console(message: Any) -> None:
        if message.type == "error":
            where = message.location.get("url", "").removeprefix(base_url)
            if not (
                message.text.startswith("Failed to load resource") and urljoin(base_url, where) in requests
            ):
                events.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    tab = context.new_page()
    tab.route(_is_external, block)
    tab.on("requestfailed", failed)
    tab.on("response", response)
    tab.on("console", console)
    tab.on("pageerror", lambda error: events.append(f"page error: {error}"))
    failures = []
    try:
        tab.goto(urljoin(base_url, page), wait_until="load", timeout=LOAD_TIMEOUT_MS)
        mathjax = tab.evaluate(_MATHJAX_JS, MATHJAX_TIMEOUT_MS)
        if mathjax in ("not started", "timeout"):
            failures.append(
                Failure(page, "tex", f"MathJax {mathjax} (within {MATHJAX_TIMEOUT_MS // 1000} s)")
            )
        broken = tab.evaluate(_IMAGES_JS)
        try:
            tab.wait_for_load_state("networkidle", timeout=3000)
        except Exception:  # late requests keep going: what they did wrong is reported below
            pass
        report = tab.evaluate(_ARTICLE_REPORT_JS)
    except Exception as error:  # noqa: BLE001 - a page that cannot be read is a failure, not a crash
        failures.append(Failure(page, "console", f"the page could not be read: {str(error).splitlines()[0]}"))
        broken, report = [], None
    finally:
        context.close()
    failures += [Failure(page, "console", event) for event in events]
    failures += [
        Failure(page, "console", f"{what}: {url.removeprefix(base_url)}") for url, what in requests.items()
    ]
    failures += [Failure(page, "image", f"image did not load: {src}") for src in broken]
    if report is not None:
        failures += tex_failures(page, report["texts"])
        column = f"{report['article']} is {report['column']} px"
        failures += [
            Failure(page, "overflow", f'{w["name"]} "{w["words"]}" is {w["width"]} px wide; {column}')
            for w in report["wide"]
        ]
        failures += leak_failures(page, report["content"], report["prose"])
    return failures


@contextmanager
def chromium(executable: str | None = None) -> Iterator[Any]:
    """Headless Chromium (``executable``, else :func:`find_chromium`) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium: apt-get install chromium (make browser), or set CHAOSLIB_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_site(html_dir: str | Path, config: str | Path | None = None, browser: Any = None) -> list[Failure]:
    """Every check on every page of the build, sorted by page and check.

    ``browser``: a Playwright browser to reuse (the tests open one for many sites), else
    :func:`chromium` starts one for this call.
    """
    html_dir = Path(html_dir).resolve()
    if not (html_dir / "index.html").is_file() and not html_files(html_dir):
        raise FileNotFoundError(f"{html_dir} holds no HTML pages: build the book first (make book)")
    parsed = {page: parse_page(html_dir / page) for page in html_files(html_dir)}
    pages = content_pages(html_dir, parsed)
    config_path = Path(config) if config else find_config(html_dir)
    launch = LaunchConfig.read(config_path) if config_path else None
    if launch is None:
        where = config_path or f"a _config.yml above {html_dir}"
        print(f"site check: no GitHub repository.url in {where}: launch buttons not checked", file=sys.stderr)

    failures = check_links(html_dir, parsed)
    for page in pages:
        failures += check_pdf_link(html_dir, page, parsed[page])
        if launch is not None:
            failures += check_launch(html_dir, page, parsed[page], launch)
    with serve(html_dir) as base_url, nullcontext(browser) if browser else chromium() as opened:
        for page in pages:
            failures += check_in_browser(opened, base_url, page)
    return sorted(set(failures), key=lambda f: (f.page, CHECKS.index(f.check), f.detail))


def main(argv: list[str] | None = None) -> int:
    """The CLI: one line per failure on stdout, a summary on stderr; 1 on any failure, 2 if it cannot run."""
    parser = argparse.ArgumentParser(
        prog="python -m chaoslib.book.site_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("html_dir", type=Path, help="the built HTML book (book/_build/html)")
    parser.add_argument("--config", type=Path, help="_config.yml (default: found above html_dir)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        failures = check_site(args.html_dir, args.config)
    except (FileNotFoundError, RuntimeError, ImportError) as error:
        print(f"site check: {error}", file=sys.stderr)
        return 2
    for failure in failures:
        print(failure)
    failing = len({f.page for f in failures})
    checked = len(content_pages(args.html_dir, {p: parse_page(args.html_dir / p) for p in html_files(args.html_dir)}))
    seconds = time.monotonic() - start
    print(
        f"site check: {checked} pages of {args.html_dir} opened in Chromium, {len(failures)} failures on "
        f"{failing} of them ({seconds:.0f} s)",
        file=sys.stderr,
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
