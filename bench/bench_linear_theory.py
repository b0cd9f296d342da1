"""Speed of the linear theory chapter's building blocks (ssl_lib.linear_theory), measured in one run.

    python bench/bench_linear_theory.py

Prints (1) the linear contrastive loss from batch sums, O(B k), against the same loss through the
full B x B similarity matrix, O(B^2 k), forward and backward; (2) one training step and a whole
training run against the closed-form diagonal-deleted estimator they approximate.
"""

from __future__ import annotations

import time

import torch

from ssl_lib import linear_theory as lt


def similarity_matrix_loss(W, x1, x2, reg):
    """The same loss through the (B, B) similarity matrix, as it is usually written."""
    sim = (x1 @ W.T) @ (x2 @ W.T).T
    b = len(sim)
    off = ~torch.eye(b, dtype=torch.bool)
    return -sim.diagonal().mean() + sim[off].mean() + reg / 2 * (W.T @ W).square().sum()


def per_call(fn, repeats):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    g = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, one CPU thread (as the chapter runs)")
    with lt.single_thread():
        d, k = 50, 5
        for b in (256, 1024, 4096):
            x1, x2 = torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)
            W = torch.randn(k, d, generator=g, requires_grad=True)

            def fast():
                lt.linear_contrastive_loss(W, x1, x2, 0.1).backward()

            def slow():
                similarity_matrix_loss(W, x1, x2, 0.1).backward()

            torch.testing.assert_close(lt.linear_contrastive_loss(W, x1, x2, 0.1), similarity_matrix_loss(W, x1, x2, 0.1))
            t_fast, t_slow = per_call(fast, 50), per_call(slow, 3 if b > 1024 else 10)
            print(f"loss + backward, B = {b:5d}: batch sums {t_fast * 1e3:7.2f} ms, similarity matrix "
                  f"{t_slow * 1e3:8.2f} ms, speed-up x{t_slow / t_fast:.1f}")
        model = lt.spiked_covariance_model(d, k, heteroskedasticity=20.0, generator=g)
        x, _ = model.sample(8000, g)
        start = time.perf_counter()
        W, _ = lt.train_linear_contrastive(x, k, steps=300, batch_size=1024, lr=0.1, generator=g)
        t_train = time.perf_counter() - start
        t_closed = per_call(lambda: lt.diagonal_deleted_subspace(x, k), 20)
        gap = lt.subspace_error(W.T, lt.diagonal_deleted_subspace(x, k)).item()
        print(f"n = 8000, d = {d}: 300 training steps (batch 1024) {t_train:.2f} s = {t_train / 300 * 1e3:.2f} ms/step; "
              f"closed form {t_closed * 1e3:.2f} ms (x{t_train / t_closed:.0f} faster); subspace distance between them {gap:.3f}")


if __name__ == "__main__":
    main()
