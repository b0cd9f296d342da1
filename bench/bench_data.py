"""How long CIFAR-10 takes to load: the first decode of the mirror against the cached load.

    SSL_LIB_CIFAR10=../shared/data/cifar10 python bench/bench_data.py

Uses a fresh cache folder, so the first load really decodes the JPEG archive.
"""

import os
import tempfile
import time

from ssl_lib import data


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ[data.CACHE_ENV] = folder
        timings = {}
        for attempt in ("first (verify + decode + cache)", "second (cache)", "third (cache)"):
            start = time.perf_counter()
            train = data.load_cifar10("train")
            timings[attempt] = time.perf_counter() - start
        for attempt, seconds in timings.items():
            print(f"train split, {len(train):,} images, {attempt:32s} {seconds:7.2f} s")
        first, cached = timings["first (verify + decode + cache)"], timings["third (cache)"]
        print(f"cached load is {first / cached:.0f}x faster than the first decode")


if __name__ == "__main__":
    main()
