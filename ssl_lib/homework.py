"""Self-checks for the book's coding exercises.

A coding exercise asks for a function; its self-check calls the student's function and the
library's reference on the same random inputs, case after case, and says which case failed and
by how much. A student's function that still raises ``NotImplementedError`` (the skeleton of the
student edition) stops the check with that error, so an unfinished exercise is plain to see.

    from ssl_lib import homework
    homework.check("orthogonal_pairs_loss", orthogonal_pairs_loss)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ssl_lib import firing, linear_theory, one_layer, prediction_head, sparse_coding
from ssl_lib.losses import info_nce


class CheckFailed(AssertionError):
    """The student's function disagrees with the reference on some case."""


@dataclass(frozen=True)
class SelfCheck:
    """An exercise's reference and the random inputs it is compared on."""

    name: str
    reference: Callable[..., Any]
    make_inputs: Callable[[torch.Generator], tuple]
    rtol: float = 1e-4
    atol: float = 1e-6


_CHECKS: dict[str, SelfCheck] = {}


def register_check(check: SelfCheck) -> SelfCheck:
    """Make ``check`` available to :func:`check` under ``check.name``."""
    if check.name in _CHECKS:
        raise ValueError(f"a self-check called {check.name!r} is already registered")
    _CHECKS[check.name] = check
    return check


def check_names() -> list[str]:
    """The names of all self-checks, sorted."""
    return sorted(_CHECKS)


def check(name: str, student: Callable[..., Any], cases: int = 5, seed: int = 0) -> None:
    """Compare ``student`` with the reference of exercise ``name`` on ``cases`` random inputs.

    Prints a line when every case matches; raises :class:`CheckFailed` naming the first case
    that does not, its inputs, and the largest difference.
    """
    if name not in _CHECKS:
        raise KeyError(f"no self-check called {name!r}; available: {', '.join(check_names())}")
    if cases < 1:
        raise ValueError(f"cases must be >= 1, got {cases}")
    spec = _CHECKS[name]
    generator = torch.Generator().manual_seed(seed)
    for case in range(1, cases + 1):
        inputs = spec.make_inputs(generator)
        expected = torch.as_tensor(spec.reference(*inputs), dtype=torch.float64)
        got = torch.as_tensor(student(*inputs), dtype=torch.float64)
        where = f"{name}: case {case} of {cases}, inputs {_describe(inputs)}"
        if got.shape != expected.shape:
            raise CheckFailed(f"{where}: your function returned shape {tuple(got.shape)}, "
                              f"the reference {tuple(expected.shape)}")
        if not torch.allclose(got, expected, rtol=spec.rtol, atol=spec.atol):
            gap = (got - expected).abs().max().item()
            raise CheckFailed(f"{where}: your result differs from the reference by {gap:.3g} "
                              f"(largest absolute difference; allowed: rtol={spec.rtol}, atol={spec.atol})")
    print(f"{name}: all {cases} cases match the reference.")


def _describe(inputs: tuple) -> str:
    parts = []
    for value in inputs:
        if isinstance(value, torch.Tensor):
            parts.append(f"tensor{tuple(value.shape)}")
        elif isinstance(value, float):
            parts.append(f"{value:.4g}")
        else:
            parts.append(repr(value))
    return "(" + ", ".join(parts) + ")"


# --- The exercises of chapter 01 (the pipeline) ------------------------------------------

def _orthogonal_pairs_inputs(g: torch.Generator) -> tuple[int, float]:
    n = int(torch.randint(2, 9, (1,), generator=g))
    tau = 0.05 + 1.95 * torch.rand(1, generator=g).item()
    return n, tau


register_check(SelfCheck(
    name="orthogonal_pairs_loss",
    reference=lambda n, tau: info_nce(torch.eye(n), torch.eye(n), tau).item(),
    make_inputs=_orthogonal_pairs_inputs,
))


# --- Chapter 02 (SimCLR): colour histograms, the shortcut colour distortion removes ---------

def _colour_histograms_reference(views: torch.Tensor, bins: int = 4) -> torch.Tensor:
    """Each view's joint RGB histogram as a unit vector, shape (N, bins**3).

    views: (N, 3, H, W) in [0, 1]. A pixel's level in a channel is min(floor(v * bins), bins - 1)
    (here: its bucket among the boundaries 1/bins, ..., (bins-1)/bins); its colour index is
    (r * bins + g) * bins + b; the histogram counts the pixels of each colour.
    """
    boundaries = torch.arange(1, bins, dtype=views.dtype) / bins
    level = torch.bucketize(views, boundaries, right=True)
    index = (level[:, 0] * bins + level[:, 1]) * bins + level[:, 2]
    counts = torch.stack([torch.bincount(row, minlength=bins**3) for row in index.flatten(1)]).double()
    return counts / counts.norm(dim=1, keepdim=True)


def _colour_histogram_inputs(g: torch.Generator) -> tuple[torch.Tensor, int]:
    n, side = int(torch.randint(1, 9, (1,), generator=g)), int(torch.randint(4, 17, (1,), generator=g))
    return torch.rand(n, 3, side, side, generator=g), int(torch.randint(2, 6, (1,), generator=g))


register_check(SelfCheck(
    name="colour_histograms",
    reference=_colour_histograms_reference,
    make_inputs=_colour_histogram_inputs,
))


# --- Chapter 03 (sparse coding): the sparse correlation under masking ----------------------

def _masked_correlation_inputs(g: torch.Generator) -> tuple[float, float]:
    c = 0.5 * torch.rand(1, generator=g).item()
    p = 0.05 + 0.9 * torch.rand(1, generator=g).item()
    return c, p


register_check(SelfCheck(
    name="masked_sparse_correlation",
    reference=sparse_coding.masked_sparse_correlation,
    make_inputs=_masked_correlation_inputs,
))


# --- Chapter 04 (the one-layer learner): how well a neuron aligns with an atom --------------

def _atom_alignment_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    d = int(torch.randint(2, 9, (1,), generator=g))
    d1 = d + int(torch.randint(0, 25, (1,), generator=g))
    m = int(torch.randint(1, 7, (1,), generator=g))
    M = sparse_coding.dictionary(d1, d, g)
    W = torch.randn(m, d1, generator=g)
    W[0] = M[:, 0] * 3.0          # one neuron exactly along an atom, at another scale
    return W, M


register_check(SelfCheck(
    name="atom_alignment",
    reference=one_layer.atom_alignment,
    make_inputs=_atom_alignment_inputs,
))


# --- Chapter 05 (linear theory): the closed-form contrastive estimator ----------------------

def _diagonal_deleted_projector_reference(x: torch.Tensor, k: int) -> torch.Tensor:
    """The projection (d, d) onto the top-k eigenvectors of the diagonal-deleted sample covariance."""
    q = linear_theory.diagonal_deleted_subspace(x, k)
    return q @ q.T


def _spiked_sample_inputs(g: torch.Generator) -> tuple[torch.Tensor, int]:
    d = int(torch.randint(6, 31, (1,), generator=g))
    r = int(torch.randint(1, 4, (1,), generator=g))
    model = linear_theory.spiked_covariance_model(d, r, signal_var=8.0, heteroskedasticity=4.0, generator=g)
    x, _ = model.sample(2000, g)
    return x, r


register_check(SelfCheck(
    name="diagonal_deleted_projector",
    reference=_diagonal_deleted_projector_reference,
    make_inputs=_spiked_sample_inputs,
    rtol=1e-5, atol=1e-6,
))


# --- Chapter 06 (feature decoupling on CIFAR-10): Hoyer's index of an all-or-none neuron -----

def _hoyer_reference(k: int, n: int) -> float:
    responses = torch.zeros(n, 1, dtype=torch.float64)
    responses[:k] = 1.0
    return firing.hoyer_sparsity(responses).item()


def _hoyer_inputs(g: torch.Generator) -> tuple[int, int]:
    n = int(torch.randint(2, 500, (1,), generator=g))
    return int(torch.randint(1, n + 1, (1,), generator=g)), n


register_check(SelfCheck(
    name="hoyer_of_k_of_n",
    reference=_hoyer_reference,
    make_inputs=_hoyer_inputs,
))


# --- Chapter 07 (alignment and uniformity): evenly spaced points on the circle --------------

def _even_circle_reference(n: int, t: float) -> float:
    """L_uniform of n evenly spaced points on S^1, summed over the offsets k = j - i of the pairs
    i < j: n - k pairs at squared distance 2 - 2 cos(2 pi k / n)."""
    k = torch.arange(1, n, dtype=torch.float64)
    potentials = (n - k) * torch.exp(-t * (2 - 2 * torch.cos(2 * math.pi * k / n)))
    return math.log(potentials.sum().item() / (n * (n - 1) / 2))


def _even_circle_inputs(g: torch.Generator) -> tuple[int, float]:
    return int(torch.randint(2, 200, (1,), generator=g)), 0.5 + 3.5 * torch.rand(1, generator=g).item()


register_check(SelfCheck(
    name="even_circle_uniformity",
    reference=_even_circle_reference,
    make_inputs=_even_circle_inputs,
))


# --- Chapter 08 (the prediction head): the effective rank of representations ---------------

def _representation_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    n, dim = int(torch.randint(20, 200, (1,), generator=g)), int(torch.randint(2, 17, (1,), generator=g))
    rank = int(torch.randint(1, dim + 1, (1,), generator=g))
    scales = torch.rand(rank, generator=g) * 3
    z = (torch.randn(n, rank, generator=g) * scales) @ torch.randn(rank, dim, generator=g)
    z = z + 0.05 * torch.randn(n, dim, generator=g)   # full rank, so every eigenvalue is positive
    return (z + 5.0,)          # an offset the centring must remove


register_check(SelfCheck(
    name="effective_rank",
    reference=prediction_head.effective_rank,
    make_inputs=_representation_inputs,
))
