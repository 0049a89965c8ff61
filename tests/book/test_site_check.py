"""chaoslib.book.site_check: a clean page passes every check, and each fixture page built to break one
check fails that check alone, with a detail that says what and where.

The fixture book is ``tests/book/fixtures/site``: ``html/`` (one page per check, named after it, plus
``clean.html`` and ``api.html`` that pass) and ``_config.yml`` (the repository the launch buttons
must open). One headless Chromium serves the whole module. The browser tests need Debian's
``chromium`` (``make browser``) and Playwright (the ``test`` extra); without them they are skipped,
unless ``CHAOSLIB_REQUIRE_BROWSER=1`` (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chaoslib.book import site_check
from chaoslib.book.site_check import Failure, check_site, leak_failures, tex_failures

SITE = Path(__file__).parent / "fixtures" / "site"
HTML = SITE / "html"


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -e '.[test]'"
    if site_check.find_chromium() is None:
        return "no chromium: apt-get install chromium (make browser), or set CHAOSLIB_CHROMIUM"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing_browser()
    if reason is not None:
        if os.environ.get("CHAOSLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CHAOSLIB_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    with site_check.chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def failures(browser) -> list[Failure]:
    return check_site(HTML, SITE / "_config.yml", browser=browser)


def _on(failures: list[Failure], page: str) -> list[Failure]:
    return [f for f in failures if f.page == page]


def test_clean_pages_pass_every_check(failures):
    # clean.html: maths typeset 1.2 s after load (the check waits for MathJax), TeX and paths in code,
    # a lazy image below the fold, an SVG without intrinsic size, good launch buttons and links
    assert _on(failures, "clean.html") == []
    assert _on(failures, "api.html") == []  # NaN is allowed on the API page


def test_generated_pages_and_redirect_stubs_are_not_opened(failures):
    # genindex.html and search.html log a console error: never seen, since they are not opened
    assert {f.page for f in failures}.isdisjoint({"genindex.html", "search.html", "index.html"})
    parsed = {page: site_check.parse_page(HTML / page) for page in site_check.html_files(HTML)}
    pages = site_check.content_pages(HTML, parsed)
    assert "clean.html" in pages and not {"genindex.html", "search.html", "index.html"} & set(pages)
    assert not any(page.startswith(("_static", "_sources", "_images")) for page in parsed)


@pytest.mark.parametrize(
    "page, check, details",
    [
        (
            "console.html",
            "console",
            [
                "console error: fixture: something went wrong",
                "page error: undefinedFixtureFunction is not defined",
                "HTTP 404: _static/missing.js",
            ],
        ),
        (
            "cdn.html",
            "console",
            ["request to an external host", "https://fonts.googleapis.com/css?family=Lato"],
        ),
        ("image.html", "image", ["image did not load: _images/corrupt.png"]),
        ("tex.html", "tex", ["$\\lambda = 0.1$", "TeX command", "\\frac{a}{b}"]),
        ("overflow.html", "overflow", ['table.wide-table "Layer means by depth"', "760 px"]),
        (
            "leak.html",
            "leak",
            [
                "PosixPath('/tmp/run-17/results')",
                "a traceback",
                "NaN (1x)",
                "SPEC (1x)",
                "a build-machine path",
                "a progress line",
                "9.51it/s]",
                "{glue:text}`mean_exponent`",
                "an unrendered directive (1x)",
            ],
        ),
        ("nopdf.html", "pdf-link", ["no link to transient-chaos-bert.pdf"]),
        (
            "launch.html",
            "launch",
            ["someone-else/a-fork", "fixture-org/fixture-book/blob/main/notebooks/launch.ipynb"],
        ),
        ("nolaunch.html", "launch", ["built from a notebook with no Colab launch button"]),
        (
            "links.html",
            "link",
            [
                "'clean.html#no-such-section': no element with id 'no-such-section' on clean.html",
                "'#id3': no element with id 'id3' on links.html (2 links)",
                "'missing.html': no file 'missing.html'",
            ],
        ),
    ],
)
def test_each_broken_page_fails_its_check_alone(failures, page, check, details):
    found = _on(failures, page)
    assert {f.check for f in found} == {check}, "\n".join(map(str, found))
    said = "\n".join(f.detail for f in found)
    for detail in details:
        assert detail in said


def test_every_check_is_exercised_by_a_fixture_page(failures):
    assert {f.check for f in failures} == set(site_check.CHECKS)


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "chaoslib.book.site_check", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_cli_finds_the_config_and_prints_one_line_per_failure(browser, tmp_path):
    # the book's layout, <book>/_config.yml above <book>/_build/html: found without --config
    html = tmp_path / "book" / "_build" / "html"
    shutil.copytree(HTML, html, ignore=shutil.ignore_patterns("*.html"))
    for page in ("clean.html", "api.html", "launch.html"):
        shutil.copy(HTML / page, html / page)
    shutil.copy(SITE / "_config.yml", tmp_path / "book" / "_config.yml")
    broken = _cli(str(html))
    assert broken.returncode == 1, broken.stderr
    lines = broken.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("launch.html: launch: Colab link "), broken.stdout
    assert "3 pages of" in broken.stderr and "1 failures on 1 of them" in broken.stderr
    (html / "launch.html").unlink()
    clean = _cli(str(html), "--config", str(SITE / "_config.yml"))
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    assert _cli(str(tmp_path / "nowhere")).returncode == 2


# ---------------------------------------------------------------- the text rules, without a browser


def test_leak_rules_allow_nan_on_the_api_page_only():
    assert leak_failures("api.html", "mean of the values; NaN when there are none") == []
    assert [f.check for f in leak_failures("results.html", "accuracy NaN")] == ["leak"]
    assert leak_failures("results.html", "NaNs are dropped; a SPECIAL case; /usr/share and it/s") == []
    progress = leak_failures("01.html", "100%|##| 8/8 [00:09<00:00, 1.20s/it]")
    assert [f.detail.split(" (")[0] for f in progress] == ["a progress line"]
    # a glue role named in a docstring's code literal is not a leftover: only the prose is searched for it
    assert leak_failures("api.html", "use {glue:text}`key` in a page", prose="use  in a page") == []
    assert [f.check for f in leak_failures("api.html", "x {glue:text}`key`", prose="x {glue:text}`key`")] == ["leak"]
    glue = leak_failures("01.html", "Fig. {glue:figure}`lyap` and glue:md mean")
    assert [f.detail.split(" (")[0] for f in glue] == ["a raw glue key"]


@pytest.mark.parametrize(
    "text, tex",
    [
        ("The rate $\\lambda$ is small.", True),
        ("Display: \\[x^2\\]", True),
        ("inline \\(x\\) maths", True),
        ("as \\sigma grows", True),
        ("read $DATA/glue/STS-B/ and $DATA/albert/", False),
        ("it costs $5 and $10", False),
        ("a newline \\n escape", False),
    ],
)
def test_tex_rules(text, tex):
    assert bool(tex_failures("p.html", [{"where": "p", "text": text}])) is tex


def test_docstrings_of_the_module_pass_the_leak_rules():
    # the book's API page shows this module's docstrings: naming a leak pattern there would fail the check
    ours = [obj for obj in vars(site_check).values() if getattr(obj, "__module__", "") == site_check.__name__]
    members = [m for obj in ours if isinstance(obj, type) for m in vars(obj).values()]
    texts = [site_check.__doc__] + [getattr(obj, "__doc__", None) or "" for obj in ours + members]
    assert leak_failures("results.html", "\n".join(texts)) == []


def test_chromium_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHAOSLIB_CHROMIUM", "/opt/chromium/chrome")
    assert site_check.find_chromium() == "/opt/chromium/chrome"
