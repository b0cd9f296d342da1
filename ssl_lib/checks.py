"""Checks of arguments at the library's public boundary, with errors that name the argument,
the value and the fix. (The engine's modules validate their own settings; this module serves
the theory modules, the experiments' registry and the command line.)"""

from __future__ import annotations

import math
import numbers

#: The largest seed torch, NumPy and Python all accept (torch.manual_seed takes 64 bits, signed).
MAX_SEED = 2**63 - 1


def integer(value, name: str, minimum: int | None = None, maximum: int | None = None, why: str = "") -> int:
    """``value`` as a Python int: any integral type (int, NumPy integers; not bool), within
    [minimum, maximum] where given; else a ``ValueError`` naming ``name`` (and ``why``, the
    reason for the bounds, if given)."""
    reason = f" ({why})" if why else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}={value!r} must be an integer{reason}, not {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        bounds = (f">= {minimum}" if maximum is None else f"<= {maximum}" if minimum is None
                  else f"in [{minimum}, {maximum}]")
        raise ValueError(f"{name}={value} must be an integer {bounds}{reason}")
    return value


def seed(value, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**63 - 1]."""
    return integer(value, name, 0, MAX_SEED)


def positive(value, name: str) -> float:
    """``value`` as a float, finite and > 0; else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite number > 0")
    return float(value)
