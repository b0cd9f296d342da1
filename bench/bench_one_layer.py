"""Training speed of the one-layer learner of chapter 04: SGD steps per second at both scales.

One step draws a batch from the sparse-coding model, makes two masked views, and takes an SGD
step on InfoNCE of the symmetric-ReLU features (``ssl_lib.one_layer.train_one_layer``, which
runs on one CPU thread: its matrices are small). Sizes are those of the registered experiment
``one_layer_feature_learning`` at the quick and the full scale.

    python bench/bench_one_layer.py [--steps-quick 300] [--steps-full 60]

Prints steps per second on the CPU, and on the GPU too when there is one.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from ssl_lib import sparse_coding
from ssl_lib.experiments.one_layer_learner import learner_config
from ssl_lib.experiments.sparse_coding import data_model
from ssl_lib.one_layer import train_one_layer
from ssl_lib.runtime import describe_device


def steps_per_second(scale: str, steps: int, device: str) -> float:
    """SGD steps per second of the learner at ``scale`` on ``device`` (after a short warm-up)."""
    g = torch.Generator().manual_seed(0)
    data = data_model(scale, g)
    config = dataclasses.replace(learner_config(scale), steps=steps, record_every=steps)
    warm_up = dataclasses.replace(config, steps=5, record_every=5)
    train_one_layer(data, sparse_coding.masking(), warm_up, g, device=device)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    train_one_layer(data, sparse_coding.masking(), config, g, device=device, progress=True)
    if device == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-quick", type=int, default=300)
    parser.add_argument("--steps-full", type=int, default=60)
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for scale, steps in (("quick", args.steps_quick), ("full", args.steps_full)):
            config = learner_config(scale)
            rate = steps_per_second(scale, steps, device)
            label = describe_device(torch.device(device)) if device == "cuda" else "cpu (1 thread)"
            print(f"{scale:5s} m={config.m:3d} batch={config.batch:3d} on {label}: {rate:8.1f} steps/s "
                  f"({config.steps} steps: {config.steps / rate:6.1f} s)")


if __name__ == "__main__":
    main()
