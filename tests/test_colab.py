"""Colab: every chapter links to a runnable notebook generated from its current source."""

import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import notebooks  # noqa: E402

CHAPTERS = notebooks.chapter_notebooks()
IDS = [c.stem for c in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_chapter_links_to_its_colab_notebook(chapter):
    assert f"[Open in Colab]({notebooks.colab_url(chapter)})" in chapter.read_text(), (
        f"{chapter.name} has no 'Open in Colab' link to {notebooks.colab_url(chapter)}"
    )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_first_cell_installs_ssl_lib_only_in_colab_and_keeps_torch(chapter):
    first = next(c for c in jupytext.read(chapter).cells if c.cell_type == "code")
    assert first.source == notebooks.setup_cell(), (
        f"{chapter.name}: the first code cell must be tools/notebooks.py's SETUP_CELL"
    )
    install = first.source.split("pip", 1)[1]
    assert "torch" not in install, "the setup cell must never reinstall torch"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_colab_notebook_is_generated_from_the_current_source(chapter):
    committed = notebooks.NOTEBOOKS / f"{chapter.stem}.ipynb"
    assert committed.exists(), f"{committed.name} is missing: run `make notebooks`"
    saved = nbformat.read(committed, as_version=4)
    fresh = notebooks.as_notebook(chapter)
    assert [(c.cell_type, c.source) for c in saved.cells] == [(c.cell_type, c.source) for c in fresh.cells], (
        f"notebooks/{committed.name} is stale: run `make notebooks` and commit it"
    )
    assert not any(c.get("outputs") for c in saved.cells), f"{committed.name} is committed with outputs"


def test_no_notebook_without_a_chapter():
    chapters = {c.stem for c in CHAPTERS}
    orphans = [p.name for p in notebooks.NOTEBOOKS.glob("*.ipynb") if p.stem not in chapters]
    assert orphans == [], f"notebooks without a chapter: {orphans}"
