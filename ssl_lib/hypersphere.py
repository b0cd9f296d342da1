"""Alignment and uniformity on the hypersphere (Wang & Isola, ICML 2020): the paper's objects.

* :func:`check_on_sphere`: features must be L2-normalised where the theory needs it.
* :func:`contrastive_loss_minus_log_m` and :func:`contrastive_limit`: the contrastive loss with
  M negatives, shifted by log M, and its limit as M grows (Theorem 1); :func:`limit_deviation`
  measures how fast the one approaches the other.
* :func:`uniform_loss_of_uniform_sphere` and :func:`uniform_loss_batch_minimum`: the bounds on
  :math:`\\mathcal{L}_{\\text{uniform}}` in a given dimension and for a batch of N points.
* :func:`vmf_kde_angles`: a von Mises-Fisher kernel density of angles on the circle S¹.
* :func:`align_uniform_objective`: the weighted sum of the two losses, the paper's direct objective.

The losses themselves live in :mod:`ssl_lib.losses` (:func:`~ssl_lib.losses.align_loss`,
:func:`~ssl_lib.losses.uniform_loss`); this module builds on them.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special

from ssl_lib.losses import align_loss, uniform_loss


def _check_positive(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def check_weight(value: float, name: str) -> float:
    """A loss weight: finite and >= 0; else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (a loss weight), got {value!r}")
    return float(value)


def check_on_sphere(x: torch.Tensor, name: str = "x", atol: float = 1e-3) -> torch.Tensor:
    """Check that the rows of ``x`` (shape (N, D)) are finite unit vectors; return ``x``.

    The theory of Wang & Isola holds for features on the unit sphere S^{D-1}; pass
    ``torch.nn.functional.normalize(x, dim=1)`` when they are not.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, D), got {shape}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    norms = x.norm(dim=1)
    if (norms - 1).abs().max() > atol:
        raise ValueError(
            f"{name} must lie on the unit sphere (row norms 1), got norms in "
            f"[{norms.min():.3g}, {norms.max():.3g}]; normalise with F.normalize({name}, dim=1)"
        )
    return x


# ----------------------------------------------------------------------------------------------
# Theorem 1: the contrastive loss as the number of negatives M grows
# ----------------------------------------------------------------------------------------------

def contrastive_loss_minus_log_m(fx: torch.Tensor, fy: torch.Tensor, negatives: torch.Tensor,
                                 temperature: float) -> torch.Tensor:
    r"""Per-anchor contrastive loss with M negatives, minus log M (Wang & Isola 2020, eq. 1).

    .. math:: \ell_j = -\log \frac{e^{f(x_j)^\top f(y_j)/\tau}}
              {e^{f(x_j)^\top f(y_j)/\tau} + \sum_{i=1}^{M} e^{f(x^-_{ji})^\top f(x_j)/\tau}} - \log M

    Args:
        fx, fy: (N, D) features of the positive pairs, on the unit sphere.
        negatives: (N, M, D) features of the M negatives of each anchor, on the unit sphere.
        temperature: τ > 0.

    Returns:
        (N,) the loss of each anchor minus log M.
    """
    check_on_sphere(fx, "fx"), check_on_sphere(fy, "fy")
    _check_positive(temperature, "temperature")
    if negatives.ndim != 3 or negatives.shape[0] != fx.shape[0] or negatives.shape[2] != fx.shape[1]:
        raise ValueError(f"negatives must have shape (N, M, D) = ({fx.shape[0]}, M, {fx.shape[1]}), "
                         f"got {tuple(negatives.shape)}")
    check_on_sphere(negatives.reshape(-1, negatives.shape[2]), "negatives")
    positive = (fx * fy).sum(1, keepdim=True) / temperature
    negative = torch.einsum("nd,nmd->nm", fx, negatives) / temperature
    logits = torch.cat([positive, negative], dim=1)
    return torch.logsumexp(logits, dim=1) - positive[:, 0] - math.log(negatives.shape[1])


def contrastive_limit(fx: torch.Tensor, fy: torch.Tensor, population: torch.Tensor,
                      temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The limit of :func:`contrastive_loss_minus_log_m` as M → ∞ (Wang & Isola 2020, Theorem 1),
    per anchor, with negatives drawn uniformly from ``population``:

    .. math:: -\frac{1}{\tau} f(x_j)^\top f(y_j)
              + \log \mathbb{E}_{x^-} e^{f(x^-)^\top f(x_j)/\tau}

    The first term, averaged over anchors, is minimised by perfect alignment; the second by a
    perfectly uniform encoder.

    Args:
        fx, fy: (N, D) positive pairs on the unit sphere; population: (P, D) on the unit sphere.
        temperature: τ > 0.

    Returns:
        (alignment term, uniformity term), each of shape (N,).
    """
    check_on_sphere(fx, "fx"), check_on_sphere(fy, "fy"), check_on_sphere(population, "population")
    _check_positive(temperature, "temperature")
    alignment = -(fx * fy).sum(1) / temperature
    uniformity = torch.logsumexp(fx @ population.T / temperature, dim=1) - math.log(population.shape[0])
    return alignment, uniformity


def limit_deviation(fx: torch.Tensor, fy: torch.Tensor, population: torch.Tensor, temperature: float,
                    ms: list[int], draws: int, generator: torch.Generator) -> dict[str, list[float]]:
    """How :func:`contrastive_loss_minus_log_m` approaches :func:`contrastive_limit` as M grows.

    For each M in ``ms``, every anchor draws M negatives from ``population`` (with replacement),
    ``draws`` times. Returns, per M:

    * ``spread``: the standard deviation of one anchor's loss minus its limit, over anchors and
      draws, which shrinks like M^(-1/2) (the central limit theorem for the mean over negatives);
    * ``bias``: |E[loss] - limit|, averaged over anchors and draws, the deviation of the
      expected loss that Theorem 1 bounds; it shrinks at least as fast.
    """
    if not ms or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in ms):
        raise ValueError(f"ms must be a non-empty list of integers >= 1, got {ms!r}")
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    alignment, uniformity = contrastive_limit(fx, fy, population, temperature)
    limit = alignment + uniformity
    out: dict[str, list[float]] = {"m": list(ms), "spread": [], "bias": [], "limit": [limit.mean().item()]}
    for m in ms:
        deviations = []
        for _ in range(draws):
            index = torch.randint(population.shape[0], (fx.shape[0], m), generator=generator)
            deviations.append(contrastive_loss_minus_log_m(fx, fy, population[index], temperature) - limit)
        deviation = torch.stack(deviations)
        out["spread"].append(deviation.std().item())
        out["bias"].append(deviation.mean().abs().item())
    return out


def loglog_slope(x: list[float], y: list[float]) -> float:
    """The least-squares slope of log y against log x (the exponent of a power law y ~ x^slope)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ----------------------------------------------------------------------------------------------
# Bounds on the uniformity loss
# ----------------------------------------------------------------------------------------------

def uniform_loss_of_uniform_sphere(dim: int, t: float = 2) -> float:
    r""":math:`\mathcal{L}_{\text{uniform}}(t)` of the uniform distribution on S^{dim-1}, the lower
    bound over all feature distributions (the uniform measure minimises the Gaussian potential's
    energy on the sphere; Wang & Isola 2020, section 4.1.2).

    With :math:`\|u - v\|^2 = 2 - 2 u^\top v` and the moment generating function of one
    coordinate of a uniform point, :math:`\mathbb{E} e^{\kappa w} = \Gamma(d/2) (\kappa/2)^{1-d/2}
    I_{d/2-1}(\kappa)`, at :math:`\kappa = 2t`:

    .. math:: \mathcal{L}_{\text{uniform}} = \log \Gamma(d/2) + (1 - d/2) \log t
              + \log \big(e^{-2t} I_{d/2-1}(2t)\big)

    Args:
        dim: the dimension d >= 2 of the features (the sphere S^{d-1}).
        t: the potential's scale t > 0.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an integer >= 2 (features in R^dim), got {dim!r}")
    _check_positive(t, "t")
    nu = dim / 2 - 1
    return float(special.gammaln(dim / 2) + (1 - dim / 2) * math.log(t) + math.log(special.ive(nu, 2 * t)))


def uniform_loss_batch_minimum(n: int, t: float = 2) -> float:
    r"""The lowest value the batch estimate of :math:`\mathcal{L}_{\text{uniform}}` (mean over the
    n(n-1)/2 distinct pairs) can take for n unit vectors: :math:`-2tn/(n-1)`.

    Since :math:`\sum_{i<j} \|x_i - x_j\|^2 = n^2 - \|\sum_i x_i\|^2 \le n^2`, the mean squared
    distance is at most 2n/(n-1), and Jensen's inequality gives the bound; the regular simplex
    (possible when the dimension is at least n - 1) attains it. The upper bound is 0 (collapse).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (pairs of points), got {n!r}")
    _check_positive(t, "t")
    return -2 * t * n / (n - 1)


# ----------------------------------------------------------------------------------------------
# Densities on the circle
# ----------------------------------------------------------------------------------------------

def circle_angles(features: torch.Tensor) -> torch.Tensor:
    """The angles θ in (-π, π] of 2-d unit features, shape (N, 2) -> (N,)."""
    check_on_sphere(features, "features")
    if features.shape[1] != 2:
        raise ValueError(f"features must be 2-dimensional (points on S^1), got width {features.shape[1]}")
    return torch.atan2(features[:, 1], features[:, 0])


def vmf_kde_angles(angles: torch.Tensor, grid: torch.Tensor, kappa: float = 8.0) -> torch.Tensor:
    r"""Von Mises-Fisher kernel density estimate of angles on S¹ (as in the paper's circle figure):

    .. math:: \hat p(\theta) = \frac{1}{n} \sum_{i=1}^n
              \frac{e^{\kappa \cos(\theta - \theta_i)}}{2\pi I_0(\kappa)}

    Args:
        angles: (n,) sample angles in radians; grid: (G,) angles to evaluate at.
        kappa: concentration κ > 0 of the kernel (larger: narrower).

    Returns:
        (G,) density values; they integrate to 1 over one turn.
    """
    _check_positive(kappa, "kappa")
    for name, a in (("angles", angles), ("grid", grid)):
        if not isinstance(a, torch.Tensor) or a.ndim != 1 or a.numel() == 0 or not torch.isfinite(a).all():
            raise ValueError(f"{name} must be a non-empty finite 1-d tensor of angles")
    # exp(κ cos) / I0(κ) = exp(κ (cos - 1)) / ive(0, κ), stable for large κ
    kernel = torch.exp(kappa * (torch.cos(grid[:, None] - angles[None, :].to(grid)) - 1))
    return kernel.mean(1) / (2 * math.pi * float(special.ive(0, kappa)))


# ----------------------------------------------------------------------------------------------
# The direct objective
# ----------------------------------------------------------------------------------------------

def align_uniform_objective(z1: torch.Tensor, z2: torch.Tensor, align_weight: float = 1.0,
                            uniform_weight: float = 1.0, alpha: float = 2, t: float = 2) -> torch.Tensor:
    r"""Wang & Isola's direct objective on two views' unit features (as their reference code):

    .. math:: \lambda_a \mathcal{L}_{\text{align}}(\alpha)
              + \lambda_u \tfrac{1}{2}\big(\mathcal{L}_{\text{uniform}}(z_1; t)
              + \mathcal{L}_{\text{uniform}}(z_2; t)\big)

    Args:
        z1, z2: (N, D) features of the two views on the unit sphere (normalise first).
        align_weight, uniform_weight: λ_a, λ_u, finite and >= 0.
        alpha, t: the losses' parameters, > 0.
    """
    check_weight(align_weight, "align_weight"), check_weight(uniform_weight, "uniform_weight")
    check_on_sphere(z1, "z1"), check_on_sphere(z2, "z2")
    uniform = (uniform_loss(z1, t) + uniform_loss(z2, t)) / 2
    return align_weight * align_loss(z1, z2, alpha) + uniform_weight * uniform
