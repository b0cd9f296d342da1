"""What a chapter costs to run: measured times on the CPU, labelled estimates for a GPU.

Three sources, each named where it is shown:

* the **quick** scale's execution time of every chapter, measured by nbmake executing the
  chapters (``tools/chapter_times.py`` reads its JUnit report and writes
  ``ssl_lib/results/chapter_times.json``; the record names how it was measured);
* the **medium** scale's training time on two CPU cores, added up from the stored results (each
  reports its training runs by key, so a run two experiments share counts once);
* the **full** scale on a GPU, never run by this book: an estimate, from the number of epochs the
  chapter's training plan holds and the seconds per ResNet-18 epoch that two public recipes report.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Callable

from ssl_lib.scale import check_scale

CIFAR10_TRAIN_IMAGES = 50_000

#: Seconds per ResNet-18 epoch over CIFAR-10's 50,000 images reported by two public GPU recipes
#: (PAPERS.md): 100 epochs in 20 minutes on an A100 (12 s), 200 epochs in 98 minutes on an A6000
#: (29 s, lightly's benchmark). Estimates for other GPUs are outside this range (a T4 is slower).
RESNET18_EPOCH_S = {"A100 (public recipe)": 12.0, "A6000 (lightly's benchmark)": 29.4}

#: ResNet-18's training throughput on two CPU cores in bfloat16 (images per second, two views
#: each), measured by ``bench/bench_simclr_step.py`` on 2026-12-01 (batch cut to 32).
RESNET18_CPU_IMAGES_S = 75.0


def training_plans() -> dict[str, Callable]:
    """The chapters that train CIFAR-10 networks, with their training plans: (scale, seed) -> the
    distinct configurations the chapter trains for that seed."""
    from ssl_lib.experiments import alignment_uniformity, feature_decoupling_cifar, simclr
    from ssl_lib.experiments import prediction_head as prediction_head_experiments
    from ssl_lib.train import config_key

    def distinct(configs) -> list:
        return list({config_key(c): c for c in configs}.values())

    return {
        simclr.CHAPTER: simclr.training_plan,
        "06_feature_decoupling_cifar": lambda scale, seed=0: distinct([
            *feature_decoupling_cifar.augmentation_configs(scale, seed).values(),
            feature_decoupling_cifar.supervised_config(scale, seed)]),
        "07_alignment_uniformity": lambda scale, seed=0: distinct([
            *alignment_uniformity.circle_configs(scale, seed).values(),
            *alignment_uniformity.sweep_configs(scale, seed).values()]),
        "08_prediction_head": lambda scale, seed=0: distinct([
            prediction_head_experiments.cifar_config(scale, p, seed) for p in prediction_head_experiments.CIFAR_TRAINED]),
    }


def measured_quick_seconds() -> dict:
    """The committed record of each chapter's execution time at the quick scale: ``{"chapters":
    {chapter: seconds}, "measured": how and when}``; empty chapters when none was recorded."""
    path = resources.files("ssl_lib") / "results" / "chapter_times.json"
    if not path.is_file():
        return {"chapters": {}, "measured": "not recorded"}
    return json.loads(path.read_text())


def training_seconds(*results) -> float:
    """The training time of the distinct runs behind ``results`` (experiment results whose
    measurements hold ``runs``: run key -> seconds), a run shared by several counted once."""
    runs = {}
    for result in results:
        if "runs" not in result.measurements:
            raise ValueError(f"{result.name} does not report its training runs (measurements['runs'])")
        runs.update(result.measurements["runs"])
    return sum(runs.values())


def full_scale_epochs(chapter: str) -> dict[str, int]:
    """Epochs over all 50,000 training images per encoder that ``chapter`` trains at the full
    scale for one seed (empty for a chapter that trains no network)."""
    plan = training_plans().get(chapter)
    epochs: dict[str, int] = {}
    for config in plan("full") if plan else []:
        epochs[config.encoder] = epochs.get(config.encoder, 0) + config.epochs
    return epochs


def stored_training_minutes(chapter: str, scale: str = "medium") -> tuple[dict[int, float], str] | None:
    """The training time (minutes) of the stored results of ``chapter`` at ``scale``, by seed,
    and the device they were measured on; None when the chapter stores none."""
    from ssl_lib import experiments
    from ssl_lib.experiments.registry import load_stored, stored_seeds

    names = [name for name in experiments.names()
             if experiments.get(name).chapter == chapter and scale in experiments.get(name).stored]
    minutes, device = {}, None
    for seed in sorted({seed for name in names for seed in stored_seeds(name, scale)}):
        stored = [load_stored(name, scale, seed) for name in names]
        stored = [r for r in stored if r is not None and "runs" in r.measurements]
        if stored:
            minutes[seed] = training_seconds(*stored) / 60
            device = stored[0].provenance["device"]
    return (minutes, device) if minutes else None


def sized_for_medium(chapter: str) -> bool:
    """Whether ``chapter`` trains other networks at the medium scale than at the quick scale (a
    chapter not yet sized for it runs its quick settings there)."""
    from ssl_lib.train import config_key

    plan = training_plans().get(chapter)
    return bool(plan) and {config_key(c) for c in plan("medium")} != {config_key(c) for c in plan("quick")}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _medium_text(chapter: str, stored: tuple[dict[int, float], str] | None) -> str:
    """What recomputing ``chapter``'s medium results costs, from :func:`stored_training_minutes`."""
    if stored is not None:
        minutes, device = stored
        per_seed = ", ".join(f"{m:.0f} min (seed {seed})" for seed, m in minutes.items())
        return f"{per_seed} of training, measured on {device}"
    return "not measured" if sized_for_medium(chapter) else "as the quick scale (not sized for the medium scale yet)"


def expected_time(chapter: str, scale: str, gpu: bool) -> str:
    """One line for a chapter's set-up cell: what running it at ``scale`` is expected to cost, and
    where the number comes from (a measurement, or an estimate labelled as one)."""
    check_scale(scale)
    record = measured_quick_seconds()
    quick = record["chapters"].get(chapter)
    quick_text = f"about {_duration(quick)} ({record['measured']})" if quick is not None else "not recorded"
    epochs = full_scale_epochs(chapter)
    if scale == "quick" or not epochs:
        return f"expected time at the quick scale: {quick_text}" + (
            "" if scale == "quick" else "; this chapter trains no CIFAR-10 network, so every scale costs the same")
    if scale == "medium":
        stored = stored_training_minutes(chapter)
        if stored is not None:
            return (f"expected time at the medium scale: {quick_text} to show its stored results; recomputing "
                    f"them: {_medium_text(chapter, stored)}" + ("; on a GPU, not measured" if gpu else ""))
        if not sized_for_medium(chapter):
            return f"expected time at the medium scale: as at the quick scale, {quick_text} (not sized for it yet)"
        return "expected time at the medium scale: not measured"
    text = f"expected time at the full scale, an ESTIMATE (never run by this book): {full_scale_estimate(epochs)}"
    resnet = epochs.get("resnet18", 0)
    cpu_hours = resnet * CIFAR10_TRAIN_IMAGES / RESNET18_CPU_IMAGES_S / 3600
    return text if gpu or not resnet else text + f"; on two CPU cores about {cpu_hours:.0f} h: use the medium scale"


def full_scale_estimate(epochs: dict[str, int]) -> str:
    """The full scale's cost in words: the epochs per encoder, and for ResNet-18 the hours at the
    seconds per epoch of :data:`RESNET18_EPOCH_S` (no public timing exists for the others)."""
    parts = []
    for encoder, n in epochs.items():
        if encoder == "resnet18":
            hours = " to ".join(f"{n * s / 3600:.1f} h" for s in RESNET18_EPOCH_S.values())
            parts.append(f"{n} ResNet-18 epochs over CIFAR-10 per seed, {hours} at the seconds per epoch public "
                         "recipes report for an A100 and an A6000")
        else:
            parts.append(f"{n} {encoder} epochs over CIFAR-10 per seed (not timed: no public timing to estimate from)")
    return "; ".join(parts) if parts else "as the quick scale (no CIFAR-10 network)"


def cost_table() -> str:
    """A Markdown table of every recorded chapter's cost at each scale, each cell labelled by its
    source (for the instructors' page, rendered at build time by ``_ext/chapter_costs.py``)."""
    record = measured_quick_seconds()
    rows = [f"| chapter | quick, measured ({record['measured']}) | medium, recomputing the stored results "
            "(per seed) | full, one GPU: an estimate |", "| --- | --- | --- | --- |"]
    for chapter, seconds in record["chapters"].items():
        epochs = full_scale_epochs(chapter)
        medium = _medium_text(chapter, stored_training_minutes(chapter)) if epochs else \
            "as the quick scale (no CIFAR-10 network)"
        full = full_scale_estimate(epochs)
        rows.append(f"| {{doc}}`{chapter}` | {_duration(seconds)} | {medium} | {full} |")
    return "\n".join(rows)


def saved_tensor_bytes(model, config, images: int, precision: str = "bfloat16") -> int:
    """The bytes of every distinct tensor autograd saves for the backward pass of one loss
    evaluation of ``model`` (built from ``config``) on ``images`` images (two views each) in
    ``precision``'s autocast, on the CPU."""
    import torch

    from ssl_lib import precision as prec
    from ssl_lib.objectives import OBJECTIVES

    size = config.augmentation().size
    views = torch.rand(2, images, 3, size, size)
    saved: dict[int, int] = {}

    def pack(tensor):
        saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), \
            prec.autocast(precision, torch.device("cpu")):
        OBJECTIVES[config.objective].loss(model.train(), views[0], views[1], torch.zeros(images, dtype=torch.long),
                                          config)
    return sum(saved.values())


def training_memory_gb(config, precision: str = "bfloat16") -> float:
    """An ESTIMATE of the GPU memory (GB) one training step of ``config`` needs at its batch size.

    Measured on the CPU, not on a GPU: :func:`saved_tensor_bytes` at 4 and 8 images, extended
    along the line through them to ``config.batch_size`` (a part, such as the weights' autocast
    copies, does not grow with the batch); plus the parameters, their gradients and one optimiser
    state (SGD momentum) in float32. Workspace memory and the allocator's fragmentation are not
    counted, so a real GPU needs more.
    """
    from ssl_lib.train import build_model

    model = build_model(config)
    small, large = (saved_tensor_bytes(model, config, n, precision) for n in (4, 8))
    per_image = (large - small) / 4
    activations = small + per_image * (config.batch_size - 4)
    parameters = 3 * 4 * sum(p.numel() for p in model.parameters())
    return (activations + parameters) / 1e9
