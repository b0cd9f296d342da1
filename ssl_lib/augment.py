"""Augmentations: how a positive pair is made from one input.

This module starts with the augmentation of the theory chapters, random masking of
coordinates (Wen & Li 2021; Ji et al. 2021). Image augmentations join it in the SimCLR chapter.
"""

from __future__ import annotations

import torch


def bernoulli_mask(shape: tuple[int, ...], p: float, generator: torch.Generator | None = None,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """A float mask of ``shape`` whose entries are 1 with probability ``p``, else 0."""
    if not 0 < p < 1:
        raise ValueError(f"mask probability p must be in (0, 1), got {p}")
    return (torch.rand(shape, generator=generator, device=device) < p).float()


def complementary_views(
    x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None, rescale: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""A positive pair from complementary random masks of the coordinates of ``x``.

    With :math:`D = \mathrm{diag}(d_1, \dots, d_n)`, :math:`d_j \sim \mathrm{Bernoulli}(p)` drawn
    independently for every row of ``x``, the views are

    .. math:: x_1 = \frac{1}{p} D x, \qquad x_2 = \frac{1}{1 - p} (I - D) x ,

    which for p = 1/2 is the pair :math:`x_1 = 2Dx`, :math:`x_2 = 2(I - D)x` of Wen & Li (2021).
    The scaling makes each view an unbiased estimate of x; ``rescale=False`` returns
    :math:`Dx` and :math:`(I - D)x` as in Ji et al. (2021).

    Args:
        x: inputs of shape (N, d).
        p: the probability that a coordinate goes to the first view, in (0, 1).
        generator: the source of randomness.
        rescale: whether to divide the views by p and 1 - p.
    """
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, d), got {tuple(x.shape)}")
    mask = bernoulli_mask(tuple(x.shape), p, generator, x.device).to(x.dtype)
    x1, x2 = mask * x, (1 - mask) * x
    if rescale:
        x1, x2 = x1 / p, x2 / (1 - p)
    return x1, x2
