"""Neuron firing measures (ssl_lib.firing) and the feature-decoupling experiments (chapter 06)."""

import math
from dataclasses import replace

import pytest
import torch

from ssl_lib import experiments, firing, models
from ssl_lib.experiments import feature_decoupling as fd
from ssl_lib.train import train


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


def test_unknown_augmentation_lists_the_valid_presets():
    with pytest.raises(ValueError, match="unknown augmentation preset 'colour'.*none, crop, color, crop_flip"):
        fd.augmentation_configs("quick", 0, ("crop", "colour"))


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

@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_supervised_vs_contrastive_measures_class_selectivity(seed):
    """The claim is computed, not asserted: at the quick scale it is noise. In float32 it held on
    seeds 0 and 1; with bfloat16 training it fails on seed 1 (0.313 supervised vs 0.347 contrastive)."""
    result = experiments.run("decoupling_supervised_vs_contrastive", scale="quick", seed=seed)
    evidence = result.claim("supervised_more_class_selective").evidence
    assert all(0 <= evidence[k] <= 1 for k in ("selectivity_supervised", "selectivity_contrastive"))
    m = result.measurements
    assert len(m["supervised"]["top_images_conv5"]) == 5 and len(m["supervised"]["top_images_conv5"][0]) == 8


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_augmentation_experiment_measures_every_set(seed):
    result = experiments.run("decoupling_augmentations", scale="quick", seed=seed)
    m = result.measurements
    for name in fd.AUGMENTATION_SETS:
        assert 0.1 <= m[name]["probe"] <= 1 and -1 <= m[name]["silhouette_tsne"] <= 1
        assert len(m[name]["tsne"]) == len(m[name]["tsne_labels"]) == 300
    assert [c.id for c in result.claims] == [
        "weak_augmentation_lower_probe", "weak_augmentation_less_separated", "color_distortion_raises_probe"]


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sparsity_experiment_measures_layers_2_to_5(seed):
    result = experiments.run("decoupling_sparsity", scale="quick", seed=seed)
    m = result.measurements
    assert m["layers"] == ["conv2", "conv3", "conv4", "conv5"]
    for condition in ("without colour", "with colour", "random init"):
        assert all(0 < rate < 1 for rate in m[condition]["firing_rate"])
        assert all(0 <= h <= 1 for h in m[condition]["hoyer"])
    assert result.claim("color_lowers_firing_rate").evidence["layers_sparser"] in range(5)


# ---------------------------------------------------------------------------------------------
# Full scale: every configuration exercised by one training step on the CPU
# ---------------------------------------------------------------------------------------------

def test_full_scale_simclr_runs_differ_only_in_augmentation():
    """So one step of the ``simclr`` run below exercises the code path of all five (the presets
    themselves are tested with the augmentations)."""
    configs = fd.augmentation_configs("full")
    assert list(configs) == list(fd.AUGMENTATION_SETS)
    for name, config in configs.items():
        assert config.augment == name and replace(config, augment="simclr") == configs["simclr"]


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("name", ["supervised", "simclr"])
def test_full_scale_configurations_take_a_step(name):
    config = fd.supervised_config("full") if name == "supervised" else fd.augmentation_configs("full")[name]
    config = replace(config, bank_per_class=10, test_per_class=10)
    result = train(config, device="cpu", cache=False, progress=False, max_steps=1)
    assert len(result.history["loss"]) == 1 and math.isfinite(result.history["loss"][0])
