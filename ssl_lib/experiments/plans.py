"""The training plans of the chapters that train CIFAR-10 networks: for each chapter, the
distinct configurations it trains at a scale and seed. What a chapter costs
(:mod:`ssl_lib.costs`) and which runs a stored result may have read
(:mod:`ssl_lib.experiments.freshness`) are both read from here."""

from __future__ import annotations

from typing import Callable

from ssl_lib.experiments import alignment_uniformity, feature_decoupling_cifar, simclr
from ssl_lib.experiments import prediction_head as prediction_head_experiments
from ssl_lib.train import distinct_configs


def training_plans() -> dict[str, Callable]:
    """The chapters that train CIFAR-10 networks, with their training plans: (scale, seed) -> the
    distinct configurations the chapter trains for that seed."""
    return {
        simclr.CHAPTER: simclr.training_plan,
        "06_feature_decoupling_cifar": lambda scale, seed=0: distinct_configs([
            *feature_decoupling_cifar.augmentation_configs(scale, seed).values(),
            feature_decoupling_cifar.supervised_config(scale, seed),
            feature_decoupling_cifar.longer_without_colour_config(scale, seed),
            feature_decoupling_cifar.matched_supervised_config(scale, seed)]),
        "07_alignment_uniformity": lambda scale, seed=0: distinct_configs([
            *alignment_uniformity.circle_configs(scale, seed).values(),
            *alignment_uniformity.sweep_configs(scale, seed).values()]),
        "08_prediction_head": lambda scale, seed=0: distinct_configs([
            *[prediction_head_experiments.pilot_config(scale, r, seed) for r in prediction_head_experiments.PILOT],
            *[prediction_head_experiments.recipe_config(scale, h, seed) for h in prediction_head_experiments.HEADS]]),
    }
