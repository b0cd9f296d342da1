"""The book's one figure style: every figure shares this palette, font size and layout.

Chapters call :func:`use_book_style` once, then :func:`new_figure` for each figure. Figures
carry captions in the book (MyST-NB figure metadata), so these helpers set no titles.
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
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


def legend_below(fig, ax, ncols: int | None = None) -> None:
    """One legend for the whole of ``fig``, below its panels, with the labelled artists of ``ax``
    (at the book's legend size, so that no panel's curves hide under it)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols or len(labels))


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


def seed_range(values) -> tuple:
    """A number measured on several seeds, as ``(mean, lower, upper)`` for ``errorbar(yerr=[lower,
    upper])``: the bar spans the seeds' values. ``values``: (seeds,) or (seeds, points)."""
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    return mean, mean - values.min(axis=0), values.max(axis=0) - mean


def image_grid(images, rows, pad: int = 1) -> np.ndarray:
    """One picture of images in rows: ``images`` (N, H, W, 3) uint8, ``rows`` a list of index
    lists (one row each, equal lengths); each image gets a white border of ``pad`` pixels."""
    padded = [[np.pad(images[i], ((pad, pad), (pad, pad), (0, 0)), constant_values=255) for i in row]
              for row in rows]
    return np.concatenate([np.concatenate(row, axis=1) for row in padded], axis=0)


def filter_grid(filters, order=None, columns: int = 8) -> np.ndarray:
    """First-layer filters (C, 3, k, k) as one RGB picture: each filter scaled to [0, 1] on its own,
    in ``order`` (default: as given), ``columns`` per row, white between them and in empty cells."""
    w = np.asarray(filters, dtype=float)
    if w.ndim != 4 or w.shape[1] != 3:
        raise ValueError(f"filters must have shape (C, 3, k, k), got {w.shape}")
    w = w[list(order) if order is not None else slice(None)].transpose(0, 2, 3, 1)
    low, high = w.min(axis=(1, 2, 3), keepdims=True), w.max(axis=(1, 2, 3), keepdims=True)
    w = (w - low) / np.where(high > low, high - low, 1.0)
    w = np.pad(w, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=1)
    rows = -(-len(w) // columns)
    w = np.concatenate([w, np.ones((rows * columns - len(w), *w.shape[1:]))])
    return np.concatenate([np.concatenate(list(row), axis=1) for row in w.reshape(rows, columns, *w.shape[1:])])
