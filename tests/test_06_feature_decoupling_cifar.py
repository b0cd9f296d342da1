"""Chapter 06's experiments: supervised vs contrastive, the augmentation sets, firing sparsity;
the quick scale and the full-scale configurations."""

import math
from dataclasses import replace

import pytest

from ssl_lib import experiments
from ssl_lib.experiments import feature_decoupling_cifar as fd
from ssl_lib.experiments import registry
from ssl_lib.experiments.stored import load_stored
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
        "weak_augmentation_lower_probe", "weak_augmentation_lower_knn", "weak_augmentation_less_separated",
        "color_distortion_raises_probe"]
    assert all(0 < m[name]["silhouette_features_se"] < 1 for name in fd.AUGMENTATION_SETS)


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sparsity_experiment_measures_layers_2_to_5(seed):
    result = experiments.run("decoupling_sparsity", scale="quick", seed=seed)
    m = result.measurements
    assert m["layers"] == ["conv2", "conv3", "conv4", "conv5"]
    for condition in ("without colour", "with colour", "random init"):
        means = m[condition]["mean"]
        for view in fd.VIEWS:
            assert all(0 < rate < 1 for rate in means[f"{view}_firing_rate"])
            assert all(0 <= h <= 1 for h in means[f"{view}_hoyer"])
        assert all(0 <= c <= 1 for c in means["color_sensitivity"])
        assert len(m[condition]["conv1_filters"]) == len(m[condition]["conv1_chromaticity"]) == 12
        units = m[condition]["units"]["conv3"]
        assert len(units["image_firing_rate"]) == len(units["color_sensitivity"]) <= 48
    assert [c.id for c in result.claims] == [
        "color_lowers_image_firing_rate", "color_raises_image_hoyer", "color_lowers_position_firing_rate",
        "color_raises_position_hoyer", "color_distortion_lowers_color_sensitivity",
        "color_distortion_lowers_conv1_chromaticity", "color_sensitive_units_look_sparse"]
    assert result.claim("color_lowers_image_firing_rate").evidence["layers_holding"] in range(5)


@pytest.mark.needs_cifar
def test_handmade_units_expose_the_per_image_bias():
    """No training: the hand-set units behave as their construction says, on real test images."""
    result = experiments.run("decoupling_handmade_units", scale="quick", seed=0)
    checks = fd.handmade_unit_checks(result.measurements)
    assert len(checks) == 5 and all(checks.values()), checks
    assert result.measurements["n_images"] == 500 and result.claims == []
    edge_first = {k: v[2:] + v[:2] if isinstance(v, list) and len(v) == 4 else v
                  for k, v in result.measurements.items()}
    swapped = fd.handmade_unit_checks(edge_first)  # edge units where the colour units should be
    assert [k for k, passed in swapped.items() if passed] == [
        "Hoyer's index per position treats the two kinds alike (within 0.1)"]  # the one symmetric check


def test_every_layer_claim_needs_every_layer():
    above, below, same = [1.0, 1.1, 0.9, 1.0], [0.0, 0.1, -0.1, 0.0], [0.5, 0.6, 0.4, 0.5]
    holds = fd.every_layer_claim("x", "s", {"a": ("p", above), "b": ("p", above)}, {"a": ("q", below), "b": ("q", below)})
    assert holds.verdict == "holds" and holds.evidence["layers_holding"] == 2
    against = fd.every_layer_claim("x", "s", {"a": ("p", above), "b": ("p", below)}, {"a": ("q", below), "b": ("q", above)})
    assert against.verdict == "does not hold" and against.evidence["layers_against"] == 1
    undecided = fd.every_layer_claim("x", "s", {"a": ("p", above), "b": ("p", same)}, {"a": ("q", below), "b": ("q", same)})
    assert undecided.verdict == "undecided"


def test_mean_and_se_and_rank_correlation():
    mean, se = fd.mean_and_se([1.0, 2.0, 3.0, float("nan")])
    assert mean == pytest.approx(2.0) and se == pytest.approx(1 / math.sqrt(3))
    with pytest.raises(ValueError, match="at least one finite value"):
        fd.mean_and_se([float("nan")])
    rho, se = fd.rank_correlation([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert rho == pytest.approx(-1.0) and se == pytest.approx(1 / math.sqrt(2))


def test_medium_runs_are_the_chapter_recipe_on_all_images():
    config = fd.base_config("medium")
    assert config.train_per_class is None and config.bank_per_class is None and config.test_per_class is None
    assert config.encoder_kwargs == {"width": 0.5, "fc_dim": 1024}
    assert fd.supervised_config("medium").objective == "sphere_supervised"


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


def test_the_longer_run_without_colour_differs_only_in_its_epochs():
    longer, chapter = fd.longer_without_colour_config("medium"), fd.augmentation_configs("medium")[fd.WITHOUT_COLOR]
    assert longer.epochs == fd.LONGER_FACTOR * chapter.epochs == 12
    assert replace(longer, epochs=chapter.epochs) == chapter


def _planted_pair(longer_knn: float) -> dict:
    """Measurements of decoupling_longer_without_colour with planted numbers: the network with colour
    distortion fires on fewer images in every layer; the longer run's kNN is ``longer_knn``."""

    def accuracy(knn):
        return {"knn": knn, "knn_se": 0.005, "probe": 0.60, "probe_se": 0.005}

    def units(rate):
        return {layer: {f"{view}_{key}": [value + 0.01 * i for i in range(20)]
                        for view in fd.VIEWS for key, value in (("firing_rate", rate), ("hoyer", 1 - rate))}
                for layer in fd.HIGHER_LAYERS}

    return {"epochs": 12, "untrained": {"calibrated": {"knn": 0.44, "knn_se": 0.005, "probe": 0.48, "probe_se": 0.005}},
            "accuracy": {"longer_without_colour": accuracy(longer_knn), "with_colour": accuracy(0.55)},
            "units": {"longer without colour": units(0.5), "with colour": units(0.2)}}


def test_figure4_by_the_learned_pair_is_a_test_only_when_both_networks_learned():
    learned = {c.id: c.verdict for c in fd.decoupling_longer_without_colour_claims(_planted_pair(0.50), "medium")}
    assert learned == {"longer_without_colour_beats_untrained": "holds", "with_colour_beats_untrained": "holds",
                       **{f"color_{how}_{view}_{measure}_learned_pair": "holds" for view in fd.VIEWS
                          for how, measure in (("lowers", "firing_rate"), ("raises", "hoyer"))}}
    not_learned = fd.decoupling_longer_without_colour_claims(_planted_pair(0.40), "medium")
    assert not_learned[0].verdict == "does not hold"
    assert {c.verdict for c in not_learned[2:]} == {"undecided"}
    assert not_learned[2].evidence == fd.decoupling_longer_without_colour_claims(
        _planted_pair(0.50), "medium")[2].evidence  # the numbers are kept


def _planted_against_none(none_knn: float) -> dict:
    """Measurements of decoupling_sparsity_against_none with the planted numbers of :func:`_planted_pair`."""
    m = _planted_pair(none_knn)
    m["accuracy"]["none"] = m["accuracy"].pop("longer_without_colour")
    m["units"]["none"] = m["units"].pop("longer without colour")
    return m


def test_figure4_against_no_augmentation_is_a_test_only_when_both_networks_learned():
    learned = fd.decoupling_sparsity_against_none_claims(_planted_against_none(0.50), "medium")
    assert [c.id for c in learned[:2]] == ["none_beats_untrained", "with_colour_beats_untrained"]
    assert {c.verdict for c in learned} == {"holds"}
    assert all(c.id.endswith("_against_none") and c.statement.startswith("With the full recipe (rather than no "
                                                                         "augmentation") for c in learned[2:])
    not_learned = fd.decoupling_sparsity_against_none_claims(_planted_against_none(0.40), "medium")
    assert not_learned[0].verdict == "does not hold" and {c.verdict for c in not_learned[2:]} == {"undecided"}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ["decoupling_longer_without_colour", "decoupling_sparsity_against_none"])
def test_a_stored_pair_holds_todays_stored_numbers_of_the_chapters_networks(name, seed):
    """A source re-stored without this result would leave its claims deciding on old numbers."""
    m = load_stored(name, "medium", seed).measurements
    assert all("results/medium/" in source for source in m["sources"].values()), m["sources"]  # read, not retrained
    sparsity = load_stored("decoupling_sparsity", "medium", seed).measurements
    baseline = load_stored("decoupling_untrained_baseline", "medium", seed).measurements
    read = {network: units for network, units in m["units"].items() if network in sparsity}
    assert "with colour" in read
    assert all(units == sparsity[network]["units"] for network, units in read.items()), list(read)
    assert m["untrained"] == baseline["untrained"]
    assert m["accuracy"]["with_colour"] == baseline["trained"][fd.WITH_COLOR]


def test_the_longer_pair_shows_the_chapters_network_without_colour_too():
    assert "without colour" in load_stored("decoupling_longer_without_colour", "medium", 0).measurements["units"]


def test_the_matched_supervised_run_differs_from_figure_1s_only_in_its_augmentations():
    matched, unmatched = fd.matched_supervised_config("medium"), fd.supervised_config("medium")
    assert matched.augment == fd.WITH_COLOR == fd.augmentation_configs("medium")[fd.WITH_COLOR].augment
    assert replace(matched, augment=unmatched.augment) == unmatched


def _selectivity(value: float, se: float = 0.005) -> dict:
    return {"mean_selectivity": {layer: value for layer in fd.SELECTIVITY_LAYERS},
            "mean_selectivity_se": {layer: se for layer in fd.SELECTIVITY_LAYERS}}


@pytest.mark.parametrize("supervised, verdict", [(0.5, "holds"), (0.305, "undecided"), (0.2, "does not hold")])
def test_matched_selectivity_claims_decide_every_layer(supervised, verdict):
    m = {"supervised": _selectivity(supervised), "contrastive": _selectivity(0.3)}
    verdicts = [c.verdict for c in fd.decoupling_selectivity_matched_claims(m, "medium")]
    assert verdicts == [verdict, verdict]
    m["supervised"]["mean_selectivity"]["conv4"] = 0.1  # one layer against
    assert fd.decoupling_selectivity_matched_claims(m, "medium")[1].verdict == "does not hold"


@pytest.mark.parametrize("seed", [0, 1])
def test_the_stored_matched_comparison_holds_todays_stored_figure_1_numbers(seed):
    stored = load_stored("decoupling_selectivity_matched", "medium", seed)
    assert stored is not None, f"store it: {registry.refresh_command('decoupling_selectivity_matched', 'medium', seed)}"
    m = stored.measurements
    assert all("results/medium/" in source for source in m["sources"].values()), m["sources"]  # read, not retrained
    figure1 = load_stored("decoupling_supervised_vs_contrastive", "medium", seed).measurements
    assert m["contrastive"] == figure1["contrastive"] and m["supervised_crop_flip"] == figure1["supervised"]
