"""Chapter 06 (feature decoupling on CIFAR-10): what its runs cost, and whether the full scale
fits its budget of 30 minutes on one GPU.

Measures, on the current device:

* the training throughput of the chapter's AlexNet SimCLR step at each scale (the step of
  ``bench_simclr_step.py``; on a CPU the full scale's batch is cut to ``--cpu-full-batch``);
* the projected training time of the whole chapter at each scale: its six trainings (five
  augmentation sets and the supervised network; the sparsity and selectivity experiments reload
  those runs) times epochs times images, divided by the throughput;
* reading the responses of conv2-conv5 with forward hooks in one pass
  (:func:`ssl_lib.firing.layer_responses`) against one pass per layer: the ratio;
* the t-SNE of each scale's test points (:func:`ssl_lib.experiments.feature_decoupling_cifar.tsne_embedding`),
  which runs on the CPU at every scale (scikit-learn).

On a CPU the full scale's batch is cut to ``--cpu-full-batch`` and its responses are read for
500 images, once; ``--scales quick`` skips the full scale.

    python bench/bench_decoupling.py [--steps 5] [--scales quick full]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from bench_simclr_step import step_throughput
from ssl_lib import firing
from ssl_lib.data import load_cifar10
from ssl_lib.experiments import feature_decoupling_cifar as fd
from ssl_lib.precision import default_precision
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.scale import by_scale
from ssl_lib.train import build_model

TRAININGS = len(fd.AUGMENTATION_SETS) + 1  # the five SimCLR runs and the supervised one


def projected_training_minutes(config, images_per_second: float) -> float:
    """Minutes for the chapter's trainings at this throughput (a supervised step costs about
    half a SimCLR step, which this projection ignores: it is an upper estimate)."""
    images = (config.train_per_class or 5000) * 10
    return TRAININGS * config.epochs * images / images_per_second / 60


def response_reading_ratio(config, device: torch.device, n: int, repeats: int = 3) -> tuple[float, float]:
    """Seconds to read conv2-conv5 in one hooked pass, and the ratio of one pass per layer to it."""
    encoder = build_model(config).encoder.to(device)
    images = load_cifar10("test").tensors(device)[0][:n]

    def best_of(read) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            read()
            times.append(time.perf_counter() - start)
        return min(times)

    together = best_of(lambda: firing.layer_responses(encoder, images, fd.HIGHER_LAYERS))
    apart = best_of(lambda: [firing.layer_responses(encoder, images, (layer,)) for layer in fd.HIGHER_LAYERS])
    return together, apart / together


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--cpu-full-batch", type=int, default=64)
    parser.add_argument("--scales", nargs="+", choices=("quick", "full"), default=("quick", "full"))
    args = parser.parse_args()
    device = default_device()
    print(f"device: {describe_device(device)}, {default_precision(device)}")
    for scale in args.scales:
        config = fd.base_config(scale)
        cut = scale == "full" and device.type == "cpu"
        if cut:
            config = replace(config, batch_size=args.cpu_full_batch)
        rate, share = step_throughput(config, device, default_precision(device), args.steps)
        print(f"{scale:5s}: SimCLR step at batch {config.batch_size}: {rate:7.0f} images/s "
              f"(augmentation {share:.0%}); {TRAININGS} trainings of {config.epochs} epochs: "
              f"about {projected_training_minutes(config, rate):.1f} min of training")
        n = 500 if cut else by_scale(scale, quick=500, full=2000)
        seconds, ratio = response_reading_ratio(config, device, n, repeats=1 if cut else 3)
        print(f"{scale:5s}: responses of conv2-conv5 for {n} images: {seconds:.2f} s in one hooked "
              f"pass; one pass per layer takes {ratio:.1f}x as long")
        points = by_scale(scale, quick=300, full=2000)
        features = torch.randn(points, config.encoder_kwargs["fc_dim"], generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        fd.tsne_embedding(features)
        print(f"{scale:5s}: t-SNE of {points} points of dimension {features.shape[1]}: "
              f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
