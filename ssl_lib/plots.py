"""The book's one figure style: every figure shares this palette, font size and layout.

Chapters call :func:`use_book_style` once, then :func:`new_figure` for each figure. Figures
carry captions in the book (MyST-NB figure metadata), so these helpers set no titles.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import seaborn as sns

PALETTE = "colorblind"
FONT_SIZE = 11

# One colour per condition that recurs across chapters, so a reader can follow it.
CONDITION_COLORS = dict(zip(
    ["contrastive", "supervised", "random", "pca", "autoencoder", "no augmentation"],
    sns.color_palette(PALETTE, 6),
))


def use_book_style() -> None:
    """Apply the book's style to every later matplotlib figure."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=1.0)
    matplotlib.rcParams.update({
        "font.size": FONT_SIZE,
        "axes.labelsize": FONT_SIZE,
        "axes.titlesize": FONT_SIZE,
        "legend.fontsize": FONT_SIZE - 1,
        "legend.frameon": False,
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.2, height: float = 3.2, **kwargs):
    """A figure of ``nrows`` x ``ncols`` panels, each ``width`` x ``height`` inches.

    Returns ``(fig, axes)`` like :func:`matplotlib.pyplot.subplots`, with a tight layout.
    """
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), layout="constrained", **kwargs
    )
    return fig, axes


def palette(n: int) -> list:
    """``n`` colours of the book's palette."""
    return sns.color_palette(PALETTE, n)
