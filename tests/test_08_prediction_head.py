"""Chapter 08's experiments: the toy model's claims, the acceleration measure, the CIFAR-10 head
variants' configurations."""

from dataclasses import replace

import pytest
import torch

from ssl_lib import experiments
from ssl_lib import models
from ssl_lib import prediction_head as ph
from ssl_lib.experiments import prediction_head as exp


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_toy_claims_hold_at_quick_scale(seed):
    # seed 0 is the chapter's run (cached_run shares it with the book build)
    result = experiments.cached_run("prediction_head_toy", scale="quick", seed=seed)
    assert result.all_hold, "\n".join(str(c) for c in result.claims)


def test_toy_seeds_are_independent_across_experiment_seeds():
    first, second = exp.toy_seeds("quick", 0), exp.toy_seeds("quick", 1)
    assert first == exp.toy_seeds("quick", 0) and len(first) == len(set(first)) == 48
    assert not set(first) & set(second)
    assert not set(exp.search_seeds("quick", 0)) & set(first)
    assert exp.spawned_seeds(0, 48) == first and exp.spawned_seeds([0, 1], 4) == exp.search_seeds("quick", 0)


def test_representation_stats_of_a_representation_on_two_directions():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(1000, 4, generator=g) * torch.tensor([1.0, 1.0, 1e-3, 1e-3])
    stats = exp.representation_stats(h, knn=0.5)
    assert (stats["n_test"], stats["dim"]) == (1000, 4)
    assert stats["knn_se"] == pytest.approx(0.5 / 1000 ** 0.5)
    assert stats["effective_rank"] == pytest.approx(2, abs=0.05)
    assert stats["chunk_rank"] == pytest.approx(2, abs=0.1) and 0 < stats["chunk_rank_se"] < 0.05
    assert len(stats["singular_values"]) == 4


def _offdiag_record(curve):
    """A toy record whose largest off-diagonal entry follows ``curve`` (step 0 first)."""
    offdiag = torch.zeros(len(curve), 2, 2)
    offdiag[:, 0, 1] = torch.tensor(curve)
    return {"offdiag": offdiag}


def test_rise_then_fall_needs_an_early_peak_that_falls_back():
    steps = 51
    rise_fall = [0.0] + [0.05] * 5 + [0.01] * (steps - 6)
    assert exp.rise_then_fall(_offdiag_record(rise_fall))["held"]
    late_peak = [0.0] + [0.01] * (steps - 11) + [0.05] * 5 + [0.01] * 5
    assert not exp.rise_then_fall(_offdiag_record(late_peak))["held"]
    rises_and_stays = [0.0] + [0.05] * (steps - 1)
    assert not exp.rise_then_fall(_offdiag_record(rises_and_stays))["held"]
    g = torch.Generator().manual_seed(0)
    walks = [torch.cumsum(0.01 * torch.randn(steps, generator=g), 0) for _ in range(20)]
    assert sum(exp.rise_then_fall(_offdiag_record(w.tolist()))["held"] for w in walks) <= 2


@pytest.mark.slow
def test_toy_search_runs_its_quick_grid():
    result = experiments.run("prediction_head_toy_search", scale="quick", seed=0)
    rows = result.measurements["rows"]
    assert [r["activation"] for r in rows] == ["cubic", "relu"]
    assert all(r["runs"] == 4 and 0 <= r["rescued"] <= min(r["collapsed"], r["split"]) for r in rows)
    assert [c.id for c in result.claims] == ["nonlinear_setting_found"]


@pytest.mark.slow
def test_toy_full_scale_code_path():
    record = ph.train_toy(exp.toy_config("full", "offdiag", steps=1), seed=0)
    assert record["corr"].shape == (2, 2, 2) and record["offdiag"].shape == (2, 2, 2)


@pytest.mark.slow
def test_acceleration_compares_the_v2_neuron_across_runs():
    def run(v2_weights, corr_end):
        projection = torch.zeros(3, 2, 2)
        projection[:, 0, 1] = torch.tensor(v2_weights)
        corr = torch.zeros(3, 2, 2)
        corr[-1] = torch.tensor(corr_end)
        return {"step": torch.tensor([0, 10, 20]), "projection": projection, "corr": corr}
    split, collapsed = [[0.1, 0.9], [0.9, 0.1]], [[0.9, 0.1], [0.9, 0.1]]
    timing = exp.acceleration(run([0.2, 0.5, 0.8], split), run([0.2, 0.6, 0.3], collapsed),
                              run([0.2, 0.9, 1.0], collapsed))
    assert timing == {"neuron": 0, "head": 20, "frozen": None, "alone": 10,
                      "frozen_max": pytest.approx(0.6)}
    assert exp.acceleration(run([0.2, 0.5, 0.8], collapsed), run([0.2] * 3, collapsed),
                            run([0.2] * 3, collapsed)) is None
    without_control = exp.acceleration(run([0.2, 0.5, 0.8], split), run([0.2, 0.6, 0.3], collapsed))
    assert without_control == {"neuron": 0, "head": 20, "frozen": None, "frozen_max": pytest.approx(0.6)}


@pytest.mark.slow
@pytest.mark.needs_cifar
@pytest.mark.parametrize("predictor", models.PREDICTORS)
def test_one_step_of_each_full_scale_cifar_configuration(predictor):
    from ssl_lib import train
    config = exp.cifar_config("full", predictor, batch_size=8, bank_per_class=2, test_per_class=2,
                              eval_every=0)
    result = train.train(config, "cpu", cache=False, progress=False, max_steps=1)
    assert len(result.history["loss"]) == 1 and torch.isfinite(torch.tensor(result.history["loss"])).all()


def test_chunk_mean_and_se_over_equal_chunks():
    z = torch.arange(20.0).reshape(20, 1)
    mean, se = exp.chunk_mean_and_se(z, lambda chunk: chunk.mean().item())
    assert mean == pytest.approx(9.5) and se > 0
    assert exp.chunk_mean_and_se(z, lambda chunk: 1.0) == (1.0, 0.0)


def test_head_entries_read_where_E_ended():
    from types import SimpleNamespace
    head = models.LinearPredictor("linear", 3)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[0.9, 0.2, 0.0], [0.0, 1.1, -0.3], [0.0, 0.0, 1.0]]))
    entries = exp.head_entries(SimpleNamespace(extras={"predictor": head}))
    assert entries == pytest.approx({"head_diagonal_min": 0.9, "head_diagonal_max": 1.1,
                                     "head_offdiag_max": 0.3})
    none = exp.head_entries(SimpleNamespace(extras={"predictor": models.LinearPredictor("none", 3)}))
    assert none == {"head_diagonal_min": 1.0, "head_diagonal_max": 1.0, "head_offdiag_max": 0.0}


def test_the_pilot_recipes_change_one_thing_each_from_simsiams():
    simsiam = exp.pilot_config("medium", "simsiam")
    assert (simsiam.head, simsiam.lr, simsiam.objective_options["predictor"], simsiam.epochs) == \
        ("mlp_bn", 0.03, "mlp", exp.PILOT_EPOCHS)
    assert exp.pilot_config("medium", "lr_0.06").lr == 0.06
    assert exp.pilot_config("medium", "no_output_bn").head == "mlp"
    assert exp.pilot_config("medium", "offdiag").objective_options == {"predictor": "offdiag", "head_lr_ratio": 1.0}
    with pytest.raises(ValueError, match="valid recipes: simsiam, lr_0.06, no_output_bn, offdiag"):
        exp.pilot_config("medium", "byol")
    with pytest.raises(ValueError, match="valid variants"):
        exp.cifar_config("quick", "bottleneck")


def test_the_pilot_claims_judge_each_recipe_against_the_calibrated_untrained_network():
    def stats(knn):
        return {"knn": knn, "knn_se": 0.005}
    m = {"recipes": {"simsiam": stats(0.50), "offdiag": stats(0.44)}, "untrained calibrated": stats(0.44),
         "untrained": stats(0.40), "epochs": 4}
    claims = {c.id: c for c in exp.prediction_head_pilot_claims(m, "medium")}
    assert claims["simsiam_beats_untrained"].verdict == "holds"
    assert claims["offdiag_beats_untrained"].verdict == "undecided"


@pytest.mark.slow
@pytest.mark.needs_cifar
def test_the_pilot_runs_at_the_quick_scale():
    result = experiments.run("prediction_head_pilot", scale="quick", seed=0)
    assert set(result.measurements["recipes"]) == set(exp.PILOT)
    assert {c.id for c in result.claims} == {"simsiam_beats_untrained", "offdiag_beats_untrained"}
    calibrated, default = result.measurements["untrained calibrated"], result.measurements["untrained"]
    assert calibrated["knn"] != default["knn"] or calibrated["spread"] != default["spread"]


def test_the_heads_share_the_pilots_recipe_and_differ_in_their_head_only():
    configs = {name: exp.recipe_config("medium", name) for name in exp.HEADS}
    assert {(c.head, c.lr, c.weight_decay, c.epochs, c.eval_every) for c in configs.values()} == \
        {("mlp_bn", 0.06, 5e-4, exp.RECIPE_EPOCHS, exp.RECIPE_EPOCHS // 2)}
    assert configs["offdiag_slow"].objective_options == {"predictor": "offdiag", "head_lr_ratio": 0.5}
    assert configs["offdiag_fast"].objective_options == {"predictor": "offdiag", "head_lr_ratio": 2.0}
    # the MLP control is the pilot's lr 0.06 recipe trained longer
    assert configs["mlp"] == replace(exp.pilot_config("medium", "lr_0.06"), epochs=exp.RECIPE_EPOCHS,
                                     eval_every=exp.RECIPE_EPOCHS // 2)
    with pytest.raises(ValueError, match="valid heads: none, offdiag_slow, offdiag_fast, linear, mlp"):
        exp.recipe_config("medium", "byol")


def _head_stats(knn, spread=0.5, rank=5.0, history=(0.40, 0.44)):
    return {"knn": knn, "knn_se": 0.005, "n_test": 10_000, "knn_history": [*history, knn],
            "chunk_spread_z": spread, "chunk_spread_z_se": 0.01, "chunk_rank": rank, "chunk_rank_se": 0.2}


def test_the_heads_claims_are_decided_against_the_calibrated_untrained_network_and_the_margin():
    m = {"heads": {"none": _head_stats(0.41, spread=0.05, rank=1.2), "offdiag_slow": _head_stats(0.48),
                   "offdiag_fast": _head_stats(0.44), "linear": _head_stats(0.48), "mlp": _head_stats(0.50)},
         "untrained calibrated": {"knn": 0.44, "knn_se": 0.005}, "untrained": {"knn": 0.40, "knn_se": 0.005},
         "identity": {"max_gradient_gap": 0.0, "loss_none": -0.1, "loss_identity": -0.1}}
    verdicts = {c.id: c.verdict for c in exp.prediction_head_heads_claims(m, "medium")}
    assert verdicts["heads_mlp_beats_untrained"] == "holds"
    assert verdicts["heads_offdiag_fast_beats_untrained"] == "undecided"
    assert verdicts["heads_mlp_rising"] == "holds"
    assert verdicts["heads_offdiag_slow_competitive_with_linear"] == "holds"  # level, margin 2 points
    assert verdicts["heads_offdiag_slow_competitive_with_mlp"] == "undecided"  # 2 points below
    assert verdicts["heads_offdiag_fast_competitive_with_mlp"] == "does not hold"  # 6 points below
    assert verdicts["heads_no_head_output_collapses"] == verdicts["heads_no_head_rank_collapses"] == "holds"
    assert verdicts["heads_identity_is_no_head"] == "holds"
