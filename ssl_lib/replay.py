"""Replay signatures: what pins down a stored result's computation, so that a result stays fresh
while today's code computes the same thing, whatever its source text looks like.

A stored result is the product of training runs and of an analysis of the trained networks.
Both are signed when the result is stored, and replayed by ``python -m ssl_lib verify``:

* a **training run** (:func:`run_signature`), from its configuration alone, in float32 on the
  CPU: the learning rate of every epoch (its first step and its mean over the epoch's steps),
  the order of the first epoch's examples, the loss and the size of the parameter update of the
  first :data:`SIGNATURE_STEPS` optimisation steps, and the network at initialisation (its
  features on :data:`FEATURE_IMAGES` test images, its kNN and linear-probe accuracy on a fixed
  slice). A change to the views, the model, the loss, the optimiser, the learning rate at any
  step, the data or its order, or the evaluation changes one of them;
* an **analysis** (:func:`analysis_probe`): the experiment's own function run at the quick scale
  with every training run replaced by its network at initialisation (:func:`untrained_runs`), so
  that a change to a measure, or to anything the experiment computes from its networks, changes
  its measurements.

:func:`first_difference` compares a replay with the stored signature within
:data:`RELATIVE_TOLERANCE`: wide enough for float32 on other CPUs, thread counts, oneDNN on or off
and memory layouts, narrow enough that each change above is caught (how it was measured:
``bench/bench_replay_tolerance.py`` and ARCHITECTURE.md).

What a signature cannot see: the order of examples after the first epoch (it depends on how many
random numbers the views of the first epoch drew, which only training computes) and steps after
the first few; a change that alters only those is caught by neither.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
import warnings
from dataclasses import asdict, replace
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ssl_lib import train as engine
from ssl_lib.storage import key_of

#: Optimisation steps replayed per training run.
SIGNATURE_STEPS = 2
#: Test images whose features at initialisation a run's signature records (their first values).
FEATURE_IMAGES = 8
FEATURE_VALUES = 16
#: The slice that scores the network at initialisation: training and test images per class.
PROBE_BANK_PER_CLASS, PROBE_TEST_PER_CLASS = 50, 20
#: How far a replayed number may be from its stored value, relative to the larger of the two,
#: and the absolute floor below which two numbers count as equal (both measured; see above).
RELATIVE_TOLERANCE = 1e-3
ABSOLUTE_TOLERANCE = 1e-5
#: Accuracies (and what is computed from them) count test images, and a rounding difference in
#: float32 flips a few of them: with one thread instead of two, the linear probe of the network at
#: initialisation moved by 2 of 200 test images, an analysis probe by 1 of 500. Numbers whose
#: place names a kNN or probe score agree within this absolute difference (2 of 200 images pass,
#: 3 fail).
ACCURACY_TOLERANCE = 0.0125
ACCURACY_NAMES = ("knn", "probe")
#: A t-SNE embedding is the end of a chaotic optimisation: features that moved by 1e-6 (the
#: network's convolutions in channels-last instead of the contiguous layout) moved the silhouette
#: of chapter 06's t-SNE of the network at initialisation by 0.006 and 0.014 (seeds 1 and 0). Numbers
#: whose place names a t-SNE quantity agree within this absolute difference (3.5 times the larger).
TSNE_TOLERANCE = 0.05
TSNE_NAMES = ("tsne",)
#: The coordinates of a t-SNE embedding (measurements under these keys) move by whole units under
#: the same 1e-6 change: they are compared by their shape only, their silhouette within
#: :data:`TSNE_TOLERANCE`.
COORDINATE_KEYS = ("tsne",)
#: Top-level measurements that name runs by their cache keys (which hash the source text) or
#: report time: not part of what an analysis computes.
UNCOMPARED = ("runs",)


def run_id(config: engine.TrainConfig) -> str:
    """A name for the run of ``config`` that survives a code change: a hash of every setting and
    the resolved augmentation (:func:`ssl_lib.train.config_key` also hashes the source text)."""
    return key_of(asdict(config), asdict(config.augmentation()))


def learning_rates(run: engine.Run) -> dict[str, list[float]]:
    """The learning rate of every step of ``run`` (:meth:`ssl_lib.train.Run.learning_rate`, what
    the engine sets), summarised per epoch by its first step and its mean over the epoch's steps."""
    first, mean = [], []
    for epoch in range(run.config.epochs):
        rates = [run.learning_rate(s) for s in range(epoch * run.steps_per_epoch, (epoch + 1) * run.steps_per_epoch)]
        first.append(rates[0])
        mean.append(math.fsum(rates) / len(rates))
    return {"first": first, "mean": mean}


def run_signature(config: engine.TrainConfig) -> dict[str, Any]:
    """The replay signature of the training run of ``config`` (module docstring), in float32 on
    the CPU; a few seconds for the medium scale's networks."""
    run = engine.setup(config, "cpu", "float32")
    signature: dict[str, Any] = {"steps_per_epoch": run.steps_per_epoch,
                                 "learning_rate": learning_rates(run)}
    run.model.eval()
    probe_config = replace(config, bank_per_class=PROBE_BANK_PER_CLASS, test_per_class=PROBE_TEST_PER_CLASS)
    bank_x, bank_y, test_x, test_y = engine.eval_images(probe_config, "cpu")
    with torch.no_grad():
        features = run.model.encoder(test_x[:FEATURE_IMAGES])
    signature["initial_features"] = features.flatten(1)[:, :FEATURE_VALUES].tolist()
    signature["initial_feature_norm"] = features.flatten(1).norm(dim=1).tolist()
    knn, probe, *_ = engine.evaluate_model(run.model, bank_x, bank_y, test_x, test_y,
                                           k=min(config.knn_k, len(bank_y)), precision="float32")
    signature["initial_knn"], signature["initial_probe"] = knn, probe
    order = run.epoch_order()  # the first epoch's, drawn before any view as in train.train
    signature["first_epoch_order"] = hashlib.sha256(order.numpy().tobytes()).hexdigest()[:16]
    run.model.train()
    losses, updates = [], []
    for step in range(SIGNATURE_STEPS):
        before = torch.cat([p.detach().flatten().clone() for p in run.model.parameters()])
        loss, _ = engine.train_step(run, order[step * config.batch_size:(step + 1) * config.batch_size], step)
        after = torch.cat([p.detach().flatten() for p in run.model.parameters()])
        losses.append(loss.item())
        updates.append((after - before).norm().item())
    signature["losses"], signature["update_norms"] = losses, updates
    return signature


# ----------------------------------------------------------------------------------------------
# The analysis probe
# ----------------------------------------------------------------------------------------------

#: Constant stand-ins for what training would have measured, so that an analysis replays exactly.
_PROBE_WALL_S = 60.0


def untrained_result(config: engine.TrainConfig, device: torch.device | str | None = None,
                     **_: Any) -> engine.TrainResult:
    """A stand-in for :func:`ssl_lib.train.train` that trains nothing: the network of ``config`` at
    initialisation, with a history of the same shape whose numbers are fixed stand-ins (distinct
    per run, so that an analysis that ranks runs still ranks them)."""
    model = engine.build_model(config).to(device or "cpu").eval()
    evaluated = ([0] if config.eval_every else []) + [
        e for e in range(1, config.epochs + 1)
        if (config.eval_every and e % config.eval_every == 0) or e == config.epochs]
    level = 0.2 + 0.6 * int(run_id(config)[:4], 16) / 0xFFFF
    history = {"epoch": evaluated, "knn": [level] * len(evaluated), "probe": [level + 0.05] * len(evaluated),
               "loss": [1.0 + level] * config.epochs, "images_per_s": [100.0] * config.epochs,
               "epoch_s": [_PROBE_WALL_S / config.epochs] * config.epochs, "augment_share": [0.25] * config.epochs}
    return engine.TrainResult(config, engine.config_key(config), model, history, _PROBE_WALL_S, "probe", "float32")


@contextlib.contextmanager
def untrained_runs() -> Iterator[None]:
    """Within this block, :func:`ssl_lib.train.train` (and every ``ssl_lib`` module's imported name
    for it) returns :func:`untrained_result` instead of training or reading a cached run."""
    original = engine.train
    holders = [module for name, module in list(sys.modules.items())
               if name.startswith("ssl_lib") and getattr(module, "train", None) is original]
    try:
        for module in holders:
            module.train = untrained_result
        engine.train = untrained_result
        yield
    finally:
        for module in holders:
            module.train = original
        engine.train = original


def analysis_probe(measure: Callable[[str, int], dict], seed: int) -> dict[str, Any]:
    """An experiment's measurements (``measure(scale, seed)``) at the quick scale with untrained
    networks (:func:`untrained_runs`), without the entries of :data:`UNCOMPARED`."""
    with untrained_runs(), torch.random.fork_rng(), warnings.catch_warnings(), _quiet_progress():
        warnings.simplefilter("ignore")  # untrained networks' constant stand-ins warn (constant inputs)
        measurements = measure("quick", seed)
    return {k: v for k, v in measurements.items() if k not in UNCOMPARED}


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """No tqdm progress bar within this block (``TQDM_DISABLE``): a probe is not a wait."""
    before = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["TQDM_DISABLE"]
        else:
            os.environ["TQDM_DISABLE"] = before


# ----------------------------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------------------------

def close(a: float, b: float, where: str = "") -> bool:
    """Whether two replayed numbers agree within :data:`RELATIVE_TOLERANCE` (NaN equals NaN), or
    within :data:`ACCURACY_TOLERANCE` or :data:`TSNE_TOLERANCE` when their place ``where`` names
    an accuracy or a t-SNE quantity."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=absolute_tolerance(where))


def absolute_tolerance(where: str) -> float:
    """The absolute tolerance of a number at place ``where`` (see :func:`close`)."""
    where = where.lower()
    if any(name in where for name in TSNE_NAMES):
        return TSNE_TOLERANCE
    return ACCURACY_TOLERANCE if any(name in where for name in ACCURACY_NAMES) else ABSOLUTE_TOLERANCE


def first_difference(stored: Any, replayed: Any, where: str = "") -> str | None:
    """The first place where ``replayed`` differs from ``stored`` (JSON-like values; numbers within
    :func:`close`; embedding coordinates, under :data:`COORDINATE_KEYS`, by their shape), as
    ``"where: stored -> replayed"``, or None when they agree."""
    if isinstance(stored, bool) or isinstance(replayed, bool) or stored is None or replayed is None:
        same = type(stored) is type(replayed) and stored == replayed
    elif isinstance(stored, (int, float)) and isinstance(replayed, (int, float)):
        same = close(float(stored), float(replayed), where)
    elif isinstance(stored, dict) and isinstance(replayed, dict):
        if list(stored) != list(replayed):
            return f"{where or 'the entries'}: keys {sorted(stored)} -> {sorted(replayed)}"
        for key in stored:
            place = f"{where}[{key!r}]" if where else key
            found = (_shape_difference(stored[key], replayed[key], place) if key in COORDINATE_KEYS
                     else first_difference(stored[key], replayed[key], place))
            if found:
                return found
        return None
    elif isinstance(stored, (list, tuple)) and isinstance(replayed, (list, tuple)):
        if len(stored) != len(replayed):
            return f"{where}: {len(stored)} entries -> {len(replayed)}"
        for i, (a, b) in enumerate(zip(stored, replayed)):
            found = first_difference(a, b, f"{where}[{i}]")
            if found:
                return found
        return None
    else:
        same = stored == replayed
    return None if same else f"{where}: {_short(stored)} -> {_short(replayed)}"


def _shape_difference(stored: Any, replayed: Any, where: str) -> str | None:
    """Where two nested lists of numbers differ in shape, or None."""
    shapes = [tuple(np.shape(value)) for value in (stored, replayed)]
    return None if shapes[0] == shapes[1] else f"{where}: shape {shapes[0]} -> {shapes[1]}"


def _short(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
