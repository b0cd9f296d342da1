"""The one-layer symmetric-ReLU learner, its measurements, and the chapter's claims over seeds."""

import math

import pytest
import torch

from ssl_lib import one_layer as ol
from ssl_lib import sparse_coding as sc


def test_symmetric_relu_is_soft_thresholding():
    a = torch.linspace(-3, 3, 61).unsqueeze(1)
    b = torch.tensor([1.0])
    h = ol.symmetric_relu(a, b)
    torch.testing.assert_close(h, torch.sign(a) * (a.abs() - 1).clamp_min(0))
    torch.testing.assert_close(ol.symmetric_relu(-a, b), -h)              # odd
    torch.testing.assert_close(ol.symmetric_relu(a, torch.zeros(1)), a)   # linear when b = 0


def test_threshold_schedule_ramps_from_zero():
    beta = [ol.threshold_schedule(t, 100, 0.4, (0.2, 0.6)) for t in (0, 20, 40, 60, 100)]
    assert beta == pytest.approx([0.0, 0.0, 0.2, 0.4, 0.4])


def test_measurements_on_known_weights():
    M = sc.dictionary(64, 8, torch.Generator().manual_seed(0))
    atoms = 3 * M.T                                      # each neuron is one atom, scaled
    torch.testing.assert_close(ol.atom_alignment(atoms, M), torch.ones(8))
    torch.testing.assert_close(ol.effective_atoms(atoms, M), torch.ones(8))
    torch.testing.assert_close(ol.dense_share(atoms, M), torch.zeros(8), atol=1e-5, rtol=0)
    assert ol.atoms_learned(atoms, M).item() == 1.0
    pairs = (M[:, 0] + M[:, 1]).unsqueeze(0)             # two atoms equally
    assert ol.effective_atoms(pairs, M).item() == pytest.approx(2.0)
    assert ol.atom_alignment(pairs, M).item() == pytest.approx(1 / math.sqrt(2), rel=1e-5)
    outside = torch.randn(5, 64)
    outside = outside - outside @ M @ M.T                # projected out of span(M)
    torch.testing.assert_close(ol.dense_share(outside, M), torch.ones(5), atol=1e-5, rtol=0)
    assert ol.atoms_learned(outside, M).item() == 0.0


def test_random_neurons_are_near_chance():
    g = torch.Generator().manual_seed(0)
    M = sc.dictionary(256, 32, g)
    W = torch.randn(200, 256, generator=g)
    assert ol.dense_share(W, M).mean().item() == pytest.approx(1 - 32 / 256, abs=0.02)
    assert ol.atom_alignment(W, M).mean().item() < 0.3


def test_probe_reads_z_from_perfect_features():
    g = torch.Generator().manual_seed(0)
    z = torch.randint(-1, 2, (500, 4), generator=g).float()
    zt = torch.randint(-1, 2, (300, 4), generator=g).float()
    assert ol.linear_probe_r2(z, z, zt, zt) == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="train_features"):
        ol.linear_probe_r2(z[:10], z, zt, zt)


def test_a_diverging_learner_names_the_learning_rate():
    g = torch.Generator().manual_seed(0)
    data = sc.SparseCoding(sc.dictionary(16, 8, g), sparsity=0.2, noise_std=0.1)
    config = ol.LearnerConfig(m=8, steps=50, batch=16, lr=1e38, record_every=10)
    with pytest.raises(FloatingPointError, match="non-finite at step 1 .*lower lr=1e"):
        ol.train_one_layer(data, sc.masking(), config, generator=g)


@pytest.mark.parametrize("field, value", [
    ("m", 0), ("steps", 0), ("batch", 1), ("lr", 0.0), ("temperature", -1.0), ("init_std", 0.0),
    ("beta_max", -0.1), ("momentum", 1.0), ("ramp", (0.6, 0.2)),
])
def test_impossible_learner_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        ol.LearnerConfig(**{field: value})


def test_measurements_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="W must be"):
        ol.atom_alignment(torch.randn(3, 10), torch.randn(12, 4))


@pytest.mark.slow
def test_training_is_deterministic_and_lowers_the_loss():
    data = sc.sparse_coding(generator=torch.Generator().manual_seed(0))
    config = ol.LearnerConfig(steps=100, record_every=10, beta_max=0.0)
    threads = torch.get_num_threads()
    a = ol.train_one_layer(data, sc.masking(), config, torch.Generator().manual_seed(1))
    b = ol.train_one_layer(data, sc.masking(), config, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a.W, b.W)
    assert a.history["step"][-1] == 100 and len(a.history["loss"]) == 11
    assert a.history["loss"][-1] < a.history["loss"][0] - 0.5
    assert torch.get_num_threads() == threads  # training on one thread restores the setting


