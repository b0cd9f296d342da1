"""Chapter 02's experiments (SimCLR): the claims that hold at the quick scale over two seeds, and
one training step of every full-scale configuration on the CPU."""

from dataclasses import replace

import pytest

from ssl_lib import experiments
from ssl_lib.experiments.simclr import ablation_config, fixed_step_epochs, probe_on, simclr_config
from ssl_lib.train import train

pytestmark = [pytest.mark.needs_cifar, pytest.mark.slow]

SEEDS = [0, 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_training_improves_on_the_random_encoder(seed):
    result = experiments.run("simclr_training", scale="quick", seed=seed)
    assert result.claim("loss_decreases").held
    assert result.claim("beats_random_encoder").held
    m = result.measurements
    assert m["epoch"] == list(range(len(m["knn"]))) and len(m["loss"]) == m["epoch"][-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_crop_with_color_beats_either_alone(seed):
    # Crop + colour beats crop alone by more than two standard errors on both seeds at the quick
    # scale (seed 0: 31.8% vs 27.2%, standard error of the difference 2.0 points); against colour
    # alone the quick runs cannot always decide (seed 0: undecided), but never the opposite way.
    result = experiments.run("simclr_augmentations", scale="quick", seed=seed)
    assert result.claim("crop_color_beats_crop").held
    assert result.claim("crop_color_beats_color").verdict != "does not hold"
    assert set(result.measurements["final"]) == {"crop", "color", "crop_color", "simclr"}


@pytest.mark.parametrize("seed", SEEDS)
def test_projection_head_experiment_reports_h_and_z(seed):
    # At the quick scale the head's effects are within the noise (seed 1: no head beat the MLP
    # head by 1.8 points, standard error 2.2), so only the verdicts' consistency is checked.
    result = experiments.run("simclr_projection_head", scale="quick", seed=seed)
    final = result.measurements["final"]
    assert set(final) == {"none", "mlp"} and final["none"]["probe_z"] == final["none"]["probe"]
    assert all(0.1 < r[key] < 1 for r in final.values() for key in ("probe", "probe_z", "knn"))
    for c in result.claims:
        assert abs(c.evidence["difference"]) > 2 * c.evidence["difference_se"] or c.verdict == "undecided"


@pytest.mark.parametrize("seed", SEEDS)
def test_batch_temperature_experiment_reports_every_condition(seed):
    # At the quick scale neither effect is decided (see the chapter); check the measurements only.
    m = experiments.run("simclr_batch_temperature", scale="quick", seed=seed).measurements
    assert len(m["fixed_epochs"]) == len(m["fixed_steps"]) == len(m["batch_size"])
    assert len(m["by_temperature"]) == len(m["temperature"]) == 3
    steps = [r["steps"] for r in m["fixed_steps"]]
    assert max(steps) <= 1.3 * min(steps), steps  # about the same number of steps
    assert [r["epochs"] for r in m["fixed_epochs"]] == [m["base_epochs"]] * len(m["batch_size"])
    assert all(0.1 < r["knn"] < 1 for r in m["fixed_epochs"] + m["fixed_steps"] + m["by_temperature"])


def test_medium_ablations_vary_one_setting_around_a_short_recipe():
    base, recipe = ablation_config("medium"), simclr_config("medium")
    assert base.epochs < recipe.epochs and base.eval_every == 0
    longer = replace(base, epochs=recipe.epochs, warmup_epochs=recipe.warmup_epochs, eval_every=recipe.eval_every)
    assert longer == recipe
    assert [fixed_step_epochs(base, b, 512) for b in (128, 256, 512)] == [1, 2, 4]


def test_full_scale_recipe():
    config = simclr_config("full")
    assert config.encoder == "resnet18" and config.batch_size == 512 and config.train_per_class is None
    assert config.augmentation().size == 32 and config.augment == "simclr"
    assert ablation_config("full").epochs < config.epochs


@pytest.mark.parametrize("head", ["mlp", "linear", "none"])
def test_one_step_of_each_full_scale_configuration(head):
    """The full-scale code path on the CPU: ResNet-18, the SGD warm-up, the 2048-wide head, 32x32
    views, the full-size data on the device; with a batch of 4 and tiny evaluation sets."""
    config = replace(simclr_config("full") if head == "mlp" else ablation_config("full"), head=head,
                     batch_size=4, bank_per_class=1, test_per_class=1, eval_every=0)
    result = train(config, device="cpu", progress=False, max_steps=1)
    assert len(result.history["loss"]) == 1 and result.history["epoch"] == [1]


def test_probe_on_checks_its_argument():
    config = replace(simclr_config("quick"), epochs=1, train_per_class=2, batch_size=8,
                     bank_per_class=2, test_per_class=2, eval_every=0)
    result = train(config, progress=False, cache=False)
    assert 0 <= probe_on(result, "z") <= 1
    with pytest.raises(ValueError, match="output"):
        probe_on(result, "y")
