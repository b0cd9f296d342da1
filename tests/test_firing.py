"""Neuron firing measures (ssl_lib.firing). Chapter 06's experiments are tested in
test_06_feature_decoupling_cifar.py."""

import math
from collections import OrderedDict

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


class _Maps(torch.nn.Module):
    """An 'encoder' whose one layer outputs fixed maps, whatever the images."""

    def __init__(self, maps):
        super().__init__()
        self.maps = maps
        self.blocks = torch.nn.Sequential(OrderedDict(conv=torch.nn.Identity()))

    layer_names = ("conv",)

    def forward(self, x):
        return self.blocks(self.maps[: x.shape[0]])


def test_per_position_measures_of_known_units():
    """Unit 0 fires at one position of one image; unit 1 everywhere on every image; unit 2 on the
    whole of one image of the four."""
    maps = torch.zeros(4, 3, 3, 3)                 # 4 images, 3 units, 3x3 positions
    maps[1, 0, 0, 2] = 5.0
    maps[:, 1] = 2.0
    maps[3, 2] = 1.0
    encoder = _Maps(maps)
    images = torch.rand(4, 3, 32, 32)
    per_position = firing.layer_responses(encoder, images, "conv", reduce="positions")["conv"]
    assert per_position.shape == (4 * 9, 3)
    torch.testing.assert_close(per_position[9 + 2], torch.tensor([5.0, 2.0, 0.0]))  # image 1, row 0, column 2
    torch.testing.assert_close(firing.firing_rate(per_position), torch.tensor([1 / 36, 1.0, 9 / 36]))
    hoyer = firing.hoyer_sparsity(per_position)
    assert hoyer[0].item() == pytest.approx(1.0) and hoyer[1].item() == pytest.approx(0.0, abs=1e-6)
    population = firing.population_activity(per_position)
    assert population[9 + 2].item() == pytest.approx(2 / 3) and population[0].item() == pytest.approx(1 / 3)
    assert population[27].item() == pytest.approx(2 / 3)  # image 3: units 1 and 2
    per_image = firing.layer_responses(encoder, images, "conv")["conv"]
    torch.testing.assert_close(firing.firing_rate(per_image), torch.tensor([0.25, 1.0, 0.25]))
    summary = firing.sparsity_by_layer({"conv": per_position})["conv"]
    assert summary["population_activity"] == pytest.approx((1 + 36 + 9) / (3 * 36))
    assert summary["population_activity"] == pytest.approx(firing.firing_rate(per_position).mean().item())


def test_handmade_units_color_sensitivity_and_chromaticity():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(8, 3, 32, 32, generator=g)
    units = firing.handmade_units()
    sensitivity = firing.color_sensitivity(units, images, ["conv"])["conv"]
    assert sensitivity[:2].tolist() == pytest.approx([1.0, 1.0])         # colour-opponent: silent on gray
    assert sensitivity[2:].tolist() == pytest.approx([0.0, 0.0], abs=1e-3)  # luminance edges: alike
    gray = images.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    assert firing.layer_responses(units, gray, "conv")["conv"][:, :2].abs().max().item() < 1e-6
    assert torch.equal(firing.color_sensitivity(units, images, "conv")["conv"], sensitivity)  # a name, not letters
    with pytest.raises(ValueError, match="no layer 'conv1'; valid layers: conv"):
        firing.color_sensitivity(units, images, "conv1")
    chroma = firing.filter_chromaticity(units.blocks.conv[0].weight)
    assert chroma[:2].tolist() == pytest.approx([1.0, 1.0])
    equal_channels = torch.ones(2, 3, 3, 3)
    assert firing.filter_chromaticity(equal_channels).tolist() == pytest.approx([0.0, 0.0])


def test_handmade_color_units_look_sparse_per_image_on_blobs():
    """Gray images with one small red blob each: the red-green unit fires only on the blob, the
    edge unit on every image's gray texture; the per-image rate calls the colour unit sparser."""
    g = torch.Generator().manual_seed(1)
    images = (0.3 + 0.4 * torch.rand(40, 1, 32, 32, generator=g)).expand(-1, 3, -1, -1).clone()
    images[::4, 0, 10:13, 10:13] = 1.0                 # a red blob in every fourth image
    responses = firing.layer_responses(firing.handmade_units(), images, "conv")["conv"]
    rate = firing.firing_rate(responses)
    assert rate[0].item() == pytest.approx(0.25) and rate[2].item() > 0.5


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


def test_shape_messages_name_the_expected_shapes():
    with pytest.raises(ValueError, match="weight must be first-layer conv weights of shape \\(C_out, 3, k, k\\)"):
        firing.filter_chromaticity(torch.zeros(4, 1, 3, 3))
    with pytest.raises(ValueError, match="threshold"):
        firing.population_activity(torch.rand(5, 2), threshold=0.0)




def test_firing_by_color_sensitivity_compares_units_that_care_about_colour_equally():
    # network a: colour detectors fire rarely, luminance units often; b: the same units, more of the second kind
    a = {"color_sensitivity": [0.9, 0.8, 0.1, float("nan")], "image_firing_rate": [0.1, 0.1, 0.5, 0.0]}
    b = {"color_sensitivity": [0.85, 0.2, 0.1], "image_firing_rate": [0.1, 0.5, 0.5]}
    rows = firing.firing_by_color_sensitivity({"a": a, "b": b}, bands=2)
    assert [row["band"][0] for row in rows][0] == 0.1 and rows[-1]["band"][1] == 0.9
    low, high = rows
    assert low["a"] == (0.5, 1) and low["b"] == (0.5, 2)       # same rate, different numbers of units
    assert high["a"] == (0.1, 2) and high["b"] == (0.1, 1)
    assert sum(row["a"][1] for row in rows) == 3               # the silent unit (NaN) is left out
    with pytest.raises(ValueError, match="one of each per unit"):
        firing.firing_by_color_sensitivity({"a": {"color_sensitivity": [0.1], "image_firing_rate": []}})
    with pytest.raises(ValueError, match="bands must be"):
        firing.firing_by_color_sensitivity({"a": a}, bands=0)
