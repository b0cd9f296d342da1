"""kNN and the linear probe on frozen features: right on separable data, refusing bad features,
and numerically safe at a small temperature."""

import math

import pytest
import torch

from ssl_lib.evaluate import knn_accuracy, linear_probe_accuracy


def separable(n_per_class: int = 20, dim: int = 8, seed: int = 0):
    """Two classes along two orthogonal directions, with a little noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat_interleave(n_per_class)
    centres = torch.eye(dim)[:2]
    return centres[labels] + 0.05 * torch.randn(len(labels), dim, generator=g), labels


def test_knn_and_probe_separate_separable_classes():
    (train_x, train_y), (test_x, test_y) = separable(seed=0), separable(seed=1)
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=5) == 1.0
    assert linear_probe_accuracy(train_x, train_y, test_x, test_y) == 1.0


def test_knn_does_not_overflow_at_a_small_temperature():
    (train_x, train_y), (test_x, test_y) = separable(seed=0), separable(seed=1)
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=10, temperature=0.001) == 1.0


def test_knn_refuses_features_that_are_not_finite():
    (train_x, train_y), (test_x, test_y) = separable(seed=0), separable(seed=1)
    with pytest.raises(ValueError, match="test_features contains NaN or infinite values"):
        knn_accuracy(train_x, train_y, torch.full_like(test_x, math.nan), test_y)
    with pytest.raises(ValueError, match="train_features must be \\(N, D\\)"):
        knn_accuracy(train_x[:, 0], train_y, test_x, test_y)
