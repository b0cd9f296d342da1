"""Chapter 06's experiments: supervised vs contrastive, the augmentation sets, firing sparsity;
the quick scale and the full-scale configurations."""

import math
from dataclasses import replace

import pytest

from ssl_lib import experiments
from ssl_lib.experiments import feature_decoupling_cifar as fd
from ssl_lib.train import train


def test_unknown_augmentation_lists_the_valid_presets():
    with pytest.raises(ValueError, match="unknown augmentation preset 'colour'.*none, crop, color, crop_flip"):
        fd.augmentation_configs("quick", 0, ("crop", "colour"))


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
