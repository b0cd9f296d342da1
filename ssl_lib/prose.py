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


def verdict_in_words(verdicts, id: str, words: dict[str, str]) -> str:
    """The verdicts of claim ``id`` over the seeds of ``verdicts`` (a
    :class:`ssl_lib.experiments.SeedVerdicts`), each said with ``words`` (verdict -> phrase, for
    example ``{"holds": "beats it", ...}``): once when every seed agrees ("beats it on both
    seeds"), else seed by seed ("beats it on seed 0, is within the noise of it on seed 1")."""
    missing = {"holds", "does not hold", "undecided"} - set(words)
    if missing:
        raise ValueError(f"words needs a phrase for every verdict; missing: {', '.join(sorted(missing))}")
    shown = verdicts.shown
    said = [words[r.claim(id).verdict] for r in shown]
    if len(set(said)) == 1:
        return said[0] + {1: "", 2: " on both seeds"}.get(len(said), " on every seed")
    return ", ".join(f"{w} on seed {r.provenance['seed']}" for w, r in zip(said, shown))


#: A verdict in words (:meth:`ssl_lib.experiments.SeedVerdicts.describe`) opens with its verb in
#: the singular; these are the plural forms, for several claims that share it.
_PLURAL_VERBS = (("holds", "hold"), ("does not hold", "do not hold"), ("is undecided", "are undecided"))


def claims_in_words(verdicts, named: dict[str, str]) -> str:
    """The verdicts of several claims of ``verdicts`` (a :class:`ssl_lib.experiments.SeedVerdicts`),
    ``named`` mapping a claim's id to its name in the sentence ("the firing rate per image"),
    the claims that share a verdict said together: "the claims on A and B do not hold on either
    seed, and the claim on C holds on both seeds"."""
    if not named:
        raise ValueError("claims_in_words needs at least one claim")
    groups: dict[str, list[str]] = {}
    for id, name in named.items():
        groups.setdefault(verdicts.describe(id), []).append(name)
    parts = []
    for verdict, names in groups.items():
        if len(names) == 1:
            parts.append(f"the claim on {names[0]} {verdict}")
            continue
        for singular, plural in _PLURAL_VERBS:
            if verdict.startswith(singular):
                verdict = plural + verdict[len(singular):]
                break
        subject = f"{', '.join(names[:-1])} and {names[-1]}"
        parts.append(f"the claims on {subject} {verdict}")
    return ", and ".join(parts) if len(parts) == 2 else "; ".join(parts)
