"""The bibliography: every work the book cites is in ``book/references.bib``, and every entry there
can be found: it carries an arXiv id (``eprint``), a DOI, or, for a work with neither, the address
where its publisher keeps it (``url``)."""

import re
from pathlib import Path

from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parent.parent
BIB = ROOT / "book" / "references.bib"
CITE = re.compile(r"\{cite(?::[pt])?\}`([^`]+)`")


def entries():
    return parse_file(BIB).entries


def test_every_entry_has_an_arxiv_id_a_doi_or_an_address():
    missing = [key for key, entry in entries().items()
               if not {"eprint", "doi", "url"} & {f.lower() for f in entry.fields}]
    assert missing == [], f"book/references.bib: entries without eprint, doi or url: {missing}"


def test_every_cited_key_is_in_the_bibliography():
    known = set(entries())
    unknown = {}
    for page in sorted((ROOT / "book").glob("*.md")):
        for keys in CITE.findall(page.read_text()):
            for key in (k.strip() for k in keys.split(",")):
                if key not in known:
                    unknown.setdefault(page.name, []).append(key)
    assert unknown == {}, f"cited but not in book/references.bib: {unknown}"


def test_the_works_the_chapters_rely_on_are_listed():
    """The papers reproduced, and the methods, networks, measures and benchmarks the chapters use."""
    for key in ("chen2020simclr", "wen2021toward", "ji2023power", "wang2020understanding",
                "wen2022mechanism", "grill2020byol", "chen2021simsiam", "he2016resnet",
                "krizhevsky2012alexnet", "krizhevsky2009learning", "hoyer2004sparseness",
                "morcos2018single", "vandermaaten2008tsne", "lightly_benchmarks",
                "pokle2022contrasting"):
        assert key in entries(), f"book/references.bib has no entry {key!r}"


def test_the_bibliography_labels_are_author_year_and_unique():
    import sys

    sys.path.insert(0, str(ROOT / "_ext"))
    import author_year_labels

    labels = list(author_year_labels.AuthorYearLabels().format_labels(entries().values()))
    assert "Grill et al. 2020" in labels and "Chen and He 2021" in labels  # an accent, two authors
    assert len(set(labels)) == len(labels)
    twins = [author_year_labels.author_year(entries()["chen2020simclr"])] * 2
    assert list(author_year_labels.AuthorYearLabels().format_labels([entries()["chen2020simclr"]] * 2)) == \
        [twins[0] + "a", twins[1] + "b"]
