"""Augmentation throughput: ssl_lib's batched pipeline against torchvision's per-image transforms.

Both make the two views of SimCLR's CIFAR-10 recipe (random resized crop, flip, colour jitter
with probability 0.8, grayscale with probability 0.2) for the same real CIFAR-10 images, in one
run, on the CPU (and on the GPU too, when there is one, for the batched pipeline).

    python bench/bench_augment.py [--images 4096] [--batch 512]

Prints images per second of each and their ratio. Goal: at least 10x on the CPU. Both run on
one CPU thread by default (``--threads``), as one DataLoader worker would: the comparison is
per core, and it stays fair on a machine that other jobs share.
"""

from __future__ import annotations

import argparse
import time

import torch
from torchvision import transforms as T
from tqdm import tqdm

from ssl_lib.augment import preset, two_views
from ssl_lib.data import load_cifar10
from ssl_lib.runtime import describe_device


def torchvision_simclr(config) -> T.Compose:
    """The per-image torchvision pipeline doing the same operations as ``config``."""
    return T.Compose([
        T.RandomResizedCrop(config.size, scale=config.crop_scale, ratio=config.crop_ratio, antialias=True),
        T.RandomHorizontalFlip(config.flip),
        T.RandomApply([T.ColorJitter(config.brightness, config.contrast, config.saturation, config.hue)],
                      p=config.jitter),
        T.RandomGrayscale(config.grayscale),
        T.ToTensor(),
    ])


def per_image_throughput(images, config) -> float:
    """Images per second of torchvision on PIL images, as a DataLoader worker would do it."""
    from PIL import Image

    pil = [Image.fromarray(a) for a in images]
    transform = torchvision_simclr(config)
    start = time.perf_counter()
    for img in tqdm(pil, desc="torchvision per image", mininterval=2):
        transform(img), transform(img)
    return len(pil) / (time.perf_counter() - start)


def batched_throughput(images, config, batch: int, device: str) -> float:
    """Images per second of :func:`ssl_lib.augment.two_views` on batches of ``batch`` images."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
    g = torch.Generator().manual_seed(0)
    two_views(x[:batch], config, g)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in tqdm(range(0, len(x), batch), desc=f"batched on {device}", mininterval=2):
        two_views(x[i:i + batch], config, g)
    if device == "cuda":
        torch.cuda.synchronize()
    return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = load_cifar10("train").images[: args.images]
    config = preset("simclr")
    print(f"{describe_device(torch.device('cpu'))}; {len(images)} CIFAR-10 images, two views each")
    slow = per_image_throughput(images, config)
    fast = batched_throughput(images, config, args.batch, "cpu")
    print(f"torchvision per image (PIL):   {slow:9.0f} images/s")
    print(f"ssl_lib batched, CPU:          {fast:9.0f} images/s   ratio {fast / slow:.1f}x")
    if torch.cuda.is_available():
        gpu = batched_throughput(images, config, args.batch, "cuda")
        print(f"ssl_lib batched, {describe_device()}: {gpu:9.0f} images/s   ratio {gpu / slow:.1f}x")


if __name__ == "__main__":
    main()
