"""The book's layout: the table of contents and the chapter files agree, and every chapter
follows the shape the house style asks for."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

import notebooks  # noqa: E402  (tools/notebooks.py)


def book_files(folder: Path) -> set[Path]:
    return {p for p in folder.iterdir() if p.suffix in (".md", ".ipynb")}


def toc_mismatch(toc_path: Path, book: Path) -> tuple[set[Path], set[Path]]:
    """(files listed in the toc but missing, files in book/ missing from the toc)."""
    listed = set(notebooks.toc_files(toc_path))
    missing = {p for p in listed if not p.exists()}
    return missing, book_files(book) - listed


def test_toc_and_book_folder_agree():
    missing, unlisted = toc_mismatch(notebooks.TOC, notebooks.BOOK)
    assert not missing, f"_toc.yml lists files that do not exist: {sorted(map(str, missing))}"
    assert not unlisted, f"book/ files missing from _toc.yml: {sorted(map(str, unlisted))}"


def test_the_layout_check_catches_both_mistakes(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "intro.md").write_text("# Intro\n")
    (book / "orphan.md").write_text("# Not in the toc\n")
    toc = tmp_path / "_toc.yml"
    toc.write_text(yaml.safe_dump({
        "format": "jb-book", "root": "book/intro",
        "parts": [{"caption": "x", "chapters": [{"file": "book/ghost"}]}],
    }))
    missing, unlisted = toc_mismatch(toc, book)
    assert missing == {book / "ghost.md"} and unlisted == {book / "orphan.md"}


def test_config_is_strict():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter-book build . -W -n --keep-going" in makefile


CHAPTERS = notebooks.chapter_notebooks()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_chapter_shape(chapter):
    text = chapter.read_text()
    assert "current_scale()" in text and f'describe_setup(scale, chapter="{chapter.stem}")' in text, (
        f"{chapter.name} does not print the scale, device, precision and expected time it runs at")
    assert "Open in Colab" in text, f"{chapter.name} has no 'Open in Colab' link"
    assert '"google.colab" in sys.modules' in text, f"{chapter.name} has no Colab-only setup cell"
    for section in ("## Overview", "## Summary", "## Exercises"):
        assert section in text, f"{chapter.name} has no '{section}' section"
    assert "{solution-start}" in text, f"{chapter.name} has no exercise with a solution"
    box = text.find(f'findings_box("{chapter.stem}", scale)')
    assert 0 < box < text.index("## Overview"), f"{chapter.name} does not open with its findings box"


def test_every_experiment_is_shown_by_its_chapter_and_every_shown_one_is_registered():
    """A registered experiment's chapter exists and asks for it by name; every name a chapter asks
    ``experiments.result``/``results`` for is registered."""
    import re

    from ssl_lib import experiments

    asked = {}
    for chapter in CHAPTERS:
        for name in re.findall(r"experiments\.results?\(\s*\"(\w+)\"", chapter.read_text()):
            asked.setdefault(name, set()).add(chapter.stem)
    for name in experiments.names():
        chapter = experiments.get(name).chapter
        assert (notebooks.BOOK / f"{chapter}.md").exists(), f"{name}'s chapter {chapter} does not exist"
        assert chapter in asked.get(name, set()), f"book/{chapter}.md never shows the experiment {name}"
    unknown = sorted(set(asked) - set(experiments.names()))
    assert unknown == [], f"chapters ask for experiments that are not registered: {unknown}"


def test_experiment_names_line_up_with_their_functions_modules_and_chapters():
    """A registered name is its function's name, and its module is named like its chapter
    (``book/NN_<topic>.md`` <-> ``ssl_lib/experiments/<topic>.py``), one module per chapter."""
    from ssl_lib import experiments

    modules = {}
    for name in experiments.names():
        exp = experiments.get(name)
        assert exp.function.__name__ == name, f"{name} is registered by a function called {exp.function.__name__}"
        topic = exp.module.rsplit(".", 1)[-1]
        assert exp.chapter.split("_", 1)[1] == topic, f"{name} is in {exp.module}, but its chapter is {exp.chapter}"
        modules.setdefault(exp.chapter, set()).add(exp.module)
    assert all(len(m) == 1 for m in modules.values()), modules
