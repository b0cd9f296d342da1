"""Chapter 08's experiments: the toy model's claims, the acceleration measure, the CIFAR-10 head
variants' configurations."""

import pytest
import torch

from ssl_lib import experiments
from ssl_lib import prediction_head as ph
from ssl_lib.experiments import prediction_head as exp


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 100])
def test_toy_claims_hold_at_quick_scale(seed):
    result = experiments.run("prediction_head_toy", scale="quick", seed=seed)
    assert result.all_hold, "\n".join(str(c) for c in result.claims)


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


@pytest.mark.slow
@pytest.mark.needs_cifar
@pytest.mark.parametrize("predictor", ph.PREDICTORS)
def test_one_step_of_each_full_scale_cifar_configuration(predictor):
    from ssl_lib import train
    config = exp.cifar_config("full", predictor, batch_size=8, bank_per_class=2, test_per_class=2,
                              eval_every=0)
    result = train.train(config, "cpu", cache=False, progress=False, max_steps=1)
    assert len(result.history["loss"]) == 1 and torch.isfinite(torch.tensor(result.history["loss"])).all()
