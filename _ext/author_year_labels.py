"""The bibliography's labels in author-year form ("Grill et al. 2020"), matching the author-year
citations in the text, instead of pybtex's ``alpha`` labels ("GSAltche+20").

Registers a pybtex label style ``author_year`` and a formatting style ``author_year_labels`` (the
``unsrt`` style with those labels), which ``_config.yml`` names as ``bibtex_default_style``.
Two works whose labels would be equal get the suffixes a, b, ... in the bibliography's order.
"""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year(entry) -> str:
    """``Surname year``, ``Surname and Surname year`` or ``Surname et al. year``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    year = entry.fields.get("year", "n.d.")
    if not people:
        name = Text.from_latex(entry.fields.get("organization", entry.key)).render_as("text")
    elif len(people) == 1:
        name = _surname(people[0])
    elif len(people) == 2:
        name = f"{_surname(people[0])} and {_surname(people[1])}"
    else:
        name = f"{_surname(people[0])} et al."
    return f"{name} {year}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(entry) for entry in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearLabelsStyle(UnsrtStyle):
    default_label_style = "author_year"


register_plugin("pybtex.style.labels", "author_year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "author_year_labels", AuthorYearLabelsStyle)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
