"""kNN and the linear probe on frozen features: right on separable data, refusing bad features,
and numerically safe at a small temperature."""

import math

import pytest
import torch

from ssl_lib import evaluate
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


def test_collapse_measures_on_known_representations():
    g = torch.Generator().manual_seed(0)
    spread_out = torch.randn(4000, 8, generator=g)
    line = torch.randn(4000, 1, generator=g) * torch.ones(1, 8)
    assert abs(evaluate.effective_rank(spread_out) - 8) < 0.1
    assert abs(evaluate.effective_rank(line) - 1) < 1e-6
    assert evaluate.spread(torch.ones(100, 8)) < 1e-6 and evaluate.spread(spread_out) > 0.9
    values = evaluate.singular_values(spread_out)
    assert values.shape == (8,) and (values[:-1] >= values[1:]).all()


def test_collapse_measures_reject_bad_input():
    with pytest.raises(ValueError, match="shape"):
        evaluate.effective_rank(torch.randn(10))
    with pytest.raises(ValueError, match="non-finite"):
        evaluate.spread(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))


def test_calibrated_batch_norm_takes_the_statistics_of_the_images():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, bias=False)
    module = torch.nn.Sequential(conv, torch.nn.BatchNorm2d(4))
    images = torch.rand(40, 3, 8, 8)
    evaluate.calibrate_batch_norm(module, images, batch_size=20)  # equal batches: their mean is the mean
    with torch.no_grad():
        out = conv(images)
    torch.testing.assert_close(module[1].running_mean, out.mean(dim=(0, 2, 3)), atol=1e-5, rtol=1e-4)
    assert not module.training and module[1].momentum == 0.1  # eval mode, momentum restored
    torch.testing.assert_close(conv.weight, module[0].weight)  # no parameter changed
    with pytest.raises(ValueError, match="no batch norm"):
        evaluate.calibrate_batch_norm(torch.nn.Linear(3, 3), images)
