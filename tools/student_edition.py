"""The student edition: every chapter as a notebook with its exercises' solutions taken out.

    python tools/student_edition.py        # (re)write student/<chapter>.ipynb for every chapter

The student edition is committed, like ``notebooks/``, so that a class opens it from links
(Colab reads a notebook straight from the repository); ``tests/test_student_edition.py`` fails
when one is stale.

In each solution (the code and text between ``{solution-start} LABEL`` and ``{solution-end}``):

* the prose is replaced by a prompt for the student's answer;
* a code cell that defines functions keeps their signatures and docstrings, with bodies that raise
  ``NotImplementedError``; any other solution code becomes a line that raises it;
* a cell tagged ``self-check`` is kept as it is: it compares the student's function with the
  library's reference (``ssl_lib.homework.check``) and stops while the skeleton is unfinished.

The Markdown is then converted as for the chapters' notebooks (``myst_markdown.readable``):
citations, references, admonitions and exercise titles, with the prompts and skeletons left in view.

Cells after an exercise use the library's reference implementation, never a solution's names, so an
unfinished exercise does not break the rest of the chapter. Each cell that should stop with
``NotImplementedError`` in the student edition carries ``metadata["student_edition"]["expect"]``;
the tests execute the student edition and check that exactly those cells stop.

Malformed exercise markup (an exercise without a label or a solution, a solution for an unknown
exercise, a solution that is never closed) stops the generator with an error naming the chapter
and the line.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402  (tools/notebooks.py)
from myst_markdown import ROOT, ConversionError, is_caption, numbered, readable  # noqa: E402

KEY = "student_edition"
STOPS = "NotImplementedError"
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(exercise|solution-start|solution-end|solution)\}\s*(\S*)")
ANSWER_PROMPT = "*Your answer here.*"


class MarkupError(ValueError):
    """The exercise markup of a chapter is malformed; the message names the chapter and line."""


@dataclass(frozen=True)
class Exercise:
    label: str
    line: int
    solution_line: int


def check_markup(path: Path) -> list[Exercise]:
    """Every exercise of ``path`` with its solution; raise :class:`MarkupError` on bad markup."""
    lines = path.read_text().splitlines()
    exercises: dict[str, int] = {}
    solutions: dict[str, int] = {}
    open_solution: tuple[str, int] | None = None

    def fail(line_number: int, problem: str) -> MarkupError:
        return MarkupError(f"{path.name}, line {line_number}: {problem}")

    for number, line in enumerate(lines, start=1):
        match = DIRECTIVE.match(line.strip())
        if not match:
            continue
        fence, kind, argument = match.groups()
        if kind == "exercise":
            label = _directive_label(lines, number, fence)
            if label is None:
                raise fail(number, "an exercise without a :label: (its solution needs one to point to)")
            if label in exercises:
                raise fail(number, f"a second exercise labelled {label!r} (first at line {exercises[label]})")
            exercises[label] = number
        elif kind in ("solution-start", "solution"):
            if not argument:
                raise fail(number, f"a {kind} that names no exercise")
            if argument not in exercises:
                raise fail(number, f"a solution for the unknown exercise {argument!r} "
                                   f"(known so far: {', '.join(exercises) or 'none'})")
            if open_solution:
                raise fail(number, f"a solution starts inside the solution of {open_solution[0]!r} "
                                   f"opened at line {open_solution[1]}; close it with {{solution-end}}")
            if argument in solutions:
                raise fail(number, f"a second solution for {argument!r} (first at line {solutions[argument]})")
            solutions[argument] = number
            if kind == "solution-start":
                open_solution = (argument, number)
        else:  # solution-end
            if open_solution is None:
                raise fail(number, "a {solution-end} without a {solution-start} before it")
            open_solution = None
    if open_solution:
        raise fail(open_solution[1], f"the solution of {open_solution[0]!r} is never closed with {{solution-end}}")
    unsolved = [label for label in exercises if label not in solutions]
    if unsolved:
        raise fail(exercises[unsolved[0]], f"the exercise {unsolved[0]!r} has no solution")
    return [Exercise(label, exercises[label], solutions[label]) for label in exercises]


def _directive_label(lines: list[str], start: int, fence: str) -> str | None:
    for line in lines[start:]:
        stripped = line.strip()
        if stripped.startswith(":label:"):
            return stripped.split(":label:", 1)[1].strip()
        if stripped == fence or not stripped.startswith(":"):
            return None
    return None


def student_notebook(path: Path) -> nbformat.NotebookNode:
    """The student edition of the chapter at ``path``, cell for cell (:func:`chapter_cells`), its
    Markdown converted and its figures captioned."""
    check_markup(path)
    notebook = jupytext.read(path)
    label = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source, label = _strip_solution_prose(cell.source, label)
        elif label is not None:
            if "self-check" in cell.metadata.get("tags", []):
                cell.metadata[KEY] = {"exercise": label, "expect": STOPS}
            else:
                cell.source, stops = skeleton(cell.source, label)
                cell.metadata[KEY] = {"exercise": label, "expect": STOPS if stops else None}
    return readable(notebook, path, notebooks.toc_references(), hide_solutions=False)


def _strip_solution_prose(text: str, label: str | None) -> tuple[str, str | None]:
    """Drop solution prose from a markdown cell; return the new text and the open solution's label."""
    kept, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        match = DIRECTIVE.match(lines[i].strip())
        kind = match.group(2) if match else None
        if kind in ("solution-start", "solution-end"):
            fence = match.group(1)
            kept.append(lines[i])
            i += 1
            while i < len(lines) and lines[i].strip() != fence:   # the directive's options
                kept.append(lines[i])
                i += 1
            if i < len(lines):
                kept.append(lines[i])
            label = match.group(3) if kind == "solution-start" else None
            if kind == "solution-start":
                kept += ["", ANSWER_PROMPT, ""]
        elif label is None:
            kept.append(lines[i])
        i += 1
    return "\n".join(kept), label


def skeleton(source: str, label: str) -> tuple[str, bool]:
    """The student's version of one solution cell, and whether it stops with NotImplementedError.

    Imports are kept; each function keeps its signature and docstring, its body raising
    ``NotImplementedError``; any other statement is replaced by one line that raises it.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not Python, so nothing to keep
        tree = ast.Module(body=[ast.Pass()], type_ignores=[])
    kept, other_code = [], False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append(ast.unparse(node))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stub = copy.deepcopy(node)
            docstring = ast.get_docstring(node, clean=False)
            stub.body = ([ast.Expr(ast.Constant(docstring))] if docstring else []) + [
                ast.parse(f"raise NotImplementedError('exercise {label}: write {node.name}')").body[0]
            ]
            kept.append(ast.unparse(stub))
        else:
            other_code = True
    header = f"# Exercise {label}: your code here."
    if other_code:
        kept.append(f"raise NotImplementedError('exercise {label}: replace this line with your code')")
    return "\n\n".join([header] + kept) if kept else header, other_code


def paste_solutions(student: nbformat.NotebookNode, chapter: Path) -> nbformat.NotebookNode:
    """The student edition with the chapter's solution code pasted back into its skeleton cells."""
    original = jupytext.read(chapter)
    pasted = copy.deepcopy(student)
    for cell, source in zip(chapter_cells(pasted), original.cells):
        if cell.cell_type == "code" and KEY in cell.metadata:
            cell.source = source.source
    return pasted


def chapter_cells(notebook: nbformat.NotebookNode) -> list:
    """The cells of a notebook made by :func:`student_notebook` that are the chapter's, one for
    one: all but the figures' captions that :func:`myst_markdown.readable` adds."""
    return [cell for cell in notebook.cells if not is_caption(cell)]


STUDENT = ROOT / "student"


def write_student_edition(out_dir: Path = STUDENT) -> list[Path]:
    """Write the student edition of every chapter as ``out_dir/<chapter>.ipynb``; remove stale ones."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in notebooks.chapter_notebooks():
        target = out_dir / f"{chapter.stem}.ipynb"
        nbformat.write(numbered(student_notebook(chapter)), target)
        written.append(target)
    for stale in set(out_dir.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=STUDENT)
    args = parser.parse_args()
    try:
        paths = write_student_edition(args.out)
    except (MarkupError, ConversionError) as error:
        sys.exit(f"student edition: {error}")
    for path in paths:
        print(f"wrote {path}")
