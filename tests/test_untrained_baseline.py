"""The calibrated untrained baseline (chapters 02 and 06): the claim that a trained network beats
it, and the stored baselines' agreement with the stored results they read."""

import pytest

from ssl_lib.experiments import registry, untrained_baseline
from ssl_lib.experiments.stored import load_stored

UNTRAINED = {"knn": 0.44, "knn_se": 0.005, "probe": 0.51, "probe_se": 0.005}


def trained(knn, probe):
    return {"knn": knn, "knn_se": 0.005, "probe": probe, "probe_se": 0.005}


@pytest.mark.parametrize("knn, probe, verdict", [
    (0.50, 0.60, "holds"),             # both readouts beyond two standard errors
    (0.50, 0.515, "undecided"),        # the probe within the noise
    (0.50, 0.48, "does not hold"),     # the probe below it beyond the noise
    (0.40, 0.60, "does not hold"),     # kNN below it beyond the noise
    (0.445, 0.515, "undecided"),       # both within the noise
])
def test_a_trained_network_beats_the_untrained_one_only_by_both_readouts(knn, probe, verdict):
    c = untrained_baseline.beats_untrained_claim("x", "", trained(knn, probe), UNTRAINED)
    assert c.verdict == verdict
    assert c.evidence["knn_difference"] == pytest.approx(knn - UNTRAINED["knn"])
    assert c.evidence["probe_difference"] == pytest.approx(probe - UNTRAINED["probe"])


def test_calibration_claim_compares_the_calibrated_network_with_the_one_as_initialised():
    as_initialised = trained(0.40, 0.50)
    holds = untrained_baseline.calibration_claim({"as initialised": as_initialised, "calibrated": UNTRAINED}, "net")
    fails = untrained_baseline.calibration_claim({"as initialised": UNTRAINED, "calibrated": as_initialised}, "net")
    assert (holds.verdict, fails.verdict) == ("holds", "does not hold")


BASELINES = {"simclr_untrained_baseline": {"simclr_training", "simclr_augmentations"},
             "decoupling_untrained_baseline": {"decoupling_augmentations"},
             "circle_untrained_baseline": {"circle_features"}}


@pytest.mark.parametrize("name", sorted(BASELINES))
@pytest.mark.parametrize("seed", [0, 1])
def test_a_stored_baseline_holds_the_trained_accuracies_its_sources_store_today(name, seed):
    """A source re-stored without its baseline would leave the baseline's claims deciding on old numbers."""
    baseline = load_stored(name, "medium", seed)
    assert baseline is not None, f"store it: {registry.refresh_command(name, 'medium', seed)}"
    m = baseline.measurements
    assert {source.split(" ")[0] for source in m["sources"].values()} == BASELINES[name]
    assert all("results/medium/" in s for s in m["sources"].values()), m["sources"]  # read, not retrained
    for arm, accuracies in m["trained"].items():
        source = m["sources"][arm].split(" ")[0]
        stored = load_stored(source, "medium", seed).measurements
        if source == "simclr_training":
            expected = {k: stored[k][-1] for k in accuracies}
        elif source == "simclr_augmentations":
            expected = {k: stored["final"][arm][k] for k in accuracies}
        else:  # decoupling_augmentations and circle_features keep each network's numbers under its name
            expected = {k: stored[arm][k] for k in accuracies if k != "probe_se" or source != "circle_features"}
            accuracies = {k: v for k, v in accuracies.items() if k in expected}
        assert accuracies == expected, (f"{name} seed {seed}: {arm} differs from {source}; store it again with "
                                        f"{registry.refresh_command(name, 'medium', seed)}")
