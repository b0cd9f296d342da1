"""The training engine of the CIFAR-10 chapters: one loop, pluggable objectives, cached results.

A run is described by a :class:`TrainConfig`, a frozen dataclass holding every setting that
changes what is learned. :func:`train` returns the saved result of a run whose configuration
hashes to the same key, or trains it:

* data: a class-balanced subset of the CIFAR-10 training set, held on the device as uint8;
  views made by :func:`ssl_lib.augment.two_views` on the device;
* the objective: a registered :class:`Objective` (``simclr`` by default, NT-Xent on z by
  :func:`ssl_lib.losses.info_nce`); later chapters register their own with
  :func:`register_objective` (supervised cross-entropy, alignment + uniformity, SimSiam);
* optimisation: SGD with momentum (or AdamW), linear warm-up then a cosine learning-rate
  schedule, bfloat16 autocast and channels-last memory on a GPU;
* evaluation every ``eval_every`` epochs: weighted kNN and a linear probe on h, on held-out
  test images;
* a checkpoint after every epoch (an interrupted run resumes where it stopped) and the result
  stored under ``ssl_lib.data.cache_dir()/runs/<key>/``, all written atomically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from tqdm import tqdm

from ssl_lib import augment as aug
from ssl_lib import models
from ssl_lib.data import MIRROR_ENV, ImageSet, cache_dir, load_cifar10
from ssl_lib.evaluate import extract_features, knn_accuracy, linear_probe_accuracy
from ssl_lib.losses import info_nce
from ssl_lib.runtime import default_device, describe_device, seed_everything

ENGINE_VERSION = 1  # bump when a change to this module changes what a configuration learns
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
        self.augmentation()  # validates the preset name and the overrides
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise ValueError(
                f"batch_size must be an integer >= 2 (NT-Xent needs a negative for each view), "
                f"got {self.batch_size!r}"
            )
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        for name in ("temperature", "lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1 or self.warmup_epochs < 0:
            raise ValueError(
                f"weight_decay and warmup_epochs must be >= 0 and momentum in [0, 1), got "
                f"weight_decay={self.weight_decay}, warmup_epochs={self.warmup_epochs}, momentum={self.momentum}"
            )
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0 (0: evaluate only at the end), got {self.eval_every}")
        for name in ("train_per_class", "bank_per_class", "test_per_class"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be None (all images) or >= 1, got {value}")
        if self.train_per_class is not None and self.batch_size > 10 * self.train_per_class:
            raise ValueError(
                f"batch_size={self.batch_size} exceeds the {10 * self.train_per_class} training images "
                f"(train_per_class={self.train_per_class}); lower batch_size or raise train_per_class"
            )

    def augmentation(self) -> aug.ImageAugment:
        """The run's :class:`ssl_lib.augment.ImageAugment`."""
        return aug.preset(self.augment, **self.augment_overrides)


def config_key(config: TrainConfig) -> str:
    """A 16-hex-digit hash of every field of ``config`` and of :data:`ENGINE_VERSION`."""
    text = json.dumps({"engine": ENGINE_VERSION, **asdict(config)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_dir(config: TrainConfig) -> Path:
    """Where the run of ``config`` keeps its checkpoint and result."""
    return cache_dir() / "runs" / config_key(config)


# ----------------------------------------------------------------------------------------------
# Objectives: how a batch of views becomes a loss
# ----------------------------------------------------------------------------------------------

LossFn = Callable[[models.SSLModel, torch.Tensor, "torch.Tensor | None", torch.Tensor, TrainConfig], torch.Tensor]


@dataclass(frozen=True)
class Objective:
    """A training objective.

    Attributes:
        name: its registered name, used in :class:`TrainConfig`.
        loss: ``loss(model, view1, view2, labels, config) -> scalar``; ``view2`` is None when
            ``views == 1``. ``model(x)`` returns ``(h, z)``; modules of ``extras`` are in
            ``model.extras``.
        views: how many augmented views of each image a step needs (1 or 2).
        extras: ``extras(config, z_dim) -> {name: module}``, further trainable modules
            (a SimSiam predictor, a classifier), or None.
    """

    name: str
    loss: LossFn
    views: int = 2
    extras: Callable[[TrainConfig, int], dict[str, nn.Module]] | None = None


OBJECTIVES: dict[str, Objective] = {}


def register_objective(name: str, loss: LossFn, views: int = 2,
                       extras: Callable[[TrainConfig, int], dict[str, nn.Module]] | None = None) -> Objective:
    """Register a training objective under ``name`` (see :class:`Objective`) and return it."""
    if name in OBJECTIVES:
        raise ValueError(f"an objective called {name!r} is already registered")
    if views not in (1, 2):
        raise ValueError(f"views must be 1 or 2, got {views}")
    OBJECTIVES[name] = Objective(name, loss, views, extras)
    return OBJECTIVES[name]


def simclr_loss(model: models.SSLModel, view1: torch.Tensor, view2: torch.Tensor,
                labels: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """SimCLR: NT-Xent (:func:`ssl_lib.losses.info_nce`) between the projections z of the views.

    Both views go through the network as one batch of 2N, so batch norm sees them together.
    """
    _, z = model(torch.cat([view1, view2]))
    z1, z2 = z.float().chunk(2)
    return info_nce(z1, z2, config.temperature)


register_objective("simclr", simclr_loss)


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
        wall_s: training time; ``device``: where it trained; ``from_cache``: loaded, not trained.
    """

    config: TrainConfig
    key: str
    model: models.SSLModel
    history: dict[str, list]
    wall_s: float
    device: str
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


def eval_images(config: TrainConfig, device: torch.device):
    """The images and labels evaluation uses: (bank images, bank labels, test images, test labels),
    resized to the run's image size, float in [0, 1], on ``device``."""
    size = config.augmentation().size
    as_eval = aug.preset("none", size=size)
    out = []
    for split, per_class in (("train", config.bank_per_class), ("test", config.test_per_class)):
        data = cifar10(split)
        data = data.subset(per_class, seed=0) if per_class else data
        images, labels = data.tensors(device)
        out += [aug.augment(images, as_eval), labels]
    return tuple(out)


def evaluate_model(model: models.SSLModel, bank_x, bank_y, test_x, test_y, k: int = 200
                   ) -> tuple[float, float]:
    """kNN accuracy and linear-probe accuracy of the representation h on the test images."""
    bank_f = extract_features(model.encoder, bank_x)
    test_f = extract_features(model.encoder, test_x)
    return (knn_accuracy(bank_f, bank_y, test_f, test_y, k=k),
            linear_probe_accuracy(bank_f, bank_y, test_f, test_y))


def train(config: TrainConfig, device: torch.device | str | None = None, *, cache: bool = True,
          progress: bool = True, max_steps: int | None = None) -> TrainResult:
    """Return the saved result of ``config`` if there is one, else train it (resuming a checkpoint).

    Args:
        config: the run's settings.
        device: where to train (default: the GPU if there is one).
        cache: look up and store results and checkpoints under :func:`run_dir`; False trains
            from scratch and stores nothing.
        progress: show a tqdm bar with the loss and the throughput.
        max_steps: stop after this many optimiser steps (to exercise a configuration cheaply;
            such a run is never stored).
    """
    device = torch.device(device) if device is not None else default_device()
    folder = run_dir(config)
    result_path, checkpoint_path = folder / "result.pt", folder / "checkpoint.pt"
    store = cache and max_steps is None
    if store and result_path.exists():
        return load_result(result_path, device)

    objective = OBJECTIVES[config.objective]
    g = seed_everything(config.seed)
    model = build_model(config).to(device)
    on_gpu = device.type == "cuda"
    if on_gpu:
        model = model.to(memory_format=torch.channels_last)
    data = cifar10("train")
    data = data.subset(config.train_per_class, seed=0) if config.train_per_class else data
    images, labels = data.tensors(device)
    bank_x, bank_y, test_x, test_y = eval_images(config, device)
    augmentation = config.augmentation()

    peak_lr = config.lr * config.batch_size / 256
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=peak_lr, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(images) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = round(config.warmup_epochs * steps_per_epoch)

    history: dict[str, list] = {k: [] for k in
                                ("epoch", "knn", "probe", "loss", "images_per_s", "epoch_s", "augment_share")}
    start_epoch, wall = 0, 0.0
    if store and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        g.set_state(state["generator"])
        history, start_epoch, wall = state["history"], state["epoch"], state["wall_s"]
    elif config.eval_every:  # the random encoder, epoch 0
        model.eval()
        knn, probe = evaluate_model(model, bank_x, bank_y, test_x, test_y, config.knn_k)
        history["epoch"].append(0), history["knn"].append(knn), history["probe"].append(probe)

    bar = tqdm(total=total_steps, initial=start_epoch * steps_per_epoch, disable=not progress,
               desc=f"{config.objective} {config.encoder}", unit="step", mininterval=1.0)
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, config.epochs):
        model.train()
        epoch_start, augment_time, losses = time.perf_counter(), 0.0, []
        order = torch.randperm(len(images), generator=g).to(device)
        for i in range(steps_per_epoch):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total_steps, warmup_steps, peak_lr)
            batch = order[i * config.batch_size:(i + 1) * config.batch_size]
            t0 = time.perf_counter()
            if objective.views == 2:
                view1, view2 = aug.two_views(images[batch], augmentation, g)
            else:
                view1, view2 = aug.augment(images[batch], augmentation, g), None
            if on_gpu:
                view1 = view1.contiguous(memory_format=torch.channels_last)
                view2 = view2.contiguous(memory_format=torch.channels_last) if view2 is not None else None
                torch.cuda.synchronize()
            augment_time += time.perf_counter() - t0
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=on_gpu):
                loss = objective.loss(model, view1, view2, labels[batch], config)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            step += 1
            bar.update(1)
            if max_steps is not None and step >= max_steps:
                break
        epoch_loss = torch.stack(losses).mean().item()
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"the loss became {epoch_loss} in epoch {epoch + 1}; lower lr={config.lr}")
        seconds = time.perf_counter() - epoch_start
        wall += seconds
        history["loss"].append(epoch_loss)
        history["epoch_s"].append(seconds)
        history["images_per_s"].append(len(losses) * config.batch_size / seconds)
        history["augment_share"].append(augment_time / seconds)
        bar.set_postfix(loss=f"{epoch_loss:.3f}", img_s=f"{history['images_per_s'][-1]:.0f}")
        last = epoch + 1 == config.epochs or (max_steps is not None and step >= max_steps)
        if (config.eval_every and (epoch + 1) % config.eval_every == 0) or last:
            model.eval()
            knn, probe = evaluate_model(model, bank_x, bank_y, test_x, test_y, config.knn_k)
            history["epoch"].append(epoch + 1), history["knn"].append(knn), history["probe"].append(probe)
        if last:
            break
        if store:
            _atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                          "generator": g.get_state(), "history": history, "epoch": epoch + 1,
                          "wall_s": wall}, checkpoint_path)
    bar.close()
    model.eval()
    result = TrainResult(config, config_key(config), model, history, wall, describe_device(device))
    if store:
        _atomic_save({"config": asdict(config), "key": result.key, "model": model.state_dict(),
                      "history": history, "wall_s": wall, "device": result.device}, result_path)
        (folder / "config.json").write_text(json.dumps(asdict(config), indent=1, sort_keys=True))
        checkpoint_path.unlink(missing_ok=True)
    return result


def load_result(path: str | os.PathLike, device: torch.device | str | None = None) -> TrainResult:
    """Read a result stored by :func:`train`."""
    device = torch.device(device) if device is not None else default_device()
    state = torch.load(path, map_location=device, weights_only=False)
    config = TrainConfig(**state["config"])
    model = build_model(config).to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return TrainResult(config, state["key"], model, state["history"], state["wall_s"], state["device"],
                       from_cache=True)


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
