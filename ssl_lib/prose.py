"""Numbers in the chapters' generated sentences, written as a person would write them.

The chapters never type a run's numbers into their prose (``tests/test_prose_numbers.py``); they
print them from results. These helpers keep such sentences natural: a range whose ends are equal
is one number, and values that agree over the seeds are said once.
"""

from __future__ import annotations

from typing import Callable, Iterable


def percent(accuracy: float) -> str:
    """An accuracy (a fraction) as a percentage for a sentence: ``0.634`` -> ``"63.4%"``."""
    return f"{100 * accuracy:.1f}%"


def value_range(values: Iterable[float], form: Callable[[float], str] = "{:.3f}".format) -> str:
    """The smallest to the largest of ``values``, formatted by ``form``; one number when the two
    ends are written alike (``"0.035"``, not ``"0.035 to 0.035"``)."""
    values = list(values)
    if not values:
        raise ValueError("value_range needs at least one value")
    low, high = form(min(values)), form(max(values))
    return low if low == high else f"{low} to {high}"


def over_seeds(values: Iterable, form: Callable = str) -> str:
    """One value per seed, in seed order, for a sentence: said once with "on both seeds" (or "on
    every seed") when they are written alike, else joined by "and"."""
    written = [form(v) for v in values]
    if not written:
        raise ValueError("over_seeds needs at least one value")
    if len(written) > 1 and len(set(written)) == 1:
        return f"{written[0]} on {'both seeds' if len(written) == 2 else 'every seed'}"
    return " and ".join(written)
