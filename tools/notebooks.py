"""The book's chapters as Jupyter notebooks: which files the table of contents lists, and
their conversion to ``.ipynb`` with Jupytext (for nbmake in the tests).

    python tools/notebooks.py --out _nb           # convert every chapter notebook
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jupytext
import yaml

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "_toc.yml"
BOOK = ROOT / "book"


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


def convert(out_dir: Path) -> list[Path]:
    """Write every chapter notebook as ``out_dir/<name>.ipynb``; remove stale ones."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in chapter_notebooks():
        target = out_dir / f"{source.stem}.ipynb"
        jupytext.write(jupytext.read(source), target)
        written.append(target)
    for stale in set(out_dir.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_nb")
    args = parser.parse_args()
    for path in convert(args.out):
        print(f"converted {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
