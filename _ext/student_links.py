"""A Sphinx directive, ``{student-links}``: a list of "Open in Colab" links to the student
edition of every chapter (``student/<chapter>.ipynb``, written by ``tools/student_edition.py``),
made by the function that makes the chapters' own links (``tools/notebooks.py``'s ``colab_url``).
"""

import sys
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import notebooks  # noqa: E402


class StudentLinks(SphinxDirective):
    has_content = False

    def run(self):
        lines = [f"- {{doc}}`{chapter.stem}`: [open the student edition in Colab]"
                 f"({notebooks.colab_url(chapter, folder='student')})"
                 for chapter in notebooks.chapter_notebooks()]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="tools/notebooks.py"), self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("student-links", StudentLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
