"""MyST Markdown, the book's source, as plain notebook Markdown: what Jupyter and Colab render.

:func:`readable` rewrites the Markdown cells of a chapter's notebook (both the Colab notebooks of
``tools/notebooks.py`` and the student edition use it); code cells' sources are kept byte for byte.

* ``{cite}`` (and ``{cite:p}``, ``{cite:t}``) becomes author-year text, "(Chen et al., 2020)", from
  the book's BibTeX files, each citation linked to the bibliography page of the published book
  (:data:`SITE`). The page only: sphinxcontrib-bibtex gives its entries generated ids (``id3``),
  not ids made from their keys, so there is no stable anchor to link to.
* ``{ref}``, ``{numref}``, ``{eq}`` and ``{doc}`` become links to the page and anchor of the
  published book that holds the label (:func:`book_references` indexes the pages it is given). The
  link text is the reference's own text, else the labelled heading's text, else "Figure",
  "Exercise 6.2" (chapter and exercise, as in the HTML book: :func:`exercise_number`) or "equation":
  the book's figure and equation numbers are assigned by Sphinx across the whole book, and are not
  repeated here. A label that no page defines stops the conversion with an error naming the
  chapter and the label.
* ``(label)=`` lines are dropped; admonitions become block quotes with a bold title; an exercise
  becomes a bold "Exercise 6.2" followed by its text.
* A solution (``{solution-start} LABEL`` ... ``{solution-end}``) spans several cells, code cells
  among them, and a notebook has no element that spans cells. So each of its Markdown pieces is
  wrapped in its own HTML ``<details>`` block ("Solution to Exercise 6.2 (click to open)"), which
  Jupyter and Colab both render closed, with the Markdown and math inside rendered once opened.
  Its code cells, whose source must stay the chapter's, are collapsed by metadata alone: the
  standard ``"jupyter": {"source_hidden": true}``, which JupyterLab and Notebook 7 honour, and
  Colab's ``"cellView": "form"``, which Colab shows as a "Show code" button (Colab's ``# @title``
  line would have changed the source). Outputs are not hidden: nothing has run in a fresh notebook.
  The student edition keeps its prompts and skeletons in view instead (``hide_solutions=False``).
* The notebook asks Colab for a GPU (:data:`COLAB_METADATA`).

A directive or role without a rule here raises :class:`ConversionError` naming the chapter, so that
nothing of MyST reaches a notebook unconverted (``tests/test_colab.py`` also checks).

This module knows the book's configuration (``_config.yml``) but not its table of contents: the
caller passes the pages to index (``notebooks.toc_references``).
"""

from __future__ import annotations

import codecs
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import latexcodec  # noqa: F401  (registers the "ulatex" codec, for BibTeX names)
import nbformat
import yaml
from pybtex.database import parse_file
from pybtex.richtext import Text

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"

# What every generated notebook asks of Colab: a GPU runtime (the chapters' paper-like scales need
# one); "provenance" is the list Colab keeps of a notebook's copies.
COLAB_METADATA = {"accelerator": "GPU", "colab": {"provenance": [], "gpuType": "T4"}}


class ConversionError(ValueError):
    """A chapter's Markdown holds MyST that cannot be converted; the message names the chapter."""


def repository() -> tuple[str, str]:
    """The book's repository URL and branch, from ``_config.yml``."""
    config = yaml.safe_load(CONFIG.read_text())["repository"]
    return config["url"].rstrip("/"), config.get("branch", "main")


def github_pages_site(repository_url: str) -> str:
    """The GitHub Pages address of a GitHub repository: ``https://github.com/OWNER/NAME`` is
    published at ``https://OWNER.github.io/NAME/``."""
    owner, name = repository_url.removeprefix("https://github.com/").split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


# The published HTML book (.github/workflows/pages.yml deploys _build/html there): the notebooks'
# links point into it.
SITE = github_pages_site(repository()[0])


def exercise_number(page: str, n: int) -> str:
    """The number of the ``n``-th exercise of ``page`` in the HTML book and the notebooks alike:
    "6.2" for the second exercise of ``book/06_feature_decoupling_cifar`` (chapter and exercise),
    "2" on a page whose name does not start with a chapter number. ``_ext/exercise_numbers.py``
    gives Sphinx the same numbers."""
    chapter = CHAPTER_NUMBER.match(page.rsplit("/", 1)[-1])
    return f"{int(chapter.group(1))}.{n}" if chapter else str(n)


CHAPTER_NUMBER = re.compile(r"^(\d+)_")


def docname(path: Path) -> str:
    """The page name Sphinx gives a source file (``book/02_simclr``); a file outside the book is
    named by its stem."""
    path = path.resolve()
    return path.relative_to(ROOT).with_suffix("").as_posix() if path.is_relative_to(ROOT) else path.stem


# ---------------------------------------------------------------------------------------------
# MyST blocks: the little of MyST's block syntax that the conversion and the label index read.

DIRECTIVE_FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w-]+)\}\s*(.*?)\s*$")
CODE_FENCE = re.compile(r"^(`{3,}|~{3,})")
OPTION = re.compile(r"^:([\w-]+):\s*(.*?)\s*$")
LABEL_LINE = re.compile(r"^\(([^()\s]+)\)=$")
HEADING = re.compile(r"^#{1,6}\s+(.*?)(\s+#+)?\s*$")
EQUATION_LABEL = re.compile(r"^\$\$\s*\(([^()\s]+)\)$")


@dataclass(frozen=True)
class Directive:
    """A fenced MyST directive: ```` ```{name} argument ````, its options and its content lines."""
    name: str
    argument: str
    options: dict
    content: list[str]


@dataclass(frozen=True)
class Verbatim:
    """A fenced code block in Markdown, kept as it is."""
    lines: list[str]


def parse_blocks(lines: list[str]) -> list[str | Directive | Verbatim]:
    """Markdown lines as a sequence of directives, fenced code blocks and other (single) lines."""
    blocks: list[str | Directive | Verbatim] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        fence = DIRECTIVE_FENCE.match(stripped) or CODE_FENCE.match(stripped)
        if not fence:
            blocks.append(lines[i])
            i += 1
            continue
        end = _closing_fence(lines, i, fence.group(1))
        if fence.re is DIRECTIVE_FENCE:
            options, content = _split_options(lines[i + 1:end])
            blocks.append(Directive(fence.group(2), fence.group(3), options, content))
        else:
            blocks.append(Verbatim(lines[i:end + 1]))
        i = end + 1
    return blocks


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    """The index of the line closing the fence opened at ``start`` (the end, if none does)."""
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return j
    return len(lines)


def _split_options(body: list[str]) -> tuple[dict, list[str]]:
    """A directive's options (``:key: value`` lines, or a ``---`` YAML block) and its content,
    without the blank lines around it."""
    if body and body[0].strip() == "---" and "---" in (line.strip() for line in body[1:]):
        end = next(j for j in range(1, len(body)) if body[j].strip() == "---")
        return yaml.safe_load("\n".join(body[1:end])) or {}, _trimmed(body[end + 1:])
    options = {}
    while body and OPTION.match(body[0].strip()):
        key, value = OPTION.match(body[0].strip()).groups()
        options[key] = value
        body = body[1:]
    return options, _trimmed(body)


def _trimmed(lines: list[str]) -> list[str]:
    """The lines without the blank lines at their start and end."""
    kept = [i for i, line in enumerate(lines) if line.strip()]
    return lines[kept[0]:kept[-1] + 1] if kept else []


# ---------------------------------------------------------------------------------------------
# What references point to: every label and page of the book, and the bibliography.

@dataclass(frozen=True)
class Target:
    """Where a reference leads on the published book, and the link text it gets by default
    (``None`` where the book needs the reference to give its own)."""
    page: str
    anchor: str
    text: str | None

    @property
    def url(self) -> str:
        return f"{SITE}{self.page}.html" + (f"#{self.anchor}" if self.anchor else "")


@dataclass(frozen=True)
class Citation:
    authors: str   # "Chen et al.", "Wang and Isola", "Krizhevsky"
    year: str


@dataclass(frozen=True)
class References:
    """Everything a chapter's references can point to."""
    labels: dict[str, Target]        # {ref}, {numref} and {eq} targets, by label
    pages: dict[str, Target]         # {doc} targets, by page name
    citations: dict[str, Citation]   # by BibTeX key
    bibliography: str                # the URL of the bibliography page


def book_references(paths: Iterable[Path]) -> References:
    """The labels and titles of the pages at ``paths`` (the book's, in reading order), and the
    entries of the book's BibTeX files, linked to the first page with a ``{bibliography}``."""
    labels: dict[str, Target] = {}
    pages: dict[str, Target] = {}
    bibliography_pages: list[str] = []
    for path in paths:
        page = docname(path)
        lines = _without_front_matter(path.read_text()).split("\n")
        title = next((m.group(1) for m in map(HEADING.match, lines) if m), page)
        pages[page] = Target(page, "", title)
        labels.update(page_labels(lines, page))
        if any(isinstance(b, Directive) and b.name == "bibliography" for b in parse_blocks(lines)):
            bibliography_pages.append(page)
    if not bibliography_pages:
        raise ConversionError("no page of the book has a {bibliography} directive for citations to link to")
    return References(labels, pages, book_citations(), Target(bibliography_pages[0], "", None).url)


def _without_front_matter(text: str) -> str:
    """A page's text without its YAML front matter (Jupytext's header)."""
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        return text[4:].split("\n---\n", 1)[1]
    return text


def page_labels(lines: list[str], page: str) -> dict[str, Target]:
    """The labels one page defines: ``(label)=`` lines (titled by the heading that follows),
    figures (``name`` of a code cell's ``mystnb: figure:`` or of a figure), directives'
    ``:label:`` (exercises numbered in order) and ``$$ (label)`` equations."""
    labels: dict[str, Target] = {}
    blocks = parse_blocks(lines)
    exercises = 0
    for i, block in enumerate(blocks):
        if isinstance(block, Directive):
            if block.name == "exercise":
                exercises += 1
            labelled = _directive_label(block, page, exercises)
            if labelled:
                labels[labelled[0]] = labelled[1]
        elif isinstance(block, str) and LABEL_LINE.match(block.strip()):
            label = LABEL_LINE.match(block.strip()).group(1)
            labels[label] = Target(page, label, _heading_after(blocks, i))
        elif isinstance(block, str) and EQUATION_LABEL.match(block.strip()):
            label = EQUATION_LABEL.match(block.strip()).group(1)
            labels[label] = Target(page, f"equation-{label}", "equation")
    return labels


def _directive_label(directive: Directive, page: str, exercises: int) -> tuple[str, Target] | None:
    """The label a directive defines and where it leads, if it defines one; ``exercises`` is the
    number of the page's exercises up to this directive."""
    figure = (directive.options.get("mystnb") or {}).get("figure") or {}
    if directive.name == "code-cell" and "name" in figure:
        return figure["name"], Target(page, figure["name"], "Figure")
    if directive.name == "figure" and "name" in directive.options:
        return directive.options["name"], Target(page, directive.options["name"], "Figure")
    label = directive.options.get("label")
    if label is None:
        return None
    if directive.name == "math":
        return label, Target(page, f"equation-{label}", "equation")
    text = f"Exercise {exercise_number(page, exercises)}" if directive.name == "exercise" else directive.name.capitalize()
    return label, Target(page, label, text)


def _heading_after(blocks: list, i: int) -> str | None:
    """The text of the heading that a ``(label)=`` line at ``blocks[i]`` labels, if it labels one."""
    following = next((b for b in blocks[i + 1:]
                      if not (isinstance(b, str) and (not b.strip() or LABEL_LINE.match(b.strip())))), None)
    match = HEADING.match(following) if isinstance(following, str) else None
    return match.group(1) if match else None


def book_citations() -> dict[str, Citation]:
    """Author-year citations of every entry of the BibTeX files ``_config.yml`` lists, by key."""
    citations = {}
    for bibfile in yaml.safe_load(CONFIG.read_text()).get("bibtex_bibfiles", []):
        citations.update(bibtex_citations(ROOT / bibfile))
    return citations


def bibtex_citations(path: Path) -> dict[str, Citation]:
    """Author-year citations of every entry of a BibTeX file, by key."""
    citations = {}
    for key, entry in parse_file(path).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor")
        if not people or "year" not in entry.fields:
            raise ConversionError(f"{path.name}: the entry {key!r} has no author (or editor) or no year")
        surnames = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
        citations[key] = Citation(_author_text(surnames), entry.fields["year"])
    return citations


def _author_text(surnames: list[str]) -> str:
    """How a citation names its authors: "Krizhevsky", "Wang and Isola", "Chen et al."."""
    if len(surnames) == 1:
        return surnames[0]
    return " and ".join(surnames) if len(surnames) == 2 else f"{surnames[0]} et al."


def _plain(latex: str) -> str:
    """A BibTeX name as plain text: accents decoded, braces removed (``Sch{\\"o}lkopf``: Schölkopf)."""
    return Text.from_latex(codecs.decode(latex, "ulatex")).render_as("text")


# ---------------------------------------------------------------------------------------------
# The conversion of a chapter's Markdown cells.

ROLE = re.compile(r"\{([\w:-]+)\}`([^`]+)`")
EXPLICIT_TEXT = re.compile(r"^(.*?)\s*<([^<>]+)>$")
ADMONITIONS = {"admonition": "", "attention": "Attention", "caution": "Caution", "danger": "Danger",
               "error": "Error", "hint": "Hint", "important": "Important", "note": "Note",
               "seealso": "See also", "tip": "Tip", "warning": "Warning"}


@dataclass
class _Piece:
    """Consecutive lines of one Markdown cell, inside the solution of exercise ``solution`` or
    outside any (``None``); ``opens`` when the solution starts with this piece."""
    solution: str | None
    opens: bool
    lines: list[str]


class MarkdownConverter:
    """Converts the Markdown cells of one chapter, in order: exercises are numbered, and a
    solution that starts in one cell goes on in the following ones."""

    def __init__(self, chapter: str, page: str, references: References, hide_solutions: bool = True):
        self.chapter, self.page, self.references = chapter, page, references
        self.hide_solutions = hide_solutions
        self.exercises: list[str] = []        # the labels of the exercises met so far, in order
        self.solution: str | None = None      # the number of the exercise whose solution is open
        self.cell = 0                         # the number of the cell being converted, for errors

    def fail(self, problem: str) -> ConversionError:
        return ConversionError(f"{self.chapter}, cell {self.cell}: {problem}")

    def markdown(self, source: str) -> str:
        """One Markdown cell as plain notebook Markdown."""
        pieces = [_Piece(self.solution, False, [])]
        for block in parse_blocks(source.split("\n")):
            if isinstance(block, Directive) and block.name == "solution-start":
                self.solution = self._exercise_number(block.argument)
                pieces.append(_Piece(self.solution, True, []))
            elif isinstance(block, Directive) and block.name == "solution-end":
                self.solution = None
                pieces.append(_Piece(None, False, []))
            else:
                pieces[-1].lines += self.convert_lines([block])
        rendered = (self._render_piece(p) for p in pieces)
        return "\n\n".join(text for text in rendered if text)

    def _exercise_number(self, label: str) -> str:
        if label not in self.exercises:
            raise self.fail(f"a solution for {label!r}, which is not an exercise before it")
        return exercise_number(self.page, self.exercises.index(label) + 1)

    def _render_piece(self, piece: _Piece) -> str:
        text = "\n".join(piece.lines).strip("\n")
        if piece.solution is None:
            return text
        title = f"Solution to Exercise {piece.solution}"
        if not self.hide_solutions:
            return f"**Your solution to Exercise {piece.solution}**\n\n{text}".strip() if piece.opens else text
        if not text:
            return f"*{title}: in the collapsed cells below.*" if piece.opens else ""
        summary = f"{title}{'' if piece.opens else ', continued'} (click to open)"
        return f"<details>\n<summary>{summary}</summary>\n\n{text}\n\n</details>"

    def convert_lines(self, blocks: list[str | Directive | Verbatim]) -> list[str]:
        """Blocks of Markdown as converted lines: roles replaced, ``(label)=`` lines dropped,
        directives rendered, fenced code kept."""
        lines = []
        for block in blocks:
            if isinstance(block, Verbatim):
                lines += block.lines
            elif isinstance(block, Directive):
                lines += self._directive(block)
            elif not LABEL_LINE.match(block.strip()):
                lines.append(ROLE.sub(self._role, EQUATION_LABEL.sub("$$", block)))
        return lines

    def _directive(self, directive: Directive) -> list[str]:
        content = self.convert_lines(parse_blocks(directive.content))
        if directive.name == "exercise":
            self.exercises.append(directive.options.get("label", ""))
            title = f"**Exercise {exercise_number(self.page, len(self.exercises))}**"
            return [title + (f" ({directive.argument})" if directive.argument else ""), ""] + content
        if directive.name in ADMONITIONS:
            return _block_quote(ADMONITIONS[directive.name] or directive.argument,
                                ([directive.argument] if directive.name != "admonition" and directive.argument
                                 else []) + content)
        if directive.name == "math":
            return ["$$", *content, "$$"]
        raise self.fail(f"no rule converts the directive {{{directive.name}}}")

    def _role(self, match: re.Match) -> str:
        role, content = match.groups()
        if role in ("cite", "cite:p", "cite:t"):
            return self._citation(content, textual=role == "cite:t")
        if role == "math":
            return f"${content}$"
        if role in ("ref", "numref", "eq", "doc"):
            return self._reference(role, content, match.group(0))
        raise self.fail(f"no rule converts the role {{{role}}} in {match.group(0)}")

    def _reference(self, role: str, content: str, written: str) -> str:
        """A ``{ref}``, ``{numref}``, ``{eq}`` or ``{doc}`` role (``written`` as it is written) as a link."""
        explicit = EXPLICIT_TEXT.match(content)
        text, name = explicit.groups() if explicit else (None, content.strip())
        if role == "doc":
            target = self.references.pages.get(self._page_of(name))
        else:
            target = self.references.labels.get(name)
        if target is None:
            kind = "page" if role == "doc" else "label"
            raise self.fail(f"{written}: no page of the book defines the {kind} {name!r}")
        text = text or target.text
        if not text:
            raise self.fail(f"{written}: the label {name!r} is not on a heading; give the link text")
        return _link(text, target.url)

    def _page_of(self, path: str) -> str:
        """The page a ``{doc}`` path names: absolute from the book's root, else relative to this page."""
        path = path.removesuffix(".md").removesuffix(".ipynb")
        if path.startswith("/"):
            return path[1:]
        return posixpath.normpath(posixpath.join(posixpath.dirname(self.page), path))

    def _citation(self, keys: str, textual: bool) -> str:
        links = []
        for key in (k.strip() for k in keys.split(",")):
            citation = self.references.citations.get(key)
            if citation is None:
                raise self.fail(f"{{cite}}`{keys}`: no entry {key!r} in the book's BibTeX files")
            text = f"{citation.authors} ({citation.year})" if textual else f"{citation.authors}, {citation.year}"
            links.append(_link(text, self.references.bibliography))
        return ", ".join(links) if textual else f"({'; '.join(links)})"


def _link(text: str, url: str) -> str:
    """A Markdown link, brackets in its text escaped."""
    escaped = text.replace("[", r"\[").replace("]", r"\]")
    return f"[{escaped}]({url})"


def _block_quote(title: str, lines: list[str]) -> list[str]:
    """Lines as a Markdown block quote under a bold title."""
    return [f"> **{title}**", ">"] + [f"> {line}" if line.strip() else ">" for line in lines]


def readable(notebook, chapter: Path, references: References, hide_solutions: bool = True):
    """Rewrite the Markdown cells of a chapter's notebook as plain notebook Markdown, its references
    resolved in ``references``; collapse its solutions' code cells (unless ``hide_solutions`` is
    false), give each figure its caption (:func:`caption_cell`), and ask Colab for a GPU. Code
    cells' sources are left as they are. Returns the notebook, changed in place."""
    converter = MarkdownConverter(chapter.name, docname(chapter), references, hide_solutions)
    cells = []
    for number, cell in enumerate(notebook.cells):
        converter.cell = number
        cells.append(cell)
        if cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source)
            continue
        if converter.solution is not None and hide_solutions:
            _collapse(cell)
        caption = ((cell.metadata.get("mystnb") or {}).get("figure") or {}).get("caption")
        if caption:
            cells.append(caption_cell(converter.markdown(caption.strip())))
    notebook.cells = cells
    notebook.metadata.update(COLAB_METADATA)
    return notebook


#: The metadata that marks a Markdown cell as a figure's caption, which the chapter holds in its
#: code cell's metadata (where Jupyter and Colab do not show it).
CAPTION = {"ssl_book": {"caption": True}}


def caption_cell(text: str):
    """A Markdown cell holding a figure's caption, converted, to follow the cell that draws it."""
    return nbformat.v4.new_markdown_cell(f"**Figure.** {text}", metadata=CAPTION)


def is_caption(cell) -> bool:
    """Whether ``cell`` is a caption that :func:`readable` added."""
    return cell.get("metadata", {}).get("ssl_book", {}).get("caption", False)


def numbered(notebook):
    """``notebook`` with its cells numbered ``cell-<i>`` (fixed ids, so that regenerating an
    unchanged chapter changes nothing)."""
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    return notebook


def _collapse(cell) -> None:
    """Hide a code cell's source, in Jupyter and in Colab, without changing it."""
    cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), "source_hidden": True}
    cell.metadata["cellView"] = "form"
