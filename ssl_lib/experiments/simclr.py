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

from dataclasses import replace

from ssl_lib.evaluate import accuracies_with_se, accuracy_se, extract_features, linear_probe_accuracy
from ssl_lib.experiments import untrained_baseline
from ssl_lib.experiments.claims import Claim, claim, greater_claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.scale import by_scale
from ssl_lib.train import (TrainConfig, TrainResult, distinct_configs, eval_images, evaluation_set, run_times, train,
                           training_set)

CHAPTER = "02_simclr"


def simclr_config(scale: str, seed: int = 0) -> TrainConfig:
    """The chapter's SimCLR recipe at ``scale``.

    quick: the small ConvNet (width 16) on 16x16 views of 200 images per class, 4 epochs,
    batch 128, AdamW; evaluated after every epoch on 200 training and 100 test images per class.
    medium (two CPU cores, about 25 minutes in bfloat16, 65 in float32 on a CPU without bfloat16 units): the small ConvNet (width 32) on all of
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
    """The baseline the ablations vary, evaluated once, at the end.

    quick: the chapter's recipe itself (so the ablations share its training run). medium: the
    recipe for 4 epochs with half a warm-up epoch (about 3 minutes a run on two CPU cores; the 12
    runs of one seed took 35 minutes when the cores were not shared). full: the recipe for 30
    epochs (about 5 minutes a run on an H100, estimated).
    """
    base = simclr_config(scale, seed)
    return by_scale(scale, quick=base, medium=replace(base, epochs=4, warmup_epochs=0.5, eval_every=0),
                    full=replace(base, epochs=30, eval_every=0))


def _history(result: TrainResult) -> dict:
    h = result.history
    n_test = len(evaluation_set(result.config, "test"))
    return {"epoch": h["epoch"], "knn": h["knn"], "probe": h["probe"], "loss": h["loss"],
            "images_per_s": h["images_per_s"], "augment_share": h["augment_share"],
            "train_s": result.wall_s, "from_cache": result.from_cache, "precision": result.precision,
            "n_test": n_test, "knn_se": [accuracy_se(a, n_test) for a in h["knn"]],
            "probe_se": [accuracy_se(a, n_test) for a in h["probe"]]}


def simclr_training_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`simclr_training`, decided from its measurements."""
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
            m["knn"][-1] >= 0.85, knn=m["knn"][-1], train_minutes=m["train_s"] / 60))
    return claims


@experiment("simclr_training", chapter=CHAPTER, stored=("medium", "full"), claims=simclr_training_claims)
def simclr_training(scale: str, seed: int):
    """SimCLR training on CIFAR-10: kNN and linear-probe accuracy of h against epochs."""
    result = train(simclr_config(scale, seed))
    return {**_history(result), "runs": run_times(result)}


def _final(result: TrainResult) -> dict:
    """A run's final kNN and probe accuracy with their standard errors, its steps and its time."""
    n_test = len(evaluation_set(result.config, "test"))
    knn, probe = result.final_knn, result.final_probe
    return {**accuracies_with_se(knn, probe, n_test), "epochs": result.config.epochs, "batch_size": result.config.batch_size,
            "steps": result.config.epochs * (len(training_set(result.config)) // result.config.batch_size),
            "train_s": result.wall_s, "from_cache": result.from_cache}


def _knn(final: dict, name: str) -> tuple[str, float, float]:
    return f"knn_{name}", final["knn"], final["knn_se"]


AUGMENTATION_SETS = ("crop", "color", "crop_color", "simclr")


def augmentation_configs(scale: str, seed: int = 0) -> dict[str, TrainConfig]:
    """The augmentation ablation, by preset: crops, colour distortion, both, the full recipe."""
    base = ablation_config(scale, seed)
    return {name: replace(base, augment=name) for name in AUGMENTATION_SETS}


def head_configs(scale: str, seed: int = 0) -> dict[str, TrainConfig]:
    """The projection-head ablation, by head (the quick scale leaves out the linear head)."""
    base = ablation_config(scale, seed)
    heads = by_scale(scale, quick=("none", "mlp"), full=("none", "linear", "mlp"), medium=("none", "linear", "mlp"))
    return {head: replace(base, head=head) for head in heads}


def simclr_augmentations_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`simclr_augmentations`, decided from its measurements."""
    final = m["final"]
    return [
        greater_claim("crop_color_beats_crop",
                      "Adding colour distortion to random crops improves the representation (kNN accuracy).",
                      _knn(final["crop_color"], "crop_color"), _knn(final["crop"], "crop")),
        greater_claim("crop_color_beats_color",
                      "Adding random crops to colour distortion improves the representation (kNN accuracy).",
                      _knn(final["crop_color"], "crop_color"), _knn(final["color"], "color")),
    ]


@experiment("simclr_augmentations", chapter=CHAPTER, stored=("medium", "full"), claims=simclr_augmentations_claims)
def simclr_augmentations(scale: str, seed: int):
    """Composition of augmentations: crop with colour distortion beats either alone."""
    runs = {name: train(config) for name, config in augmentation_configs(scale, seed).items()}
    final = {name: _final(r) for name, r in runs.items()}
    times = run_times(*runs.values())
    return {"final": final, "runs": times, "train_s": sum(times.values())}


def probe_on(result: TrainResult, output: str) -> float:
    """Linear-probe accuracy on the representation h (``output="h"``) or the projection z = g(h)."""
    if output not in ("h", "z"):
        raise ValueError(f"output must be 'h' or 'z', got {output!r}")
    model = result.model.eval()
    bank_x, bank_y, test_x, test_y = eval_images(result.config, next(model.parameters()).device)
    network = model.encoder if output == "h" else (lambda x: model(x)[1])
    return linear_probe_accuracy(extract_features(network, bank_x), bank_y,
                                 extract_features(network, test_x), test_y)


def simclr_projection_head_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`simclr_projection_head`, decided from its measurements."""
    final = m["final"]

    def probe(head: str, output: str = "h") -> tuple[str, float, float]:
        key = "probe" if output == "h" else "probe_z"
        return f"probe_{output}_{head}", final[head][key], final[head][f"{key}_se"]

    claims = [
        greater_claim("h_beats_z", "With the MLP head, a linear probe on h beats a linear probe on z = g(h).",
                      probe("mlp"), probe("mlp", "z")),
        greater_claim("mlp_beats_none",
                      "A nonlinear projection head gives a better h than no head (linear probe on h).",
                      probe("mlp"), probe("none")),
    ]
    if "linear" in final:
        claims.append(greater_claim(
            "mlp_beats_linear", "A nonlinear projection head gives a better h than a linear one (linear probe on h).",
            probe("mlp"), probe("linear")))
    return claims


@experiment("simclr_projection_head", chapter=CHAPTER, stored=("medium", "full"), claims=simclr_projection_head_claims)
def simclr_projection_head(scale: str, seed: int):
    """The projection head: probe on h beats probe on z; a nonlinear head beats a linear one and none."""
    runs = {head: train(config) for head, config in head_configs(scale, seed).items()}
    n_test = len(evaluation_set(ablation_config(scale, seed), "test"))
    final = {head: _final(r) for head, r in runs.items()}
    for head, r in runs.items():  # with no head, z is h
        final[head]["probe_z"] = final[head]["probe"] if head == "none" else probe_on(r, "z")
        final[head]["probe_z_se"] = accuracy_se(final[head]["probe_z"], n_test)
    times = run_times(*runs.values())
    return {"final": final, "runs": times, "train_s": sum(times.values())}


def fixed_step_epochs(base: TrainConfig, batch_size: int, reference_batch: int) -> int:
    """Epochs at ``batch_size`` that take about as many optimiser steps as ``base.epochs`` epochs
    at ``reference_batch`` (at least one)."""
    return max(1, round(base.epochs * batch_size / reference_batch))


def batch_configs(scale: str, seed: int = 0) -> tuple[dict[int, TrainConfig], dict[int, TrainConfig]]:
    """The batch-size ablation, by batch size: at the baseline's number of epochs (the paper's
    comparison), and at the number of steps of the largest batch's run (a smaller batch for fewer
    epochs, with the warm-up shortened in proportion). The largest batch's run is in both."""
    base = ablation_config(scale, seed)
    batches = by_scale(scale, quick=(128, 512), medium=(128, 256, 512), full=(128, 512, 1024))
    fixed_epochs = {b: replace(base, batch_size=b) for b in batches}
    fixed_steps = {}
    for b in batches:
        epochs = fixed_step_epochs(base, b, batches[-1])
        fixed_steps[b] = replace(base, batch_size=b, epochs=epochs,
                                 warmup_epochs=base.warmup_epochs * epochs / base.epochs)
    return fixed_epochs, fixed_steps


def temperature_configs(scale: str, seed: int = 0) -> dict[float, TrainConfig]:
    """The temperature ablation at the baseline's batch size, by τ."""
    base = ablation_config(scale, seed)
    temperatures = by_scale(scale, quick=(0.1, 0.5, 1.0), medium=(0.1, 0.2, 0.5), full=(0.1, 0.5, 1.0))
    return {t: replace(base, temperature=t) for t in temperatures}


def training_plan(scale: str, seed: int = 0) -> list[TrainConfig]:
    """Every distinct network the chapter trains at ``scale`` for one seed, in order (what it costs)."""
    fixed_epochs, fixed_steps = batch_configs(scale, seed)
    configs = [simclr_config(scale, seed), *augmentation_configs(scale, seed).values(),
               *head_configs(scale, seed).values(), *fixed_epochs.values(), *fixed_steps.values(),
               *temperature_configs(scale, seed).values()]
    return distinct_configs(configs)


def simclr_batch_temperature_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`simclr_batch_temperature`, decided from its measurements."""
    batches, temperatures = m["batch_size"], m["temperature"]
    small, largest = batches[0], batches[-1]
    fixed_epochs, fixed_steps = m["fixed_epochs"], m["fixed_steps"]
    by_tau = dict(zip(temperatures, m["by_temperature"]))
    claims = [
        greater_claim("larger_batch_helps",
                      f"At a fixed number of epochs, so with equal images seen (the paper's comparison), batch {largest} "
                      f"beats batch {small} "
                      "(kNN accuracy).",
                      _knn(fixed_epochs[-1], f"batch_{largest}"), _knn(fixed_epochs[0], f"batch_{small}")),
        greater_claim("larger_batch_helps_fixed_steps",
                      f"At a fixed number of optimiser steps, so with {largest // small} times the images seen, batch "
                      f"{largest} beats batch {small} (kNN accuracy).",
                      _knn(fixed_steps[-1], f"batch_{largest}"), _knn(fixed_steps[0], f"batch_{small}")),
    ]
    if 0.5 in by_tau:
        best = max(by_tau, key=lambda t: by_tau[t]["knn"])
        rival = max((t for t in by_tau if t != 0.5), key=lambda t: by_tau[t]["knn"])  # the best other τ
        listed = ", ".join(map(str, temperatures))
        claims.append(greater_claim(
            "temperature_0.5_best", f"Among τ = {listed}, τ = 0.5 gives the best kNN accuracy.",
            _knn(by_tau[0.5], "tau_0.5"), _knn(by_tau[rival], f"tau_{rival}"), best_tau=best))
    return claims


@experiment("simclr_batch_temperature", chapter=CHAPTER, stored=("medium", "full"),
            claims=simclr_batch_temperature_claims)
def simclr_batch_temperature(scale: str, seed: int):
    """Batch size at a fixed number of epochs (the paper's comparison) and at a fixed number of
    steps; the temperature τ at the recipe's batch size."""
    base = ablation_config(scale, seed)
    fixed_epoch_configs, fixed_step_configs = batch_configs(scale, seed)
    epoch_runs = {b: train(c) for b, c in fixed_epoch_configs.items()}
    step_runs = {b: train(c) for b, c in fixed_step_configs.items()}
    tau_runs = {t: train(c) for t, c in temperature_configs(scale, seed).items()}
    m = {"batch_size": list(epoch_runs), "fixed_epochs": [_final(r) for r in epoch_runs.values()],
         "fixed_steps": [_final(r) for r in step_runs.values()], "temperature": list(tau_runs),
         "by_temperature": [_final(r) for r in tau_runs.values()], "base_batch_size": base.batch_size,
         "base_temperature": base.temperature, "base_epochs": base.epochs,
         "runs": run_times(*epoch_runs.values(), *step_runs.values(), *tau_runs.values())}
    m["train_s"] = sum(m["runs"].values())
    return m


#: The trained networks chapter 02 checks against the calibrated untrained one: the recipe's main
#: run (``simclr_training``) and the four networks of the augmentation ablation.
TRAINED_ARMS = {"recipe": "The recipe's main run", "crop": "Training with crops alone",
                "color": "Training with colour distortion alone",
                "crop_color": "Training with crops and colour distortion",
                "simclr": "Training with the full augmentation recipe"}


def simclr_untrained_baseline_claims(m: dict, scale: str) -> list[Claim]:
    """The claims of :func:`simclr_untrained_baseline`, decided from its measurements."""
    return untrained_baseline.baseline_claims(m, "ConvNet", TRAINED_ARMS)


@experiment("simclr_untrained_baseline", chapter=CHAPTER, stored=("medium", "full"),
            claims=simclr_untrained_baseline_claims)
def simclr_untrained_baseline(scale: str, seed: int):
    """The untrained ConvNet, its batch norms as initialised and calibrated, against the chapter's trained networks."""

    def trained():
        training, training_from = untrained_baseline.measurements_of("simclr_training", scale, seed)
        ablation, ablation_from = untrained_baseline.measurements_of("simclr_augmentations", scale, seed)
        recipe = {k: training[k][-1] for k in ("knn", "knn_se", "probe", "probe_se")}
        arms = {"recipe": recipe, **{arm: ablation["final"][arm] for arm in AUGMENTATION_SETS}}
        sources = {"recipe": f"simclr_training ({training_from})",
                   **{arm: f"simclr_augmentations ({ablation_from})" for arm in AUGMENTATION_SETS}}
        return arms, sources

    return untrained_baseline.baseline_measurements(simclr_config(scale, seed), trained)
