"""The toy model of chapter 08: training steps per second, and why it runs on one thread.

    python bench/bench_prediction_head.py

``ssl_lib.prediction_head.train_toy`` switches torch to one thread while it trains: its tensors
are tiny, and on a CPU shared with other work several threads cost more than they save. This
script times the same quick-scale run both ways, in one process.
"""

import time

import torch

from ssl_lib import prediction_head as ph
from ssl_lib.experiments.prediction_head import toy_config


def steps_per_second(threads: int, steps: int = 200) -> float:
    config = toy_config("quick", "offdiag", steps=steps)
    torch.set_num_threads(threads)
    start = time.perf_counter()
    ph._train_toy(config, seed=0, progress=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    default = torch.get_num_threads()
    one = steps_per_second(1)
    many = steps_per_second(default)
    torch.set_num_threads(default)
    print(f"toy model, quick scale (batch 256): {one:.0f} steps/s on 1 thread, "
          f"{many:.0f} steps/s on {default} threads; one thread is {one / many:.1f}x faster")
    config = toy_config("quick", "offdiag")
    print(f"one quick-scale run ({config.steps} steps) takes about {config.steps / one:.1f} s; "
          f"the experiment trains 8 runs (2 heads x 4 seeds)")


if __name__ == "__main__":
    main()
