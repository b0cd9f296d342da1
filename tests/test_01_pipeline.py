"""Chapter 01's experiment: the NT-Xent toy's claims at the quick scale and its full-scale
code path."""

import pytest

from ssl_lib import experiments


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nt_xent_toy_claims_hold_at_quick_scale(seed):
    result = experiments.run("nt_xent_toy", scale="quick", seed=seed)
    assert result.all_hold, "\n".join(str(c) for c in result.claims)


@pytest.mark.slow
def test_nt_xent_toy_full_scale_code_path():
    result = experiments.run("nt_xent_toy", scale="full", seed=0)
    assert len(result.measurements["loss"]) == 1000 and result.all_hold


