"""The figure helpers of ssl_lib.plots that compute something: seed ranges and image mosaics."""

import numpy as np
import pytest

from ssl_lib import plots


def test_seed_range_spans_the_seeds():
    mean, lower, upper = plots.seed_range([[1.0, 4.0], [3.0, 4.0]])
    assert mean.tolist() == [2.0, 4.0] and lower.tolist() == [1.0, 0.0] and upper.tolist() == [1.0, 0.0]


def test_image_grid_puts_rows_of_padded_images_together():
    images = np.stack([np.full((2, 2, 3), i, dtype=np.uint8) for i in range(4)])
    grid = plots.image_grid(images, [[0, 1], [3, 2]])
    assert grid.shape == (8, 8, 3)
    assert grid[1, 1, 0] == 0 and grid[1, 5, 0] == 1 and grid[5, 1, 0] == 3 and grid[0, 0, 0] == 255


def test_filter_grid_scales_each_filter_and_fills_the_last_row():
    filters = np.stack([np.arange(27, dtype=float).reshape(3, 3, 3) * (i + 1) for i in range(3)])
    grid = plots.filter_grid(filters, order=[2, 1, 0], columns=2)
    assert grid.shape == (2 * 5, 2 * 5, 3)
    assert grid.min() == 0.0 and grid.max() == 1.0
    assert (grid[5:, 5:] == 1).all()             # the empty fourth cell is white
    flat = np.ones((2, 3, 3, 3))                 # a constant filter does not divide by zero
    assert np.isfinite(plots.filter_grid(flat)).all()
    with pytest.raises(ValueError, match="filters must have shape \\(C, 3, k, k\\)"):
        plots.filter_grid(np.zeros((4, 1, 3, 3)))
