"""Neuron firing measures (ssl_lib.firing). Chapter 06's experiments are tested in
test_06_feature_decoupling_cifar.py."""

import math

import pytest
import torch

from ssl_lib import firing, models

# ---------------------------------------------------------------------------------------------
# The measures, on responses whose answers are known
# ---------------------------------------------------------------------------------------------

def test_firing_rate_and_hoyer_of_known_units():
    n = 100
    one_hot = torch.zeros(n)
    one_hot[7] = 3.0
    constant = torch.full((n,), 2.0)
    half = torch.cat([torch.ones(n // 2), torch.zeros(n // 2)])
    dead = torch.zeros(n)
    r = torch.stack([one_hot, constant, half, dead], dim=1)
    torch.testing.assert_close(firing.firing_rate(r, 0.5), torch.tensor([0.01, 1.0, 0.5, 0.0]))
    hoyer = firing.hoyer_sparsity(r)
    assert hoyer[0].item() == pytest.approx(1.0) and hoyer[1].item() == pytest.approx(0.0, abs=1e-6)
    expected_half = (math.sqrt(n) - math.sqrt(n / 2)) / (math.sqrt(n) - 1)
    assert hoyer[2].item() == pytest.approx(expected_half, rel=1e-5) and math.isnan(hoyer[3].item())
    assert firing.active_units(r).tolist() == [True, True, True, False]
    summary = firing.sparsity_by_layer({"layer": r}, 0.5)["layer"]
    assert summary["dead_share"] == pytest.approx(0.25)
    assert summary["firing_rate"] == pytest.approx((0.01 + 1 + 0.5) / 3)


def test_hoyer_is_scale_invariant_and_rate_ignores_scale():
    r = torch.rand(50, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(firing.hoyer_sparsity(5 * r), firing.hoyer_sparsity(r))
    torch.testing.assert_close(firing.firing_rate(5 * r), firing.firing_rate(r))


def test_class_selectivity_and_top_images():
    labels = torch.arange(4).repeat_interleave(5)          # 4 classes, 5 images each
    selective = (labels == 2).float()                       # fires for class 2 only
    uniform = torch.ones(20)
    r = torch.stack([selective, uniform], dim=1)
    s = firing.class_selectivity(r, labels)
    assert s[0].item() == pytest.approx(1.0) and s[1].item() == pytest.approx(0.0)
    assert firing.preferred_class(r, labels)[0].item() == 2
    top = firing.top_activating(r, k=5)
    assert top.shape == (2, 5) and set(top[0].tolist()) == set(range(10, 15))


def test_layer_responses_of_alexnet():
    encoder = models.alexnet_cifar(width=0.125, fc_dim=16)
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = firing.layer_responses(encoder, images, ["conv2", 4, "fc7"], batch_size=4)
    assert list(out) == ["conv2", "conv5", "fc7"]
    assert out["conv2"].shape == (6, 24) and out["conv5"].shape == (6, 24) and out["fc7"].shape == (6, 16)
    assert all((r >= 0).all() for r in out.values())
    encoder.eval()
    with torch.no_grad():
        torch.testing.assert_close(out["fc7"], encoder(images))  # fc7 is the representation
        torch.testing.assert_close(out["conv2"], encoder.layer(images, "conv2").mean(dim=(2, 3)))
    peak = firing.layer_responses(encoder, images, ["conv2"], reduce="max")["conv2"]
    assert (peak >= out["conv2"]).all()
    single = firing.layer_responses(encoder, images, "conv2")  # one name, not the letters c, o, n, ...
    assert list(single) == ["conv2"] and torch.equal(single["conv2"], out["conv2"])
    assert list(firing.layer_responses(encoder, images, 4)) == ["conv5"]
    with pytest.raises(ValueError, match="valid layers: conv1"):
        firing.layer_responses(encoder, images, "conv9")


def test_layer_responses_of_a_generic_encoder_uses_relu_layers():
    encoder = models.small_convnet(width=4)
    names = firing.layer_names(encoder)
    assert len(names) == 4
    out = firing.layer_responses(encoder, torch.rand(3, 3, 32, 32), [names[-1]])
    assert out[names[-1]].shape == (3, 32)


# ---------------------------------------------------------------------------------------------
# Bad input: errors name the argument and list the valid choices
# ---------------------------------------------------------------------------------------------

def test_unknown_layer_lists_the_valid_layers():
    encoder = models.alexnet_cifar(width=0.125, fc_dim=16)
    images = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match="no layer 'conv9'; valid layers: conv1, conv2, conv3, conv4, conv5, fc6, fc7"):
        firing.layer_responses(encoder, images, ["conv9"])
    with pytest.raises(ValueError, match="layer index 7 is out of range.*conv1"):
        firing.layer_responses(encoder, images, [7])
    with pytest.raises(ValueError, match="reduce must be one of mean, max"):
        firing.layer_responses(encoder, images, ["conv1"], reduce="median")


@pytest.mark.parametrize("bad, message", [
    (torch.rand(10), "shape \\(N images >= 2, C units\\)"),
    (torch.full((4, 2), float("nan")), "NaN or infinite"),
    (-torch.ones(4, 2), "non-negative"),
])
def test_bad_responses_are_rejected(bad, message):
    with pytest.raises(ValueError, match=message):
        firing.hoyer_sparsity(bad)


def test_bad_parameters_are_rejected():
    r = torch.rand(10, 3)
    with pytest.raises(ValueError, match="threshold"):
        firing.firing_rate(r, threshold=1.5)
    with pytest.raises(ValueError, match="k must be between 1 and the number of images"):
        firing.top_activating(r, k=11)
    with pytest.raises(ValueError, match="labels must be a tensor of shape \\(10,\\)"):
        firing.class_selectivity(r, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least two classes"):
        firing.class_selectivity(r, torch.zeros(10, dtype=torch.long))


# ---------------------------------------------------------------------------------------------
# The experiments at quick scale, over two seeds: only what reliably holds there
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Full scale: every configuration exercised by one training step on the CPU
# ---------------------------------------------------------------------------------------------


