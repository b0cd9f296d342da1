"""Self-checks for the book's coding exercises.

A coding exercise asks for a function; its self-check calls the student's function and a
reference on the same random inputs, case after case, and says which case failed and by how much.
Every reference is written out here, privately (a ``_``-name of this module), and
``tests/test_homework.py`` checks each against the library function it mirrors, where there is
one. Where the library has a public function of the exercise's name, it passes the check
(:data:`IMPORTABLE`): the instructors' page says so, since a student could import it. A student's function that still raises ``NotImplementedError`` (the skeleton of the student
edition) stops the check with that error, so an unfinished exercise is plain to see.

    from ssl_lib import homework
    homework.check("orthogonal_pairs_loss", orthogonal_pairs_loss)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ssl_lib import linear_theory, sparse_coding


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

#: The self-checks that the library's public function of the same name passes, with its module:
#: the chapter teaches the function, then uses the library's. A student can import these answers.
IMPORTABLE = {"masked_sparse_correlation": "ssl_lib.sparse_coding", "atom_alignment": "ssl_lib.one_layer",
              "subspace_error": "ssl_lib.linear_theory", "effective_rank": "ssl_lib.evaluate"}


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
        where = f"{name}: case {case} of {cases}, inputs {_describe(inputs)}"
        answer = student(*inputs)
        if answer is None:
            raise CheckFailed(f"{where}: your function returned None; does it end with `return` and its result?")
        try:
            got = torch.as_tensor(answer, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"{where}: your function returned a {type(answer).__name__}, not a number or "
                              f"tensor of shape {tuple(expected.shape)}") from None
        if got.shape != expected.shape:
            raise CheckFailed(f"{where}: your function returned shape {tuple(got.shape)}, "
                              f"the reference {tuple(expected.shape)}")
        if not torch.allclose(got, expected, rtol=spec.rtol, atol=spec.atol):
            gap = (got - expected).abs().max().item()
            raise CheckFailed(f"{where}: your result differs from the reference by {gap:.3g} "
                              f"(largest absolute difference; allowed: rtol={spec.rtol}, atol={spec.atol})")
    print(f"{name}: all {cases} cases match the reference.")


def _distinct_sizes(g: torch.Generator, count: int, low: int, high: int) -> list[int]:
    """``count`` different sizes in [low, high), so that an answer with two axes swapped cannot
    pass the shape check by chance."""
    if high - low < count:
        raise ValueError(f"cannot draw {count} different sizes from [{low}, {high})")
    return (low + torch.randperm(high - low, generator=g)[:count]).tolist()


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


def _orthogonal_pairs_reference(n: int, tau: float) -> float:
    """NT-Xent of n perfect pairs of mutually orthogonal unit embeddings, computed from the loss's
    definition: each of the 2n views picks its partner among the 2n - 1 others."""
    z = torch.cat([torch.eye(n), torch.eye(n)]).double()
    s = z @ z.T / tau
    s.fill_diagonal_(-math.inf)
    partner = (torch.arange(2 * n) + n) % (2 * n)
    return (torch.logsumexp(s, dim=1) - s[torch.arange(2 * n), partner]).mean().item()


register_check(SelfCheck(
    name="orthogonal_pairs_loss",
    reference=_orthogonal_pairs_reference,
    make_inputs=_orthogonal_pairs_inputs,
))


# --- Chapter 02 (SimCLR): colour histograms, the shortcut colour distortion removes ---------

def _color_histograms_reference(views: torch.Tensor, bins: int = 4) -> torch.Tensor:
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


def _color_histogram_inputs(g: torch.Generator) -> tuple[torch.Tensor, int]:
    n, side = int(torch.randint(1, 9, (1,), generator=g)), int(torch.randint(4, 17, (1,), generator=g))
    return torch.rand(n, 3, side, side, generator=g), int(torch.randint(2, 6, (1,), generator=g))


register_check(SelfCheck(
    name="color_histograms",
    reference=_color_histograms_reference,
    make_inputs=_color_histogram_inputs,
))


# --- Chapter 03 (sparse coding): the sparse correlation under masking ----------------------

def _masked_correlation_inputs(g: torch.Generator) -> tuple[float, float]:
    c = 0.5 * torch.rand(1, generator=g).item()
    p = 0.05 + 0.9 * torch.rand(1, generator=g).item()
    return c, p


def _masked_correlation_reference(c: float, p: float) -> float:
    """The views' variances along atom j are 1 + (1/p - 1) c and 1 + (1/(1-p) - 1) c (signal plus the
    other atoms' leak), their covariance 1 - c."""
    return (1 - c) / math.sqrt((1 + (1 / p - 1) * c) * (1 + (1 / (1 - p) - 1) * c))


register_check(SelfCheck(
    name="masked_sparse_correlation",
    reference=_masked_correlation_reference,
    make_inputs=_masked_correlation_inputs,
))


def _dictionary_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    d = int(torch.randint(1, 9, (1,), generator=g))
    d1 = d + int(torch.randint(1, 41, (1,), generator=g))  # d1 > d: (d1, d) is not (d, d1)
    return (sparse_coding.dictionary(d1, d, g),)


def _atom_leaks_reference(M: torch.Tensor) -> torch.Tensor:
    """c_j = sum_k M_kj^2 ||M_k,:||^2 for each atom j, shape (d,)."""
    rows = M.pow(2).sum(dim=1, keepdim=True)
    return (M.pow(2) * rows).sum(dim=0)


register_check(SelfCheck(
    name="atom_leaks",
    reference=_atom_leaks_reference,
    make_inputs=_dictionary_inputs,
    rtol=1e-4, atol=1e-6,
))


def _noise_scales_inputs(g: torch.Generator) -> tuple[float, float]:
    return 0.05 + torch.rand(1, generator=g).item(), 0.05 + torch.rand(1, generator=g).item()


register_check(SelfCheck(
    name="matching_keep_probability",
    reference=lambda sigma, s: sigma**2 / (sigma**2 + s**2),
    make_inputs=_noise_scales_inputs,
))


# --- Chapter 04 (the one-layer learner): how well a neuron aligns with an atom --------------

def _atom_alignment_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    m, d = _distinct_sizes(g, 2, 2, 9)          # m != d, so that the two axes cannot be confused
    d1 = max(m, d) + int(torch.randint(1, 25, (1,), generator=g))
    M = sparse_coding.dictionary(d1, d, g)
    W = torch.randn(m, d1, generator=g)
    W[0] = M[:, 0] * 3.0          # one neuron exactly along an atom, at another scale
    return W, M


def _atom_alignment_reference(W: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """max_j |<w_i, M_j>| / ||w_i||, shape (m,)."""
    return torch.stack([max(abs(torch.dot(w, M[:, j])) for j in range(M.shape[1])) / w.norm()
                        for w in W])


register_check(SelfCheck(
    name="atom_alignment",
    reference=_atom_alignment_reference,
    make_inputs=_atom_alignment_inputs,
))


def _cross_view_inputs(g: torch.Generator) -> tuple[torch.Tensor, float]:
    (M,) = _dictionary_inputs(g)
    return M, 0.01 + 0.3 * torch.rand(1, generator=g).item()


def _cross_view_covariance_reference(M: torch.Tensor, sparsity: float) -> torch.Tensor:
    """E[x1 x2^T] under complementary masking (x1 = 2Dx, x2 = 2(I - D)x) for x = Mz + xi: every
    off-diagonal entry of E[x x^T] = sparsity M M^T + sigma^2 I, and a zero diagonal, (d1, d1)."""
    second_moment = sparsity * M @ M.T
    off_diagonal = 1 - torch.eye(M.shape[0], dtype=M.dtype)
    return second_moment * off_diagonal


register_check(SelfCheck(
    name="cross_view_covariance",
    reference=_cross_view_covariance_reference,
    make_inputs=_cross_view_inputs,
))


# --- Chapter 05 (linear theory): the closed-form contrastive estimator ----------------------

def _diagonal_deleted_projector_reference(x: torch.Tensor, k: int) -> torch.Tensor:
    """The projection (d, d) onto the top-k eigenvectors of the diagonal-deleted sample covariance."""
    x = x.double()
    centred = x - x.mean(dim=0)
    covariance = centred.T @ centred / (x.shape[0] - 1)
    deleted = covariance * (1 - torch.eye(x.shape[1], dtype=x.dtype))
    _, vectors = torch.linalg.eigh(deleted)
    top = vectors[:, -k:]
    return top @ top.T


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


def _rescaled_mask_inputs(g: torch.Generator) -> tuple[torch.Tensor, float]:
    d = int(torch.randint(2, 12, (1,), generator=g))
    return torch.randn(d, generator=g, dtype=torch.float64), 0.05 + 0.9 * torch.rand(1, generator=g).item()


def _rescaled_mask_reference(x: torch.Tensor, p: float) -> torch.Tensor:
    """E_D[x1 x2^T] for x1 = Dx/p, x2 = (I - D)x/(1 - p): entry (j, l) has mean
    p(1 - p) x_j x_l / (p(1 - p)) for j != l, and 0 on the diagonal, whatever p. (d, d)."""
    outer = torch.outer(x, x)
    return outer - torch.diag(torch.diagonal(outer))


register_check(SelfCheck(
    name="rescaled_mask_average",
    reference=_rescaled_mask_reference,
    make_inputs=_rescaled_mask_inputs,
))


def _orthonormal(d: int, k: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
    return q


def _subspace_inputs(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    d = int(torch.randint(4, 30, (1,), generator=g))
    k, r = (int(torch.randint(1, 4, (1,), generator=g)) for _ in range(2))
    u_star = _orthonormal(d, r, g)
    u = _orthonormal(d, k, g) if k != r else _orthonormal(d, k, g) * 0.3 + u_star[:, :k]
    return torch.linalg.qr(u)[0], u_star


def _subspace_error_reference(u: torch.Tensor, u_star: torch.Tensor) -> torch.Tensor:
    """||(I - U* U*^T) U||_F for orthonormal U (d, k) and U* (d, r)."""
    outside = torch.eye(u.shape[0], dtype=u.dtype) - u_star @ u_star.T
    return torch.sqrt((outside @ u).pow(2).sum())


register_check(SelfCheck(
    name="subspace_error",
    reference=_subspace_error_reference,
    make_inputs=_subspace_inputs,
))


def _noise_variance_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    d = int(torch.randint(2, 60, (1,), generator=g))
    return (0.1 + 3 * torch.rand(d, generator=g, dtype=torch.float64),)


register_check(SelfCheck(
    name="pca_signal_threshold",
    reference=lambda noise_vars: (noise_vars.max() - noise_vars.mean()).item(),
    make_inputs=_noise_variance_inputs,
))


# --- Chapter 06 (feature decoupling on CIFAR-10): Hoyer's index of an all-or-none neuron -----

def _hoyer_reference(k: int, n: int) -> float:
    """Hoyer's index (sqrt(n) - ||r||_1 / ||r||_2) / (sqrt(n) - 1) of r with k equal entries and
    n - k zeros, whose ||r||_1 / ||r||_2 is sqrt(k)."""
    return (math.sqrt(n) - math.sqrt(k)) / (math.sqrt(n) - 1)


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


def _temperature_inputs(g: torch.Generator) -> tuple[float]:
    return (0.05 + 1.95 * torch.rand(1, generator=g).item(),)


def _collapsed_terms_reference(tau: float) -> torch.Tensor:
    """(L_align, L_uniform, alignment term, uniformity term) of an encoder that maps every input to
    one unit vector u: every distance is 0 and every inner product is 1."""
    return torch.tensor([0.0, 0.0, -1 / tau, math.log(math.exp(1 / tau))], dtype=torch.float64)


register_check(SelfCheck(
    name="collapsed_encoder_terms",
    reference=_collapsed_terms_reference,
    make_inputs=_temperature_inputs,
))


# --- Chapter 08 (the prediction head): the effective rank of representations ---------------

def _representation_inputs(g: torch.Generator) -> tuple[torch.Tensor]:
    n, dim = int(torch.randint(20, 200, (1,), generator=g)), int(torch.randint(2, 17, (1,), generator=g))
    rank = int(torch.randint(1, dim + 1, (1,), generator=g))
    scales = torch.rand(rank, generator=g) * 3
    z = (torch.randn(n, rank, generator=g) * scales) @ torch.randn(rank, dim, generator=g)
    z = z + 0.05 * torch.randn(n, dim, generator=g)   # full rank, so every eigenvalue is positive
    return (z + 5.0,)          # an offset the centring must remove


def _effective_rank_reference(z: torch.Tensor) -> float:
    """exp of the entropy of the normalised eigenvalues of the covariance of z (n, k)."""
    z = z.double()
    centred = z - z.mean(dim=0)
    eigenvalues = torch.linalg.svdvals(centred).pow(2)
    p = eigenvalues / eigenvalues.sum()
    p = p[p > 0]
    return math.exp(-(p * p.log()).sum().item())


register_check(SelfCheck(
    name="effective_rank",
    reference=_effective_rank_reference,
    make_inputs=_representation_inputs,
))
