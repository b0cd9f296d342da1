"""Chapter 05's experiments: the linear theory's claims at the quick scale and the full-scale
configuration."""

import math

import pytest
import torch

from ssl_lib import experiments
from ssl_lib import linear_theory as lt
from ssl_lib.experiments.linear_contrast import settings


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["linear_contrast_n_sweep", "linear_contrast_sweeps",
                                  "linear_contrast_downstream", "linear_contrast_labels"])
@pytest.mark.slow
def test_claims_hold_at_quick_scale(name, seed):
    result = experiments.run(name, scale="quick", seed=seed)
    failed = [str(c) for c in result.claims if not c.held]
    assert not failed, "\n".join(failed)


@pytest.mark.slow
def test_full_scale_configuration_runs_one_step():
    s = settings("full")
    g = torch.Generator().manual_seed(0)
    model = lt.spiked_covariance_model(s["d"], s["r"], s["signal_var"], s["noise_var"], s["heteroskedasticity"], g)
    x, _ = model.sample(s["batch_size"], g)
    W, history = lt.train_linear_contrastive(x, s["r"], steps=1, batch_size=s["batch_size"], lr=s["lr"],
                                             reg=s["reg"], generator=g)
    W_ae, _ = lt.train_linear_autoencoder(x, s["r"], steps=1, generator=g)
    assert W.shape == W_ae.shape == (s["r"], s["d"]) and math.isfinite(history[0])
    for d in s["d_grid"]:
        assert lt.diagonal_deleted_subspace(torch.randn(50, d, generator=g), 1).shape == (d, 1)
    assert max(s["r_grid"]) <= s["d"] and s["n_grid"][-1] // 8 in s["n_grid"]
