r"""The sparse-coding data model of Wen & Li (2021) and the augmentations that decouple it.

Data are :math:`x = M z + \xi \in \mathbb{R}^{d_1}`:

* :math:`M \in \mathbb{R}^{d_1 \times d}`, the **dictionary**: d unit-norm, mutually orthogonal
  **atoms** (its columns), delocalised (every coordinate of an atom is of order
  :math:`1/\sqrt{d_1}`), drawn as the Q factor of the QR decomposition of a Gaussian matrix;
* :math:`z \in \{-1, 0, 1\}^d`, the **sparse** latent: each coordinate nonzero with probability
  ``sparsity``, with a random sign;
* :math:`\xi \sim \mathcal{N}(0, \sigma^2 I_{d_1})`, the **dense** noise, whose norm
  :math:`\sigma\sqrt{d_1}` is large compared with :math:`\lVert M z \rVert \approx \sqrt{d \cdot
  \text{sparsity}}`, although along any one direction it is small.

The paper's asymptotics take :math:`d_1 = \mathrm{poly}(d)`, sparsity of order
:math:`\log\log d / d` and, in third-party code for a different paper (Pokle et al. 2022),
:math:`\sigma = \sqrt{\log d}/d` (secondary readings; see the chapter). The defaults below are
the chapter's own choices for small d.

Every augmentation here is **affine** in x given its randomness, :math:`x_v = A_v x + \varepsilon_v`
with :math:`A_v` a random diagonal matrix. A view therefore splits into a sparse part
:math:`A_v M z` and a dense part :math:`A_v \xi + \varepsilon_v`, and
:func:`view_correlations` measures how much each part stays correlated between the two views
(**feature decoupling**), next to :func:`closed_form_correlations`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ssl_lib import checks
from ssl_lib.augment import bernoulli_mask, complementary_views

Views = tuple[torch.Tensor, torch.Tensor]
Augmentation = Callable[[torch.Tensor, torch.Generator], Views]


@dataclass(frozen=True)
class SparseCoding:
    r"""The data model :math:`x = M z + \xi` with a fixed dictionary (make one with :func:`sparse_coding`).

    Attributes:
        M: the dictionary, shape (d1, d), orthonormal columns.
        sparsity: the probability that a coordinate of z is nonzero, in (0, 1).
        noise_std: σ, the standard deviation of every coordinate of ξ, >= 0.
    """

    M: torch.Tensor
    sparsity: float
    noise_std: float

    @property
    def d(self) -> int:
        """The number of atoms."""
        return self.M.shape[1]

    @property
    def d1(self) -> int:
        """The input dimension."""
        return self.M.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw n inputs: returns ``x`` (n, d1), ``z`` (n, d) and ``xi`` (n, d1), with x = z Mᵀ + xi."""
        n = checks.integer(n, "n", 1, why="the number of samples")
        active = torch.rand(n, self.d, generator=generator) < self.sparsity
        signs = torch.randint(0, 2, (n, self.d), generator=generator) * 2 - 1
        z = (active * signs).to(self.M.dtype)
        xi = self.noise_std * torch.randn(n, self.d1, generator=generator, dtype=self.M.dtype)
        return z @ self.M.T + xi, z, xi

    def signal_to_noise(self) -> dict[str, float]:
        """Expected squared norms of the sparse and dense parts, and the variance along one direction."""
        return {
            "sparse_norm_sq": self.d * self.sparsity,             # E ||M z||²
            "dense_norm_sq": self.d1 * self.noise_std**2,          # E ||ξ||²
            "sparse_var_along_atom": self.sparsity,                # E <M_j, M z>² = E z_j²
            "dense_var_along_direction": self.noise_std**2,        # E <u, ξ>² for a unit u
        }


def dictionary(d1: int, d: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A column-orthonormal, delocalised dictionary M of shape (d1, d): the Q of a Gaussian's QR."""
    d, d1 = checks.integer(d, "d", 1), checks.integer(d1, "d1", 1)
    if d1 < d:
        raise ValueError(
            f"d1={d1} < d={d}: an orthonormal dictionary of d atoms needs input dimension d1 >= d "
            f"(raise d1 or lower d)"
        )
    q, _ = torch.linalg.qr(torch.randn(d1, d, generator=generator))
    return q


def sparse_coding(d: int = 32, d1: int = 256, sparsity: float = 0.06, noise_std: float = 0.2,
                  generator: torch.Generator | None = None) -> SparseCoding:
    r"""The data model :math:`x = M z + \xi` with a fresh dictionary.

    Args:
        d: number of atoms (the paper's d; asymptotically large).
        d1: input dimension, >= d (the paper takes d1 = poly(d)).
        sparsity: P(z_j ≠ 0), in (0, 1); the paper's order is log log d / d. The default 0.06
            gives about 2 active atoms per input at d = 32.
        noise_std: σ of each coordinate of ξ, >= 0. The default 0.2 makes E||ξ||² = 10.2 five times
            E||Mz||² = 1.9 at the default sizes, while along one direction the noise variance
            σ² = 0.04 is below the sparse variance 0.06.
        generator: the source of randomness for M.
    """
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 < sparsity < 1:
        raise ValueError(f"sparsity must be in (0, 1) (the probability that z_j ≠ 0), got {sparsity!r}")
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or not (
            math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    return SparseCoding(dictionary(d1, d, generator), float(sparsity), float(noise_std))


# --- Augmentations: functions (x, generator) -> (x1, x2) --------------------------------------


def masking(p: float = 0.5) -> Augmentation:
    r"""Complementary random masking: :math:`x_1 = D x / p`, :math:`x_2 = (I - D) x / (1 - p)`.

    For p = 1/2 this is the pair :math:`2Dx, 2(I - D)x` of Wen & Li (2021); the views are made by
    :func:`ssl_lib.augment.complementary_views`.
    """
    _check_probability(p, "p")
    return lambda x, generator: complementary_views(x, p, generator)


def no_augmentation() -> Augmentation:
    """Two identical views, x1 = x2 = x."""
    return lambda x, generator: (x, x)


def gaussian_noise(std: float = 0.4) -> Augmentation:
    r"""Additive noise: :math:`x_v = x + \varepsilon_v`, :math:`\varepsilon_v \sim \mathcal{N}(0, \text{std}^2 I)`."""
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std of the added noise must be a finite number >= 0, got {std!r}")

    def views(x: torch.Tensor, generator: torch.Generator) -> Views:
        return (x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype),
                x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype))

    return views


def weak_masking(keep: float = 0.8) -> Augmentation:
    r"""Independent masks: :math:`x_v = D_v x / q` with :math:`D_1, D_2` independent Bernoulli(q) diagonals.

    Each view keeps a fraction ``keep`` = q of the coordinates, so the views share most of them:
    a weaker augmentation than complementary masking, where they share none.
    """
    _check_probability(keep, "keep")

    def views(x: torch.Tensor, generator: torch.Generator) -> Views:
        d1 = bernoulli_mask(tuple(x.shape), keep, generator, x.device).to(x.dtype)
        d2 = bernoulli_mask(tuple(x.shape), keep, generator, x.device).to(x.dtype)
        return d1 * x / keep, d2 * x / keep

    return views


def augmentations(mask_p: float = 0.5, noise_std: float = 0.4, keep: float = 0.8
                  ) -> dict[str, Augmentation]:
    """The chapter's four augmentations by name (their parameters as in the functions above)."""
    return {
        "masking": masking(mask_p),
        "no augmentation": no_augmentation(),
        "gaussian noise": gaussian_noise(noise_std),
        "weak masking": weak_masking(keep),
    }


# --- Feature decoupling ----------------------------------------------------------------------


def view_parts(augmentation: Augmentation, sparse: torch.Tensor, dense: torch.Tensor,
               generator: torch.Generator) -> tuple[Views, Views]:
    r"""Split the two views of :math:`x = \text{sparse} + \text{dense}` into their sparse and dense parts.

    The augmentation is run three times from the same generator state, on the sparse part, on
    zero and on the dense part, so that all three see the same masks and added noise. Because
    it is affine, :math:`x_v = A_v x + \varepsilon_v`, the sparse part of view v is
    :math:`A_v(Mz) = \text{aug}(Mz) - \text{aug}(0)` and the dense part is
    :math:`A_v \xi + \varepsilon_v = \text{aug}(\xi)`; the augmentation's own noise counts as dense.

    Returns:
        ``((sparse_1, sparse_2), (dense_1, dense_2))``, each of the shape of ``sparse`` (N, d1).
    """
    state = generator.get_state()
    s1, s2 = augmentation(sparse, generator)
    generator.set_state(state)
    e1, e2 = augmentation(torch.zeros_like(sparse), generator)
    generator.set_state(state)
    n1, n2 = augmentation(dense, generator)
    return (s1 - e1, s2 - e2), (n1, n2)


def cross_view_correlation(v1: torch.Tensor, v2: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    r"""The correlation between views of the projections on each direction u:

    .. math:: \rho(u) = \frac{\mathbb{E}\,\langle u, v_1\rangle \langle u, v_2\rangle}
              {\sqrt{\mathbb{E}\,\langle u, v_1\rangle^2 \; \mathbb{E}\,\langle u, v_2\rangle^2}}

    (second moments about zero: every part here has mean zero by the symmetry of z and ξ).

    Args:
        v1, v2: the two views (or one part of them), shape (N, d1).
        directions: shape (K, d1).

    Returns:
        ρ for each direction, shape (K,).
    """
    a1, a2 = v1 @ directions.T, v2 @ directions.T
    return (a1 * a2).sum(0) / ((a1**2).sum(0) * (a2**2).sum(0)).sqrt().clamp_min(1e-12)


def view_correlations(data: SparseCoding, augmentation: Augmentation, n: int = 20000,
                      n_directions: int = 64, generator: torch.Generator | None = None
                      ) -> dict[str, float]:
    r"""Measure feature decoupling: how correlated the two views' sparse and dense parts stay.

    The sparse correlation is :func:`cross_view_correlation` of the sparse parts along the atoms
    :math:`M_j` (averaged over j): what a neuron aligned with an atom sees in both views. The
    dense correlation is that of the dense parts along ``n_directions`` random unit directions.

    Returns:
        ``{"sparse": ..., "dense": ...}``, each a mean correlation in [-1, 1].
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    x, z, xi = data.sample(n, generator)
    (s1, s2), (n1, n2) = view_parts(augmentation, z @ data.M.T, xi, generator)
    u = torch.randn(n_directions, data.d1, generator=generator)
    u = u / u.norm(dim=1, keepdim=True)
    return {
        "sparse": cross_view_correlation(s1, s2, data.M.T).mean().item(),
        "dense": cross_view_correlation(n1, n2, u).mean().item(),
    }


def closed_form_correlations(data: SparseCoding, name: str, mask_p: float = 0.5,
                             noise_std: float = 0.4, keep: float = 0.8) -> dict[str, float]:
    r"""The expected cross-view correlations of :func:`view_correlations`, in closed form.

    With :math:`c_j = \sum_k M_{kj}^2 \lVert M_{k,:} \rVert^2 \approx d/d_1` (how much of the other
    atoms leaks into atom j's projection when coordinates are masked):

    * ``masking`` (p): sparse :math:`\frac{1 - c_j}{\sqrt{(1 + (1/p - 1)c_j)(1 + (1/(1-p) - 1)c_j)}}`,
      dense 0 exactly (:math:`D(I - D) = 0`: no coordinate of ξ is in both views);
    * ``no augmentation``: 1 and 1;
    * ``gaussian noise`` (std s): sparse 1, dense :math:`\sigma^2 / (\sigma^2 + s^2)`;
    * ``weak masking`` (keep q): sparse :math:`1 / (1 + (1/q - 1) c_j)`, dense q.

    The sparse value is averaged over the atoms j.
    """
    c = ((data.M**2) * (data.M**2).sum(1, keepdim=True)).sum(0)  # c_j, shape (d,)
    sigma2 = data.noise_std**2
    if name == "masking":
        sparse, dense = masked_sparse_correlation(c, mask_p), 0.0
    elif name == "no augmentation":
        sparse, dense = torch.ones_like(c), 1.0
    elif name == "gaussian noise":
        sparse = torch.ones_like(c)
        dense = sigma2 / (sigma2 + noise_std**2) if sigma2 + noise_std**2 > 0 else 1.0
    elif name == "weak masking":
        _check_probability(keep, "keep")
        sparse, dense = 1 / (1 + (1 / keep - 1) * c), keep
    else:
        raise ValueError(
            f"no closed form for augmentation {name!r}; use one of: masking, no augmentation, "
            f"gaussian noise, weak masking"
        )
    return {"sparse": sparse.mean().item(), "dense": float(dense)}


def masked_sparse_correlation(c: torch.Tensor, p: float) -> torch.Tensor:
    r"""The sparse cross-view correlation of an atom with leak ``c`` under complementary masking (p):

    .. math:: \rho = \frac{1 - c}{\sqrt{(1 + (1/p - 1)c)\,(1 + (1/(1-p) - 1)c)}} ,

    the ``masking`` case of :func:`closed_form_correlations`, elementwise over ``c``.
    """
    _check_probability(p, "mask_p")
    c = torch.as_tensor(c, dtype=torch.float64)
    return (1 - c) / ((1 + (1 / p - 1) * c) * (1 + (1 / (1 - p) - 1) * c)).sqrt()


def _check_probability(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"mask probability {name} must be in (0, 1), got {value!r}")
