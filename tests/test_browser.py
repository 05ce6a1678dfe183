"""The built book in a real browser: charts draw, math typesets, nothing leaves 127.0.0.1.

The fixture book is built once per session (``fixture_book`` in conftest), served with
``http.server`` on 127.0.0.1 and opened in headless Debian Chromium through playwright
(:mod:`browser_utils`). Without Chromium or playwright the test fails in CI and is skipped,
with the reason, elsewhere.
"""
from __future__ import annotations

import pytest

from browser_utils import check_page, chromium_available, serve_directory
from conftest import require_or_skip

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served_book(fixture_book):
    require_or_skip(chromium_available(),
                    "needs /usr/bin/chromium (apt-get install chromium) and playwright (requirements.lock)")
    with serve_directory(fixture_book["html"]) as base_url:
        yield base_url


def test_chart_page_draws_offline(served_book):
    report = check_page(f"{served_book}/book/charts.html")
    assert report["chart_count"] == 2
    assert report["svg_count"] == report["chart_count"], report
    assert report["math_count"] >= 1, "MathJax did not typeset $x^2$"
    assert report["console_errors"] == [], report
    assert report["failed_requests"] == [], report
    assert report["external_requests"] == [], report


def toc_pages() -> list[str]:
    """Every page of the fixture book's ``_toc.yml`` (as the runner reads it), the landing
    page and the search page."""
    from conftest import FIXTURE_BOOK
    from lib.book import runner as book

    return ["index.html", "search.html"] + [f"{name}.html" for name in book.toc_docnames(FIXTURE_BOOK)]


@pytest.mark.parametrize("page", toc_pages())
def test_every_page_is_clean_and_offline(served_book, page):
    report = check_page(f"{served_book}/{page}")
    assert report["console_errors"] == [], report
    assert report["failed_requests"] == [], report
    assert report["external_requests"] == [], report
    if page == "index.html":
        assert report["url"].endswith("/book/intro.html"), "index.html should lead to the intro"
    if page in ("index.html", "book/intro.html"):
        assert report["math_count"] >= 1, "the introduction's formulas were not typeset"


def test_a_link_that_leads_nowhere_is_found(tmp_path):
    """The link check itself: a missing page is reported from file:// and from a server;
    a page that exists and a link to another site are not."""
    from browser_utils import broken_targets

    (tmp_path / "a.html").write_text("<p>here</p>")
    page = (tmp_path / "index.html").as_uri()
    links = [(tmp_path / "a.html").as_uri(), (tmp_path / "b.html").as_uri() + "#x", "https://example.org/"]
    assert broken_targets(page, links) == [(tmp_path / "b.html").as_uri() + "#x"]
    with serve_directory(tmp_path) as base:
        assert broken_targets(f"{base}/index.html", [f"{base}/a.html", f"{base}/b.html"]) == [f"{base}/b.html"]
