"""The losses against direct formulas, hand-computed cases, edge cases and bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from ssl_lib.losses import align_loss, info_nce, uniform_loss


def nt_xent_by_definition(z1, z2, tau):
    """NT-Xent straight from Chen et al. (2020), eq. 1, one view at a time."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1).double()
    total = 0.0
    for k in range(2 * n):
        partner = (k + n) % (2 * n)
        denominator = sum(math.exp(z[k] @ z[l] / tau) for l in range(2 * n) if l != k)
        total += -math.log(math.exp(z[k] @ z[partner] / tau) / denominator)
    return total / (2 * n)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tau", [0.1, 0.5, 2.0])
def test_info_nce_matches_definition(seed, tau):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert info_nce(z1, z2, tau).item() == pytest.approx(nt_xent_by_definition(z1, z2, tau), rel=1e-5)


def test_info_nce_hand_computed_cases():
    # Perfect, mutually orthogonal pairs (N = 2): every view sees its partner at similarity 1 and
    # two negatives at 0, so each term is -1/tau + log(e^(1/tau) + 2).
    eye = torch.eye(2)
    assert info_nce(eye, eye, 1.0).item() == pytest.approx(-1 + math.log(math.e + 2), rel=1e-6)
    # Partners orthogonal, the other input's second view identical: -0 + log(1 + 1 + e^(1/tau)).
    swapped = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert info_nce(eye, swapped, 0.5).item() == pytest.approx(math.log(2 + math.exp(2)), rel=1e-6)


def test_info_nce_is_symmetric_and_scale_invariant():
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    torch.testing.assert_close(info_nce(z1, z2), info_nce(z2, z1))
    torch.testing.assert_close(info_nce(7 * z1, 0.1 * z2), info_nce(z1, z2))


def test_info_nce_collapsed_embeddings_are_finite():
    z = torch.ones(8, 3, requires_grad=True)
    loss = info_nce(z, z, 0.5)
    assert loss.item() == pytest.approx(math.log(2 * 8 - 1), rel=1e-6)
    loss.backward()
    assert torch.isfinite(z.grad).all()


@pytest.mark.parametrize("pairs", ["random", "perfect"])
def test_info_nce_small_temperature_stays_finite_in_float32(pairs):
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(64, 16, generator=g, requires_grad=True)
    z2 = z1 if pairs == "perfect" else torch.randn(64, 16, generator=g)
    loss = info_nce(z1, z2, 0.01)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all()


@pytest.mark.parametrize(
    "z1, z2, kwargs, match",
    [
        (torch.randn(4, 3), torch.randn(5, 3), {}, "z1 and z2 must have the same shape"),
        (torch.randn(1, 3), torch.randn(1, 3), {}, "at least 2"),
        (torch.randn(4), torch.randn(4), {}, "shape"),
        (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), torch.randn(2, 2), {}, "z1 contains NaN"),
        (torch.randn(2, 2), torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), {}, "z2 contains NaN"),
        (torch.randn(4, 3), torch.randn(4, 3), {"temperature": 0.0}, "temperature"),
        (torch.randn(4, 3), torch.randn(4, 3), {"temperature": -0.5}, "temperature"),
        (torch.randn(4, 3), torch.randn(4, 3), {"temperature": float("nan")}, "temperature"),
    ],
)
def test_info_nce_rejects_bad_input(z1, z2, kwargs, match):
    with pytest.raises(ValueError, match=match):
        info_nce(z1, z2, **kwargs)


def test_align_loss_hand_computed():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    assert align_loss(x, y).item() == pytest.approx((25 + 0) / 2)
    assert align_loss(x, y, alpha=1).item() == pytest.approx((5 + 0) / 2)


def test_align_loss_matches_definition():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    expected = sum(((x[i] - y[i]) ** 2).sum().sqrt() ** 3 for i in range(7)) / 7
    torch.testing.assert_close(align_loss(x, y, alpha=3), expected)


def test_uniform_loss_hand_computed_and_definition():
    opposite = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert uniform_loss(opposite, t=2).item() == pytest.approx(-8.0)   # log exp(-2 * 2^2)
    g = torch.Generator().manual_seed(1)
    x = F.normalize(torch.randn(6, 3, generator=g), dim=1)
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    expected = math.log(sum(math.exp(-1.5 * ((x[i] - x[j]) ** 2).sum().item()) for i, j in pairs) / len(pairs))
    assert uniform_loss(x, t=1.5).item() == pytest.approx(expected, rel=1e-5)


def test_alignment_and_uniformity_finite_when_collapsed():
    x = (torch.ones(5, 3) / 3 ** 0.5).requires_grad_()
    y = torch.ones(5, 3) / 3 ** 0.5
    a, u = align_loss(x, y), uniform_loss(x)
    assert a.item() == 0 and u.item() == pytest.approx(0.0)
    (a + u).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: align_loss(torch.randn(3, 2), torch.randn(3, 2), alpha=0), "alpha"),
        (lambda: align_loss(torch.randn(3, 2), torch.randn(3, 2), alpha=-1), "alpha"),
        (lambda: align_loss(torch.randn(3, 2), torch.randn(2, 2)), "x and y must have the same shape"),
        (lambda: uniform_loss(torch.randn(3, 2), t=0), "t must be"),
        (lambda: uniform_loss(torch.randn(1, 2)), "at least 2"),
        (lambda: uniform_loss(torch.tensor([[0.0, float("nan")], [1.0, 0.0]])), "x contains NaN"),
    ],
)
def test_alignment_uniformity_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_uniformity_refuses_rows_off_the_sphere_naming_the_fix():
    with pytest.raises(ValueError, match=r"must be unit vectors.*torch.nn.functional.normalize\(x, dim=1\)"):
        uniform_loss(torch.randn(64, 128, generator=torch.Generator().manual_seed(0)))


def test_uniformity_stays_finite_at_a_large_t():
    x = torch.nn.functional.normalize(torch.randn(64, 16, generator=torch.Generator().manual_seed(0)), dim=1)
    large = uniform_loss(x, t=1000)
    assert torch.isfinite(large) and large.item() < -100  # the log of a tiny mean, not log 0
    naive = torch.pdist(x).pow(2).mul(-2.0).exp().mean().log()
    assert uniform_loss(x, 2.0).item() == pytest.approx(naive.item(), rel=1e-6)
