"""Chapter 07's experiments: the limit of many negatives, the sweep, the circle encoders; the
quick scale and the full-scale configurations."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from ssl_lib import experiments
from ssl_lib import hypersphere as hs
from ssl_lib.experiments import alignment_uniformity as au
from ssl_lib.train import TrainConfig, train


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contrastive_limit_claims_hold(seed):
    result = experiments.run("contrastive_limit", scale="quick", seed=seed)
    assert result.all_hold, [str(c) for c in result.claims if not c.held]


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sweep_claims_at_quick_scale(seed):
    """At the quick scale the very large alignment weight's L_uniform rises above the collapse
    threshold and its kNN accuracy is below that of weights (1, 1), and no claim of the sweep is
    decided against. Whether that kNN gap passes two standard errors on 500 test images depends
    on the machine (seed 0: 30.0% against 25.2%, undecided, on one machine; 31.8% against 21.4%
    in float32 and 32.6% against 21.0% in bfloat16, held, on another), so it is not asserted here;
    nor are the direct objective against InfoNCE and the rank correlations. The stored medium
    results decide them (tests/test_stored_results.py keeps those fresh)."""
    result = experiments.run("align_uniform_sweep", scale="quick", seed=seed)
    collapse = result.claim("large_align_weight_collapses")
    assert collapse.evidence["uniform_large_weight"] > collapse.evidence["collapse_threshold"], str(collapse)
    assert collapse.evidence["knn_align_uniform"] > collapse.evidence["knn_large_weight"], str(collapse)
    for c in result.claims:
        assert c.verdict != "does not hold" or c.id in ("accuracy_rank_both", "direct_matches_infonce"), str(c)
    runs, alive = result.measurements["encoders"], result.measurements["not_collapsed"]
    assert len(runs) == 10 and 3 <= len(alive) < 10
    assert all(r["align_plus_uniform"] == pytest.approx(r["align"] + r["uniform"]) for r in runs.values())
    both = result.claim("accuracy_rank_both").evidence
    assert both["encoders"] == len(alive) and -1 <= both["spearman_rho"] <= 1


@pytest.mark.needs_cifar
@pytest.mark.slow
def test_quick_measurements_run_on_one_step_models():
    """held_out_losses and sphere_probe on a model trained for one step of each quick objective."""
    for config in [*au.circle_configs("quick").values(), au.sweep_configs("quick")["au_a=1_u=1"]]:
        result = train(config, cache=False, progress=False, max_steps=1)
        losses = au.held_out_losses(result.model, config)
        assert 0 <= losses["align"] <= 4 and hs.uniform_loss_batch_minimum(500) <= losses["uniform"] <= 0
        accuracy = au.sphere_probe(result.model, config)
        assert 0 <= accuracy["knn"] <= 1 and 0 <= accuracy["probe"] <= 1


def test_collapse_threshold_lies_between_uniform_and_collapsed():
    assert hs.uniform_loss_of_uniform_sphere(32, 2.0) < au.collapse_threshold(32) < 0


@pytest.mark.needs_cifar
@pytest.mark.slow
@pytest.mark.parametrize("objective", ["simclr", "align_uniform", "sphere_supervised"])
def test_full_scale_configurations_take_one_step(objective):
    """Every objective of the full-scale configurations trains one step on the CPU (evaluated on
    a few images only, to keep the test short)."""
    configs = [*au.circle_configs("full").values(), *au.sweep_configs("full").values()]
    config = next(c for c in configs if c.objective == objective)
    assert config.encoder == "alexnet" and config.batch_size == 768
    small_eval = replace(config, bank_per_class=5, test_per_class=5)
    result = train(small_eval, device="cpu", cache=False, progress=False, max_steps=1)
    assert math.isfinite(result.history["loss"][0])


def test_sweep_names_and_objective_options():
    configs = au.sweep_configs("quick")
    assert list(configs) == list(au.sweep_configs("full"))
    assert {"au_a=1_u=1", "infonce_tau=0.5"} <= set(configs)
    assert configs["au_a=64_u=1"].objective_options["align_weight"] == 64
    assert isinstance(configs["infonce_tau=0.5"], TrainConfig)


def _encoders(probe, align, uniform):
    return {f"e{i}": {"probe": p, "align": a, "uniform": u} for i, (p, a, u) in enumerate(zip(probe, align, uniform))}


def test_alignment_at_fixed_uniformity_is_a_partial_rank_correlation():
    # Uniformity varies on its own; at each uniformity level the better-aligned encoder is the better one.
    runs = _encoders(probe=[0.60, 0.55, 0.58, 0.52, 0.56, 0.50],
                     align=[0.50, 0.70, 0.52, 0.71, 0.53, 0.72],
                     uniform=[-3.0, -3.0, -2.5, -2.5, -2.0, -2.0])
    decided = au.alignment_at_fixed_uniformity(runs, list(runs))
    assert decided.evidence["partial_rho"] < -0.8 and decided.evidence["p_value"] < 0.05 and decided.held
    # Encoders on the trade-off: the two losses rank them in opposite order, the test is undefined.
    trade_off = _encoders(probe=[0.6, 0.5, 0.55, 0.58], align=[0.9, 0.5, 0.6, 0.7], uniform=[-3.6, -3.0, -3.2, -3.4])
    undefined = au.alignment_at_fixed_uniformity(trade_off, list(trade_off))
    assert undefined.verdict == "undecided" and undefined.evidence["rho_align_uniform"] == pytest.approx(-1.0)
    assert math.isnan(undefined.evidence["partial_rho"])
