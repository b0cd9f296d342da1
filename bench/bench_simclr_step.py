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

    python bench/bench_simclr_step.py [--steps 20] [--scale medium] [--compile] [--record] [--roofline]

``--roofline`` also counts the floating-point operations of one step (``torch.utils.flop_counter``:
the convolutions and matrix products, forward and backward) and times a large matrix product in
float32 (and bfloat16 where the CPU computes it natively), to say what share of this machine's
matrix-product rate each path reaches: how much a faster float32 path could still buy.

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


def step_flops_per_image(config, device: torch.device) -> float:
    """Floating-point operations of one training step (forward and backward) per image, in float32."""
    from torch.utils.flop_counter import FlopCounterMode

    run = setup(config, device, "float32")
    batch = torch.arange(config.batch_size, device=device)
    with FlopCounterMode(display=False) as counter:
        train_step(run, batch, step=0)
    return counter.get_total_flops() / config.batch_size


def matmul_rate(dtype: torch.dtype, device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Floating-point operations per second of a ``size`` x ``size`` matrix product in ``dtype``,
    by the median of ``repeats`` products after one warm-up."""
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        (a @ b).sum().item()
        if i:
            times.append(time.perf_counter() - start)
    return 2 * size ** 3 / statistics.median(times)


def roofline(config, device: torch.device, rates: dict[str, tuple[float, dict]]) -> None:
    """Print each path's achieved operations per second and its share of the matrix-product rate
    of its number format on this machine."""
    flops = step_flops_per_image(config, device)
    peaks = {"float32": matmul_rate(torch.float32, device)}
    if prec.default_precision(device) == "bfloat16":
        peaks["bfloat16"] = matmul_rate(torch.bfloat16, device)
    print(f"  one step: {flops / 1e9:.2f} GFLOP per image; matrix product 2048 x 2048: "
          + ", ".join(f"{dtype} {rate / 1e9:.0f} GFLOP/s" for dtype, rate in peaks.items()))
    for label, (rate, _) in rates.items():
        achieved = rate * flops
        dtype = label.split(",")[0]
        print(f"  {label:38s} {achieved / 1e9:5.0f} GFLOP/s, {achieved / peaks[dtype]:.0%} of the {dtype} "
              "matrix product's rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile on the network")
    parser.add_argument("--record", action="store_true", help="write the engine path's rate for the cost lines")
    parser.add_argument("--roofline", action="store_true", help="also each path's share of the matrix-product rate")
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
        if args.roofline:
            roofline(config, device, rates)
        if recipe == "SimCLR":
            simclr_rates = {label.removesuffix(" (engine)"): rate for label, (rate, _) in rates.items()}
    if args.record and args.scale == "medium":
        for label in costs.recorded_paths(device):
            costs.record_step_throughput(label, simclr_rates[label], describe_device(device))
            print(f"recorded {simclr_rates[label]:.0f} images/s for {label} in {costs.STEP_THROUGHPUT_FILE}")


if __name__ == "__main__":
    main()
