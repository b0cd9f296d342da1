"""How far a replay signature (:func:`ssl_lib.replay.run_signature`) moves when nothing that is
computed changes (threads, oneDNN, memory layout), against how far the changes it must catch move
it: the measurement behind :data:`ssl_lib.replay.RELATIVE_TOLERANCE`.

    python bench/bench_replay_tolerance.py [--configs simclr alexnet simsiam]

For each medium configuration it computes the signature once as the engine runs it (float32,
two threads, oneDNN on, the default memory layout), then under each variant, and prints the
largest relative difference of any number in the signature. The variants that must agree: one
thread; oneDNN off; the contiguous memory layout instead of channels-last. The changes that must be caught: every view black; the
learning rate of the second half of training halved; momentum 0.8 instead of 0.9.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from dataclasses import replace

import torch

from ssl_lib import augment, precision, replay
from ssl_lib import train as engine
from ssl_lib.experiments.feature_decoupling_cifar import augmentation_configs
from ssl_lib.experiments.prediction_head import cifar_config
from ssl_lib.experiments.simclr import simclr_config
from ssl_lib.runtime import single_thread

CONFIGS = {
    "simclr": lambda: simclr_config("medium", 0),
    "alexnet": lambda: next(iter(augmentation_configs("medium", 0).values())),
    "simsiam": lambda: cifar_config("medium", "offdiag", 0),
}


def largest_relative_difference(a, b) -> float:
    """The largest |x - y| / max(|x|, |y|) over the numbers of two signatures (inf where their
    structure or a non-number differs)."""
    if isinstance(a, dict):
        return max((largest_relative_difference(a[k], b.get(k)) for k in a), default=0.0)
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return math.inf
        return max((largest_relative_difference(x, y) for x, y in zip(a, b)), default=0.0)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        scale = max(abs(a), abs(b))
        return 0.0 if scale <= replay.ABSOLUTE_TOLERANCE else abs(a - b) / scale
    return 0.0 if a == b else math.inf


@contextlib.contextmanager
def onednn_off():
    with torch.backends.mkldnn.flags(enabled=False):
        yield


@contextlib.contextmanager
def patched(module, name, value):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def contiguous_layout():
    return patched(precision, "memory_format", lambda p, device: torch.contiguous_format)


def black_views():
    augment_views = augment.two_views
    return patched(augment, "two_views", lambda *a, **k: tuple(torch.zeros_like(v) for v in augment_views(*a, **k)))


def half_lr_second_half():
    cosine = engine.cosine_lr
    return patched(engine, "cosine_lr", lambda s, total, warm, peak: cosine(s, total, warm, peak) * (0.5 if s >= total // 2 else 1.0))


VARIANTS = {  # name -> (context, must it agree?)
    "one thread": (single_thread, True),
    "oneDNN off": (onednn_off, True),
    "contiguous layout": (contiguous_layout, True),
    "black views": (black_views, False),
    "lr x0.5 in the second half": (half_lr_second_half, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    args = parser.parse_args()
    print(f"tolerance: relative {replay.RELATIVE_TOLERANCE:g}, absolute {replay.ABSOLUTE_TOLERANCE:g}; "
          f"{torch.get_num_threads()} threads")
    print(f"{'configuration':10s} {'variant':28s} {'largest rel. difference':>24s}  verdict")
    for name in args.configs:
        config = CONFIGS[name]()
        reference = replay.run_signature(config)
        variants = {k: (v[0], v[1], config) for k, v in VARIANTS.items()}
        variants["momentum 0.8"] = (contextlib.nullcontext, False, replace(config, momentum=0.8))
        for variant, (context, must_agree, changed) in variants.items():
            with context():
                signature = replay.run_signature(changed)
            if variant == "momentum 0.8":  # the configuration differs: compare what it computes
                signature["first_epoch_order"] = reference["first_epoch_order"]
            difference = largest_relative_difference(reference, signature)
            caught = replay.first_difference(reference, signature) is not None
            ok = caught != must_agree
            print(f"{name:10s} {variant:28s} {difference:24.2e}  "
                  f"{'agrees' if not caught else 'differs'} ({'as it must' if ok else 'WRONG'})")


if __name__ == "__main__":
    main()
