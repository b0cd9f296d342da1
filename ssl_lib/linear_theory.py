r"""The linear theory of contrastive learning (Ji, Deng, Nakada, Zou & Zhang 2021; JMLR 2023).

Data follow the **spiked covariance model**

.. math:: x = U^\star z + \xi, \qquad \operatorname{Cov} z = \nu^2 I_r, \qquad
          \operatorname{Cov} \xi = \operatorname{diag}(\sigma_1^2, \dots, \sigma_d^2),

with :math:`U^\star \in \mathbb{R}^{d \times r}` orthonormal. A linear representation
:math:`f(x) = W x`, :math:`W \in \mathbb{R}^{k \times d}`, is learned from positive pairs made by
complementary random masks (:func:`ssl_lib.augment.complementary_views` with ``rescale=False``).
The module holds the sampler, the learners (contrastive training, PCA, a linear autoencoder, the
closed-form diagonal-deleted estimator, supervised contrastive learning), the subspace error
:math:`\lVert \sin\Theta(U, U^\star) \rVert_F` and the downstream tasks defined by z.

**The loss.** For a batch of B pairs with features :math:`h^{(1)}_i = W x^{(1)}_i`,
:math:`h^{(2)}_i = W x^{(2)}_i`,

.. math:: L(W) = -\frac{1}{B} \sum_i \langle h^{(1)}_i, h^{(2)}_i \rangle
          + \frac{1}{B(B-1)} \sum_{i \ne j} \langle h^{(1)}_i, h^{(2)}_j \rangle
          + \frac{\lambda}{2} \lVert W^\top W \rVert_F^2 ,

a positive term, in-batch negatives entering linearly, and a quartic regulariser that keeps W
bounded. Averaged over masks and batches it equals
:math:`-p(1-p)\,\operatorname{tr}(W A W^\top) + \frac{\lambda}{2}\lVert W^\top W\rVert_F^2` with
:math:`A = \Delta(\hat\Sigma) + O(1/n)`, the sample covariance with its diagonal deleted, so the
optimum spans the top-k eigenvectors of :math:`\Delta(\hat\Sigma)`. PCA keeps the diagonal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from ssl_lib import checks
from ssl_lib.augment import complementary_views
from ssl_lib.runtime import single_thread

__all__ = [
    "SpikedCovarianceModel", "spiked_covariance_model", "noise_variances", "linear_task",
    "sample_covariance", "delete_diagonal", "top_eigenvectors", "orthonormal_basis",
    "subspace_error", "missed_signal", "pca_subspace", "diagonal_deleted_subspace", "contrastive_population_matrix",
    "linear_contrastive_loss", "train_linear_contrastive", "train_linear_autoencoder",
    "supervised_contrastive_matrix", "supervised_contrastive_subspace", "downstream_regression_error",
    "downstream_classification_accuracy",
]


# ----------------------------------------------------------------------------- the data model

@dataclass(frozen=True)
class SpikedCovarianceModel:
    r"""The spiked covariance model :math:`x = U^\star z + \xi` (Ji et al., Section 2).

    Attributes:
        U: (d, r) orthonormal basis :math:`U^\star` of the signal subspace.
        signal_var: :math:`\nu^2`, the variance of each coordinate of z.
        noise_vars: (d,) noise variances :math:`\sigma_1^2, \dots, \sigma_d^2`.
    """

    U: torch.Tensor
    signal_var: float
    noise_vars: torch.Tensor

    @property
    def d(self) -> int:
        return self.U.shape[0]

    @property
    def r(self) -> int:
        return self.U.shape[1]

    def covariance(self) -> torch.Tensor:
        r""":math:`\Sigma = \nu^2 U^\star U^{\star\top} + \operatorname{diag}(\sigma^2)`, shape (d, d)."""
        return self.signal_var * self.U @ self.U.T + torch.diag(self.noise_vars)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw n Gaussian samples; returns x of shape (n, d) and the latent z of shape (n, r)."""
        n = checks.integer(n, "n", 2, why="a covariance needs two samples")
        dtype = self.U.dtype
        z = math.sqrt(self.signal_var) * torch.randn(n, self.r, generator=generator, dtype=dtype)
        xi = torch.randn(n, self.d, generator=generator, dtype=dtype) * self.noise_vars.sqrt()
        return z @ self.U.T + xi, z


def noise_variances(d: int, noise_var: float = 1.0, heteroskedasticity: float = 1.0,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""d noise variances, log-spaced from largest to smallest, with mean ``noise_var``.

    ``heteroskedasticity`` :math:`\kappa \ge 1` is the ratio of the largest to the smallest
    variance: 1 gives homoskedastic noise :math:`\sigma^2 I`. Keeping the mean fixed keeps the
    total noise :math:`\operatorname{tr}\operatorname{Cov}\xi = d \cdot` ``noise_var`` the same
    while the spread grows. Coordinate 0 is the noisiest. Returns shape (d,).
    """
    if noise_var < 0 or not math.isfinite(noise_var):
        raise ValueError(f"noise_var={noise_var} must be a finite variance >= 0")
    if not heteroskedasticity >= 1 or not math.isfinite(heteroskedasticity):
        raise ValueError(f"heteroskedasticity={heteroskedasticity} must be a finite ratio >= 1 "
                         "(largest over smallest noise variance; 1 is homoskedastic)")
    shape = torch.logspace(0, -math.log10(heteroskedasticity), d, dtype=dtype) if d > 1 else torch.ones(1, dtype=dtype)
    return noise_var * shape / shape.mean()


def spiked_covariance_model(d: int, r: int, signal_var: float = 1.0, noise_var: float = 1.0,
                            heteroskedasticity: float = 1.0, generator: torch.Generator | None = None,
                            dtype: torch.dtype = torch.float64) -> SpikedCovarianceModel:
    r"""A spiked covariance model with a random :math:`U^\star` (QR of a Gaussian d x r matrix).

    Args:
        d: ambient dimension; r: signal rank, 1 <= r <= d.
        signal_var: :math:`\nu^2 > 0`; noise_var: the mean noise variance, >= 0.
        heteroskedasticity: largest over smallest noise variance (>= 1), see :func:`noise_variances`.
    """
    d, r = checks.integer(d, "d", 1), checks.integer(r, "r", 1)
    if r > d:
        raise ValueError(f"r={r} must be at most d={d}: the signal subspace lives in R^d")
    if not signal_var > 0 or not math.isfinite(signal_var):
        raise ValueError(f"signal_var={signal_var} must be a finite variance > 0")
    U, _ = torch.linalg.qr(torch.randn(d, r, generator=generator, dtype=dtype))
    return SpikedCovarianceModel(U, float(signal_var), noise_variances(d, noise_var, heteroskedasticity, dtype))


def linear_task(z: torch.Tensor, w: torch.Tensor, signal_var: float, noise_std: float = 0.1,
                generator: torch.Generator | None = None, classify: bool = False) -> torch.Tensor:
    r"""Downstream labels defined by z: :math:`y = \langle w, z\rangle/\nu + \varepsilon`.

    ``w`` (r,) is normalised to unit length, so the clean target has unit variance. With
    ``classify=True`` the label is the sign, :math:`1[y > 0]` (a long tensor). Returns shape (n,).
    """
    w = w / w.norm()
    y = z @ w.to(z.dtype) / math.sqrt(signal_var)
    y = y + noise_std * torch.randn(y.shape, generator=generator, dtype=y.dtype)
    return (y > 0).long() if classify else y


# ----------------------------------------------------------------------------- linear algebra

def _check_data(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"{name} must be a tensor of shape (n, d), got {getattr(x, 'shape', type(x))}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} has n={x.shape[0]} rows; n must be >= 2")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} has non-finite entries; remove NaN/inf samples first")


def _check_rank(k: int, d: int) -> int:
    return checks.integer(k, "k", 1, d, why=f"the representation dimension, at most d={d}")


def _check_training(steps: int, batch_size: int, lr: float) -> tuple[int, int, float]:
    return (checks.integer(steps, "steps", 1), checks.integer(batch_size, "batch_size", 2, why="pairs per step"),
            checks.positive(lr, "lr"))


def sample_covariance(x: torch.Tensor) -> torch.Tensor:
    r"""The unbiased sample covariance :math:`\frac{1}{n-1}\sum_i (x_i - \bar x)(x_i - \bar x)^\top`, (d, d)."""
    _check_data(x)
    xc = x - x.mean(0)
    return xc.T @ xc / (x.shape[0] - 1)


def delete_diagonal(m: torch.Tensor) -> torch.Tensor:
    r""":math:`\Delta(M) = M - \operatorname{diag}(M)`: the matrix with its diagonal set to zero."""
    return m - torch.diag(torch.diagonal(m))


def top_eigenvectors(m: torch.Tensor, k: int) -> torch.Tensor:
    """The eigenvectors of the symmetric (d, d) matrix m for its k largest eigenvalues, (d, k)."""
    if not isinstance(m, torch.Tensor) or m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"m must be a square (d, d) tensor, got {getattr(m, 'shape', type(m))}")
    if not torch.isfinite(m).all():
        raise ValueError("m has non-finite entries; its eigenvectors are undefined")
    k = _check_rank(k, m.shape[0])
    _, vectors = torch.linalg.eigh((m + m.T) / 2)
    return vectors[:, -k:].flip(1)


def orthonormal_basis(u: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis (d, k) of the column span of u (d, k), by a thin SVD."""
    left, _, _ = torch.linalg.svd(u, full_matrices=False)
    return left


def subspace_error(u: torch.Tensor, u_star: torch.Tensor) -> torch.Tensor:
    r"""The subspace error :math:`\lVert \sin\Theta(U, U^\star)\rVert_F = \lVert (I - P^\star) Q\rVert_F`.

    Q is an orthonormal basis of the span of ``u`` (d, k) and :math:`P^\star` the projection on the
    span of ``u_star`` (d, r). For k = r it equals :math:`\lVert P - P^\star\rVert_F / \sqrt 2`;
    it is 0 for the same subspace and :math:`\sqrt{k}` at most. A representation W (k, d) enters
    as ``W.T``.
    """
    if u.ndim != 2 or u_star.ndim != 2 or u.shape[0] != u_star.shape[0]:
        raise ValueError(f"u {tuple(u.shape)} and u_star {tuple(u_star.shape)} must be (d, k) and (d, r) "
                         "matrices with the same d (pass a representation W as W.T)")
    q, q_star = orthonormal_basis(u.double()), orthonormal_basis(u_star.double())
    return (q - q_star @ (q_star.T @ q)).norm()


def missed_signal(u: torch.Tensor, u_star: torch.Tensor, w: torch.Tensor) -> float:
    r"""The share of a task's signal direction :math:`v = U^\star w / \lVert w\rVert` outside span(u).

    :math:`\lVert (I - QQ^\top) v\rVert^2 \in [0, 1]`, Q an orthonormal basis of span(u) (d, k): the
    fraction of the variance of :math:`\langle w, z\rangle` that no linear read-out of the noiseless
    features can recover. ``u_star`` (d, r), ``w`` (r,).
    """
    q = orthonormal_basis(u.double())
    v = u_star.double() @ (w.double() / w.double().norm())
    return (v - q @ (q.T @ v)).square().sum().item()


# ----------------------------------------------------------------------------- closed-form learners

def pca_subspace(x: torch.Tensor, k: int) -> torch.Tensor:
    r"""PCA: the top-k eigenvectors of the sample covariance, (d, k).

    The optimum of a linear autoencoder spans the same subspace (Baldi & Hornik 1989), which is
    how Ji et al. reduce autoencoders to PCA.
    """
    _check_data(x)
    _check_rank(k, x.shape[1])
    return top_eigenvectors(sample_covariance(x), k)


def contrastive_population_matrix(covariance: torch.Tensor) -> torch.Tensor:
    r""":math:`\Delta(\Sigma)`: the matrix whose top eigenvectors the contrastive optimum spans."""
    return delete_diagonal(covariance)


def diagonal_deleted_subspace(x: torch.Tensor, k: int) -> torch.Tensor:
    r"""The closed-form contrastive estimator: top-k eigenvectors of :math:`\Delta(\hat\Sigma)`, (d, k)."""
    _check_data(x)
    _check_rank(k, x.shape[1])
    return top_eigenvectors(delete_diagonal(sample_covariance(x)), k)


def supervised_contrastive_matrix(x: torch.Tensor, labels: torch.Tensor, label_weight: float) -> torch.Tensor:
    r""":math:`(1-\alpha)\,\Delta(\hat\Sigma) + \alpha\,\hat B`, the matrix of the supervised contrastive optimum.

    :math:`\hat B` is the mean of :math:`x_i x_j^\top` over same-label pairs :math:`i \ne j` minus its
    mean over all pairs :math:`i \ne j`: the between-class covariance the label pairs teach.
    ``label_weight`` :math:`\alpha \in [0, 1]`. Returns (d, d).
    """
    _check_data(x)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {tuple(labels.shape)}")
    if not 0 <= label_weight <= 1:
        raise ValueError(f"label_weight={label_weight} must be in [0, 1]")
    n = x.shape[0]
    gram = x.T @ x
    total = x.sum(0)
    all_pairs = (torch.outer(total, total) - gram) / (n * (n - 1))
    same, count = torch.zeros_like(gram), 0
    for c in labels.unique():
        xc = x[labels == c]
        s = xc.sum(0)
        same += torch.outer(s, s) - xc.T @ xc
        count += len(xc) * (len(xc) - 1)
    if count == 0:
        raise ValueError("labels must give at least one pair of samples with the same label")
    between = same / count - all_pairs
    return (1 - label_weight) * delete_diagonal(sample_covariance(x)) + label_weight * between


def supervised_contrastive_subspace(x: torch.Tensor, labels: torch.Tensor, k: int, label_weight: float) -> torch.Tensor:
    """Top-k eigenvectors of :func:`supervised_contrastive_matrix`, (d, k)."""
    _check_rank(k, x.shape[1])
    return top_eigenvectors(supervised_contrastive_matrix(x, labels, label_weight), k)


# ----------------------------------------------------------------------------- trained learners

def linear_contrastive_loss(W: torch.Tensor, x1: torch.Tensor, x2: torch.Tensor, reg: float,
                            labels: torch.Tensor | None = None, label_weight: float = 0.0) -> torch.Tensor:
    r"""The linear contrastive loss with in-batch negatives and a regulariser (module docstring).

    .. math:: L = (1-\alpha)\Big[-\frac1B\sum_i \langle h^1_i, h^2_i\rangle\Big]
              - \alpha \operatorname*{mean}_{i \ne j,\, y_i = y_j} \langle h^1_i, h^2_j\rangle
              + \operatorname*{mean}_{i \ne j} \langle h^1_i, h^2_j\rangle
              + \frac{\lambda}{2}\lVert W^\top W\rVert_F^2 ,

    :math:`h^v_i = W x^v_i`. Without labels (:math:`\alpha = 0`) the first term is the positive
    pairs of the two views and the third the negatives; with labels, a share :math:`\alpha` of the
    attraction moves to pairs of different samples with the same label (supervised contrastive
    learning), and the negatives' weight stays 1.

    Args:
        W: (k, d) representation; x1, x2: (B, d) the two views, B >= 2; reg: :math:`\lambda > 0`.
        labels: (B,) labels for the supervised term; label_weight: :math:`\alpha \in [0, 1]`.
    """
    h1, h2 = x1 @ W.T, x2 @ W.T
    b = h1.shape[0]
    positive = (h1 * h2).sum(1)                       # <h1_i, h2_i>
    # sum over i != j of <h1_i, h2_j>, from the batch sums: O(B k) rather than O(B^2 k)
    all_pairs = (h1.sum(0) @ h2.sum(0) - positive.sum()) / (b * (b - 1))
    loss = -(1 - label_weight) * positive.mean() + all_pairs
    if labels is not None and label_weight > 0:
        onehot = torch.nn.functional.one_hot(labels.long()).to(h1.dtype)   # (B, C)
        sizes = onehot.sum(0)
        n_same = (sizes * (sizes - 1)).sum()
        if n_same > 0:
            same = ((onehot.T @ h1) * (onehot.T @ h2)).sum() - positive.sum()
            loss = loss - label_weight * same / n_same
    return loss + reg / 2 * (W.T @ W).square().sum()


def train_linear_contrastive(x: torch.Tensor, k: int, *, p: float = 0.5, reg: float = 0.1,
                             steps: int = 2000, batch_size: int = 512, lr: float = 0.05,
                             generator: torch.Generator | None = None, labels: torch.Tensor | None = None,
                             label_weight: float = 0.0, progress: bool = False) -> tuple[torch.Tensor, list[float]]:
    r"""Train :math:`f(x) = Wx` with :func:`linear_contrastive_loss` on random-masking pairs.

    Each step draws a batch, fresh complementary masks (:math:`Dx`, :math:`(I-D)x`, ``rescale=False``
    as in Ji et al.) and takes a step of SGD with momentum 0.9 and a cosine-decaying learning rate,
    so that the mask noise averages out and W approaches the optimum of the expected loss.

    Args:
        x: (n, d) unlabelled data (float); k: representation dimension.
        p: mask probability in (0, 1); reg: :math:`\lambda > 0`.
        labels, label_weight: see :func:`linear_contrastive_loss`.

    Returns:
        W of shape (k, d) and the loss of every step.
    """
    _check_data(x)
    n, d = x.shape
    k = _check_rank(k, d)
    steps, batch_size, lr = _check_training(steps, batch_size, lr)
    if not 0 < p < 1:
        raise ValueError(f"mask probability p={p} must be in (0, 1)")
    if not reg > 0:
        raise ValueError(f"reg={reg} must be > 0: without the regulariser the loss is unbounded below")
    if labels is not None and labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    if not 0 <= label_weight <= 1:
        raise ValueError(f"label_weight={label_weight} must be in [0, 1]")
    x = x.float()
    W = (torch.randn(k, d, generator=generator) / math.sqrt(d)).requires_grad_()

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        x1, x2 = complementary_views(x[idx], p, generator, rescale=False)
        return linear_contrastive_loss(W, x1, x2, reg, None if labels is None else labels[idx], label_weight)

    optimizer = torch.optim.SGD([W], lr=lr, momentum=0.9)
    history = _minimise(batch_loss, optimizer, steps, n, batch_size, generator, "contrastive", progress)
    return W.detach(), history


def train_linear_autoencoder(x: torch.Tensor, k: int, *, steps: int = 1000, batch_size: int = 1024,
                             lr: float = 0.05, generator: torch.Generator | None = None,
                             progress: bool = False) -> tuple[torch.Tensor, list[float]]:
    r"""Train a linear autoencoder :math:`\min_{W, V} \frac1n\sum_i \lVert x_i - V W x_i\rVert^2`.

    Mini-batches of centred data, Adam with a cosine-decaying learning rate. Returns the encoder
    W (k, d) and the loss history; the row span of W approaches the PCA subspace.
    """
    _check_data(x)
    n, d = x.shape
    k = _check_rank(k, d)
    steps, batch_size, lr = _check_training(steps, batch_size, lr)
    x = (x - x.mean(0)).float()
    W = (torch.randn(k, d, generator=generator) / math.sqrt(d)).requires_grad_()
    V = (torch.randn(d, k, generator=generator) / math.sqrt(k)).requires_grad_()

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        xb = x[idx]
        return (xb - xb @ W.T @ V.T).square().sum(1).mean()

    optimizer = torch.optim.Adam([W, V], lr=lr)
    history = _minimise(batch_loss, optimizer, steps, n, batch_size, generator, "autoencoder", progress)
    return W.detach(), history


def _minimise(batch_loss, optimizer: torch.optim.Optimizer, steps: int, n: int, batch_size: int,
              generator: torch.Generator | None, desc: str, progress: bool) -> list[float]:
    """``steps`` optimiser steps on ``batch_loss(indices)`` of random mini-batches of the n
    samples, with a cosine-decaying learning rate, on one thread; returns every step's loss."""
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    history = []
    with single_thread():
        for _ in tqdm(range(steps), desc=desc, disable=not progress, ascii=True):
            loss = batch_loss(torch.randperm(n, generator=generator)[:batch_size])
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the {desc} loss became {loss.item()} at step {len(history)}; "
                                         f"lower lr={optimizer.defaults['lr']}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            history.append(loss.item())
    return history


# ----------------------------------------------------------------------------- downstream tasks

def _features(basis: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Features of x on an orthonormal basis of span(basis), with an intercept column."""
    f = x.double() @ orthonormal_basis(basis.double())
    return torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype)], 1)


def downstream_regression_error(basis: torch.Tensor, x_train: torch.Tensor, y_train: torch.Tensor,
                                x_test: torch.Tensor, y_test: torch.Tensor) -> float:
    r"""Test mean squared error of least squares on the representation :math:`\hat U^\top x`.

    ``basis`` (d, k) spans the learned subspace (a representation W enters as ``W.T``). Least
    squares is invariant to an invertible map of the features, so only the subspace matters.
    """
    coef = torch.linalg.lstsq(_features(basis, x_train), y_train.double()[:, None]).solution
    return (_features(basis, x_test) @ coef - y_test.double()[:, None]).square().mean().item()


def downstream_classification_accuracy(basis: torch.Tensor, x_train: torch.Tensor, y_train: torch.Tensor,
                                       x_test: torch.Tensor, y_test: torch.Tensor) -> float:
    """Test accuracy of logistic regression (scikit-learn, default L2 penalty) on the representation."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000)
    model.fit(_features(basis, x_train)[:, :-1].numpy(), y_train.numpy())
    return float(model.score(_features(basis, x_test)[:, :-1].numpy(), y_test.numpy()))
