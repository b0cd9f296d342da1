"""Exercises numbered per chapter, "Exercise 6.2", in the HTML book as in the notebooks.

sphinx-exercise numbers exercises across the whole book (Sphinx's figure numbers), while a
notebook can only number its own. After Sphinx assigns its numbers, this extension renumbers each
chapter's exercises in their order on the page with ``tools/myst_markdown.py``'s
:func:`exercise_number`, the function the notebooks use, so that "Exercise 6.2" is the same
exercise in the HTML, the Colab notebook and the student edition.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from myst_markdown import exercise_number  # noqa: E402


def renumber_exercises(app, env):
    for docname, numbers in env.toc_fignumbers.items():
        exercises = numbers.get("exercise")
        if exercises:
            in_order = sorted(exercises, key=exercises.get)
            numbers["exercise"] = {id: tuple(int(part) for part in exercise_number(docname, n).split("."))
                                   for n, id in enumerate(in_order, start=1)}
    return []


def setup(app):
    # after Sphinx's own numbering (the toctree collector, priority 500)
    app.connect("env-get-updated", renumber_exercises, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
