"""Tests of ssl_lib.linear_theory and the chapter's experiments (Ji, Deng, Nakada, Zou & Zhang 2021)."""

import math

import numpy as np
import pytest
import torch

from ssl_lib import linear_theory as lt
from ssl_lib.augment import complementary_views


def _model(seed=0, d=30, r=3, kappa=20.0):
    g = torch.Generator().manual_seed(seed)
    return lt.spiked_covariance_model(d, r, heteroskedasticity=kappa, generator=g), g


# ----------------------------------------------------------------------------- the data model

def test_sampler_matches_its_covariance():
    model, g = _model()
    assert torch.allclose(model.U.T @ model.U, torch.eye(model.r, dtype=model.U.dtype), atol=1e-10)
    x, z = model.sample(40_000, g)
    assert x.shape == (40_000, model.d) and z.shape == (40_000, model.r)
    assert (lt.sample_covariance(x) - model.covariance()).abs().max() < 0.1
    assert (lt.sample_covariance(z) - torch.eye(model.r, dtype=z.dtype)).abs().max() < 0.05


def test_noise_variances_spread_and_mean():
    v = lt.noise_variances(40, noise_var=2.0, heteroskedasticity=50.0)
    assert v.mean().item() == pytest.approx(2.0)
    assert (v.max() / v.min()).item() == pytest.approx(50.0)
    assert torch.all(v[:-1] >= v[1:])                      # coordinate 0 is the noisiest
    assert torch.allclose(lt.noise_variances(10, 1.5, 1.0), torch.full((10,), 1.5, dtype=torch.float64))


@pytest.mark.parametrize("kwargs, match", [
    (dict(d=5, r=6), "r=6"),
    (dict(d=5, r=0), "r=0"),
    (dict(d=5, r=2, noise_var=-1.0), "noise_var"),
    (dict(d=5, r=2, signal_var=-1.0), "signal_var"),
    (dict(d=5, r=2, signal_var=0.0), "signal_var"),
    (dict(d=5, r=2, heteroskedasticity=0.5), "heteroskedasticity"),
    (dict(d=5, r=2, noise_var=float("nan")), "noise_var"),
])
def test_model_rejects_impossible_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lt.spiked_covariance_model(**kwargs)


def test_bad_sample_sizes_and_data():
    model, g = _model()
    for n in (1, 0, -3):
        with pytest.raises(ValueError, match="n="):
            model.sample(n, g)
    with pytest.raises(ValueError, match="n=1"):
        lt.pca_subspace(torch.randn(1, 5), 1)
    with pytest.raises(ValueError, match="non-finite"):
        lt.diagonal_deleted_subspace(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="shape"):
        lt.sample_covariance(torch.randn(5))
    with pytest.raises(ValueError, match="k=7"):
        lt.pca_subspace(torch.randn(10, 5), 7)


def test_training_rejects_bad_parameters():
    x = torch.randn(20, 6)
    for p in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="p="):
            lt.train_linear_contrastive(x, 2, p=p, steps=1)
    with pytest.raises(ValueError, match="reg="):
        lt.train_linear_contrastive(x, 2, reg=0.0, steps=1)
    with pytest.raises(ValueError, match="label_weight"):
        lt.train_linear_contrastive(x, 2, labels=torch.zeros(20, dtype=torch.long), label_weight=1.5, steps=1)
    with pytest.raises(ValueError, match="labels"):
        lt.train_linear_contrastive(x, 2, labels=torch.zeros(19, dtype=torch.long), steps=1)
    with pytest.raises(ValueError, match="same d"):
        lt.subspace_error(torch.randn(6, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match="batch_size=1 .*pairs per step"):  # it returned an all-NaN W
        lt.train_linear_contrastive(x, 2, batch_size=1, steps=5)
    for bad in ({"steps": 0}, {"steps": 2.5}, {"lr": 0.0}, {"lr": float("nan")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            lt.train_linear_contrastive(x, 2, **bad)
        with pytest.raises(ValueError, match=next(iter(bad))):
            lt.train_linear_autoencoder(x, 2, **bad)


def test_training_that_diverges_names_the_learning_rate():
    x = 10 * torch.randn(64, 6, generator=torch.Generator().manual_seed(0))
    with pytest.raises(FloatingPointError, match="lower lr=10"):  # it diverged silently
        lt.train_linear_contrastive(x, 2, lr=10.0, steps=200, batch_size=32)


def test_top_eigenvectors_checks_k_and_the_matrix():
    m = torch.diag(torch.tensor([3.0, 2.0, 1.0]))
    assert lt.top_eigenvectors(m, np.int64(1)).abs()[:, 0].tolist() == [1.0, 0.0, 0.0]  # NumPy ints are integers
    for k in (0, 4):  # k=0 returned every eigenvector and k > d returned d
        with pytest.raises(ValueError, match=f"k={k}"):
            lt.top_eigenvectors(m, k)
    with pytest.raises(ValueError, match="square"):
        lt.top_eigenvectors(torch.ones(3, 2), 1)
    with pytest.raises(ValueError, match="non-finite"):
        lt.top_eigenvectors(torch.full((2, 2), float("inf")), 1)


# ----------------------------------------------------------------------------- the subspace error

def test_subspace_error_extremes_and_projection_formula():
    g = torch.Generator().manual_seed(1)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    u, u_perp = q[:, :3], q[:, 3:6]
    mix = torch.randn(3, 3, generator=g, dtype=torch.float64)     # another basis of the same span
    assert lt.subspace_error(u @ mix, u).item() == pytest.approx(0.0, abs=1e-10)
    assert lt.subspace_error(u_perp, u).item() == pytest.approx(math.sqrt(3))
    v = torch.randn(8, 3, generator=g, dtype=torch.float64)
    qv = lt.orthonormal_basis(v)
    projection_distance = (qv @ qv.T - u @ u.T).norm() / math.sqrt(2)
    assert lt.subspace_error(v, u).item() == pytest.approx(projection_distance.item())


# ----------------------------------------------------------------------------- the derivation

def test_masked_pairs_average_to_the_diagonal_deleted_outer_product():
    """E_D[D x x^T (I - D)] = p (1 - p) Δ(x x^T): the diagonal of x x^T never reaches the loss."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 6, generator=g, dtype=torch.float64)
    p, draws = 0.3, 100_000
    x1, x2 = complementary_views(x.expand(draws, 6), p, g, rescale=False)
    average = x1.T @ x2 / draws
    target = p * (1 - p) * lt.delete_diagonal(x.T @ x)
    assert (average - target).abs().max() < 0.02
    assert average.diagonal().abs().max() == 0.0


def _naive_loss(W, x1, x2, reg, labels=None, alpha=0.0):
    b = len(x1)
    h1, h2 = x1 @ W.T, x2 @ W.T
    pos = sum(h1[i] @ h2[i] for i in range(b)) / b
    neg = sum(h1[i] @ h2[j] for i in range(b) for j in range(b) if i != j) / (b * (b - 1))
    loss = -(1 - alpha) * pos + neg
    if labels is not None:
        pairs = [(i, j) for i in range(b) for j in range(b) if i != j and labels[i] == labels[j]]
        loss = loss - alpha * sum(h1[i] @ h2[j] for i, j in pairs) / len(pairs)
    return loss + reg / 2 * ((W.T @ W) ** 2).sum()


def test_loss_matches_its_definition():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(3, 7, generator=g, dtype=torch.float64)
    x1, x2 = torch.randn(9, 7, generator=g, dtype=torch.float64), torch.randn(9, 7, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2, 2, 1])
    torch.testing.assert_close(lt.linear_contrastive_loss(W, x1, x2, 0.3), _naive_loss(W, x1, x2, 0.3))
    torch.testing.assert_close(lt.linear_contrastive_loss(W, x1, x2, 0.3, labels, 0.4),
                               _naive_loss(W, x1, x2, 0.3, labels, 0.4))


def test_expected_loss_is_minus_trace_with_diagonal_deleted_matrix():
    """Averaged over masks, L(W) = -p(1-p) tr(W A W^T) + λ/2 ||W^T W||², A = Δ(mean x x^T) - mean_{i≠j} x_i x_j^T."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(12, 5, generator=g, dtype=torch.float64) + 0.5
    W = torch.randn(2, 5, generator=g, dtype=torch.float64)
    p, reg, draws = 0.5, 0.2, 20_000
    losses = torch.stack([lt.linear_contrastive_loss(W, *complementary_views(x, p, g, rescale=False), reg)
                          for _ in range(draws)])
    n = len(x)
    s0 = x.T @ x / n
    cross = (torch.outer(x.sum(0), x.sum(0)) - x.T @ x) / (n * (n - 1))
    A = lt.delete_diagonal(s0) - cross
    expected = -p * (1 - p) * torch.trace(W @ A @ W.T) + reg / 2 * ((W.T @ W) ** 2).sum()
    assert losses.mean().item() == pytest.approx(expected.item(), abs=4 * losses.std().item() / math.sqrt(draws))


@pytest.mark.slow
def test_trained_contrastive_reaches_the_closed_form():
    model, g = _model(seed=5)
    x, z = model.sample(3000, g)
    W, history = lt.train_linear_contrastive(x, model.r, steps=300, batch_size=1024, lr=0.1, generator=g)
    assert W.shape == (model.r, model.d) and history[-1] < history[0]
    assert lt.subspace_error(W.T, lt.diagonal_deleted_subspace(x, model.r)).item() < 0.2
    labels = lt.linear_task(z, torch.ones(model.r, dtype=z.dtype), model.signal_var, 0.1, g, classify=True)
    W_sup, _ = lt.train_linear_contrastive(x, model.r, steps=300, batch_size=1024, lr=0.1, generator=g,
                                           labels=labels, label_weight=0.5)
    closed = lt.supervised_contrastive_subspace(x, labels, model.r, 0.5)
    assert lt.subspace_error(W_sup.T, closed).item() < 0.25


def test_linear_autoencoder_learns_the_pca_subspace():
    model, g = _model(seed=6)
    x, _ = model.sample(3000, g)
    W, history = lt.train_linear_autoencoder(x, model.r, steps=600, generator=g)
    assert history[-1] < history[0]
    assert lt.subspace_error(W.T, lt.pca_subspace(x, model.r)).item() < 0.3


def test_contrastive_population_error_is_small_and_pca_is_biased():
    model, _ = _model(seed=7, d=60, r=3, kappa=30.0)
    cov = model.covariance()
    assert lt.subspace_error(lt.top_eigenvectors(lt.contrastive_population_matrix(cov), 3), model.U) < 0.2
    assert lt.subspace_error(lt.top_eigenvectors(cov, 3), model.U) > 1.0


def test_downstream_helpers_on_oracle_and_wrong_subspace():
    model, g = _model(seed=8, kappa=1.0)
    model = lt.SpikedCovarianceModel(model.U, 4.0, model.noise_vars * 0.01)   # nearly noiseless
    x, z = model.sample(400, g)
    xt, zt = model.sample(2000, g)
    w = torch.randn(model.r, generator=g, dtype=torch.float64)
    y, yt = lt.linear_task(z, w, 4.0, 0.05, g), lt.linear_task(zt, w, 4.0, 0.05, g)
    c, ct = (y > 0).long(), (yt > 0).long()
    q, _ = torch.linalg.qr(torch.randn(model.d, model.d, generator=g, dtype=torch.float64))
    wrong = q[:, :model.r] - model.U @ (model.U.T @ q[:, :model.r])                  # orthogonal to U*
    assert lt.downstream_regression_error(model.U, x, y, xt, yt) < 0.01
    assert lt.downstream_regression_error(wrong, x, y, xt, yt) > 0.5
    assert lt.downstream_classification_accuracy(model.U, x, c, xt, ct) > 0.95


# ----------------------------------------------------------------------------- the paper's claims


