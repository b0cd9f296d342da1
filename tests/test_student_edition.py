"""The student edition: generated from the chapters, solutions out, skeletons that stop exactly
where expected, and the solutions pasting back into place."""


import jupytext
import nbformat
import pytest
from nbclient import NotebookClient


import notebooks  # noqa: E402
import student_edition as se  # noqa: E402
from test_colab import myst_leftovers  # noqa: E402

CHAPTERS = notebooks.chapter_notebooks()
HEADER = "---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n"


def chapter_with(tmp_path, body):
    path = tmp_path / "99_bad.md"
    path.write_text(HEADER + body)
    return path


@pytest.mark.parametrize(
    "body, problem",
    [
        ("```{exercise}\n:label: a\nText.\n```\n", "line 9: the exercise 'a' has no solution"),
        ("```{exercise}\n:label: a\n```\n```{solution-start} b\n```\n```{solution-end}\n```\n",
         "line 12: a solution for the unknown exercise 'b'"),
        ("```{exercise}\nNo label.\n```\n", "line 9: an exercise without a :label:"),
        ("```{exercise}\n:label: a\n```\n```{solution-start} a\n```\nText.\n", "line 12: the solution of 'a' is never closed"),
        ("```{solution-end}\n```\n", "line 9: a {solution-end} without a {solution-start}"),
    ],
)
def test_malformed_markup_names_the_chapter_and_line(tmp_path, body, problem):
    with pytest.raises(se.MarkupError) as error:
        se.student_notebook(chapter_with(tmp_path, body))
    assert "99_bad.md" in str(error.value) and problem in str(error.value)


def test_the_command_line_reports_malformed_markup(tmp_path, monkeypatch):
    bad = chapter_with(tmp_path, "```{exercise}\n:label: a\n```\n")
    monkeypatch.setattr(notebooks, "chapter_notebooks", lambda: [bad])
    with pytest.raises(se.MarkupError, match="99_bad.md, line 9"):
        se.write_student_edition(tmp_path / "out")


def test_skeletons_keep_signatures_and_stop_on_other_code():
    source = 'import math\n\ndef f(x, y=2):\n    """Doc."""\n    return x + y\n\nprint(f(1))\n'
    stub, stops = se.skeleton(source, "ex")
    assert "def f(x, y=2):" in stub and "Doc." in stub
    assert "return x + y" not in stub and "print" not in stub and "import math" in stub
    assert stops
    only_function, stops = se.skeleton('def g():\n    return 1\n', "ex")
    assert not stops and "NotImplementedError" in only_function


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_student_edition_hides_solutions_and_pastes_back(chapter):
    exercises = se.check_markup(chapter)
    assert exercises, f"{chapter.name} has no exercise"
    student = se.student_notebook(chapter)
    original = jupytext.read(chapter)
    cells = se.chapter_cells(student)
    assert len(cells) == len(original.cells)
    solution_cells = [i for i, c in enumerate(cells) if se.KEY in c.metadata]
    assert solution_cells, f"{chapter.name}: no solution code found"
    for i in solution_cells:
        if "self-check" not in cells[i].metadata.get("tags", []):
            assert cells[i].source != original.cells[i].source, f"cell {i} still holds its solution"
    pasted = se.paste_solutions(student, chapter)
    assert [c.source for c in pasted.cells if c.cell_type == "code"] == \
        [c.source for c in original.cells if c.cell_type == "code"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_student_edition_reads_as_a_notebook_with_its_skeletons_in_view(chapter):
    student = se.student_notebook(chapter)
    assert myst_leftovers(student) == [], f"{chapter.name}: the student edition shows MyST as text"
    text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    first = f"Exercise {int(chapter.stem[:2])}.1"
    assert f"**{first}**" in text and f"**Your solution to {first}**" in text and "<details>" not in text
    assert not any("cellView" in c.metadata for c in student.cells), "a skeleton is collapsed"
    assert student.metadata["accelerator"] == "GPU"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_student_edition_stops_exactly_at_the_exercises(chapter, tmp_path):
    student = se.student_notebook(chapter)
    NotebookClient(student, timeout=1800, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    stopped = {}
    for i, cell in enumerate(student.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                stopped[i] = output["ename"]
    expected = {i: se.STOPS for i, c in enumerate(student.cells)
                if c.metadata.get(se.KEY, {}).get("expect") == se.STOPS}
    assert expected, f"{chapter.name}: no exercise cell is expected to stop"
    assert stopped == expected, (
        f"{chapter.name}: cells that stopped {stopped}, expected {expected} "
        f"(a cell after an exercise may be using a solution's names)"
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_the_committed_student_edition_is_generated_from_the_current_source(chapter):
    committed = se.STUDENT / f"{chapter.stem}.ipynb"
    assert committed.exists(), f"student/{committed.name} is missing: run `make student` and commit it"
    saved, fresh = nbformat.read(committed, as_version=4), se.student_notebook(chapter)
    assert [(c.cell_type, c.source, c.metadata) for c in saved.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in fresh.cells], (
        f"student/{chapter.stem}.ipynb is stale: run `make student` and commit it")
