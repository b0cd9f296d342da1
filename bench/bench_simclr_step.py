"""Training throughput of the SimCLR step, by scale and by precision, and the share spent augmenting.

A step is :func:`ssl_lib.train.train_step`, the function the engine trains with: two views of
each image by :func:`ssl_lib.augment.two_views`, a forward pass of the 2N views, NT-Xent,
backward, the optimiser. The configurations are the chapter's
(:func:`ssl_lib.experiments.simclr.simclr_config`); on a CPU the full scale's batch is cut to
``--cpu-full-batch`` images (ResNet-18 at batch 512 takes minutes per step there).

    python bench/bench_simclr_step.py [--steps 20] [--scales quick medium full] [--medium-widths 64]

For each scale it prints images per second (each image gives two views) and the augmentation's
share in float32 and in the hardware's reduced precision (bfloat16 on a CPU with AVX-512 BF16
or AMX), measured in one run, and their ratio; then the medium recipe at other ConvNet widths,
in the reduced precision (what a wider network would cost).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch
from tqdm import tqdm

from ssl_lib import precision as prec
from ssl_lib.experiments.simclr import simclr_config
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.train import setup, train_step


def step_throughput(config, device: torch.device, precision: str, steps: int) -> tuple[float, float]:
    """(images per second, share of the step time in augmentation) over ``steps`` engine steps."""
    run = setup(config, device, precision)
    run.model.train()
    g = torch.Generator().manual_seed(0)
    augment_s = total_s = 0.0
    for i in tqdm(range(steps + 2), desc=f"{config.encoder} batch {config.batch_size} {precision}", mininterval=2):
        batch = torch.randint(len(run.images), (config.batch_size,), generator=g).to(device)
        start = time.perf_counter()
        loss, seconds = train_step(run, batch, step=0)
        loss.item()  # waits for the step to finish
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:  # the first two steps warm up
            augment_s += seconds
            total_s += time.perf_counter() - start
    return steps * config.batch_size / total_s, augment_s / total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scales", nargs="+", default=["quick", "medium", "full"])
    parser.add_argument("--cpu-full-batch", type=int, default=32)
    parser.add_argument("--medium-widths", type=int, nargs="*", default=[64],
                        help="other ConvNet widths to measure the medium recipe at")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = default_device()
    reduced = prec.default_precision(device)
    print(f"device: {describe_device(device)}; reduced precision here: {reduced}")
    for scale in args.scales:
        config = simclr_config(scale)
        if scale == "full" and device.type == "cpu":
            config = replace(config, batch_size=args.cpu_full_batch)
        size = config.augmentation().size
        rates = {}
        for precision in dict.fromkeys(("float32", reduced)):
            rates[precision], share = step_throughput(config, device, precision, args.steps)
            print(f"{scale:6s} ({config.encoder}, {size}x{size}, batch {config.batch_size}) {precision:8s}: "
                  f"{rates[precision]:8.0f} images/s, augmentation {share:.0%} of the step")
        if reduced != "float32":
            print(f"{scale:6s} {reduced} / float32: {rates[reduced] / rates['float32']:.2f}x")
    medium = simclr_config("medium")
    for width in args.medium_widths:
        config = replace(medium, encoder_kwargs={**medium.encoder_kwargs, "width": width})
        rate, share = step_throughput(config, device, reduced, args.steps)
        print(f"medium at width {width} {reduced}: {rate:8.0f} images/s, augmentation {share:.0%} of the step")


if __name__ == "__main__":
    main()
