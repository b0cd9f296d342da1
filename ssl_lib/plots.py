"""The book's one figure style: every figure shares this palette, font size and layout.

Chapters call :func:`use_book_style` once, then :func:`new_figure` for each figure. Figures
carry captions in the book (MyST-NB figure metadata), so these helpers set no titles.
"""

from __future__ import annotations

import math

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


def grouped_bars(ax, groups: list[str], series: dict[str, tuple[list[float], list[float]]], *,
                 ylabel: str = "test accuracy (%)", colors: list | None = None) -> None:
    """Bars of accuracies (fractions, drawn in percent) from zero, one group per entry of
    ``groups`` and one bar per series, with error bars of one standard error and each bar's
    value written above it. ``series`` maps a legend label to (values, standard errors)."""
    for label, (values, errors) in series.items():
        if len(values) != len(groups) or len(errors) != len(groups):
            raise ValueError(f"series {label!r} has {len(values)} values and {len(errors)} errors "
                             f"for {len(groups)} groups; give one of each per group")
    colors = colors or palette(len(series))
    width = 0.8 / len(series)
    for i, (label, (values, errors)) in enumerate(series.items()):
        x = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(x, [100 * v for v in values], width=width * 0.95, yerr=[100 * e for e in errors], capsize=2,
               color=colors[i], label=label)
        for xi, v, e in zip(x, values, errors):
            ax.text(xi, 100 * (v + e) + 1, f"{100 * v:.0f}", ha="center", va="bottom", fontsize=FONT_SIZE - 3)
    ax.set_xticks(range(len(groups)), groups)
    highest = max(100 * (v + e) for values, errors in series.values() for v, e in zip(values, errors))
    ax.set_ylim(0, min(100, 10 * math.ceil((highest + 20) / 10)))  # from zero, room for labels and legend
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
