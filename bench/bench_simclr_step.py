"""Training throughput of one SimCLR step at each scale, and the share of it spent augmenting.

A step is what :func:`ssl_lib.train.train` does per batch: two views of each image by
:func:`ssl_lib.augment.two_views`, a forward pass of the 2N views, NT-Xent, backward, SGD/AdamW.
The configurations are the chapter's (:func:`ssl_lib.experiments.simclr.simclr_config`); on a
CPU the full scale's batch is cut to ``--cpu-full-batch`` images (ResNet-18 at batch 512 takes
minutes per step there).

    python bench/bench_simclr_step.py [--steps 10]

Prints images per second (each image gives two views) and the augmentation's share.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch
from tqdm import tqdm

from ssl_lib import augment as aug
from ssl_lib.data import load_cifar10
from ssl_lib.experiments.simclr import simclr_config
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.train import OBJECTIVES, build_model


def step_throughput(config, device: torch.device, steps: int) -> tuple[float, float]:
    """(images per second, share of the step time in augmentation) over ``steps`` steps."""
    model = build_model(config).to(device).train()
    on_gpu = device.type == "cuda"
    if on_gpu:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    images = load_cifar10("train").tensors(device)[0][: 8 * config.batch_size]
    labels = torch.zeros(len(images), dtype=torch.long, device=device)
    augmentation, g = config.augmentation(), torch.Generator().manual_seed(0)
    loss_fn = OBJECTIVES[config.objective].loss

    def sync():
        if on_gpu:
            torch.cuda.synchronize()

    augment_s = total_s = 0.0
    for i in tqdm(range(steps + 2), desc=f"{config.encoder} batch {config.batch_size}", mininterval=2):
        idx = torch.randint(len(images), (config.batch_size,), generator=g).to(device)
        sync()
        t0 = time.perf_counter()
        v1, v2 = aug.two_views(images[idx], augmentation, g)
        if on_gpu:
            v1, v2 = (v.contiguous(memory_format=torch.channels_last) for v in (v1, v2))
        sync()
        t1 = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=on_gpu):
            loss = loss_fn(model, v1, v2, labels[idx], config)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sync()
        if i >= 2:  # the first two steps warm up
            augment_s += t1 - t0
            total_s += time.perf_counter() - t0
    return steps * config.batch_size / total_s, augment_s / total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cpu-full-batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = default_device()
    print(f"device: {describe_device(device)}")
    for scale in ("quick", "full"):
        config = simclr_config(scale)
        if scale == "full" and device.type == "cpu":
            config = replace(config, batch_size=args.cpu_full_batch)
        rate, share = step_throughput(config, device, args.steps)
        print(f"{scale:5s} ({config.encoder}, {config.augmentation().size}x{config.augmentation().size}, "
              f"batch {config.batch_size}): {rate:8.0f} images/s, augmentation {share:.0%} of the step")


if __name__ == "__main__":
    main()
