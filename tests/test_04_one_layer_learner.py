"""Chapter 04's experiment: the one-layer learner's claims at the quick scale and its full-scale
configuration."""

import dataclasses

import pytest
import torch

from ssl_lib import experiments
from ssl_lib import one_layer as ol
from ssl_lib import sparse_coding as sc
from ssl_lib.experiments.one_layer_learner import learner_config
from ssl_lib.experiments.sparse_coding import data_model


@pytest.mark.slow
def test_one_step_of_the_full_scale_configuration():
    g = torch.Generator().manual_seed(0)
    data = data_model("full", g)
    config = dataclasses.replace(learner_config("full"), steps=1, record_every=1)
    trained = ol.train_one_layer(data, sc.masking(), config, g)
    assert trained.W.shape == (config.m, data.d1) and torch.isfinite(trained.W).all()
    assert (data.d, data.d1, config.m) == (64, 1024, 128)


@pytest.fixture(scope="module", params=[0, 1, 2])
def quick_result(request):
    return experiments.run("one_layer_feature_learning", scale="quick", seed=request.param)


@pytest.mark.parametrize("claim_id", [
    "masking_aligns_neurons", "masking_covers_atoms", "no_augmentation_dense",
    "probe_better_with_masking", "thresholds_select_atoms",
])
@pytest.mark.slow
def test_one_layer_claims_hold_at_quick_scale(quick_result, claim_id):
    c = quick_result.claim(claim_id)
    assert c.held, str(c)
