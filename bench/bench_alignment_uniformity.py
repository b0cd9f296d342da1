"""Cost of the direct objective against InfoNCE, and of Theorem 1's limit check.

For a batch of N pairs of D-dimensional unit features, times forward + backward of
``hypersphere.align_uniform_objective`` and of ``losses.info_nce`` (both O(N^2 D)), and the
time of ``hypersphere.limit_deviation`` for the chapter's quick setting.

    python bench/bench_alignment_uniformity.py [--threads 1] [--repeats 20]

Prints milliseconds per call and the ratio direct / InfoNCE per batch size, in one run.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ssl_lib import hypersphere as hs
from ssl_lib.experiments.alignment_uniformity import synthetic_pairs
from ssl_lib.losses import info_nce
from ssl_lib.runtime import describe_device


def ms_per_call(fn, repeats: int) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return 1000 * (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device: {describe_device(torch.device('cpu'))}, threads {args.threads}")
    g = torch.Generator().manual_seed(0)
    for n in tqdm((128, 512, 1024), desc="batch sizes"):
        z = torch.randn(2, n, 128, generator=g, requires_grad=True)

        def direct():
            z1, z2 = F.normalize(z[0], dim=1), F.normalize(z[1], dim=1)
            hs.align_uniform_objective(z1, z2).backward()

        def contrastive():
            info_nce(z[0], z[1], 0.5).backward()

        a, b = ms_per_call(direct, args.repeats), ms_per_call(contrastive, args.repeats)
        tqdm.write(f"N = {n:5d}, D = 128: align+uniform {a:7.2f} ms, InfoNCE {b:7.2f} ms, ratio {a / b:.2f}")
    fx, fy = synthetic_pairs(512, 16, 0.3, 8, g)
    start = time.perf_counter()
    hs.limit_deviation(fx, fy, fx, 0.5, [16, 64, 256, 1024, 4096], 4, g)
    print(f"limit_deviation (512 anchors, M up to 4096, 4 draws): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
