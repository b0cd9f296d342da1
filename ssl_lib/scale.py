"""The book's one setting: how big every experiment runs.

``quick`` is sized for CPUs and CI (the whole book executes in minutes on two cores);
``full`` is the paper-like run for a CUDA GPU. The environment variable ``SSL_SCALE``
chooses; when it is unset, the scale is ``full`` where a CUDA GPU is present, else ``quick``.
This module is the only place that reads ``SSL_SCALE``.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch

SCALES = ("quick", "full")
ENV_VAR = "SSL_SCALE"

T = TypeVar("T")


def current_scale() -> str:
    """Return the scale the book runs at: ``SSL_SCALE`` if set, else by hardware."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return "full" if torch.cuda.is_available() else "quick"
    return check_scale(value)


def check_scale(scale: str) -> str:
    """Return ``scale`` if it names a scale, else raise a ``ValueError`` that lists them."""
    if scale not in SCALES:
        raise ValueError(
            f"scale={scale!r} is not a scale; use one of {', '.join(SCALES)} "
            f"(for example SSL_SCALE=quick)"
        )
    return scale


def by_scale(scale: str, *, quick: T, full: T) -> T:
    """Pick the ``quick`` or the ``full`` value of a setting for ``scale``."""
    return quick if check_scale(scale) == "quick" else full
