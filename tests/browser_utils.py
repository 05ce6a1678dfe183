"""Open built book pages in headless Debian Chromium and report what a reader would see.

Used by ``tests/test_browser.py`` (the fixture book) and reusable by any chapter's test on
its real page::

    with serve_directory(Path("_build/html")) as base_url:
        report = check_page(f"{base_url}/book/01_data.html")
    assert report["svg_count"] == report["chart_count"] > 0

Playwright drives the system Chromium (``/usr/bin/chromium``; Playwright's own browser
download is neither possible nor needed here). Every request is recorded, so a page that
reaches for a CDN is caught even though the machine has no network to reach it.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1"}
LOCAL_SCHEMES = {"data", "blob", "about", "file"}


def chromium_available() -> bool:
    """True when the system Chromium and the playwright package are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    """A browser that closes a page drops connections mid-response; that is not an error."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def follow_meta_refresh(url: str) -> str:
    """The page ``url`` redirects to with a ``<meta http-equiv="refresh">`` (the book's
    index.html does), else ``url``. Resolved before the browser opens it, so that the check
    never races a navigation."""
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read(65536).decode("utf-8", "replace")
    match = re.search(r'<meta[^>]+http-equiv=["\']refresh["\'][^>]+content=["\'][^"\']*url=([^"\']+)',
                      text, re.IGNORECASE)
    return urljoin(url, match.group(1).strip()) if match else url


def broken_targets(page_url: str, links: list[str]) -> list[str]:
    """The links of a page (absolute URLs) into the same site that lead nowhere: a file
    that does not exist (``file://``) or a response that is not 200 (``http://``). Links
    elsewhere are not followed (the site must not need them; requests are checked)."""
    base = urlsplit(page_url)
    broken = []
    for link in sorted(set(links)):
        parts = urlsplit(link)
        if parts.scheme != base.scheme or parts.netloc != base.netloc:
            continue
        if parts.scheme == "file":
            if not Path(urllib.request.url2pathname(parts.path)).exists():
                broken.append(link)
            continue
        try:
            with urllib.request.urlopen(urllib.request.Request(link.split("#")[0], method="HEAD"),
                                        timeout=30) as response:
                if response.status != 200:
                    broken.append(link)
        except OSError:
            broken.append(link)
    return broken


def check_page(url: str, timeout_ms: int = 30_000) -> dict:
    """Load ``url`` in headless Chromium, wait for charts and math, and report.

    Returns ``url`` (the page checked, after following a meta-refresh), ``chart_count`` (``div.book-chart`` elements, see :mod:`lib.book.figures`),
    ``svg_count`` (of those, how many hold an ``<svg>``), ``math_count`` (MathJax
    ``mjx-container`` elements) and ``math_expected`` (the page's math elements),
    ``broken_links`` (links into the site that lead nowhere, and ``#anchors`` missing on
    the page), ``broken_images`` (images that did not load), ``console_errors`` (console errors and uncaught page
    errors), ``failed_requests`` and ``external_requests`` (every URL requested from a host
    other than 127.0.0.1).
    """
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    external: list[str] = []
    failed: list[str] = []
    user_data = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                user_data, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = context.new_page()
                page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
                page.on("pageerror", lambda err: console_errors.append(f"uncaught: {err}"))
                page.on("requestfailed", lambda req: failed.append(req.url))
                page.on("response", lambda resp: resp.status >= 400
                        and failed.append(f"{resp.status} {resp.url}"))

                def record(request) -> None:
                    parts = urlsplit(request.url)
                    if parts.scheme not in LOCAL_SCHEMES and parts.hostname not in LOCAL_HOSTS:
                        external.append(request.url)

                context.on("request", record)
                page.goto(follow_meta_refresh(url), wait_until="load", timeout=timeout_ms)
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                chart_count = page.locator("div.book-chart").count()
                if chart_count:
                    page.wait_for_function(
                        "() => [...document.querySelectorAll('div.book-chart')]"
                        ".every(d => d.querySelector('svg'))", timeout=timeout_ms)
                if page.evaluate("() => !!window.MathJax && !!MathJax.startup"):
                    page.evaluate("() => MathJax.startup.promise")
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                svg_count = page.locator("div.book-chart:has(svg)").count()
                math_count = page.locator("mjx-container").count()
                math_expected = page.locator("div.math, span.math").count()
                final_url = page.url
                links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
                missing_anchors = page.evaluate(
                    "() => [...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.getAttribute('href'))"
                    ".filter(h => h.length > 1 && !document.getElementById(decodeURIComponent(h.slice(1))))")
                broken_images = page.evaluate(
                    "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
            finally:
                context.close()
    finally:
        shutil.rmtree(user_data, ignore_errors=True)
    return {
        "url": final_url,
        "chart_count": chart_count,
        "svg_count": svg_count,
        "math_count": math_count,
        "math_expected": math_expected,
        "broken_links": sorted(set(broken_targets(final_url, links))) + [f"{final_url}{h}" for h in missing_anchors],
        "broken_images": broken_images,
        "console_errors": console_errors,
        "failed_requests": failed,
        "external_requests": external,
    }
