"""The built HTML book in a real browser: headless Chromium, driven by Playwright.

Serves ``_build/html`` on localhost and checks, page by page, that math is typeset, every figure
loads, the Colab link is there, the exercises' solution dropdowns open, and the browser console
shows no errors. Screenshots go to ``_build/screenshots``. The machine has no internet, so the
MathJax script the pages load from a CDN is served from a local copy (``make install`` fetches it
from the npm registry into ``.cache/npm``); every other outside request fails the test.

Needs ``make book`` first (``make test`` runs it) and Chromium (Debian's ``chromium`` package).
Without Chromium or MathJax the test is skipped, except in CI (``CI=true``), where it fails.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
MATHJAX = ROOT / ".cache" / "npm" / "node_modules" / "mathjax"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def missing_requirement() -> str | None:
    if not (HTML / "index.html").exists():
        return "the book is not built: run `make book` first"
    if CHROMIUM is None:
        return "Chromium is not installed (apt-get install chromium)"
    if not MATHJAX.is_dir():
        return "MathJax is not in .cache/npm (make install fetches it with npm)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return 'playwright is not installed (pip install -e ".[test]")'
    return None


@pytest.fixture(scope="module")
def site():
    reason = missing_requirement()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, site, path):
    """Open ``path`` with outside requests cut off (MathJax served locally); collect errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(site):
            return request_route.continue_()
        if url.startswith(MATHJAX_CDN):
            local = MATHJAX / url[len(MATHJAX_CDN):].split("?")[0]
            return request_route.fulfill(path=str(local))
        outside.append(url)
        return request_route.abort()

    page.route("**/*", route)
    page.goto(f"{site}/{path}", wait_until="networkidle")
    return page, errors, outside


def chapter_pages():
    import notebooks  # tools/ is on the path (tests/conftest.py)

    return [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in notebooks.chapter_notebooks()]


@pytest.mark.slow
@pytest.mark.parametrize("path", chapter_pages())
def test_chapter_page_in_a_browser(browser, site, path):
    page, errors, outside = open_page(browser, site, path)
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("MathJax.startup.promise")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (Path(path).stem + ".png")), full_page=True)

    assert page.locator("mjx-container").count() > 0, "no typeset math on the page"
    assert page.locator("text=/\\\\\\(|\\\\\\[/").count() == 0, "raw TeX delimiters left on the page"

    images = page.locator("main img")
    assert images.count() > 0, "the chapter shows no figure"
    broken = page.evaluate(
        "[...document.querySelectorAll('main img')]"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == [], f"figures that did not load: {broken}"

    assert page.locator("a[href*='colab.research.google.com']").count() >= 1, "no Open in Colab link"

    solutions = page.locator("div.solution.dropdown")
    assert solutions.count() > 0, "no exercise solution"
    first = solutions.first
    body = first.locator(".admonition-title ~ *").first
    assert not body.is_visible(), "a solution is shown before the reader asks for it"
    first.locator(".admonition-title").click()
    body.wait_for(state="visible", timeout=5000)

    assert outside == [], f"the page asked for outside resources: {outside}"
    assert errors == [], f"browser console errors: {errors}"
    page.close()


@pytest.mark.slow
@pytest.mark.parametrize("path", ["book/intro.html", "book/notation.html", "book/bibliography.html", "book/status.html"])
def test_front_matter_in_a_browser(browser, site, path):
    page, errors, outside = open_page(browser, site, path)
    assert page.locator("h1").count() >= 1
    assert outside == [] and errors == [], f"outside: {outside}; errors: {errors}"
    page.close()
