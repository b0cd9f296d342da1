"""The book's chapters as Jupyter notebooks: which files the table of contents lists, and
their conversion to ``.ipynb`` with Jupytext.

    python tools/notebooks.py            # (re)write notebooks/<chapter>.ipynb for every chapter

The notebooks in ``notebooks/`` are what each chapter's "Open in Colab" link opens (Colab cannot
read MyST Markdown) and what nbmake executes in the tests. They are committed without outputs;
``tests/test_colab.py`` fails when one is stale, so run this after editing a chapter.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parent.parent
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


def repository() -> tuple[str, str]:
    """The book's repository URL and branch, from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return config["url"].rstrip("/"), config.get("branch", "main")


def setup_cell() -> str:
    """The source of every chapter's first code cell."""
    return SETUP_CELL.format(repository=repository()[0])


def colab_url(chapter: Path) -> str:
    """Where the chapter's "Open in Colab" link points: its notebook on the repository's branch."""
    url, branch = repository()
    path = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{path}/blob/{branch}/notebooks/{chapter.stem}.ipynb"


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


def as_notebook(chapter: Path):
    """The chapter as an ``nbformat`` notebook, without outputs, its cells numbered ``cell-<i>``
    (fixed ids, so that regenerating an unchanged chapter changes nothing)."""
    notebook = jupytext.read(chapter)
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"
    return notebook


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
    for path in convert(args.out):
        print(f"converted {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
