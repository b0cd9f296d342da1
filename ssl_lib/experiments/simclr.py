"""SimCLR on CIFAR-10 (Chen et al. 2020): training, and the paper's three ablations as claims.

* ``simclr_training``: accuracy (kNN and linear probe on h) against epochs.
* ``simclr_augmentations``: crop with colour distortion beats crop alone and colour alone.
* ``simclr_projection_head``: a probe on h beats a probe on z; a nonlinear head beats none.
* ``simclr_batch_temperature``: the effect of the batch size and of the temperature τ.

Every run goes through :func:`ssl_lib.train.train`, so a configuration trained once (by the
chapter, the command line or a test) is loaded, not retrained. At the quick scale the
ablations share the training run of ``simclr_training`` as their baseline.
"""

from __future__ import annotations

import math
from dataclasses import replace

from ssl_lib.evaluate import extract_features, linear_probe_accuracy
from ssl_lib.experiments.registry import claim, experiment
from ssl_lib.scale import by_scale
from ssl_lib.train import TrainConfig, TrainResult, eval_images, evaluation_set, train

CHAPTER = "02_simclr"


def simclr_config(scale: str, seed: int = 0) -> TrainConfig:
    """The chapter's SimCLR recipe at ``scale``.

    quick: the small ConvNet (width 16) on 16x16 views of 200 images per class, 4 epochs,
    batch 128, AdamW; evaluated after every epoch on 200 training and 100 test images per class.
    medium (two CPU cores, bfloat16, about 30 minutes): the small ConvNet (width 32) on all of
    CIFAR-10 at 32x32, 35 epochs, batch 256, SGD with momentum, one warm-up epoch, τ = 0.2;
    kNN and probe on all 50,000 / 10,000 images every 5 epochs.
    full (aimed at one H100 in about 15 minutes, untested on a GPU): ResNet-18 on all of
    CIFAR-10 at 32x32, 100 epochs, batch 512, SGD with momentum, 5 warm-up epochs, τ = 0.5,
    bfloat16 autocast; kNN and probe on all 50,000 / 10,000 images every 10 epochs.
    """
    quick = TrainConfig(
        encoder="convnet", encoder_kwargs={"width": 16}, head="mlp", proj_dim=64,
        augment="simclr", augment_overrides={"size": 16}, temperature=0.5,
        epochs=4, batch_size=128, optimizer="adamw", lr=2e-3, weight_decay=1e-4,
        train_per_class=200, eval_every=1, bank_per_class=200, test_per_class=100, seed=seed,
    )
    medium = TrainConfig(
        encoder="convnet", encoder_kwargs={"width": 32}, head="mlp", proj_dim=128, augment="simclr",
        temperature=0.2, epochs=35, batch_size=256, optimizer="sgd", lr=0.06, momentum=0.9,
        weight_decay=5e-4, warmup_epochs=1, eval_every=5, seed=seed,
    )
    full = TrainConfig(
        encoder="resnet18", head="mlp", hidden_dim=2048, proj_dim=128, augment="simclr",
        temperature=0.5, epochs=100, batch_size=512, optimizer="sgd", lr=0.12, momentum=0.9,
        weight_decay=5e-4, warmup_epochs=5, eval_every=10, seed=seed,
    )
    return by_scale(scale, quick=quick, medium=medium, full=full)


def ablation_config(scale: str, seed: int = 0) -> TrainConfig:
    """The baseline the ablations vary: the chapter's recipe at quick scale; at medium and full
    scale the same recipe for fewer epochs (medium 10, full 30: about 5 minutes a run on an H100,
    estimated), evaluated at the end. The medium ablations are not yet stored."""
    base = simclr_config(scale, seed)
    return by_scale(scale, quick=base, medium=replace(base, epochs=10, eval_every=0),
                    full=replace(base, epochs=30, eval_every=0))


def _history(result: TrainResult) -> dict:
    h = result.history
    n_test = len(evaluation_set(result.config, "test"))
    return {"epoch": h["epoch"], "knn": h["knn"], "probe": h["probe"], "loss": h["loss"],
            "images_per_s": h["images_per_s"], "augment_share": h["augment_share"],
            "train_s": result.wall_s, "from_cache": result.from_cache, "precision": result.precision,
            "n_test": n_test, "knn_se": [accuracy_se(a, n_test) for a in h["knn"]],
            "probe_se": [accuracy_se(a, n_test) for a in h["probe"]]}


def accuracy_se(accuracy: float, n: int) -> float:
    """The binomial standard error sqrt(p (1 - p) / n) of an accuracy p measured on n test images."""
    return math.sqrt(accuracy * (1 - accuracy) / n)


@experiment("simclr_training", chapter=CHAPTER, stored=("medium", "full"))
def simclr_training(scale: str, seed: int):
    """SimCLR training on CIFAR-10: kNN and linear-probe accuracy of h against epochs."""
    result = train(simclr_config(scale, seed))
    m = _history(result)
    knn0, probe0 = m["knn"][0], m["probe"][0]
    claims = [
        claim("loss_decreases", "Training lowers the NT-Xent loss.",
              m["loss"][-1] < m["loss"][0], loss_first_epoch=m["loss"][0], loss_last_epoch=m["loss"][-1]),
        claim("beats_random_encoder",
              "SimCLR features beat those of the same network at random initialisation: kNN "
              "accuracy rises by at least 3 points.",
              m["knn"][-1] >= knn0 + 0.03, knn_random=knn0, knn_trained=m["knn"][-1],
              probe_random=probe0, probe_trained=m["probe"][-1], knn_se=m["knn_se"][-1]),
    ]
    if scale == "full":
        claims.append(claim(
            "knn_85", "ResNet-18 reaches at least 85% kNN accuracy (k = 200, T = 0.1) on CIFAR-10.",
            m["knn"][-1] >= 0.85, knn=m["knn"][-1], train_minutes=result.wall_s / 60))
    return m, claims


@experiment("simclr_augmentations", chapter=CHAPTER)
def simclr_augmentations(scale: str, seed: int):
    """Composition of augmentations: crop with colour distortion beats either alone."""
    base = ablation_config(scale, seed)
    runs = {name: train(replace(base, augment=name)) for name in ("crop", "color", "crop_color", "simclr")}
    m = {name: _history(r) for name, r in runs.items()}
    knn = {name: r.final_knn for name, r in runs.items()}
    probe = {name: r.final_probe for name, r in runs.items()}
    m["final_knn"], m["final_probe"] = knn, probe
    claims = [
        claim("crop_color_beats_crop",
              "Adding colour distortion to random crops improves the representation (kNN accuracy).",
              knn["crop_color"] > knn["crop"], knn_crop_color=knn["crop_color"], knn_crop=knn["crop"]),
        claim("crop_color_beats_color",
              "Adding random crops to colour distortion improves the representation (kNN accuracy).",
              knn["crop_color"] > knn["color"], knn_crop_color=knn["crop_color"], knn_color=knn["color"]),
    ]
    return m, claims


def probe_on(result: TrainResult, output: str) -> float:
    """Linear-probe accuracy on the representation h (``output="h"``) or the projection z = g(h)."""
    if output not in ("h", "z"):
        raise ValueError(f"output must be 'h' or 'z', got {output!r}")
    model = result.model.eval()
    bank_x, bank_y, test_x, test_y = eval_images(result.config, next(model.parameters()).device)
    network = model.encoder if output == "h" else (lambda x: model(x)[1])
    return linear_probe_accuracy(extract_features(network, bank_x), bank_y,
                                 extract_features(network, test_x), test_y)


@experiment("simclr_projection_head", chapter=CHAPTER)
def simclr_projection_head(scale: str, seed: int):
    """The projection head: probe on h beats probe on z; a nonlinear head beats none."""
    base = ablation_config(scale, seed)
    heads = by_scale(scale, quick=("none", "mlp"), full=("none", "linear", "mlp"))
    runs = {head: train(replace(base, head=head)) for head in heads}
    m = {head: _history(r) for head, r in runs.items()}
    probe_h = {head: r.final_probe for head, r in runs.items()}
    probe_z = {head: probe_on(r, "z") for head, r in runs.items() if head != "none"}
    m["probe_h"], m["probe_z"] = probe_h, probe_z
    claims = [
        claim("h_beats_z", "With the MLP head, a linear probe on h beats a linear probe on z = g(h).",
              probe_h["mlp"] > probe_z["mlp"], probe_h=probe_h["mlp"], probe_z=probe_z["mlp"]),
        claim("mlp_beats_none", "A nonlinear projection head gives a better h than no head (linear probe on h).",
              probe_h["mlp"] > probe_h["none"], probe_h_mlp=probe_h["mlp"], probe_h_none=probe_h["none"]),
    ]
    return m, claims


@experiment("simclr_batch_temperature", chapter=CHAPTER)
def simclr_batch_temperature(scale: str, seed: int):
    """Batch size and temperature: larger batches help at a fixed number of epochs; τ matters."""
    base = ablation_config(scale, seed)
    batches = by_scale(scale, quick=(128, 512), full=(128, 512, 1024))
    temperatures = (0.1, 0.5, 1.0)
    by_batch = {b: train(replace(base, batch_size=b)).final_knn for b in batches}
    by_tau = {t: train(replace(base, temperature=t)).final_knn for t in temperatures}
    m = {"batch_size": list(batches), "knn_by_batch": [by_batch[b] for b in batches],
         "temperature": list(temperatures), "knn_by_temperature": [by_tau[t] for t in temperatures],
         "base_batch_size": base.batch_size, "base_temperature": base.temperature}
    small, large = batches[0], batches[-1]
    best_tau = max(by_tau, key=by_tau.get)
    claims = [
        claim("larger_batch_helps",
              f"At a fixed number of epochs, batch {large} beats batch {small} (kNN accuracy).",
              by_batch[large] > by_batch[small], knn_small_batch=by_batch[small], knn_large_batch=by_batch[large]),
        claim("temperature_0.5_best", "Among τ = 0.1, 0.5, 1.0, τ = 0.5 gives the best kNN accuracy.",
              best_tau == 0.5, **{f"knn_tau_{t}": v for t, v in by_tau.items()}),
    ]
    return m, claims
