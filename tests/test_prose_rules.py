"""The prose rules of the chapters (ARCHITECTURE.md, "Prose rules"), checked on their source: no
sentence sends the reader to another paragraph to learn a result, and no range of measured values
is written as "min to max" by hand (``ssl_lib.prose.value_range`` writes one number when the two
ends are equal)."""

import re

import pytest

import notebooks  # tools/notebooks.py

#: A sentence that leaves the reading of a result to another paragraph.
REFERRING = re.compile(r"\b(paragraph|lines?|table|text|verdict)s? (above|below) says? (whether|when|which of)\b"
                       r"|\bas the (lines|paragraph|table) (above|below) says?\b"
                       r"|\bis what the (first|last) printed\b", re.IGNORECASE)
#: A range of measured values written by hand: "{...min...} to {...max...}" in an f-string.
HAND_RANGE = re.compile(r"min\(?[^{}]*\} to \{[^{}]*max")


def violations(text: str) -> list[str]:
    """The lines of ``text`` that break a prose rule."""
    return [line.strip() for line in text.splitlines() if REFERRING.search(line) or HAND_RANGE.search(line)]


def test_the_rules_catch_planted_sentences():
    assert violations("Whether it holds, the paragraph above says whether it does on these runs.")
    assert violations("this is the papers' result, as the lines above say when they do")
    assert violations('print(f"leaks from {x.min():.3f} to {x.max():.3f}")')
    assert not violations("The claim holds on both seeds; the table gives the numbers.")


@pytest.mark.parametrize("chapter", notebooks.chapter_notebooks(), ids=lambda c: c.stem)
def test_no_chapter_breaks_a_prose_rule(chapter):
    found = violations(chapter.read_text())
    assert not found, f"{chapter.name}: " + "; ".join(found)
