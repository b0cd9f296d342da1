"""Chapter 08: the prediction head's toy model, the collapse measures, the SimSiam head variants."""


import pytest
import torch

from ssl_lib import prediction_head as ph
from ssl_lib.experiments import prediction_head as exp


def test_patch_data_carries_the_features_with_their_strengths():
    config = ph.ToyConfig(noise_std=0.0)
    x = ph.patch_data(config, 500, torch.Generator().manual_seed(0))
    on_v1, on_v2 = x[..., 0].abs(), x[..., 1].abs()
    assert set(on_v1.unique().tolist()) == {0.0, config.alpha1}
    assert torch.allclose(on_v2.unique(), torch.tensor([0.0, config.alpha2]))
    assert abs((on_v1 > 0).float().mean().item() - config.p_feature) < 0.02
    assert x[..., 2:].abs().max() == 0


def test_data_without_v1_is_the_same_draw_with_noise_for_v1():
    config = ph.ToyConfig()
    with_v1 = ph.patch_data(config, 300, torch.Generator().manual_seed(1))
    without = ph.patch_data(ph.ToyConfig(with_v1=False), 300, torch.Generator().manual_seed(1))
    on_v1 = with_v1[..., 0].abs() == config.alpha1
    assert on_v1.any() and not (without[..., 0].abs() == config.alpha1).any()
    torch.testing.assert_close(without[~on_v1], with_v1[~on_v1])
    assert (without[on_v1][:, 0].abs() < config.alpha1 / 2).all()  # noise, not v1


def test_time_to_learn_reads_the_raw_weight_on_the_feature():
    projection = torch.zeros(4, 2, 2)
    projection[:, 1, 1] = torch.tensor([0.1, -0.5, -0.8, 0.9])  # the sign does not matter
    projection[:, 0, 0] = torch.tensor([0.1, 0.2, 0.3, 0.4])
    record = {"step": torch.tensor([0, 10, 20, 30]), "projection": projection}
    assert ph.time_to_learn(record, neuron=1, feature=2) == 20
    assert ph.time_to_learn(record, neuron=1, feature=2, threshold=0.5) == 10
    assert ph.time_to_learn(record, neuron=0, feature=1) is None
    with pytest.raises(ValueError, match="feature must be 1"):
        ph.time_to_learn(record, neuron=0, feature=0)
    with pytest.raises(ValueError, match="neuron must be"):
        ph.time_to_learn(record, neuron=2, feature=1)


def test_views_are_complementary_patch_masks():
    x = torch.randn(8, 16, 4)
    x1, x2 = ph.patch_views(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(x1 + x2, x)
    assert ((x1.abs().sum(-1) > 0) & (x2.abs().sum(-1) > 0)).sum() == 0


def test_head_matrix_variants():
    off = torch.tensor([[5.0, 0.3], [-0.2, 7.0]])
    torch.testing.assert_close(ph.head_matrix(off, "none"), torch.eye(2))
    torch.testing.assert_close(ph.head_matrix(off, "offdiag"), torch.tensor([[1.0, 0.3], [-0.2, 1.0]]))
    torch.testing.assert_close(ph.head_matrix(off, "linear"), off)


def test_loss_is_zero_for_identical_views_and_identity_head():
    f = torch.randn(64, 2)
    assert ph.head_loss(f, 3 * f + 1, torch.eye(2)).item() < 1e-10


def test_learned_features_reads_the_correlations():
    corr = torch.tensor([[0.9, 0.1], [0.2, -0.8], [0.5, 0.5]])
    assert ph.learned_features(corr) == [1, 2, None]


@pytest.mark.parametrize("field, value, match", [
    ("head", "mlp", "valid heads: none, offdiag, linear"),
    ("lr", 0.0, "lr"),
    ("lr_head", -1.0, "lr_head"),
    ("alpha2", 2.0, "alpha2"),
    ("alpha2", 0.0, "alpha2"),
    ("p_feature", 0.7, "p_feature"),
    ("activation", "gelu", "valid activations"),
    ("m", 1, "m must be"),
])
def test_impossible_toy_settings_are_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        ph.ToyConfig(**{field: value})


def test_identity_first_step_is_exact_in_float32_and_rounded_in_bfloat16():
    check = exp.identity_first_step(exp.cifar_config("quick", "none", seed=0))
    assert check["gradients"] > 0
    assert check["max_gradient_gap"] == 0 and check["loss_none"] == check["loss_identity"]
    assert check["bfloat16_gap"] > 0  # bfloat16 keeps 8 bits of mantissa: I z is not z


def test_competitive_claim_holds_within_tolerance_and_fails_far_below():
    def verdict(head, reference):
        return exp.competitive_claim("c", "c", ("head", head, 0.005), ("ref", reference, 0.005), 0.05).verdict
    assert verdict(0.60, 0.62) == "holds"        # 2 points below, tolerance 5
    assert verdict(0.50, 0.62) == "does not hold"  # 12 points below
    assert verdict(0.57, 0.62) == "undecided"     # at the tolerance, within the noise


@pytest.mark.parametrize("ratio", [0.0, -1.0, float("nan"), float("inf")])
def test_a_head_learning_rate_ratio_that_is_not_a_finite_positive_number_is_refused(ratio):
    with pytest.raises(ValueError, match="head_lr_ratio .* must be a finite number > 0"):
        exp.cifar_config("quick", "offdiag", head_lr_ratio=ratio)
