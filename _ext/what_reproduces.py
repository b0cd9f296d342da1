"""A Sphinx directive, ``{what-reproduces}``, that renders
:func:`ssl_lib.experiments.findings.reproduction_table` at the build's scale.

The introduction uses it, so that its table of which claims hold comes from the same results and
the same verdicts as every chapter's findings box, each time the book is built.
"""

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class WhatReproduces(SphinxDirective):
    has_content = False

    def run(self):
        from ssl_lib.experiments.findings import reproduction_table
        from ssl_lib.scale import current_scale

        table = reproduction_table(current_scale(), link="{{doc}}`{chapter}`")
        container = nodes.container()
        self.state.nested_parse(StringList(table.splitlines(), source="ssl_lib.experiments.findings"),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_directive("what-reproduces", WhatReproduces)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
