"""Alignment and uniformity on the hypersphere (Wang & Isola 2020): ssl_lib.hypersphere and the
objective's settings. Chapter 07's experiments are tested in test_07_alignment_uniformity.py."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ssl_lib import hypersphere as hs
from ssl_lib.experiments import alignment_uniformity as au
from ssl_lib.losses import align_loss, uniform_loss


def unit(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


# ---------------------------------------------------------------------------- the paper's objects

def test_uniform_sphere_bound_matches_closed_forms():
    t = 2.0
    # d = 2: E exp(2t cos) = I0(2t); d = 3: E exp(2t w), w ~ U[-1, 1], = sinh(2t) / (2t)
    assert hs.uniform_loss_of_uniform_sphere(2, t) == pytest.approx(
        math.log(torch.special.i0(torch.tensor(2 * t, dtype=torch.float64)).item()) - 2 * t)
    assert hs.uniform_loss_of_uniform_sphere(3, t) == pytest.approx(math.log(math.sinh(2 * t) / (2 * t)) - 2 * t)


@pytest.mark.parametrize("dim", [2, 5, 64])
def test_uniform_points_reach_the_bound_and_others_stay_above(dim):
    bound = hs.uniform_loss_of_uniform_sphere(dim, 2.0)
    assert uniform_loss(unit(4000, dim), 2.0).item() == pytest.approx(bound, abs=0.03)
    squeezed = F.normalize(unit(4000, dim) + torch.ones(dim) / math.sqrt(dim), dim=1)
    assert uniform_loss(squeezed, 2.0).item() > bound + 0.05


def test_batch_minimum_is_attained_by_the_simplex_and_never_beaten():
    n, t = 6, 2.0
    simplex = F.normalize(torch.eye(n) - 1 / n, dim=1)  # regular simplex in R^n
    assert uniform_loss(simplex, t).item() == pytest.approx(hs.uniform_loss_batch_minimum(n, t), rel=1e-5)
    for seed in range(5):
        assert uniform_loss(unit(n, 3, seed), t).item() >= hs.uniform_loss_batch_minimum(n, t)


def test_contrastive_loss_per_anchor_matches_the_formula():
    fx, fy, neg, tau = unit(3, 4, 0), unit(3, 4, 1), unit(15, 4, 2).view(3, 5, 4), 0.3
    loss = hs.contrastive_loss_minus_log_m(fx, fy, neg, tau)
    for j in range(3):
        pos = torch.exp(fx[j] @ fy[j] / tau)
        denominator = pos + torch.exp(neg[j] @ fx[j] / tau).sum()
        assert loss[j].item() == pytest.approx((-torch.log(pos / denominator) - math.log(5)).item(), abs=1e-5)


def test_limit_terms_are_minimised_by_alignment_and_by_uniformity():
    x = unit(500, 3)
    aligned, _ = hs.contrastive_limit(x, x, x, 0.5)
    misaligned, _ = hs.contrastive_limit(x, unit(500, 3, 1), x, 0.5)
    assert aligned.mean() < misaligned.mean()
    _, spread = hs.contrastive_limit(x, x, x, 0.5)
    clustered = F.normalize(x + 3 * torch.tensor([1.0, 0, 0]), dim=1)
    _, bunched = hs.contrastive_limit(clustered, clustered, clustered, 0.5)
    assert spread.mean() < bunched.mean()


def test_vmf_kde_is_a_density_peaked_at_the_data():
    grid = torch.linspace(-math.pi, math.pi, 2001)[:-1]
    density = hs.vmf_kde_angles(torch.tensor([1.0, 1.0]), grid, kappa=50.0)
    assert (density.sum() * 2 * math.pi / len(grid)).item() == pytest.approx(1.0, abs=1e-4)
    assert grid[density.argmax()].item() == pytest.approx(1.0, abs=0.01)


def test_circle_angles_roundtrip():
    theta = torch.tensor([0.0, 1.0, -2.0, 3.0])
    assert torch.allclose(hs.circle_angles(torch.stack([theta.cos(), theta.sin()], 1)), theta, atol=1e-6)


def test_align_uniform_objective_is_the_weighted_sum_of_the_losses():
    z1, z2 = unit(32, 8, 0), unit(32, 8, 1)
    expected = 0.7 * align_loss(z1, z2) + 1.3 * (uniform_loss(z1) + uniform_loss(z2)) / 2
    torch.testing.assert_close(hs.align_uniform_objective(z1, z2, 0.7, 1.3), expected)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=0), "alpha"), (dict(alpha=-1), "alpha"), (dict(t=0), "t"), (dict(t=-2.0), "t"),
    (dict(align_weight=-1), "align_weight"), (dict(align_weight=float("nan")), "align_weight"),
    (dict(uniform_weight=float("inf")), "uniform_weight"), (dict(uniform_weight=-0.1), "uniform_weight"),
])
def test_objective_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        hs.align_uniform_objective(unit(8, 4), unit(8, 4, 1), **kwargs)
    with pytest.raises(ValueError, match=match):
        au.align_uniform_options(**kwargs)


def test_features_off_the_sphere_are_rejected():
    off = 2 * unit(8, 4)
    with pytest.raises(ValueError, match="z1.*unit sphere"):
        hs.align_uniform_objective(off, unit(8, 4))
    with pytest.raises(ValueError, match="fx"):
        hs.contrastive_limit(off, unit(8, 4), unit(8, 4), 0.5)
    with pytest.raises(ValueError, match="negatives"):
        hs.contrastive_loss_minus_log_m(unit(8, 4), unit(8, 4), 2 * unit(16, 4).view(8, 2, 4), 0.5)
    with pytest.raises(ValueError, match="features"):
        hs.circle_angles(torch.randn(5, 2) * 3)
    with pytest.raises(ValueError, match="2-dimensional"):
        hs.circle_angles(unit(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        hs.check_on_sphere(torch.full((3, 2), float("nan")), "x")


def test_other_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="temperature"):
        hs.contrastive_limit(unit(4, 3), unit(4, 3), unit(4, 3), 0.0)
    with pytest.raises(ValueError, match="kappa"):
        hs.vmf_kde_angles(torch.zeros(3), torch.zeros(4), kappa=-1.0)
    with pytest.raises(ValueError, match="dim"):
        hs.uniform_loss_of_uniform_sphere(1, 2.0)
    with pytest.raises(ValueError, match="t"):
        hs.uniform_loss_of_uniform_sphere(3, 0.0)
    with pytest.raises(ValueError, match="n"):
        hs.uniform_loss_batch_minimum(1)
    with pytest.raises(ValueError, match="ms"):
        hs.limit_deviation(unit(4, 3), unit(4, 3), unit(4, 3), 0.5, [0], 1, torch.Generator())


# ---------------------------------------------------------------------------- experiments


