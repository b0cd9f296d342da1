"""No number typed into the prose of a chapter.

Every number a chapter states about a run must come from the run: printed by a code cell (or
rendered by one as Markdown), never typed into the text, where a rerun that changes it would leave
it wrong. A qualitative statement about a run ("falls below", "most neurons") is backed by an
``assert`` in the chapter's code instead. This test enforces the part of that rule that a machine
can check, on every chapter (notebook) of ``_toc.yml``:

**The rule.** In a chapter's Markdown cells and figure captions, once the following are taken out,

* code: fenced blocks, inline code;
* math: ``$...$``, ``$$...$$``, ``{math}`` roles and ``{math}`` directives;
* markup: headings, ``(label)=`` lines, directive fences and their ``:option:`` lines, roles
  (``{cite}``, ``{ref}``, ``{numref}``, ``{doc}``, ``{eq}``), link targets, URLs and HTML tags;
* **paper boxes**: the body of any admonition with the option ``:class: paper``, where the
  chapter quotes what a paper reports (see below);

every word that contains a digit must have one of the harmless forms of :data:`ALLOWED`: a name
that carries a number (CIFAR-10, ResNet-18), a symbol whose digits follow a letter (``v1``,
``d1``, bfloat16, conv2), a size
like 3x3 or 32x32, a year, a reference (Figure 3, Theorem 1, Section 4), a list item's number, a
setting written as ``name = value`` (``k = 200``, ``τ = 0.5``: configuration, not a result) or a
compound such as "2-dimensional". And inline math outside paper boxes may not hold a percentage
(``\\%``), so that a result cannot hide in math either.

A bare number in prose is therefore an error: "kNN accuracy of 63.4%" fails, and so does "falls to
1". Write a mathematical constant as math (``$1$``), a run's number from its result (a code cell
that prints the sentence), and a paper's number in a paper box.

**How to mark a paper's number.** Put it in an admonition with ``:class: paper``, which names its
source (figure, table, theorem or section where known), for example::

    ```{admonition} What is the paper's, what is ours
    :class: paper

    - *The paper's* (Table 1, STL-10): 80.46% for the best contrastive encoder ...
    - *Ours*: ...
    ```

Numbers in a paper box are not checked, so a paper box must never hold a result of the book's
own runs. Spelled-out numbers ("five times") are not checked either: a chapter states a run's
numbers with digits, from the result.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
from myst_markdown import HEADING, LABEL_LINE, ROLE, Directive, Verbatim, parse_blocks  # noqa: E402

import notebooks  # noqa: E402  (tools/notebooks.py)

PAPER_CLASS = "paper"

MATH_BLOCK = re.compile(r"\$\$.*?\$\$", re.S)
MATH_INLINE = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", re.S)
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
URL = re.compile(r"https?://\S+")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
PERCENT_IN_MATH = re.compile(r"\\%")

# A setting, ``name = value``: removed before the words are read. The value is a number (with
# thousands separators or a sign) not followed by a percent sign.
SETTING = re.compile(r"(?<!\S)[^\s=]+\s*=\s*[−+-]?\d[\d.,]*(?![\d.]*\s*%)")

REFERENCE_WORDS = ("figure", "figures", "fig", "table", "tables", "theorem", "theorems", "lemma",
                   "proposition", "corollary", "section", "sections", "appendix", "equation",
                   "equations", "eq", "definition", "assumption", "algorithm", "chapter", "chapters",
                   "exercise", "exercises")

# The harmless forms of a word with a digit (matched against the whole word, its surrounding
# punctuation stripped).
ALLOWED = {
    "a name that carries a number (CIFAR-10, ResNet-18, STL-10)": re.compile(r"[A-Za-z][\w.]*-\d+(/\d+)?(-\w+)?(['’]s)?"),
    "a size (3x3, 32x32, 34x5)": re.compile(r"\d+[x×]\d+(-\w+)?"),
    "a year (2021, 2020a)": re.compile(r"(19[5-9]\d|20[0-4]\d)[a-z]?(['’]s)?"),
    "a compound (2-dimensional, 2-d)": re.compile(r"\d+-(d|dimensional|layer|fold|way|class|dim)"),
}
STRIP = "()[]{},.;:!?\"'“”‘’*_<>"
WORD_WITH_DIGIT = re.compile(r"\S*\d\S*")
LIST_ITEM = re.compile(r"^\s*\d+[.)]\s")


def prose_lines(blocks, out: list[str], checks_math: list[str]) -> None:
    """The prose lines of parsed Markdown ``blocks`` (directives walked into, paper boxes and code
    left out), appended to ``out``; the math of those lines goes to ``checks_math``."""
    for block in blocks:
        if isinstance(block, Verbatim):
            continue
        if isinstance(block, Directive):
            if block.name == "math":
                continue
            if PAPER_CLASS in str(block.options.get("class", "")).split():
                continue
            if block.argument and block.name in ("admonition", "exercise"):
                out.append(block.argument)
            prose_lines(parse_blocks(block.content), out, checks_math)
            continue
        stripped = block.strip()
        if LABEL_LINE.match(stripped) or HEADING.match(stripped):
            continue
        out.append(LIST_ITEM.sub(" ", block))


def _blank(match: re.Match) -> str:
    """A removed piece of markup, as a space, or as the line breaks it held (line numbers are kept)."""
    return "\n" * match.group(0).count("\n") or " "


def without_markup(text: str, math: list[str]) -> str:
    """``text`` with code, math (collected into ``math``), roles, links, URLs and tags removed."""
    text = INLINE_CODE.sub(_blank, ROLE.sub(_blank, text))
    for pattern in (MATH_BLOCK, MATH_INLINE):
        math += [m.group(0) for m in pattern.finditer(text)]
        text = pattern.sub(_blank, text)
    for pattern in (LINK_TARGET, URL, HTML_TAG):
        text = pattern.sub(_blank, text)
    return SETTING.sub(" ", text)


def allowed(word: str, before: str) -> bool:
    """Whether ``word`` (a word with a digit) has a harmless form; ``before`` is the word before it."""
    core = word.strip(STRIP)
    if not any(c.isdigit() for c in core):
        return True
    if any(pattern.fullmatch(core) for pattern in ALLOWED.values()):
        return True
    first = re.search(r"\d", core).start()
    if first > 0 and (core[first - 1].isalpha() or core[first - 1] in "_^"):
        return True       # a symbol or identifier whose digits follow a letter: v1, d1, bfloat16, S^1
    previous = before.strip(STRIP).lower().rstrip(".")
    if previous in REFERENCE_WORDS and re.fullmatch(r"\d+(\.\d+)*([-–]\d+)?[a-z]?(['’]s)?", core):
        return True
    return False


def offending_numbers(text: str) -> list[tuple[int, str]]:
    """(line, word) for each word of prose ``text`` whose number breaks the rule, and for each
    percentage in its math."""
    math: list[str] = []
    clean = without_markup(text, math)
    found = []
    for number, line in enumerate(clean.split("\n")):
        words = line.split()
        for i, word in enumerate(words):
            if WORD_WITH_DIGIT.fullmatch(word) and not allowed(word, words[i - 1] if i else ""):
                found.append((number, word.strip(STRIP) or word))
    found += [(text[:text.find(m)].count("\n"), f"a percentage in math, {m}")
              for m in math if PERCENT_IN_MATH.search(m)]
    return found


def chapter_prose(chapter: Path) -> list[tuple[str, str]]:
    """(where, text) of every Markdown cell and figure caption of ``chapter``."""
    pieces = []
    for number, cell in enumerate(jupytext.read(chapter).cells):
        if cell.cell_type == "markdown":
            lines: list[str] = []
            prose_lines(parse_blocks(cell.source.split("\n")), lines, [])
            pieces.append((f"cell {number}", "\n".join(lines)))
        else:
            caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
            if caption:
                pieces.append((f"cell {number} (figure caption)", caption))
    return pieces


def violations(chapter: Path) -> list[str]:
    """'<where>: <word> in "<line>"' for every number typed into ``chapter``'s prose."""
    found = []
    for where, text in chapter_prose(chapter):
        lines = text.split("\n")
        for number, word in offending_numbers(text):
            found.append(f"{where}: {word!r} in {lines[number].strip()!r}")
    return found


CHAPTERS = notebooks.chapter_notebooks()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_no_number_is_typed_into_a_chapters_prose(chapter):
    found = violations(chapter)
    assert not found, (
        f"{chapter.name}: numbers typed into the prose (print a run's numbers from its result, write a "
        f"mathematical value as math, quote a paper's number in a `:class: paper` admonition; "
        f"see tests/test_prose_numbers.py):\n" + "\n".join(found))


# --- The rule itself --------------------------------------------------------------------------

def markdown_violations(source: str) -> list[str]:
    lines: list[str] = []
    prose_lines(parse_blocks(source.split("\n")), lines, [])
    return [word for _, word in offending_numbers("\n".join(lines))]


@pytest.mark.parametrize("typed", [
    "The encoder reaches a kNN accuracy of 63.4% after training.",
    "The transfer error falls to 0.0037 at the last weight.",
    "The neurons split the features in 2 of 3 runs.",
    "The trained model's error is $0.3\\%$ above the oracle.",
    "- a list item that says the loss is 4.93 at the end",
])
def test_a_number_typed_into_prose_is_caught(typed):
    assert markdown_violations(typed), f"not caught: {typed!r}"


@pytest.mark.parametrize("harmless", [
    "We train a ResNet-18 on CIFAR-10 and STL-10 at 32x32 with a 3x3 stem (He et al. 2016).",
    "As in the paper's Figure 4 and Theorem 1, see Section 3.2; the weak feature v2 and d1.",
    "The kNN classifier uses k = 200 neighbours and t = 0.1, on a 2-dimensional output in bfloat16.",
    "The loss is $\\log(2N - 1)$, with $\\tau = 0.5$; {numref}`fig-x` and `make results SEEDS=0 1`.",
    "1. **A numbered item** whose number is its place in the list.",
    "```{admonition} What is the paper's, what is ours\n:class: paper\n\n"
    "- The paper reports 81.15% on STL-10 (Table 1).\n```",
    "See [the benchmark](https://docs.lightly.ai/v1.2/benchmarks.html).",
])
def test_harmless_numbers_pass(harmless):
    assert markdown_violations(harmless) == []


def test_a_paper_number_outside_a_paper_box_is_caught():
    box = "```{admonition} The paper's numbers\n\n- The paper reports 81.15% on STL-10.\n```"
    assert markdown_violations(box) == ["81.15%"]
