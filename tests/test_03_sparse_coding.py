"""Chapter 03's experiment: feature decoupling in the sparse-coding model, its claims over
three seeds."""

import pytest

from ssl_lib import experiments


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_feature_decoupling_claims_hold_at_quick_scale(seed):
    result = experiments.run("feature_decoupling", scale="quick", seed=seed)
    for c in result.claims:
        assert c.held, str(c)
