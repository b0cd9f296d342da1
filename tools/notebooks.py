"""The book's chapters as Jupyter notebooks: which files the table of contents lists, and
their conversion to ``.ipynb`` with Jupytext.

    python tools/notebooks.py            # (re)write notebooks/<chapter>.ipynb for every chapter

The notebooks in ``notebooks/`` are what each chapter's "Open in Colab" link opens (Colab cannot
read MyST Markdown) and what nbmake executes in the tests. They are committed without outputs;
``tests/test_colab.py`` fails when one is stale, so run this after editing a chapter.

Each notebook is the chapter cell for cell: its code cells byte for byte, the first of them the
Colab setup cell (:data:`SETUP_CELL`); its Markdown cells rewritten as plain notebook Markdown, a
Markdown cell with its caption after each figure (the chapter holds captions in cell metadata,
which Jupyter and Colab do not show), its solutions collapsed and a GPU asked of Colab, by ``tools/myst_markdown.py`` (:func:`readable`,
which the student edition uses too), with the references of every page of the toc
(:func:`toc_references`). A chapter whose MyST cannot be converted stops the conversion with an
error naming it.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import jupytext
import yaml

from myst_markdown import ROOT, ConversionError, References, book_references, numbered, readable, repository

TOC = ROOT / "_toc.yml"
BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"

# Every chapter's first code cell: in Colab, install ssl_lib from the book's repository (pip keeps
# Colab's own torch, which satisfies ssl_lib's requirement); everywhere, say which device the
# chapter will use (ssl_lib picks the GPU when there is one).
SETUP_CELL = """\
# Setup: in Colab, install the companion library (Colab's torch is kept).
import subprocess, sys
if "google.colab" in sys.modules:
    repo = "git+{repository}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"ssl_lib @ {{repo}}"], check=True)
import ssl_lib
print(f"device: {{ssl_lib.describe_device()}}")"""


def setup_cell() -> str:
    """The source of every chapter's first code cell."""
    return SETUP_CELL.format(repository=repository()[0])


def colab_url(chapter: Path, folder: str = "notebooks") -> str:
    """Where the chapter's "Open in Colab" link points: its notebook in ``folder`` (``notebooks``,
    or ``student`` for the student edition) on the repository's branch."""
    url, branch = repository()
    path = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/{branch}/{folder}/{chapter.stem}.ipynb"


def toc_files(toc_path: Path = TOC) -> list[Path]:
    """Every file listed in ``_toc.yml`` (root, parts, chapters, sections), in reading order."""
    toc = yaml.safe_load(toc_path.read_text())
    entries = [toc["root"]]

    def walk(items: list[dict]) -> None:
        for item in items:
            if "file" in item:
                entries.append(item["file"])
            walk(item.get("sections", []))
            walk(item.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return [_resolve(entry, toc_path.parent) for entry in entries]


def _resolve(entry: str, root: Path) -> Path:
    """The file a toc entry names: its suffix given, else the ``.md`` or ``.ipynb`` that exists."""
    path = root / entry
    if path.suffix:
        return path
    for suffix in (".md", ".ipynb"):
        if path.with_suffix(suffix).exists():
            return path.with_suffix(suffix)
    return path.with_suffix(".md")  # missing: the caller reports it


def is_notebook(path: Path) -> bool:
    """Whether a toc file is a Jupytext notebook (it declares a kernel), not a plain page."""
    if path.suffix == ".ipynb":
        return True
    metadata = jupytext.read(path).metadata
    return "kernelspec" in metadata


def chapter_notebooks(toc_path: Path = TOC) -> list[Path]:
    """The toc files that are notebooks, in reading order."""
    return [p for p in toc_files(toc_path) if is_notebook(p)]


@functools.cache
def toc_references() -> References:
    """What the chapters' references can point to: every page of the toc, and the bibliography."""
    return book_references(toc_files())


def as_notebook(chapter: Path):
    """The chapter as an ``nbformat`` notebook that reads as one (:func:`readable`), without
    outputs, its cells numbered ``cell-<i>`` (fixed ids, so that regenerating an unchanged chapter
    changes nothing)."""
    return numbered(readable(jupytext.read(chapter), chapter, toc_references()))


def convert(out_dir: Path = NOTEBOOKS) -> list[Path]:
    """Write every chapter notebook as ``out_dir/<name>.ipynb``; remove stale ones."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in chapter_notebooks():
        target = out_dir / f"{source.stem}.ipynb"
        jupytext.write(as_notebook(source), target)
        written.append(target)
    for stale in set(out_dir.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=NOTEBOOKS)
    args = parser.parse_args()
    try:
        paths = convert(args.out)
    except ConversionError as error:
        sys.exit(f"notebooks: {error}")
    for path in paths:
        print(f"converted {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
