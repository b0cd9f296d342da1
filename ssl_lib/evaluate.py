"""Evaluating frozen representations: how much of the labels a feature space makes easy to read."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 200,
    temperature: float = 0.1,
    chunk_size: int = 1024,
) -> float:
    r"""Weighted k-nearest-neighbour accuracy on frozen features (Wu et al. 2018; lightly's protocol).

    Features are L2-normalised; each test point votes among its k most cosine-similar
    training points, neighbour j weighing :math:`\exp(s_j / T)`; the class with the largest
    total weight is the prediction.

    Args:
        train_features: (N, D) features of the training set; ``train_labels``: (N,) integers.
        test_features: (M, D) features of the test set; ``test_labels``: (M,) integers.
        k: number of neighbours (200 in the benchmarks; capped at N).
        temperature: T > 0 of the vote weights (0.1 in the benchmarks).
        chunk_size: test points compared at once (bounds the memory of the similarity matrix).

    Returns:
        The fraction of test points classified correctly, in [0, 1].
    """
    for name, feats, labels in (("train", train_features, train_labels), ("test", test_features, test_labels)):
        if feats.ndim != 2 or labels.ndim != 1 or feats.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{name}_features must be (N, D) and {name}_labels (N,), got "
                f"{tuple(feats.shape)} and {tuple(labels.shape)}"
            )
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            f"train_features and test_features must have the same width, got "
            f"{train_features.shape[1]} and {test_features.shape[1]}"
        )
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    k = min(k, train_features.shape[0])
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    train = F.normalize(train_features.float(), dim=1)
    test = F.normalize(test_features.float().to(train.device), dim=1)
    train_labels = train_labels.to(train.device)
    correct = 0
    for start in range(0, test.shape[0], chunk_size):
        sims, idx = (test[start : start + chunk_size] @ train.T).topk(k, dim=1)
        votes = torch.zeros(sims.shape[0], n_classes, device=train.device)
        votes.scatter_add_(1, train_labels[idx], (sims / temperature).exp())
        predicted = votes.argmax(dim=1).cpu()
        correct += (predicted == test_labels[start : start + chunk_size].cpu()).sum().item()
    return correct / test.shape[0]
