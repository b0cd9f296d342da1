"""A Sphinx directive, ``{chapter-costs}``, that renders :func:`ssl_lib.costs.cost_table`.

The instructors' page uses it, so that the time of every chapter at every scale comes from the
measurements (the committed quick-scale execution times and the stored results) each time the
book is built, never from numbers typed into the page.
"""

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class ChapterCosts(SphinxDirective):
    has_content = False

    def run(self):
        from ssl_lib.costs import cost_table

        container = nodes.container()
        self.state.nested_parse(StringList(cost_table().splitlines(), source="ssl_lib.costs.cost_table"),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("chapter-costs", ChapterCosts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
