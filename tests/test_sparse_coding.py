"""The sparse-coding data model, its augmentations and the feature-decoupling measurements."""

import math

import numpy as np
import pytest
import torch

from ssl_lib import sparse_coding as sc


def make(seed=0, **kwargs):
    return sc.sparse_coding(generator=torch.Generator().manual_seed(seed), **kwargs)


def test_dictionary_is_orthonormal_and_delocalised():
    M = sc.dictionary(256, 32, torch.Generator().manual_seed(0))
    assert M.shape == (256, 32)
    torch.testing.assert_close(M.T @ M, torch.eye(32), atol=1e-5, rtol=0)
    # delocalised: no coordinate of an atom is far above 1/sqrt(d1)
    assert M.abs().max().item() < 5 / math.sqrt(256)


def test_sample_is_sparse_plus_dense():
    data = make(sparsity=0.1, noise_std=0.3)
    x, z, xi = data.sample(20000, torch.Generator().manual_seed(1))
    torch.testing.assert_close(x, z @ data.M.T + xi)
    assert set(z.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert (z != 0).float().mean().item() == pytest.approx(0.1, abs=0.005)
    assert z[z != 0].mean().item() == pytest.approx(0.0, abs=0.02)  # symmetric signs
    assert xi.std().item() == pytest.approx(0.3, rel=0.01)
    # along an atom, the projection of x is z_j plus N(0, σ²)
    torch.testing.assert_close((x @ data.M - z).std(), torch.tensor(0.3), atol=0.01, rtol=0)


def test_sampling_is_deterministic_given_the_generator():
    data = make()
    a = data.sample(5, torch.Generator().manual_seed(3))[0]
    b = data.sample(5, torch.Generator().manual_seed(3))[0]
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kwargs, match", [
    (dict(sparsity=0.0), "sparsity"), (dict(sparsity=1.0), "sparsity"), (dict(sparsity=-0.2), "sparsity"),
    (dict(d=64, d1=32), "d1"), (dict(noise_std=-0.1), "noise_std"), (dict(noise_std=float("nan")), "noise_std"),
    (dict(d=0), "d"),
])
def test_impossible_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sc.sparse_coding(**kwargs)


@pytest.mark.parametrize("make_aug, match", [
    (lambda: sc.masking(0.0), "p"), (lambda: sc.masking(1.0), "p"), (lambda: sc.weak_masking(1.5), "keep"),
    (lambda: sc.gaussian_noise(-1.0), "std"),
])
def test_bad_augmentation_parameters_are_named(make_aug, match):
    with pytest.raises(ValueError, match=match):
        make_aug()


def test_sample_rejects_a_bad_count():
    with pytest.raises(ValueError, match="n=0 must be an integer >= 1"):
        make().sample(0)
    assert make().sample(np.int64(3))[0].shape[0] == 3  # any integral type


def test_masking_views_are_complementary():
    x = torch.randn(4, 10)
    x1, x2 = sc.masking(0.5)(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close((x1 + x2) / 2, x)
    assert ((x1 == 0) | (x2 == 0)).all()


def test_view_parts_add_up_to_the_views():
    data = make()
    g = torch.Generator().manual_seed(0)
    x, z, xi = data.sample(50, g)
    for name, aug in sc.augmentations().items():
        state = g.get_state()
        (s1, s2), (n1, n2) = sc.view_parts(aug, z @ data.M.T, xi, g)
        g.set_state(state)
        x1, x2 = aug(x, g)
        torch.testing.assert_close(s1 + n1, x1, atol=1e-5, rtol=0, msg=name)
        torch.testing.assert_close(s2 + n2, x2, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("name", ["masking", "no augmentation", "gaussian noise", "weak masking"])
def test_measured_correlations_match_closed_form(name):
    data = make()
    measured = sc.view_correlations(data, sc.augmentations()[name], n=20000,
                                    generator=torch.Generator().manual_seed(1))
    closed = sc.closed_form_correlations(data, name)
    assert measured["sparse"] == pytest.approx(closed["sparse"], abs=0.02)
    assert measured["dense"] == pytest.approx(closed["dense"], abs=0.02)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_masking_closed_form_for_any_probability(p):
    data = make()
    measured = sc.view_correlations(data, sc.masking(p), n=20000, generator=torch.Generator().manual_seed(2))
    closed = sc.closed_form_correlations(data, "masking", mask_p=p)
    assert closed["dense"] == 0.0
    assert measured["sparse"] == pytest.approx(closed["sparse"], abs=0.02)
    assert abs(measured["dense"]) < 0.02


def test_closed_form_rejects_unknown_augmentation():
    with pytest.raises(ValueError, match="no closed form"):
        sc.closed_form_correlations(make(), "crop")




def test_sizes_take_integers_of_any_integral_type():
    import numpy as np

    from ssl_lib.sparse_coding import dictionary

    assert dictionary(np.int64(8), np.int32(4)).shape == (8, 4)
