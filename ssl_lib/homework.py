"""Self-checks for the book's coding exercises.

A coding exercise asks for a function; its self-check calls the student's function and the
library's reference on the same random inputs, case after case, and says which case failed and
by how much. A student's function that still raises ``NotImplementedError`` (the skeleton of the
student edition) stops the check with that error, so an unfinished exercise is plain to see.

    from ssl_lib import homework
    homework.check("orthogonal_pairs_loss", orthogonal_pairs_loss)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from ssl_lib.losses import info_nce


class CheckFailed(AssertionError):
    """The student's function disagrees with the reference on some case."""


@dataclass(frozen=True)
class SelfCheck:
    """An exercise's reference and the random inputs it is compared on."""

    name: str
    reference: Callable[..., Any]
    make_inputs: Callable[[torch.Generator], tuple]
    rtol: float = 1e-4
    atol: float = 1e-6


_CHECKS: dict[str, SelfCheck] = {}


def register_check(check: SelfCheck) -> SelfCheck:
    """Make ``check`` available to :func:`check` under ``check.name``."""
    if check.name in _CHECKS:
        raise ValueError(f"a self-check called {check.name!r} is already registered")
    _CHECKS[check.name] = check
    return check


def check_names() -> list[str]:
    """The names of all self-checks, sorted."""
    return sorted(_CHECKS)


def check(name: str, student: Callable[..., Any], cases: int = 5, seed: int = 0) -> None:
    """Compare ``student`` with the reference of exercise ``name`` on ``cases`` random inputs.

    Prints a line when every case matches; raises :class:`CheckFailed` naming the first case
    that does not, its inputs, and the largest difference.
    """
    if name not in _CHECKS:
        raise KeyError(f"no self-check called {name!r}; available: {', '.join(check_names())}")
    if cases < 1:
        raise ValueError(f"cases must be >= 1, got {cases}")
    spec = _CHECKS[name]
    generator = torch.Generator().manual_seed(seed)
    for case in range(1, cases + 1):
        inputs = spec.make_inputs(generator)
        expected = torch.as_tensor(spec.reference(*inputs), dtype=torch.float64)
        got = torch.as_tensor(student(*inputs), dtype=torch.float64)
        where = f"{name}: case {case} of {cases}, inputs {_describe(inputs)}"
        if got.shape != expected.shape:
            raise CheckFailed(f"{where}: your function returned shape {tuple(got.shape)}, "
                              f"the reference {tuple(expected.shape)}")
        if not torch.allclose(got, expected, rtol=spec.rtol, atol=spec.atol):
            gap = (got - expected).abs().max().item()
            raise CheckFailed(f"{where}: your result differs from the reference by {gap:.3g} "
                              f"(largest absolute difference; allowed: rtol={spec.rtol}, atol={spec.atol})")
    print(f"{name}: all {cases} cases match the reference.")


def _describe(inputs: tuple) -> str:
    parts = []
    for value in inputs:
        if isinstance(value, torch.Tensor):
            parts.append(f"tensor{tuple(value.shape)}")
        elif isinstance(value, float):
            parts.append(f"{value:.4g}")
        else:
            parts.append(repr(value))
    return "(" + ", ".join(parts) + ")"


# --- The exercises of chapter 01 (the pipeline) ------------------------------------------

def _orthogonal_pairs_inputs(g: torch.Generator) -> tuple[int, float]:
    n = int(torch.randint(2, 9, (1,), generator=g))
    tau = 0.05 + 1.95 * torch.rand(1, generator=g).item()
    return n, tau


register_check(SelfCheck(
    name="orthogonal_pairs_loss",
    reference=lambda n, tau: info_nce(torch.eye(n), torch.eye(n), tau).item(),
    make_inputs=_orthogonal_pairs_inputs,
))
