"""The training engine of the CIFAR-10 chapters: one loop, pluggable objectives, cached results.

A run is described by a :class:`TrainConfig`, a frozen dataclass holding every setting that
changes what is learned. :func:`train` returns the saved result of a run with the same key
(:func:`config_key`), or trains it, in the steps of :func:`train`:

* set-up (:func:`setup`): the model, a class-balanced subset of the CIFAR-10 training set held
  on the device as uint8, the optimiser; then the evaluation split (:func:`eval_images`);
* training steps (:func:`train_step`): two views made on the device by
  :func:`ssl_lib.augment.two_views`, the loss of a registered objective
  (:mod:`ssl_lib.objectives`), in the precision of :mod:`ssl_lib.precision` (bfloat16 autocast
  with channels-last memory where the hardware has it); SGD with momentum (or AdamW), linear
  warm-up then a cosine learning-rate schedule;
* evaluation every ``eval_every`` epochs (:func:`evaluate_model`): weighted kNN and a linear
  probe on h, in float32, on held-out test images;
* a checkpoint after every epoch (an interrupted run resumes where it stopped) and the result
  stored under ``ssl_lib.data.cache_dir()/runs/<key>/``, all written atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import math
import numbers
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import torch
from tqdm import tqdm

from ssl_lib import augment as aug
from ssl_lib import checks
from ssl_lib import models
from ssl_lib import precision as prec
from ssl_lib.data import CACHE_ENV, MIRROR_ENV, ImageSet, cache_dir, data_identity, load_cifar10
from ssl_lib.evaluate import extract_features, knn_accuracy, linear_probe_accuracy
from ssl_lib.objectives import OBJECTIVES, Objective, check_options
from ssl_lib.runtime import default_device, describe_device, seed_everything
from ssl_lib.storage import atomic_write, check_writable, code_fingerprint, key_of

OPTIMIZERS = ("sgd", "adamw")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run; its hash (:func:`config_key`) names the saved result.

    Attributes:
        objective: a registered objective's name (see :data:`OBJECTIVES`).
        encoder: ``resnet18``, ``convnet`` or ``alexnet``; ``encoder_kwargs`` go to its builder.
        head: projection head ``none``, ``linear`` or ``mlp``, to ``proj_dim`` dimensions
            (hidden width ``hidden_dim``, default the representation's width).
        augment: an augmentation preset (:func:`ssl_lib.augment.preset`), with
            ``augment_overrides`` changing some of its settings, e.g. ``{"size": 16}``.
        temperature: τ of NT-Xent.
        epochs, batch_size: passes over the training subset; pairs per step (>= 2).
        optimizer: ``sgd`` (momentum) or ``adamw``; ``lr`` is the rate at batch size 256,
            scaled linearly with the batch size; ``warmup_epochs`` of linear warm-up, then cosine.
        train_per_class: training images per class (None: all 5,000).
        eval_every: epochs between evaluations (0: only at the end).
        bank_per_class, test_per_class: training images per class that kNN and the probe
            learn from, test images per class they are scored on (None: all).
        objective_options: settings of the objective (e.g. loss weights), by name.
        seed: the seed every random choice of the run flows from.
    """

    objective: str = "simclr"
    encoder: str = "convnet"
    encoder_kwargs: dict[str, Any] = field(default_factory=dict)
    head: str = "mlp"
    proj_dim: int = 128
    hidden_dim: int | None = None
    augment: str = "simclr"
    augment_overrides: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.5
    epochs: int = 10
    batch_size: int = 256
    optimizer: str = "sgd"
    lr: float = 0.06
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.0
    train_per_class: int | None = None
    eval_every: int = 1
    bank_per_class: int | None = None
    test_per_class: int | None = None
    knn_k: int = 200
    objective_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; registered: {', '.join(OBJECTIVES)}")
        if self.encoder not in models.ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; valid encoders: {', '.join(models.ENCODERS)}")
        if self.head not in models.HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid heads: {', '.join(models.HEADS)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        augmentation = self.augmentation()  # validates the preset name and the overrides
        check_options(self.objective, self.objective_options)
        # Integers of any integral type (NumPy's too), stored as Python ints so that the run's key
        # does not depend on the type; bounds named with their reason.
        for name, minimum, why in (("batch_size", 2, "NT-Xent needs a negative for each view"),
                                   ("epochs", 1, "whole passes over the training images"),
                                   ("proj_dim", 1, "the projection's width"),
                                   ("knn_k", 1, "the neighbours that vote"),
                                   ("eval_every", 0, "0: evaluate only at the end"),
                                   ("seed", 0, "a seed")):
            object.__setattr__(self, name, checks.integer(getattr(self, name), name, minimum, why=why))
        for name in ("hidden_dim", "train_per_class", "bank_per_class", "test_per_class"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, checks.integer(getattr(self, name), name, 1, why="None: the default"))
        for name in ("temperature", "lr"):
            checks.positive(getattr(self, name), name)
        for name in ("momentum", "weight_decay", "warmup_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"{name}={value!r} must be a finite number")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1 or self.warmup_epochs < 0:
            raise ValueError(
                f"weight_decay and warmup_epochs must be >= 0 and momentum in [0, 1), got "
                f"weight_decay={self.weight_decay}, warmup_epochs={self.warmup_epochs}, momentum={self.momentum}"
            )
        if self.encoder == "alexnet" and augmentation.size != 32:
            raise ValueError(f"the alexnet encoder takes 32x32 views (its fc6 is sized for them), got "
                             f"augment size {augmentation.size}; drop the size override or use the convnet")
        if self.train_per_class is not None and self.batch_size > 10 * self.train_per_class:
            raise ValueError(
                f"batch_size={self.batch_size} exceeds the {10 * self.train_per_class} training images "
                f"(train_per_class={self.train_per_class}); lower batch_size or raise train_per_class"
            )

    def augmentation(self) -> aug.ImageAugment:
        """The run's :class:`ssl_lib.augment.ImageAugment`."""
        return aug.preset(self.augment, **self.augment_overrides)


def config_key(config: TrainConfig) -> str:
    """A 16-hex-digit hash naming the run of ``config``: every field, the resolved augmentation
    settings, the data's identity and the engine's code fingerprint (:mod:`ssl_lib.storage`)."""
    return key_of(asdict(config), asdict(config.augmentation()), data_identity(), code_fingerprint())


def run_dir(config: TrainConfig) -> Path:
    """Where the run of ``config`` keeps its checkpoint and result."""
    return cache_dir() / "runs" / config_key(config)


# ----------------------------------------------------------------------------------------------
# Building, training, saving
# ----------------------------------------------------------------------------------------------

def build_model(config: TrainConfig) -> models.SSLModel:
    """The encoder, head and extras of ``config``, freshly initialised (seed ``config.seed``)."""
    seed_everything(config.seed)
    encoder = models.build_encoder(config.encoder, **config.encoder_kwargs)
    head = models.projection_head(config.head, encoder.feature_dim, config.proj_dim, config.hidden_dim)
    z_dim = encoder.feature_dim if config.head == "none" else config.proj_dim
    objective = OBJECTIVES[config.objective]
    extras = objective.extras(config, z_dim) if objective.extras else None
    return models.SSLModel(encoder, head, extras)


@dataclass
class TrainResult:
    """A trained model and its record.

    Attributes:
        config: the run's settings; ``key`` its hash.
        model: the trained :class:`ssl_lib.models.SSLModel` (eval mode, on the device).
        history: per evaluation: ``epoch``, ``knn``, ``probe``; per epoch: ``loss``,
            ``images_per_s``, ``epoch_s``, ``augment_share`` (share of step time in augmentation).
        wall_s: training time; ``device``: where it trained; ``precision``: its number format;
            ``from_cache``: loaded, not trained.
    """

    config: TrainConfig
    key: str
    model: models.SSLModel
    history: dict[str, list]
    wall_s: float
    device: str
    precision: str
    from_cache: bool = False

    @property
    def final_knn(self) -> float:
        return self.history["knn"][-1]

    @property
    def final_probe(self) -> float:
        return self.history["probe"][-1]


def cosine_lr(step: int, total_steps: int, warmup_steps: int, peak: float) -> float:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to 0 at ``total_steps``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * peak * (1 + math.cos(math.pi * min(1.0, progress)))


def cifar10(split: str) -> ImageSet:
    """:func:`ssl_lib.data.load_cifar10`, read once per process (for a given cache and mirror)."""
    return _cifar10(split, str(cache_dir()), os.environ.get(MIRROR_ENV))


@functools.lru_cache(maxsize=4)
def _cifar10(split: str, cache: str, mirror: str | None) -> ImageSet:
    return load_cifar10(split)


def evaluation_set(config: TrainConfig, split: str) -> ImageSet:
    """The evaluation split, defined once for the engine and every experiment: the kNN bank and
    probe training set (``split="train"``: ``bank_per_class`` images per class) or the test set
    (``"test"``: ``test_per_class``), a class-balanced subset drawn with seed 0 (None: all images),
    in the mirror's order."""
    per_class = config.bank_per_class if split == "train" else config.test_per_class
    data = cifar10(split)
    return data.subset(per_class, seed=0) if per_class else data


def eval_images(config: TrainConfig, device: torch.device):
    """The images and labels evaluation uses (:func:`evaluation_set`): (bank images, bank labels,
    test images, test labels), resized to the run's image size, float in [0, 1], on ``device``."""
    as_eval = aug.preset("none", size=config.augmentation().size)
    out = []
    for split in ("train", "test"):
        images, labels = evaluation_set(config, split).tensors(device)
        out += [aug.augment(images, as_eval), labels]
    return tuple(out)


class Evaluation(NamedTuple):
    """A network's scores on the evaluation images, with the features they were computed from."""

    knn: float
    probe: float
    bank_features: torch.Tensor
    test_features: torch.Tensor


def evaluate_model(model: models.SSLModel, bank_x, bank_y, test_x, test_y, k: int = 200,
                   precision: str | None = None) -> Evaluation:
    """kNN accuracy and linear-probe accuracy of the representation h on the test images
    (features extracted in ``precision``, scored in float32), and the features themselves, so
    that a caller never extracts them again."""
    bank_f = extract_features(model.encoder, bank_x, precision=precision)
    test_f = extract_features(model.encoder, test_x, precision=precision)
    return Evaluation(knn_accuracy(bank_f, bank_y, test_f, test_y, k=k),
                      linear_probe_accuracy(bank_f, bank_y, test_f, test_y), bank_f, test_f)


@dataclass
class Run:
    """Everything a training run holds while it trains (built by :func:`setup`)."""

    config: TrainConfig
    device: torch.device
    precision: str
    objective: Objective
    model: models.SSLModel
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    generator: torch.Generator
    images: torch.Tensor
    labels: torch.Tensor
    augmentation: aug.ImageAugment
    steps_per_epoch: int
    peak_lr: float
    memory_format: torch.memory_format

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def warmup_steps(self) -> int:
        return round(self.config.warmup_epochs * self.steps_per_epoch)

    def learning_rate(self, step: int) -> float:
        """The learning rate of global step ``step``: :func:`cosine_lr` from the run's peak."""
        return cosine_lr(step, self.total_steps, self.warmup_steps, self.peak_lr)

    def epoch_order(self) -> torch.Tensor:
        """The order of the training images in the next epoch, drawn from the run's generator."""
        return torch.randperm(len(self.images), generator=self.generator).to(self.device)


def training_set(config: TrainConfig) -> ImageSet:
    """The training images of ``config``: all of CIFAR-10's, or its first ``train_per_class`` per
    class (a fixed subset, the same for every seed)."""
    data = cifar10("train")
    return data.subset(config.train_per_class, seed=0) if config.train_per_class else data


def distinct_configs(configs) -> list[TrainConfig]:
    """``configs`` without repeats (the same run, by :func:`config_key`), in order."""
    return list({config_key(c): c for c in configs}.values())


def run_times(*results: TrainResult) -> dict[str, float]:
    """The training time of each distinct run among ``results``, by run key (a shared run once), so
    that :mod:`ssl_lib.costs` can add up a chapter's runs without counting a shared one twice."""
    return {r.key: r.wall_s for r in results}


def setup(config: TrainConfig, device: torch.device | str | None = None, precision: str | None = None) -> Run:
    """A freshly initialised run of ``config``: model, training images, optimiser, generator."""
    device = torch.device(device) if device is not None else default_device()
    precision = prec.check_precision(precision, device)
    generator = seed_everything(config.seed)
    layout = prec.memory_format(precision, device)
    model = build_model(config).to(device).to(memory_format=layout)
    images, labels = training_set(config).tensors(device)
    peak_lr = config.lr * config.batch_size / 256
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=config.weight_decay)
    return Run(config, device, precision, OBJECTIVES[config.objective], model, optimizer,
               prec.grad_scaler(precision, device), generator, images, labels, config.augmentation(),
               len(images) // config.batch_size, peak_lr, layout)


def train_step(run: Run, batch: torch.Tensor, step: int, phases: dict[str, float] | None = None
               ) -> tuple[torch.Tensor, float]:
    """One optimiser step on the images ``batch`` (indices) at global step ``step``.

    Returns the loss (a detached float32 scalar) and the seconds spent making the views. Given a
    dict ``phases``, adds to it the seconds of each phase: augmentation, forward, backward,
    optimiser (``bench/bench_simclr_step.py``; on a GPU this synchronises after each phase).
    """
    for group in run.optimizer.param_groups:
        group["lr"] = run.learning_rate(step)
    start = time.perf_counter()
    if run.objective.views == 2:
        views = aug.two_views(run.images[batch], run.augmentation, run.generator)
    else:
        views = aug.augment(run.images[batch], run.augmentation, run.generator), None
    view1, view2 = (None if v is None else v.contiguous(memory_format=run.memory_format) for v in views)
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    augment_seconds = time.perf_counter() - start
    lap = _mark(run, phases, "augmentation", start)
    with prec.autocast(run.precision, run.device):
        loss = run.objective.loss(run.model, view1, view2, run.labels[batch], run.config)
    lap = _mark(run, phases, "forward", lap)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    lap = _mark(run, phases, "backward", lap)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    _mark(run, phases, "optimiser", lap)
    return loss.detach().float(), augment_seconds


def _mark(run: Run, phases: dict[str, float] | None, phase: str, since: float) -> float:
    """Add the seconds since ``since`` to ``phases[phase]`` (when timing phases); return now."""
    if phases is None:
        return since
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    now = time.perf_counter()
    phases[phase] = phases.get(phase, 0.0) + now - since
    return now


def train(config: TrainConfig, device: torch.device | str | None = None, *, cache: bool = True,
          progress: bool = True, max_steps: int | None = None, precision: str | None = None) -> TrainResult:
    """Return the saved result of ``config`` if there is one, else train it (resuming a checkpoint).

    Args:
        config: the run's settings.
        device: where to train (default: the GPU if there is one).
        cache: look up and store results and checkpoints under :func:`run_dir`; False trains
            from scratch and stores nothing.
        progress: show a tqdm bar with the loss and the throughput.
        max_steps: stop after this many optimiser steps (to exercise a configuration cheaply;
            such a run is never stored).
        precision: ``bfloat16``, ``float16`` or ``float32`` (default: by hardware,
            :func:`ssl_lib.precision.default_precision`).
    """
    store = cache and max_steps is None
    if not store:
        return _train(config, device, False, progress, max_steps, precision)
    check_writable(cache_dir(), CACHE_ENV)
    result_path = run_dir(config) / "result.pt"
    if result_path.exists():
        return load_result(result_path, device)
    with run_lock(run_dir(config)):
        if result_path.exists():  # trained by the process that held the lock
            return load_result(result_path, device)
        return _train(config, device, True, progress, None, precision)


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold the run's lock (``folder/lock``) inside the block: a second process that trains the same
    run waits here, then finds the first one's result instead of training it again. The operating
    system releases the lock of a process that dies (``fcntl.flock``), so no stale lock survives."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            warnings.warn(f"another process is training this run ({folder.name}); waiting for it", stacklevel=3)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _train(config: TrainConfig, device: torch.device | str | None, store: bool, progress: bool,
           max_steps: int | None, precision: str | None) -> TrainResult:
    """:func:`train`'s training, from its checkpoint where ``store`` keeps one."""
    folder = run_dir(config)
    result_path, checkpoint_path = folder / "result.pt", folder / "checkpoint.pt"
    run = setup(config, device, precision)
    bank_x, bank_y, test_x, test_y = eval_images(config, run.device)
    history: dict[str, list] = {k: [] for k in
                                ("epoch", "knn", "probe", "loss", "images_per_s", "epoch_s", "augment_share")}
    start_epoch, wall = 0, 0.0
    if store and checkpoint_path.exists():
        history, start_epoch, wall = _resume(run, checkpoint_path)

    def evaluate(epoch: int) -> None:
        run.model.eval()
        knn, probe, *_ = evaluate_model(run.model, bank_x, bank_y, test_x, test_y, config.knn_k, run.precision)
        history["epoch"].append(epoch), history["knn"].append(knn), history["probe"].append(probe)

    if start_epoch == 0 and config.eval_every:
        evaluate(0)  # the random encoder
    bar = tqdm(total=run.total_steps, initial=start_epoch * run.steps_per_epoch, disable=not progress,
               desc=f"{config.objective} {config.encoder} ({run.precision})", unit="step", mininterval=1.0)
    step = start_epoch * run.steps_per_epoch
    for epoch in range(start_epoch, config.epochs):
        run.model.train()
        epoch_start, augment_time, losses = time.perf_counter(), 0.0, []
        order = run.epoch_order()
        for i in range(run.steps_per_epoch):
            loss, seconds = train_step(run, order[i * config.batch_size:(i + 1) * config.batch_size], step)
            if not torch.isfinite(loss):  # stop at once: every step after it would be wasted
                raise FloatingPointError(
                    f"the loss became {loss.item()} at step {step + 1} (epoch {epoch + 1}); lower lr={config.lr}"
                    f"{f' or raise temperature={config.temperature}' if config.objective == 'simclr' else ''}")
            losses.append(loss)
            augment_time += seconds
            step += 1
            bar.update(1)
            if max_steps is not None and step >= max_steps:
                break
        epoch_loss = torch.stack(losses).mean().item()
        seconds = time.perf_counter() - epoch_start
        wall += seconds
        history["loss"].append(epoch_loss)
        history["epoch_s"].append(seconds)
        history["images_per_s"].append(len(losses) * config.batch_size / seconds)
        history["augment_share"].append(augment_time / seconds)
        bar.set_postfix(loss=f"{epoch_loss:.3f}", img_s=f"{history['images_per_s'][-1]:.0f}")
        last = epoch + 1 == config.epochs or (max_steps is not None and step >= max_steps)
        if (config.eval_every and (epoch + 1) % config.eval_every == 0) or last:
            evaluate(epoch + 1)
        if last:
            break
        if store:
            _save({"model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
                   "scaler": run.scaler.state_dict(), "generator": run.generator.get_state(),
                   "history": history, "epoch": epoch + 1, "wall_s": wall}, checkpoint_path)
    bar.close()
    run.model.eval()
    result = TrainResult(config, config_key(config), run.model, history, wall, describe_device(run.device),
                         run.precision)
    if store:
        try:
            _save({"config": asdict(config), "key": result.key, "model": run.model.state_dict(),
                   "history": history, "wall_s": wall, "device": result.device, "precision": run.precision},
                  result_path)
            checkpoint_path.unlink(missing_ok=True)
        except OSError as error:  # the disk filled up or the folder went away: keep the trained model
            warnings.warn(f"could not save the trained run in {folder} ({error}); the result is returned but "
                          f"will be trained again next time (check {CACHE_ENV})", stacklevel=2)
    return result


def _resume(run: Run, checkpoint_path: Path) -> tuple[dict[str, list], int, float]:
    """Load the checkpoint into ``run``; return its history, the next epoch and the time so far."""
    state = torch.load(checkpoint_path, map_location=run.device, weights_only=False)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scaler.load_state_dict(state["scaler"])
    run.generator.set_state(state["generator"])
    return state["history"], state["epoch"], state["wall_s"]


def load_result(path: str | os.PathLike, device: torch.device | str | None = None) -> TrainResult:
    """Read a result stored by :func:`train`."""
    device = torch.device(device) if device is not None else default_device()
    state = torch.load(path, map_location=device, weights_only=False)
    config = TrainConfig(**state["config"])
    model = build_model(config).to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return TrainResult(config, state["key"], model, state["history"], state["wall_s"], state["device"],
                       state["precision"], from_cache=True)


def _save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`ssl_lib.storage.atomic_write`: never half-written."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, lambda f: f.write(buffer.getvalue()), binary=True)
