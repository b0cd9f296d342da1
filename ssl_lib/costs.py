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
import warnings
from importlib import resources

from ssl_lib.scale import check_scale

CIFAR10_TRAIN_IMAGES = 50_000

#: Seconds per ResNet-18 epoch over CIFAR-10's 50,000 images reported by two public GPU recipes
#: (PAPERS.md): 100 epochs in 20 minutes on an A100 (12 s), 200 epochs in 98 minutes on an A6000
#: (29 s, lightly's benchmark). Estimates for other GPUs are outside this range (a T4 is slower).
RESNET18_EPOCH_S = {"A100 (public recipe)": 12.0, "A6000 (lightly's benchmark)": 29.4}

#: ResNet-18's training throughput on two CPU cores in bfloat16 (images per second, two views
#: each), measured by ``bench/bench_simclr_step.py`` on 2026-12-01 (batch cut to 32).
RESNET18_CPU_IMAGES_S = 75.0


#: The measured images per second of the medium SimCLR step by training path, written by
#: ``bench/bench_simclr_step.py --record``: what the cost lines scale stored training times by.
STEP_THROUGHPUT_FILE = "step_throughput.json"


def step_throughput() -> dict[str, dict]:
    """path label (:func:`ssl_lib.precision.path_label`) -> ``{"images_per_s", "cpu", "measured"}``."""
    path = resources.files("ssl_lib") / "results" / STEP_THROUGHPUT_FILE
    return json.loads(path.read_text())["paths"] if path.is_file() else {}


def recorded_paths(device) -> list[str]:
    """The paths whose rates a CPU records: the engine's, and on a CPU without native bfloat16
    also float32 contiguous, its path before channels-last (the stored float32 runs took it). A
    bfloat16 path is only taken by CPUs with native units, a float32 one only by CPUs without, so
    a label names the kind of CPU as well."""
    import torch

    from ssl_lib import precision as prec

    if torch.device(device).type != "cpu":
        return []
    engine = prec.default_precision(device)
    labels = [prec.path_label(engine, prec.memory_format(engine, device))]
    return labels + ([prec.path_label("float32", torch.contiguous_format)] if engine == "float32" else [])


def record_step_throughput(label: str, images_per_s: float, cpu: str) -> None:
    """Write the medium SimCLR step's measured rate on path ``label`` into the record."""
    from datetime import date
    from pathlib import Path

    from ssl_lib.storage import atomic_write

    if not (images_per_s > 0):
        raise ValueError(f"images_per_s must be a positive rate, got {images_per_s}")
    record = step_throughput()
    record[label] = {"images_per_s": round(images_per_s, 1), "cpu": cpu,
                     "measured": f"{date.today().isoformat()}, bench/bench_simclr_step.py --record"}
    atomic_write(Path(str(resources.files("ssl_lib"))) / "results" / STEP_THROUGHPUT_FILE,
                 lambda file: file.write(json.dumps({"paths": record}, indent=1) + "\n"))


def machine_path() -> str:
    """The training path this machine's CPU takes (:func:`ssl_lib.precision.path_label`)."""
    from ssl_lib import precision as prec

    precision = prec.default_precision("cpu")
    return prec.path_label(precision, prec.memory_format(precision, "cpu"))


def stored_path(provenance: dict) -> str:
    """The training path of a stored result: its precision and layout (results stored before
    the layout was recorded trained float32 contiguous, the reduced precisions channels-last)."""
    precision = provenance.get("precision", "float32")
    layout = provenance.get("memory_format", "contiguous" if precision == "float32" else "channels-last")
    return f"{precision}, {layout}"


def quick_time_records() -> dict[str, dict]:
    """The committed records of each chapter's execution time at the quick scale, one per training
    path (:func:`machine_path`: the kind of CPU they were measured on): ``{path: {"chapters":
    {chapter: seconds}, "measured": how and when}}``; empty when none was recorded."""
    path = resources.files("ssl_lib") / "results" / "chapter_times.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["by_path"]


def measured_quick_seconds() -> dict:
    """The record of :func:`quick_time_records` for this machine's training path, or, where none
    was measured on this kind of CPU, another one (its ``measured`` says where it comes from);
    empty chapters when none was recorded."""
    records = quick_time_records()
    if not records:
        return {"chapters": {}, "measured": "not recorded"}
    return records.get(machine_path(), next(iter(records.values())))


def other_quick_times(chapter: str, shown: dict) -> str:
    """The chapter's quick-scale time measured on the other kinds of CPU than the record
    ``shown`` (:func:`measured_quick_seconds`), for the set-up line (empty when there is none)."""
    others = [record for record in quick_time_records().values()
              if record["measured"] != shown["measured"] and chapter in record["chapters"]]
    return "".join(f"; on {record['measured']}: about {_duration(record['chapters'][chapter])}" for record in others)


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
    from ssl_lib.experiments.plans import training_plans

    plan = training_plans().get(chapter)
    epochs: dict[str, int] = {}
    for config in plan("full") if plan else []:
        epochs[config.encoder] = epochs.get(config.encoder, 0) + config.epochs
    return epochs


def stored_training_minutes(chapter: str, scale: str = "medium") -> tuple[dict[int, float], str, str] | None:
    """The training time (minutes) of the stored results of ``chapter`` at ``scale``, by seed,
    the device they were measured on and their training path (:func:`stored_path`); None when
    the chapter stores none."""
    from ssl_lib import experiments
    from ssl_lib.experiments.registry import stored_seeds
    from ssl_lib.experiments.stored import load_stored

    names = [name for name in experiments.names()
             if experiments.get(name).chapter == chapter and scale in experiments.get(name).stored]
    minutes, device, path = {}, None, None
    for seed in sorted({seed for name in names for seed in stored_seeds(name, scale)}):
        stored = [load_stored(name, scale, seed) for name in names]
        stored = [r for r in stored if r is not None and "runs" in r.measurements]
        if stored:
            minutes[seed] = training_seconds(*stored) / 60
            device, path = stored[0].provenance["device"], stored_path(stored[0].provenance)
    return (minutes, device, path) if minutes else None


def sized_for_medium(chapter: str) -> bool:
    """Whether ``chapter`` trains other networks at the medium scale than at the quick scale (a
    chapter not yet sized for it runs its quick settings there)."""
    from ssl_lib.train import config_key

    from ssl_lib.experiments.plans import training_plans

    plan = training_plans().get(chapter)
    return bool(plan) and {config_key(c) for c in plan("medium")} != {config_key(c) for c in plan("quick")}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _scaled_minutes(minutes: dict[int, float], measured_on: dict, target: dict) -> str:
    """Training minutes per seed measured at ``measured_on``'s step rate, scaled to ``target``'s
    (entries of :func:`step_throughput`), for a sentence."""
    ratio = measured_on["images_per_s"] / target["images_per_s"]
    return ", ".join(f"{m * ratio:.0f} min (seed {seed})" for seed, m in minutes.items())


def _medium_text(chapter: str, stored: tuple[dict[int, float], str, str] | None, gpu: bool = False) -> str:
    """What recomputing ``chapter``'s medium results costs: the stored runs' measured time
    (:func:`stored_training_minutes`) and, on a CPU that trains on another path, that time
    scaled by the two paths' measured step throughput (:func:`step_throughput`), labelled as
    an estimate."""
    if stored is None:
        return "not measured" if sized_for_medium(chapter) else "as the quick scale (not sized for the medium scale yet)"
    minutes, device, path = stored
    per_seed = ", ".join(f"{m:.0f} min (seed {seed})" for seed, m in minutes.items())
    measured = f"{per_seed} of training, measured on {device} in {path}"
    here, rates = machine_path(), step_throughput()
    if gpu:
        return f"{measured}; on a GPU, not measured"
    if path == here:
        others = [(other, rate) for other, rate in rates.items()   # the other kinds of CPU
                  if here in rates and rate["cpu"] != rates[here]["cpu"]]
        return f"{measured}, this machine's path" + "".join(
            f"; in {other} on {rate['cpu']} about {_scaled_minutes(minutes, rates[here], rate)}, an ESTIMATE "
            f"scaled by the measured step rates ({rate['images_per_s']:.0f} against "
            f"{rates[here]['images_per_s']:.0f} images/s)" for other, rate in others)
    if path not in rates or here not in rates:
        return f"{measured}; this machine trains in {here}, whose speed is not recorded"
    scaled = _scaled_minutes(minutes, rates[path], rates[here])
    return (f"about {scaled} of training on this machine in {here}, an ESTIMATE: {per_seed} measured in "
            f"{path} on {rates[path]['cpu']}, scaled by the medium SimCLR step's measured rates there and "
            f"here ({rates[path]['images_per_s']:.0f} and {rates[here]['images_per_s']:.0f} images/s)")


def expected_time(chapter: str, scale: str, gpu: bool) -> str:
    """One line for a chapter's set-up cell: what running it at ``scale`` is expected to cost, and
    where the number comes from (a measurement, or an estimate labelled as one)."""
    check_scale(scale)
    record = measured_quick_seconds()
    quick = record["chapters"].get(chapter)
    quick_text = f"about {_duration(quick)} ({record['measured']})" if quick is not None else "not recorded"
    epochs = full_scale_epochs(chapter)
    if scale == "quick" or not epochs:
        return f"expected time at the quick scale: {quick_text}{other_quick_times(chapter, record)}" + (
            "" if scale == "quick" else "; this chapter trains no CIFAR-10 network, so every scale costs the same")
    if scale == "medium":
        stored = stored_training_minutes(chapter)
        if stored is not None:
            return (f"expected time at the medium scale: {quick_text} to show its stored results; recomputing "
                    f"them: {_medium_text(chapter, stored, gpu)}")
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


def stored_line(scale: str, chapter: str | None = None) -> str:
    """Which of the chapter's results are stored and shown here, and at which scale, in words."""
    from ssl_lib.experiments import registry
    from ssl_lib.scale import SCALES, STORED_ENV, stored_results_enabled

    if not stored_results_enabled():
        return f"off ({STORED_ENV}=off): every result is computed at the {scale} scale"
    if chapter is None:
        return "shown where fresh"
    shown = {}
    for name in registry.names():
        exp = registry.get(name)
        for stored_scale in registry.STORED_SCALES:
            seeds = registry.stored_seeds(name, stored_scale) if stored_scale in exp.stored else []
            if exp.chapter == chapter and seeds and SCALES.index(stored_scale) >= SCALES.index(scale):
                shown[name] = (stored_scale, seeds)
                break
    if not shown:
        return f"none for this chapter: every result is computed here at the {scale} scale"
    parts = [f"{name} ({stored_scale}, seed{'s' if len(seeds) > 1 else ''} {' and '.join(map(str, seeds))})"
             for name, (stored_scale, seeds) in shown.items()]
    return (f"this page shows the stored results of {', '.join(parts)} while fresh; everything else is computed "
            f"here at the {scale} scale")


def recompute_instructions(chapter: str, scale: str = "medium") -> str:
    """How a reader recomputes ``chapter``'s stored results at ``scale``, and what it costs: one
    command per stored experiment (:mod:`ssl_lib.__main__`'s ``run``), the same call for a notebook,
    and the measured (or estimated, so labelled) training time of :func:`_medium_text`."""
    from ssl_lib import experiments
    from ssl_lib.experiments.registry import stored_seeds
    from ssl_lib.runtime import default_device

    names = [name for name in experiments.names()
             if experiments.get(name).chapter == chapter and stored_seeds(name, scale)]
    if not names:
        return f"{chapter} stores no results at the {scale} scale: it computes everything it shows."
    commands = [f"  for seed in {' '.join(map(str, stored_seeds(name, scale)))}; do python -m ssl_lib run {name} "
                f"--scale {scale} --seed $seed --out results/seed$seed; done" for name in names]
    cost = _medium_text(chapter, stored_training_minutes(chapter, scale), default_device().type == "cuda")
    return "\n".join([f"To recompute this chapter's stored {scale}-scale results, run (each writes "
                       "results/seed<seed>/<name>.json):",
                       *commands,
                       f'or, in this notebook, experiments.run("{names[0]}", scale="{scale}", seed=0) for one of them.',
                       f"Training time for all of them: {cost}."])


def describe_setup(scale: str, chapter: str | None = None) -> str:
    """What a chapter prints first: its scale, device, precision, whether stored results are
    shown, and (given the chapter's name) what it is expected to cost at this scale. The full
    scale without a GPU also warns, before any work starts."""
    from ssl_lib.precision import default_precision
    from ssl_lib.runtime import default_device, describe_device
    from ssl_lib.scale import ENV_VAR, SCALES

    lines = [f"scale: {scale} (set {ENV_VAR} to one of {', '.join(SCALES)} to choose)",
             f"device: {describe_device()}; training precision: {default_precision(default_device())}",
             f"stored results: {stored_line(scale, chapter)}"]
    if chapter is not None:
        gpu = default_device().type == "cuda"
        lines.append(expected_time(chapter, scale, gpu))
        if scale != "full" and full_scale_epochs(chapter):  # what the opt-in full scale would cost
            lines.append(expected_time(chapter, "full", gpu=True))
        if scale == "full" and not gpu:
            warnings.warn(f"the full scale is meant for a GPU and this machine has none: {lines[-1]}", stacklevel=2)
    return "\n".join(lines)
