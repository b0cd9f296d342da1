"""Tables of numbers as a page shows them: folded under one line that says what they hold.

A figure carries a result; the numbers behind it are for the reader who wants them, so a chapter
shows them folded (an HTML ``<details>`` element, which the book, Jupyter and Colab all open on a
click) instead of printing a long block of text beneath the figure.
"""

from __future__ import annotations

import html

import pandas as pd


class Folded:
    """A table folded under its summary line; Jupyter shows it through ``_repr_html_``."""

    def __init__(self, frame: pd.DataFrame, summary: str, float_format: str = "{:.3f}") -> None:
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"folded needs a pandas DataFrame, got {type(frame).__name__}; "
                            "build one with pd.DataFrame(rows) first")
        if frame.empty:
            raise ValueError(f"folded got an empty table for {summary!r}: there is nothing to show")
        self.frame, self.summary, self.float_format = frame, summary, float_format

    def _repr_html_(self) -> str:
        table = self.frame.to_html(float_format=self.float_format.format, border=0, classes="numbers")
        return (f'<details class="numbers"><summary>{html.escape(self.summary)}</summary>\n'
                f"{table}\n</details>")

    def __repr__(self) -> str:
        return f"{self.summary}\n{self.frame.to_string(float_format=self.float_format.format)}"


def folded(frame: pd.DataFrame, summary: str, float_format: str = "{:.3f}") -> Folded:
    """``frame`` folded under ``summary`` (for example "The numbers behind Figure 4"), its floats
    written by ``float_format``."""
    return Folded(frame, summary, float_format)
