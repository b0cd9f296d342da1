"""The calibrated untrained baseline: what a trained network must beat to have learned something.

A network at initialisation, evaluated in eval mode with its batch norms' initial statistics
(mean 0, variance 1), does not normalise its activations at all. The same weights with statistics
taken from training images (no gradient step, no weight changed:
:func:`ssl_lib.evaluate.calibrate_batch_norm`) are the fairer untrained network; they usually score
higher by kNN, but not always, and their probe accuracy can move either way. Chapters 02, 06 and 07 each register
an experiment that measures both and checks the chapter's trained networks against the calibrated
one (:func:`baseline_claims`, or the chapter's own readouts); chapter 08's experiments use
:func:`untrained_network` directly. The trained accuracies are read from the stored results of the
experiments that trained them (:func:`measurements_of`), not retrained.
"""

from __future__ import annotations

from typing import Callable

from ssl_lib.evaluate import accuracies_with_se, calibrate_batch_norm
from ssl_lib.experiments.claims import Claim, claim, greater_claim
from ssl_lib.experiments.experiment_result import load
from ssl_lib.experiments.registry import STORED_DIR, get, stored_path
from ssl_lib.models import SSLModel
from ssl_lib.runtime import default_device
from ssl_lib.train import TrainConfig, build_model, eval_images, evaluate_model

#: Training images whose statistics a calibrated untrained network's batch norms take.
CALIBRATION_IMAGES = 10_240

#: The two untrained baselines, as their measurements name them.
AS_INITIALISED, CALIBRATED = "as initialised", "calibrated"


def untrained_network(config: TrainConfig, bank_images, calibrated: bool) -> SSLModel:
    """The network of ``config`` at initialisation (the weights its training run starts from), in
    eval mode on ``bank_images``' device; ``calibrated``: its batch norms' statistics taken from the
    first :data:`CALIBRATION_IMAGES` of ``bank_images`` (training images) instead of their initial
    0 and 1."""
    model = build_model(config).to(bank_images.device).eval()
    return calibrate_batch_norm(model, bank_images[:CALIBRATION_IMAGES]) if calibrated else model


def untrained_accuracies(config: TrainConfig) -> dict[str, dict[str, float]]:
    """kNN and linear-probe accuracy (with their binomial standard errors) of the network of
    ``config`` at initialisation on its evaluation images (:func:`ssl_lib.train.eval_images`), with
    its batch norms as initialised and calibrated (:func:`untrained_network`)."""
    bank_x, bank_y, test_x, test_y = eval_images(config, default_device())
    out = {}
    for baseline in (AS_INITIALISED, CALIBRATED):
        model = untrained_network(config, bank_x, calibrated=baseline == CALIBRATED)
        scores = evaluate_model(model, bank_x, bank_y, test_x, test_y, k=config.knn_k)
        out[baseline] = accuracies_with_se(scores.knn, scores.probe, len(test_y))
    return out


def measurements_of(name: str, scale: str, seed: int) -> tuple[dict, str]:
    """The measurements of experiment ``name`` at ``scale`` and ``seed``, and where they come from:
    its stored result when one is stored at ``scale`` (its runs are not retrained; whether it is
    fresh is checked wherever it is shown, and by the tests, which also check that a baseline holds
    today's stored numbers), else computed by its measure function (whose runs
    :func:`ssl_lib.train.train` loads or trains)."""
    path = stored_path(name, scale, seed)
    if scale in get(name).stored and path.exists():
        return load(path).measurements, path.relative_to(STORED_DIR.parent).as_posix()
    return get(name).measure(scale, seed), "computed"


def baseline_measurements(config: TrainConfig, trained: Callable[[], tuple[dict[str, dict], dict[str, str]]]
                          ) -> dict:
    """The measurements of a chapter's untrained-baseline experiment: ``untrained`` (both
    baselines of the network of ``config``, :func:`untrained_accuracies`), ``trained`` (each
    trained network's kNN and probe accuracy with their standard errors, by arm) and ``sources``
    (the experiment each arm was read from, and where that came from), ``trained()`` giving the last two."""
    arms, sources = trained()
    keys = ("knn", "knn_se", "probe", "probe_se")
    return {"untrained": untrained_accuracies(config), "trained": {arm: {k: a[k] for k in keys} for arm, a in arms.items()},
            "sources": sources, "calibration_images": CALIBRATION_IMAGES}


def calibration_claim(untrained: dict[str, dict[str, float]], network: str) -> Claim:
    """The claim that calibrating the batch norms of the untrained ``network`` raises its kNN accuracy."""
    return greater_claim(
        "calibration_raises_untrained_knn",
        f"Calibrating the untrained {network}'s batch norms on training images (no gradient step) raises its "
        f"kNN accuracy (a control, ours; its probe accuracy is shown beside it, and may move either way).",
        ("knn_calibrated", untrained[CALIBRATED]["knn"], untrained[CALIBRATED]["knn_se"]),
        ("knn_as_initialised", untrained[AS_INITIALISED]["knn"], untrained[AS_INITIALISED]["knn_se"]))


def beats_untrained_claim(id: str, statement: str, trained: dict[str, float],
                          untrained: dict[str, float]) -> Claim:
    """The claim "the trained network beats the calibrated untrained one by kNN **and** by the linear
    probe": it holds when both differences exceed their noise (:func:`greater_claim` each), does not
    hold when either is below it beyond the noise, and is undecided otherwise."""
    readouts = [greater_claim(readout, "", (f"{readout}_trained", trained[readout], trained[f"{readout}_se"]),
                              (f"{readout}_untrained", untrained[readout], untrained[f"{readout}_se"]))
                for readout in ("knn", "probe")]
    evidence = {k if k.startswith(c.id) else f"{c.id}_{k}": v for c in readouts for k, v in c.evidence.items()}
    held = all(c.held for c in readouts)
    refuted = any(c.verdict == "does not hold" for c in readouts)
    return claim(id, statement, held=held, decided=held or refuted, **evidence)


def baseline_claims(m: dict, network: str, labels: dict[str, str]) -> list[Claim]:
    """The claims of a chapter's untrained-baseline experiment (measurements ``m`` of
    :func:`baseline_measurements`): calibration raises the untrained ``network``'s kNN accuracy
    (:func:`calibration_claim`), and each trained arm of ``labels`` (arm -> how the sentence names
    it) beats the calibrated network by both readouts (:func:`beats_untrained_claim`)."""
    calibrated = m["untrained"][CALIBRATED]
    return [calibration_claim(m["untrained"], network),
            *[beats_untrained_claim(f"{arm}_beats_untrained",
                                    f"{label} beats the calibrated untrained {network} by kNN and by the linear "
                                    f"probe (a control, ours).", m["trained"][arm], calibrated)
              for arm, label in labels.items()]]
