"""Colab: every chapter links to a runnable notebook generated from its current source, whose
Markdown reads as a notebook's (no MyST left, solutions collapsed)."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

import myst_markdown  # noqa: E402
import notebooks  # noqa: E402

CHAPTERS = notebooks.chapter_notebooks()
IDS = [c.stem for c in CHAPTERS]

# MyST that a notebook's Markdown renderer shows as literal text.
MYST_LEFTOVERS = {
    "a {cite} role": re.compile(r"\{cite"),
    "a {ref} role": re.compile(r"\{ref\}"),
    "a {numref} role": re.compile(r"\{numref\}"),
    "a {doc} role": re.compile(r"\{doc\}"),
    "an {eq} role": re.compile(r"\{eq\}"),
    "a (label)= line": re.compile(r"^\([^()\s]+\)=\s*$", re.M),
    "a directive fence": re.compile(r"^\s*(`{3,}|~{3,})\{", re.M),
    "a colon fence": re.compile(r"^\s*:::", re.M),
    "a :label: option": re.compile(r":label:"),
}


def myst_leftovers(notebook) -> list[str]:
    """'cell <i>: <what>' for every piece of MyST syntax left in the notebook's Markdown cells."""
    return [f"cell {i}: {what}" for i, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
            for what, pattern in MYST_LEFTOVERS.items() if pattern.search(cell.source)]


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


def _saved(chapter):
    committed = notebooks.NOTEBOOKS / f"{chapter.stem}.ipynb"
    assert committed.exists(), f"{committed.name} is missing: run `make notebooks`"
    return nbformat.read(committed, as_version=4)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_colab_notebook_is_generated_from_the_current_source(chapter):
    saved, fresh = _saved(chapter), notebooks.as_notebook(chapter)
    assert [(c.cell_type, c.source, c.metadata) for c in saved.cells] == \
        [(c.cell_type, c.source, c.metadata) for c in fresh.cells], (
        f"notebooks/{chapter.stem}.ipynb is stale: run `make notebooks` and commit it"
    )
    for key in ("kernelspec", *myst_markdown.COLAB_METADATA):
        assert saved.metadata.get(key) == fresh.metadata[key], f"{chapter.stem}.ipynb: stale metadata {key!r}"
    assert not any(c.get("outputs") for c in saved.cells), f"{chapter.stem}.ipynb is committed with outputs"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_colab_notebook_keeps_the_chapters_code_and_asks_for_a_gpu(chapter):
    saved = _saved(chapter)
    assert [c.source for c in saved.cells if c.cell_type == "code"] == \
        [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    assert saved.metadata["accelerator"] == "GPU" and saved.metadata["colab"]["gpuType"] == "T4"
    assert saved.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=IDS)
def test_colab_notebook_has_no_myst_left_and_its_solutions_collapsed(chapter):
    saved = _saved(chapter)
    assert myst_leftovers(saved) == [], f"{chapter.stem}.ipynb shows MyST as text"
    assert f"<summary>Solution to Exercise {int(chapter.stem[:2])}.1 " in "".join(c.source for c in saved.cells)
    assert any(c.metadata.get("cellView") == "form" and c.metadata["jupyter"]["source_hidden"]
               for c in saved.cells if c.cell_type == "code"), f"{chapter.stem}: no solution code collapsed"


def test_the_leftover_check_sees_the_chapters_myst():
    found = {entry.split(": ", 1)[1] for entry in myst_leftovers(jupytext.read(ROOT / "book" / "02_simclr.md"))}
    assert {"a {cite} role", "a {ref} role", "a (label)= line", "a directive fence", "a :label: option"} <= found


def test_no_notebook_without_a_chapter():
    chapters = {c.stem for c in CHAPTERS}
    orphans = [p.name for p in notebooks.NOTEBOOKS.glob("*.ipynb") if p.stem not in chapters]
    assert orphans == [], f"notebooks without a chapter: {orphans}"


def test_links_point_to_the_github_pages_site():
    assert myst_markdown.SITE == "https://ssl-theory-book.github.io/ssl-book/"
    references = notebooks.toc_references()
    assert references.bibliography == myst_markdown.SITE + "book/bibliography.html"
    assert references.labels["ch-simclr"].url == myst_markdown.SITE + "book/02_simclr.html#ch-simclr"
    assert references.citations["chen2020simclr"] == myst_markdown.Citation("Chen et al.", "2020")


# The converter, on small constructed Markdown.

SITE = myst_markdown.SITE
BIB = SITE + "book/bibliography.html"
REFERENCES = myst_markdown.References(
    labels={"sec-a": myst_markdown.Target("book/01_a", "sec-a", "A section"),
            "fig-b": myst_markdown.Target("book/02_b", "fig-b", "Figure"),
            "plain": myst_markdown.Target("book/01_a", "plain", None),
            "eq-a": myst_markdown.Target("book/02_b", "equation-eq-a", "equation")},
    pages={"book/01_a": myst_markdown.Target("book/01_a", "", "Chapter A")},
    citations={"chen2020": myst_markdown.Citation("Chen et al.", "2020"),
               "wang2020": myst_markdown.Citation("Wang and Isola", "2020")},
    bibliography=BIB,
)
HEADER = ("---\njupytext:\n  text_representation:\n    format_name: myst\n"
          "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n")


def converted(markdown: str) -> str:
    converter = myst_markdown.MarkdownConverter("99_test.md", "book/02_b", REFERENCES)
    return converter.markdown(markdown)


@pytest.mark.parametrize("markdown, expected", [
    ("SimCLR {cite}`chen2020,wang2020` works.",
     f"SimCLR ([Chen et al., 2020]({BIB}); [Wang and Isola, 2020]({BIB})) works."),
    ("{cite:t}`wang2020` show it.", f"[Wang and Isola (2020)]({BIB}) show it."),
    ("See {ref}`the first part <sec-a>`.", f"See [the first part]({SITE}book/01_a.html#sec-a)."),
    ("See {ref}`sec-a` and {numref}`fig-b`.",
     f"See [A section]({SITE}book/01_a.html#sec-a) and [Figure]({SITE}book/02_b.html#fig-b)."),
    ("The {doc}`01_a` page.", f"The [Chapter A]({SITE}book/01_a.html) page."),
    ("$$\na\n$$ (eq-a)\n\nBy {eq}`eq-a`.", f"$$\na\n$$\n\nBy [equation]({SITE}book/02_b.html#equation-eq-a)."),
    ("Inline {math}`x^2`.", "Inline $x^2$."),
    ("(sec-c)=\n## A heading", "## A heading"),
    ("```{note}\nMind {cite}`chen2020`.\n\nTwice.\n```",
     f"> **Note**\n>\n> Mind ([Chen et al., 2020]({BIB})).\n>\n> Twice."),
    (":::{admonition} Why\n:class: tip\nBecause.\n:::", "> **Why**\n>\n> Because."),
    ("```{exercise}\n:label: ex-a\n\nDo {ref}`sec-a`.\n```",
     f"**Exercise 2.1**\n\nDo [A section]({SITE}book/01_a.html#sec-a)."),
    ("```bash\necho {ref}`kept`\n```", "```bash\necho {ref}`kept`\n```"),
])
def test_markdown_conversion(markdown, expected):  # on the page book/02_b: exercises 2.1, 2.2, ...
    assert converted(markdown) == expected


@pytest.mark.parametrize("markdown, problem", [
    ("See {ref}`nowhere`.", "no page of the book defines the label 'nowhere'"),
    ("See {numref}`Fig. <gone>`.", "the label 'gone'"),
    ("See {cite}`chen2020,nobody`.", "no entry 'nobody'"),
    ("See {ref}`plain`.", "give the link text"),
    ("See {term}`loss`.", "no rule converts the role {term}"),
    ("```{margin}\nAside.\n```", "no rule converts the directive {margin}"),
])
def test_what_cannot_be_converted_fails_naming_the_chapter(markdown, problem):
    with pytest.raises(myst_markdown.ConversionError, match="99_test.md") as error:
        converted(markdown)
    assert problem in str(error.value)


SOLVED = HEADER + """
```{exercise}
:label: ex-a

Compute it.
```

```{solution-start} ex-a
:class: dropdown
```

First, the idea.

```{code-cell} ipython3
x = 1
```

Then the check.

```{solution-end}
```

```{code-cell} ipython3
y = x
```
"""


def test_a_solution_spanning_a_code_cell_is_collapsed():
    notebook = myst_markdown.readable(jupytext.reads(SOLVED, fmt="myst"), notebooks.BOOK / "99_test.md",
                                      REFERENCES)
    intro, solution_code, rest, after = notebook.cells
    assert intro.source == ("**Exercise 99.1**\n\nCompute it.\n\n<details>\n<summary>Solution to Exercise 99.1 "
                            "(click to open)</summary>\n\nFirst, the idea.\n\n</details>")
    assert rest.source == ("<details>\n<summary>Solution to Exercise 99.1, continued (click to open)</summary>"
                           "\n\nThen the check.\n\n</details>")
    assert solution_code.source == "x = 1" and after.source == "y = x"
    assert solution_code.metadata == {"jupyter": {"source_hidden": True}, "cellView": "form"}
    assert after.metadata == {}
    assert notebook.metadata["accelerator"] == "GPU" and "kernelspec" in notebook.metadata


def test_a_solution_left_open_for_students():
    notebook = myst_markdown.readable(jupytext.reads(SOLVED, fmt="myst"), notebooks.BOOK / "99_test.md",
                                      REFERENCES, hide_solutions=False)
    assert notebook.cells[0].source.endswith("**Your solution to Exercise 99.1**\n\nFirst, the idea.")
    assert notebook.cells[1].metadata == {} and notebook.cells[2].source == "Then the check."


@pytest.mark.parametrize("page, n, number", [("book/06_feature_decoupling_cifar", 2, "6.2"),
                                             ("book/01_pipeline", 1, "1.1"), ("book/intro", 3, "3")])
def test_exercises_are_numbered_by_chapter_as_in_the_html_book(page, n, number):
    assert myst_markdown.exercise_number(page, n) == number


def test_a_figure_keeps_its_caption_in_the_notebook():
    chapter = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: |
      Two views, as in {cite}`chen2020`.
    name: fig-views
---
plot()
```
"""
    notebook = myst_markdown.readable(jupytext.reads(chapter, fmt="myst"), notebooks.BOOK / "99_test.md", REFERENCES)
    figure, caption = notebook.cells
    assert figure.source == "plot()" and myst_markdown.is_caption(caption)
    assert caption.source == f"**Figure.** Two views, as in ([Chen et al., 2020]({BIB}))."
