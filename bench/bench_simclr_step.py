"""Training throughput of the SimCLR and SimSiam steps on this machine, by path, with the share of each phase.

A step is :func:`ssl_lib.train.train_step`, the function the engine trains with: the views
(:func:`ssl_lib.augment.two_views`), the forward pass of the 2N views and the loss, the
backward pass, the optimiser. The recipes are the book's medium ones: chapter 02's SimCLR
(:func:`ssl_lib.experiments.simclr.simclr_config`) and chapter 08's SimSiam with the
off-diagonal head (:func:`ssl_lib.experiments.prediction_head.cifar_config`).

A *path* is a precision and a memory layout (and, with ``--compile``, ``torch.compile`` on the
network). The engine picks its path from the hardware (:func:`ssl_lib.precision.default_precision`,
:func:`ssl_lib.precision.memory_format`); the others are measured beside it. The steps of all
paths are interleaved, one step of each in turn, and each path is timed by its median step, so
that a shared machine whose speed drifts slows every path alike.

    python bench/bench_simclr_step.py [--steps 20] [--scale medium] [--compile] [--record]

``--record`` writes the engine path's SimCLR images per second to
``ssl_lib/results/step_throughput.json``, which the chapters' cost lines scale stored training
times by (:func:`ssl_lib.costs.expected_time`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from tqdm import tqdm

from ssl_lib import costs
from ssl_lib import precision as prec
from ssl_lib.experiments.prediction_head import cifar_config
from ssl_lib.experiments.simclr import simclr_config
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.train import setup, train_step

PHASES = ("augmentation", "forward", "backward", "optimiser")


def paths(device: torch.device, compile_too: bool) -> dict[str, tuple[str, torch.memory_format, bool]]:
    """label -> (precision, layout, compiled) of every path measured here, the engine's first."""
    engine = prec.default_precision(device)
    candidates = [(engine, prec.memory_format(engine, device)),
                  ("float32", torch.contiguous_format), ("float32", torch.channels_last)]
    found = {}
    for precision, layout in dict.fromkeys(candidates):
        label = prec.path_label(precision, layout) + ("" if found else " (engine)")
        found[label] = (precision, layout, False)
    if compile_too:
        layout = prec.memory_format("float32", device)
        found[prec.path_label("float32", layout) + ", compiled"] = ("float32", layout, True)
    return found


def interleaved_throughput(config, device: torch.device, measured: dict, steps: int) -> dict[str, tuple[float, dict]]:
    """label -> (images per second by the median step, phase -> share of the step time)."""
    runs = {}
    for label, (precision, layout, compiled) in measured.items():
        run = setup(config, device, precision)
        run.memory_format = layout
        run.model.to(memory_format=layout).train()
        if compiled:
            run.model = torch.compile(run.model)
        runs[label] = run
    times = {label: [] for label in runs}
    phases = {label: dict.fromkeys(PHASES, 0.0) for label in runs}
    g = torch.Generator().manual_seed(0)
    for i in tqdm(range(steps + 2), desc=f"{config.objective} {config.encoder}", mininterval=5):
        batch = torch.randint(len(next(iter(runs.values())).images), (config.batch_size,), generator=g)
        for label, run in runs.items():
            start = time.perf_counter()
            loss, _ = train_step(run, batch.to(device), step=0, phases=phases[label] if i >= 2 else None)
            loss.item()  # waits for the step to finish
            if i >= 2:  # the first two steps warm up (and compile)
                times[label].append(time.perf_counter() - start)
    return {label: (config.batch_size / statistics.median(times[label]),
                    {p: s / sum(phases[label].values()) for p, s in phases[label].items()}) for label in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile on the network")
    parser.add_argument("--record", action="store_true", help="write the engine path's rate for the cost lines")
    args = parser.parse_args()
    device = default_device()
    measured = paths(device, args.compile)
    print(f"device: {describe_device(device)}")
    recipes = {"SimCLR": simclr_config(args.scale), "SimSiam": cifar_config(args.scale, "offdiag")}
    simclr_rates = {}
    for recipe, config in recipes.items():
        rates = interleaved_throughput(config, device, measured, args.steps)
        before = prec.path_label("float32", torch.contiguous_format)  # the CPU's path before 2026-12-07
        baseline = next(rate for label, (rate, _) in rates.items() if label.startswith(before))
        for label, (rate, shares) in rates.items():
            print(f"{recipe:7s} {args.scale} ({config.encoder}, batch {config.batch_size}) {label:38s} "
                  f"{rate:6.0f} images/s  {rate / baseline:4.2f}x  "
                  + ", ".join(f"{p} {share:.0%}" for p, share in shares.items()))
        if recipe == "SimCLR":
            simclr_rates = {label.removesuffix(" (engine)"): rate for label, (rate, _) in rates.items()}
    if args.record and args.scale == "medium":
        for label in costs.recorded_paths(device):
            costs.record_step_throughput(label, simclr_rates[label], describe_device(device))
            print(f"recorded {simclr_rates[label]:.0f} images/s for {label} in {costs.STEP_THROUGHPUT_FILE}")


if __name__ == "__main__":
    main()
