"""The contrastive losses of the book, written to read like their equations.

* :func:`info_nce` is SimCLR's NT-Xent loss (Chen et al. 2020, eq. 1).
* :func:`align_loss` and :func:`uniform_loss` are the alignment and uniformity losses of
  Wang & Isola (2020, eqs. 4 and 5), as in their reference code.

Every loss checks its inputs at the boundary: shapes, the number of samples, finiteness and
parameter ranges, with a ``ValueError`` that names the offending argument.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    r"""SimCLR's NT-Xent loss for a batch of N positive pairs (Chen et al. 2020, eq. 1).

    The 2N views :math:`z_1, \dots, z_{2N}` are L2-normalised and compared by cosine
    similarity :math:`s_{kl} = z_k^\top z_l / (\|z_k\| \|z_l\|)`. For each view k with
    positive partner k⁺, the other 2N - 2 views of the batch are its negatives:

    .. math::

        \ell_k = -\log \frac{\exp(s_{k k^+} / \tau)}{\sum_{l \neq k} \exp(s_{kl} / \tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell_k ,

    so the loss is averaged over both directions (view 1 to view 2 and back).

    Args:
        z1, z2: embeddings of the two views, shape (N, D), row i of ``z1`` paired with row i
            of ``z2``; N >= 2.
        temperature: τ > 0; finite down to 0.01 in float32.

    Returns:
        The scalar loss. For collapsed (identical) embeddings it equals log(2N - 1).
    """
    _check_pair(z1, z2, "z1", "z2")
    _check_positive(temperature, "temperature")
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits.float(), positives)


def align_loss(x: torch.Tensor, y: torch.Tensor, alpha: float = 2) -> torch.Tensor:
    r"""Alignment loss of Wang & Isola (2020, eq. 4): the mean distance of positive pairs.

    .. math:: \mathcal{L}_{\text{align}}(f; \alpha) = \mathbb{E}_{(x, y) \sim p_{\text{pos}}}
              \|f(x) - f(y)\|_2^\alpha

    Args:
        x, y: features of the two views, shape (N, D), row i of ``x`` paired with row i of ``y``.
        alpha: the exponent α > 0 (2 by default, as in the paper).
    """
    _check_pair(x, y, "x", "y")
    _check_positive(alpha, "alpha")
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()


def uniform_loss(x: torch.Tensor, t: float = 2) -> torch.Tensor:
    r"""Uniformity loss of Wang & Isola (2020, eq. 5): the log of the mean Gaussian potential.

    .. math:: \mathcal{L}_{\text{uniform}}(f; t) = \log \mathbb{E}_{x, y \sim p_{\text{data}}}
              e^{-t \|f(x) - f(y)\|_2^2}

    The batch estimate averages over the N(N - 1)/2 distinct pairs of rows, as the paper's code,
    computed as :math:`\operatorname{logsumexp}(-t d^2) - \log M` over the M pairs, which cannot
    underflow to log 0 however large t or the distances.

    Args:
        x: features, shape (N, D) with N >= 2, rows of unit norm (the loss is defined on the
            hypersphere; normalise with ``torch.nn.functional.normalize(x, dim=1)``).
        t: the potential's scale t > 0 (2 by default, as in the paper).
    """
    _check_batch(x, "x")
    _check_positive(t, "t")
    _check_unit_rows(x, "x")
    squared = torch.pdist(x, p=2).pow(2)
    return torch.logsumexp(squared.mul(-t), dim=0) - math.log(squared.numel())


#: How far a row's norm may be from 1 and still count as a unit vector (bfloat16 rounds ~0.4%).
UNIT_NORM_TOLERANCE = 0.02


def _check_unit_rows(x: torch.Tensor, name: str) -> None:
    norms = x.detach().float().norm(dim=1)
    if (norms - 1).abs().max() > UNIT_NORM_TOLERANCE:
        raise ValueError(
            f"the rows of {name} must be unit vectors (L_uniform is defined on the hypersphere), got norms "
            f"from {norms.min().item():.3g} to {norms.max().item():.3g}; normalise them first with "
            f"torch.nn.functional.normalize({name}, dim=1)"
        )


def _check_batch(x: torch.Tensor, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, D), got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got shape {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(
            f"{name} holds {x.shape[0]} sample(s); these losses need at least 2 (use a larger batch)"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the encoder's outputs")


def _check_pair(x: torch.Tensor, y: torch.Tensor, x_name: str, y_name: str) -> None:
    _check_batch(x, x_name)
    _check_batch(y, y_name)
    if x.shape != y.shape:
        raise ValueError(
            f"{x_name} and {y_name} must have the same shape (row i of each is a positive pair), "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def _check_positive(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
