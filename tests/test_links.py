"""No broken internal link in the built book: every relative href or src of every page of
``_build/html`` points to a file that exists, and every #anchor to an id on the target page.
(The strict Sphinx build already fails on broken cross-references; this checks the rest:
Markdown links, raw HTML, theme assets.) Needs ``make book`` first (``make test`` runs it)."""

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

HTML = Path(__file__).resolve().parent.parent / "_build" / "html"


class LinksAndIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.links.append(attrs[name])


def parse(page: Path) -> LinksAndIds:
    parser = LinksAndIds()
    parser.feed(page.read_text(errors="replace"))
    return parser


def test_every_internal_link_resolves():
    if not (HTML / "index.html").exists():
        if os.environ.get("CI"):
            pytest.fail("the book is not built: run `make book` first")
        pytest.skip("the book is not built: run `make book` first")
    pages = sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts)
    parsed = {page: parse(page) for page in pages}
    broken = []
    for page, found in parsed.items():
        for link in found.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith(("//", "mailto:", "javascript:")) or re.match(r"^\{", link):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(HTML)} -> {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if parts.fragment not in ids:
                    broken.append(f"{page.relative_to(HTML)} -> {link} (no such anchor)")
    assert pages, "no page found in _build/html"
    assert broken == [], "broken internal links:\n" + "\n".join(broken[:30])
