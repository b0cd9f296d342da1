"""Chapter 04's experiment (Wen & Li 2021): the one-layer learner.

* ``one_layer_feature_learning``: the one-layer symmetric-ReLU learner trained with InfoNCE under
  each augmentation, and once with masking but no thresholds; what its neurons learn and how well
  a linear probe reads z from its features.

The learner of each scale is :func:`learner_config` and its data chapter 03's
:func:`ssl_lib.experiments.sparse_coding.data_model`; the chapter and the tests call the same
functions.
"""

from __future__ import annotations

import torch

from ssl_lib import one_layer, sparse_coding
from ssl_lib.experiments.claims import claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.experiments.sparse_coding import data_model
from ssl_lib.runtime import default_device, seed_everything
from ssl_lib.scale import by_scale
from ssl_lib.sparse_coding import Augmentation, SparseCoding

NO_THRESHOLDS = "masking, no thresholds"


def learner_config(scale: str, **overrides) -> one_layer.LearnerConfig:
    """The learner of each scale: m = 64 neurons, 600 steps of 128 pairs (quick); m = 128,
    3000 steps of 512 pairs (full). ``overrides`` replace any field of :class:`LearnerConfig`."""
    sizes = by_scale(scale, quick=dict(), full=dict(m=128, steps=3000, batch=512, init_std=0.005))
    return one_layer.LearnerConfig(**{**sizes, **overrides})


def train_and_measure(data: SparseCoding, augmentation: Augmentation, config: one_layer.LearnerConfig,
                      generator: torch.Generator, probe_sets: tuple, progress: bool = True) -> dict:
    """Train the one-layer learner and measure it: history, per-neuron values, summary, probe R².

    ``probe_sets`` is ``(x_train, z_train, x_test, z_test)`` of clean inputs for the linear probe.
    """
    trained = one_layer.train_one_layer(data, augmentation, config, generator, progress=progress,
                                        device=default_device())
    x_train, z_train, x_test, z_test = probe_sets
    per_neuron = one_layer.weight_measurements(trained.W, data.M)
    outside = torch.eye(data.d1) - data.M @ data.M.T
    return {
        "history": trained.history,
        "coefficients": one_layer.atom_coefficients(trained.W, data.M),
        "per_neuron": {k: per_neuron[k] for k in ("alignment", "effective_atoms", "dense_share")},
        "aligned_fraction": per_neuron["aligned_fraction"].item(),
        "atoms_learned": per_neuron["atoms_learned"].item(),
        "alignment_mean": per_neuron["alignment"].mean().item(),
        "effective_atoms_median": per_neuron["effective_atoms"].median().item(),
        "dense_share_mean": per_neuron["dense_share"].mean().item(),
        "dense_growth": ((trained.W @ outside).norm() / (trained.W0 @ outside).norm()).item(),
        "probe_r2": one_layer.linear_probe_r2(trained.f(x_train), z_train, trained.f(x_test), z_test),
    }


def probe_sets(data: SparseCoding, generator: torch.Generator, n_train: int = 3000, n_test: int = 2000
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clean inputs and their latents for the linear probe: ``(x_train, z_train, x_test, z_test)``."""
    x_train, z_train, _ = data.sample(n_train, generator)
    x_test, z_test, _ = data.sample(n_test, generator)
    return x_train, z_train, x_test, z_test


@experiment("one_layer_feature_learning", chapter="04_one_layer_learner")
def one_layer_feature_learning(scale: str, seed: int):
    """With masking the one-layer learner's neurons become atoms; without augmentation they stay dense."""
    g = seed_everything(seed)
    data = data_model(scale, g)
    config = learner_config(scale)
    probes = probe_sets(data, g)
    conditions = {name: (augmentation, config) for name, augmentation in sparse_coding.augmentations().items()}
    conditions[NO_THRESHOLDS] = (sparse_coding.masking(), learner_config(scale, beta_max=0.0))
    results = {name: train_and_measure(data, augmentation, cfg, g, probes)
               for name, (augmentation, cfg) in conditions.items()}
    x_train, z_train, x_test, z_test = probes
    W0 = config.init_std * torch.randn(config.m, data.d1, generator=g)
    b0 = config.beta_max * W0.norm(dim=1)
    measurements = {
        "conditions": list(conditions),
        "results": results,
        "probe_r2_raw_input": one_layer.linear_probe_r2(x_train, z_train, x_test, z_test),
        "probe_r2_random_network": one_layer.linear_probe_r2(
            one_layer.features(W0, b0, x_train), z_train, one_layer.features(W0, b0, x_test), z_test),
        "chance_alignment": (2 * torch.log(torch.tensor(float(data.d))) / data.d1).sqrt().item(),
        "sizes": {"d": data.d, "d1": data.d1, "sparsity": data.sparsity, "noise_std": data.noise_std,
                  "m": config.m, "steps": config.steps, "batch": config.batch},
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
    }
    mask, same, linear = results["masking"], results["no augmentation"], results[NO_THRESHOLDS]
    claims = [
        claim("masking_aligns_neurons", "With masking, most neurons align with a single atom (at least "
              "60% of neurons have more than half of their weight's energy on one atom).",
              mask["aligned_fraction"] >= 0.6, aligned_fraction=mask["aligned_fraction"],
              median_effective_atoms=mask["effective_atoms_median"]),
        claim("masking_covers_atoms", "With masking, the neurons cover the dictionary: at least 90% of "
              "the atoms are learned by some neuron.",
              mask["atoms_learned"] >= 0.9, atoms_learned=mask["atoms_learned"]),
        claim("no_augmentation_dense", "Without augmentation, the learned weights are dominated by dense "
              "directions: on average more than half of each neuron's energy lies outside span(M), and "
              "no more than 10% of neurons align with an atom.",
              same["dense_share_mean"] > 0.5 and same["aligned_fraction"] <= 0.1,
              dense_share=same["dense_share_mean"], aligned_fraction=same["aligned_fraction"],
              dense_growth=same["dense_growth"]),
        claim("probe_better_with_masking", "A linear probe reads z better from the features learned with "
              "masking than without augmentation (R² higher by at least 0.2).",
              mask["probe_r2"] >= same["probe_r2"] + 0.2,
              r2_masking=mask["probe_r2"], r2_no_augmentation=same["probe_r2"]),
        claim("thresholds_select_atoms", "Without thresholds (b_i = 0, a linear learner), masking still "
              "finds span(M) (dense share at most 0.2) but not single atoms (at most 10% of neurons aligned).",
              linear["dense_share_mean"] <= 0.2 and linear["aligned_fraction"] <= 0.1,
              dense_share=linear["dense_share_mean"], aligned_fraction=linear["aligned_fraction"]),
    ]
    return measurements, claims
