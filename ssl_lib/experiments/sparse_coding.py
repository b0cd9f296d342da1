"""Chapter 03's experiment (Wen & Li 2021): feature decoupling in the sparse-coding model.

* ``feature_decoupling``: for each augmentation, the cross-view correlation of the sparse and of
  the dense part of the data, measured and in closed form.

The data of each scale is :func:`data_model`, which chapter 04's experiment uses too.
"""

from __future__ import annotations

import torch

from ssl_lib import sparse_coding
from ssl_lib.experiments.claims import claim
from ssl_lib.experiments.registry import experiment
from ssl_lib.runtime import seed_everything
from ssl_lib.scale import by_scale
from ssl_lib.sparse_coding import SparseCoding


def data_model(scale: str, generator: torch.Generator) -> SparseCoding:
    """The sparse-coding data of each scale: d = 32 atoms in R^256 (quick), 64 in R^1024 (full).

    Both keep about two active atoms per input and the same noise per direction (σ = 0.2).
    """
    sizes = by_scale(scale, quick=dict(d=32, d1=256, sparsity=0.06),
                     full=dict(d=64, d1=1024, sparsity=0.03))
    return sparse_coding.sparse_coding(**sizes, noise_std=0.2, generator=generator)


@experiment("feature_decoupling", chapter="03_sparse_coding")
def feature_decoupling(scale: str, seed: int):
    """Masking keeps the sparse part of the two views correlated and decorrelates the dense part."""
    g = seed_everything(seed)
    data = data_model(scale, g)
    n = by_scale(scale, quick=10_000, full=100_000)
    measured, closed = {}, {}
    for name, augmentation in sparse_coding.augmentations().items():
        measured[name] = sparse_coding.view_correlations(data, augmentation, n=n, generator=g)
        closed[name] = sparse_coding.closed_form_correlations(data, name)
    gap = max(abs(measured[a][part] - closed[a][part]) for a in measured for part in ("sparse", "dense"))
    measurements = {
        "measured": measured,
        "closed_form": closed,
        "largest_gap": gap,
        "sizes": {"d": data.d, "d1": data.d1, "sparsity": data.sparsity, "noise_std": data.noise_std,
                  "n": n},
        **data.signal_to_noise(),
    }
    mask, same = measured["masking"], measured["no augmentation"]
    claims = [
        claim("masking_keeps_sparse", "With masking, the sparse part stays correlated between the "
              "two views along the atoms (correlation at least 0.5).",
              mask["sparse"] >= 0.5, sparse_correlation=mask["sparse"]),
        claim("masking_decouples_dense", "With masking, the dense part of the two views is "
              "uncorrelated (|correlation| at most 0.02).",
              abs(mask["dense"]) <= 0.02, dense_correlation=mask["dense"]),
        claim("no_augmentation_keeps_both", "Without augmentation both parts stay fully correlated "
              "(at least 0.99).", min(same["sparse"], same["dense"]) >= 0.99,
              sparse_correlation=same["sparse"], dense_correlation=same["dense"]),
        claim("closed_form_matches", "Every measured correlation is within 0.03 of its closed form.",
              gap <= 0.03, largest_gap=gap),
    ]
    return measurements, claims
