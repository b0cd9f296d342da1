"""The book's settings: how big every experiment runs, and whether stored results are shown.

Three scales:

* ``quick``: sized for CI (the whole book executes in minutes on two CPU cores); it exercises
  every code path, but its CIFAR-10 networks learn little;
* ``medium``: sized for two CPU cores with bfloat16 (about 30 minutes for the main SimCLR run,
  at most an hour per chapter and seed; about 2.6x that in float32 on a CPU without bfloat16
  units, :func:`ssl_lib.costs.expected_time`), the smallest runs at which a CIFAR-10 experiment shows
  its paper's effect; minutes on a GPU. Experiments that are already paper-sized at ``quick``
  (the synthetic chapters) and those not yet sized for it run their ``quick`` settings;
  :func:`ssl_lib.experiments.get(name).scales` says which are;
* ``full``: the paper-like run, for a GPU (opt-in).

The environment variable ``SSL_SCALE`` chooses; when it is unset, the scale is ``medium`` where
a CUDA GPU is present, else ``quick``. ``SSL_STORED_RESULTS=off`` makes chapters compute every
result instead of showing the stored ones (``make test`` sets it, so that CI executes every
chapter's computing path). This module is the only place that reads either variable.
"""

from __future__ import annotations

import os
from typing import TypeVar

import torch

SCALES = ("quick", "medium", "full")
ENV_VAR = "SSL_SCALE"
STORED_ENV = "SSL_STORED_RESULTS"

T = TypeVar("T")
_UNSET = object()


def current_scale() -> str:
    """Return the scale the book runs at: ``SSL_SCALE`` if set, else by hardware."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return "medium" if torch.cuda.is_available() else "quick"
    return check_scale(value)


def check_scale(scale: str) -> str:
    """Return ``scale`` if it names a scale, else raise a ``ValueError`` that lists them."""
    if scale not in SCALES:
        raise ValueError(
            f"scale={scale!r} is not a scale; use one of {', '.join(SCALES)} "
            f"(for example SSL_SCALE=quick)"
        )
    return scale


def by_scale(scale: str, *, quick: T, full: T, medium: T = _UNSET) -> T:
    """Pick the value of a setting for ``scale``; without a ``medium`` value, medium uses ``quick``'s."""
    scale = check_scale(scale)
    if scale == "full":
        return full
    if scale == "medium" and medium is not _UNSET:
        return medium
    return quick


def stored_results_enabled() -> bool:
    """Whether chapters show stored results (``SSL_STORED_RESULTS``: on by default; ``off`` or ``0``)."""
    value = os.environ.get(STORED_ENV, "on").strip().lower()
    if value in ("on", "1", "yes", "true", ""):
        return True
    if value in ("off", "0", "no", "false"):
        return False
    raise ValueError(f"{STORED_ENV}={value!r} is not a switch; use {STORED_ENV}=on or {STORED_ENV}=off")
