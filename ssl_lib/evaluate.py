"""Evaluating frozen representations: how much of the labels a feature space makes easy to read.

* :func:`extract_features`: an encoder's features of a set of images, in batches.
* :func:`knn_accuracy`: weighted kNN (Wu et al. 2018), the protocol of lightly's benchmarks.
* :func:`linear_probe_accuracy`: a linear classifier on frozen features (Chen et al. 2020).
* :func:`accuracy_se`, :func:`mean_and_se`: the standard errors the claims compare by.
* :func:`spread`, :func:`singular_values`, :func:`effective_rank`: collapse measures of a set of
  representations (complete and dimensional collapse; chapter 08).
"""

from __future__ import annotations

import math

from typing import Callable

import numpy as np
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
    training points, neighbour j weighing :math:`\exp(s_j / T)` (computed as
    :math:`\exp((s_j - s_1) / T)`, the same vote scaled, so that a small T cannot overflow); the
    class with the largest total weight is the prediction.

    Args:
        train_features: (N, D) features of the training set; ``train_labels``: (N,) integers.
        test_features: (M, D) features of the test set; ``test_labels``: (M,) integers.
        k: number of neighbours (200 in the benchmarks; capped at N).
        temperature: T > 0 of the vote weights (0.1 in the benchmarks).
        chunk_size: test points compared at once (bounds the memory of the similarity matrix).

    Returns:
        The fraction of test points classified correctly, in [0, 1].
    """
    _check_feature_sets(train_features, train_labels, test_features, test_labels)
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
        # weights exp((s - s_max) / T): the same vote, with no overflow at a small T
        votes.scatter_add_(1, train_labels[idx], ((sims - sims[:, :1]) / temperature).exp())
        predicted = votes.argmax(dim=1).cpu()
        correct += (predicted == test_labels[start : start + chunk_size].cpu()).sum().item()
    return correct / test.shape[0]


def _check_feature_sets(train_features, train_labels, test_features, test_labels) -> None:
    """Both sets valid (:func:`_check_features`) and of the same width."""
    _check_features(train_features, train_labels, "train")
    _check_features(test_features, test_labels, "test")
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            f"train_features and test_features must have the same width, got "
            f"{train_features.shape[1]} and {test_features.shape[1]}"
        )


def _check_features(features: torch.Tensor, labels: torch.Tensor, name: str) -> None:
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{name}_features must be (N, D) and {name}_labels (N,), got "
            f"{tuple(features.shape)} and {tuple(labels.shape)}"
        )
    if not torch.isfinite(features).all():
        raise ValueError(f"{name}_features contains NaN or infinite values; check the encoder")


@torch.no_grad()
def extract_features(encoder: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int = 1024,
                     precision: str | None = None) -> torch.Tensor:
    """The frozen representations ``encoder(images)``, computed in batches, in eval mode.

    Args:
        encoder: maps float images in [0, 1] of shape (B, 3, H, W) to (B, D) features (the
            encoders of :mod:`ssl_lib.models` normalise their inputs themselves); a module is
            put in eval mode for the pass, and back in its mode after.
        images: (N, 3, H, W), uint8 or float in [0, 1], on the encoder's device.
        batch_size: images per forward pass.
        precision: the forward passes' number format (:mod:`ssl_lib.precision`; default: the
            fastest safe one on the images' device).

    Returns:
        (N, D) float32 features on the images' device.
    """
    from ssl_lib.augment import check_images  # the one place that validates image batches
    from ssl_lib.precision import autocast, check_precision, memory_format

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    module = encoder if isinstance(encoder, torch.nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None:
        module.eval()
    precision = check_precision(precision, images.device)
    out = []
    for start in range(0, images.shape[0], batch_size):
        x = check_images(images[start:start + batch_size]).contiguous(memory_format=memory_format(precision, images.device))
        with autocast(precision, images.device):
            out.append(encoder(x).float())
    if module is not None:
        module.train(was_training)
    return torch.cat(out)


def linear_probe_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    weight_decay: float = 1e-4,
    max_iter: int = 100,
) -> float:
    r"""Test accuracy of a linear classifier trained on frozen features (the linear evaluation
    protocol of Chen et al. 2020, section 2.2), fitted fast and deterministically.

    Features are standardised with the training set's mean and standard deviation; a
    multinomial logistic regression :math:`\min_{W, b} \mathrm{CE}(W h + b, y) + \lambda \|W\|^2`
    is fitted on the whole training set at once by L-BFGS (``max_iter`` iterations), on the
    features' device.

    Args:
        train_features: (N, D); ``train_labels``: (N,) integers.
        test_features: (M, D); ``test_labels``: (M,) integers.
        weight_decay: λ >= 0.
        max_iter: L-BFGS iterations (>= 1).

    Returns:
        The fraction of test points classified correctly, in [0, 1].
    """
    _check_feature_sets(train_features, train_labels, test_features, test_labels)
    if weight_decay < 0 or max_iter < 1:
        raise ValueError(f"weight_decay must be >= 0 and max_iter >= 1, got {weight_decay}, {max_iter}")
    device = train_features.device
    mean, std = train_features.float().mean(0), train_features.float().std(0) + 1e-6
    x = (train_features.float() - mean) / std
    x_test = (test_features.float().to(device) - mean) / std
    y = train_labels.to(device).long()
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    with torch.enable_grad():
        classifier = torch.nn.Linear(x.shape[1], n_classes).to(device)
        torch.nn.init.zeros_(classifier.weight), torch.nn.init.zeros_(classifier.bias)  # convex: start at 0
        optimizer = torch.optim.LBFGS(classifier.parameters(), lr=1, max_iter=max_iter,
                                      history_size=10, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.cross_entropy(classifier(x), y) + weight_decay * classifier.weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
    with torch.no_grad():
        predicted = classifier(x_test).argmax(dim=1).cpu()
    return (predicted == test_labels.cpu()).float().mean().item()


def accuracy_se(accuracy: float, n: int) -> float:
    """The binomial standard error sqrt(p (1 - p) / n) of an accuracy p measured on n test images."""
    return math.sqrt(accuracy * (1 - accuracy) / n)


def accuracies_with_se(knn: float, probe: float, n_test: int) -> dict[str, float]:
    """kNN and probe accuracy on ``n_test`` test images, each with its :func:`accuracy_se`."""
    return {"knn": knn, "knn_se": accuracy_se(knn, n_test), "probe": probe, "probe_se": accuracy_se(probe, n_test)}


def mean_and_se(values) -> tuple[float, float]:
    """The mean of the finite ``values`` and its standard error std / sqrt(n) (0 for one value)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        raise ValueError("mean_and_se needs at least one finite value")
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


# Collapse measures: how spread out representations are (Chen & He 2021; chapter 08)

def _check_representations(z: torch.Tensor) -> None:
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"representations z must have shape (n >= 2, dim), got {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError("representations z contain non-finite values; check the model's outputs")


def spread(z: torch.Tensor) -> float:
    """The spread of the l2-normalised representations: the standard deviation over the batch,
    averaged over coordinates and multiplied by sqrt(dim). About 1 for representations spread
    over the sphere, 0 for complete collapse (Chen & He's collapse monitor). z: (n, dim)."""
    _check_representations(z)
    unit = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (unit.std(dim=0).mean() * math.sqrt(z.shape[1])).item()


def singular_values(z: torch.Tensor) -> torch.Tensor:
    """Singular values of the centred representations divided by sqrt(n), largest first (the
    square roots of the covariance's eigenvalues). z: (n, dim); returns (min(n, dim),)."""
    _check_representations(z)
    z = z.double()
    return torch.linalg.svdvals((z - z.mean(dim=0)) / math.sqrt(z.shape[0])).float()


def effective_rank(z: torch.Tensor) -> float:
    """Effective rank of the covariance of z (Roy & Vetterli 2007): exp of the entropy of its
    normalised eigenvalues. Between 1 (dimensional collapse onto a line) and dim; 0 where z does
    not vary at all (complete collapse: no eigenvalue is positive). z: (n, dim)."""
    eig = singular_values(z).double() ** 2
    if eig.sum() <= 0:
        return 0.0
    p = eig / eig.sum()
    p = p[p > 0]
    return math.exp(-(p * p.log()).sum().item())


def calibrate_batch_norm(module: torch.nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.nn.Module:
    """Set the running statistics of every batch norm in ``module`` to the mean and variance of its
    inputs over ``images`` (float in [0, 1] or uint8; the average of the statistics of batches of
    ``batch_size``, the mean itself when the batches are equal), with no gradient step and no
    parameter changed; return ``module`` in eval mode. A network at initialisation evaluated so is a fairer
    untrained baseline than one evaluated with batch norm's initial statistics (0 and 1)."""
    from ssl_lib.augment import check_images  # the one place that validates image batches

    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError("the module has no batch norm layer to calibrate")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over every batch
    module.train()
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            module(check_images(images[start:start + batch_size]))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    return module.eval()

