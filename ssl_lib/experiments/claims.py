"""Claims and their statistics: a paper's statement checked against an experiment's measurements.

A claim is one sentence of a paper, checked against the run's own numbers: its id, the
statement, whether it held (or was undecided: the numbers too noisy to say), and the numbers
that decided it. :func:`greater_claim` decides a difference beyond :data:`MARGIN_SE` standard
errors, :func:`majority_claim` a binomial majority of runs, and :class:`SeedVerdicts` one
experiment's claims over several seeds.
"""

from __future__ import annotations

from collections import Counter

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any


from ssl_lib.experiments.provenance import provenance_line
from ssl_lib.storage import jsonable

if TYPE_CHECKING:
    from ssl_lib.experiments.experiment_result import ExperimentResult


@dataclass(frozen=True)
class Claim:
    """A paper's statement checked against measurements.

    Attributes:
        id: a short identifier, unique within its experiment (``"masking_aligns_neurons"``).
        statement: the paper's statement in one sentence.
        held: whether the measurements support it.
        evidence: the numbers that decided it, by name.
        decided: False when the measurements are too noisy to say either way (then ``held`` is
            False too): the claim is reported as undecided, neither held nor refuted.
    """

    id: str
    statement: str
    held: bool
    evidence: dict[str, float] = field(default_factory=dict)
    decided: bool = True

    @property
    def verdict(self) -> str:
        """``holds``, ``does not hold`` or ``undecided``."""
        return "holds" if self.held else ("does not hold" if self.decided else "undecided")

    def __str__(self) -> str:
        numbers = ", ".join(f"{k} = {format_number(v)}" for k, v in self.evidence.items())
        return f"{self.id}: {self.statement} [{self.verdict}; {numbers}]"


def claim(id: str, statement: str, held: bool, decided: bool = True, **evidence: float) -> Claim:
    """Build a :class:`Claim`; ``evidence`` holds the numbers that decided ``held``."""
    if held and not decided:
        raise ValueError(f"claim {id!r}: an undecided claim cannot hold")
    return Claim(id=id, statement=statement, held=bool(held), evidence=jsonable(evidence), decided=bool(decided))


#: How many standard errors of a difference make it a decided one (about 95% two-sided).
MARGIN_SE = 2.0


def greater_claim(id: str, statement: str, larger: tuple[str, float, float], smaller: tuple[str, float, float],
                  **evidence: float) -> Claim:
    """The claim "``larger`` exceeds ``smaller``", each given as ``(name, value, standard error)``.

    With the difference d and its standard error s = sqrt(se_larger^2 + se_smaller^2) (the two
    measured independently), the claim holds when d > MARGIN_SE * s, does not hold when
    d < -MARGIN_SE * s, and is undecided in between.
    """
    difference, se, values = _difference(larger, smaller)
    return claim(id, statement, held=difference > MARGIN_SE * se, decided=abs(difference) > MARGIN_SE * se,
                 **values, **evidence)


def _difference(a: tuple[str, float, float], b: tuple[str, float, float]) -> tuple[float, float, dict]:
    """The difference of two measurements given as ``(name, value, standard error)``, its standard
    error sqrt(se_a^2 + se_b^2) (measured independently), and the evidence a claim records."""
    (name_a, va, se_a), (name_b, vb, se_b) = a, b
    difference, se = va - vb, math.sqrt(se_a ** 2 + se_b ** 2)
    return difference, se, {name_a: va, name_b: vb, "difference": difference, "difference_se": se}


def equivalence_claim(id: str, statement: str, a: tuple[str, float, float], b: tuple[str, float, float],
                      margin: float, **evidence: float) -> Claim:
    """The claim "``a`` and ``b`` are within ``margin`` of each other", each given as ``(name,
    value, standard error)``: with the difference d and its standard error s (as in
    :func:`greater_claim`), it holds when |d| + MARGIN_SE * s < margin (the whole interval inside
    the margin), does not hold when |d| - MARGIN_SE * s > margin (outside it beyond the noise),
    and is undecided in between. Where MARGIN_SE * s >= margin it cannot hold: the measurement is
    too coarse to show equivalence, and can only refute it."""
    if margin <= 0:
        raise ValueError(f"an equivalence margin must be positive, got {margin}")
    difference, se, values = _difference(a, b)
    held = abs(difference) + MARGIN_SE * se < margin
    refuted = abs(difference) - MARGIN_SE * se > margin
    return claim(id, statement, held=held, decided=held or refuted, **values, margin=margin, **evidence)


def relation(value: float, se: float, reference: float, reference_se: float) -> str:
    """Where ``value`` stands against ``reference`` (each with its standard error), decided as
    :func:`greater_claim` decides: ``"above"``, ``"below"`` or ``"within the noise of"``."""
    verdict = greater_claim("relation", "", ("value", value, se), ("reference", reference, reference_se)).verdict
    return {"holds": "above", "does not hold": "below", "undecided": "within the noise of"}[verdict]


#: The significance level of :func:`majority_claim`'s binomial test (one-sided).
MAJORITY_LEVEL = 0.05


def majority_claim(id: str, statement: str, successes: int, runs: int, **evidence: float) -> Claim:
    """The claim "it happens in most runs", from ``successes`` of ``runs`` independent runs.

    A one-sided binomial test against a fair coin (scipy's ``binomtest``): the claim holds when
    P(X >= successes | p = 1/2) < :data:`MAJORITY_LEVEL` (with 16 runs: 12 or more), does not hold
    when P(X <= successes | p = 1/2) < :data:`MAJORITY_LEVEL` (4 or fewer), and is undecided in
    between, or when there are no runs.
    """
    from scipy.stats import binomtest

    if not (0 <= successes <= runs):
        raise ValueError(f"claim {id!r}: successes must be between 0 and runs = {runs}, got {successes}")
    if runs == 0:
        return claim(id, statement, held=False, decided=False, runs=0, successes=0, **evidence)
    above = binomtest(successes, runs, 0.5, alternative="greater").pvalue
    below = binomtest(successes, runs, 0.5, alternative="less").pvalue
    return claim(id, statement, held=above < MAJORITY_LEVEL, decided=min(above, below) < MAJORITY_LEVEL,
                 runs=runs, successes=successes, p_value=above, **evidence)


@dataclass(frozen=True)
class SeedVerdicts:
    """One experiment's claims decided on several seeds (results of :func:`ssl_lib.experiments.stored.results`).

    A claim holds only when it holds on every seed, does not hold when it fails beyond the noise
    on every seed, and is undecided otherwise (undecided on a seed, or seeds that disagree).
    """

    shown: tuple[ExperimentResult, ...]

    def __post_init__(self) -> None:
        if not self.shown or len({r.name for r in self.shown}) != 1:
            raise ValueError("SeedVerdicts needs results of one experiment, at least one")
        scales = [r.provenance["scale"] for r in self.shown]
        if len(set(scales)) > 1:
            raise ValueError(f"SeedVerdicts judges results of one scale together, got scales {scales} for seeds "
                             f"{[r.provenance['seed'] for r in self.shown]}; store or compute every seed at one scale")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.shown[0].claims]

    def verdict(self, id: str) -> str:
        """``holds``, ``does not hold`` or ``undecided``, over every seed."""
        verdicts = {r.claim(id).verdict for r in self.shown}
        return verdicts.pop() if len(verdicts) == 1 else "undecided"

    def describe(self, id: str) -> str:
        """The verdict in words, for a sentence: "holds on both seeds", "does not hold on either
        seed", "is undecided on both seeds", or "is undecided" with each seed's verdict where
        they differ."""
        verdict, n = self.verdict(id), len(self.shown)
        if verdict == "holds":
            return "holds on both seeds" if n == 2 else ("holds" if n == 1 else f"holds on all {n} seeds")
        if verdict == "does not hold":
            return "does not hold on either seed" if n == 2 else ("does not hold" if n == 1 else
                                                                   f"does not hold on any of the {n} seeds")
        if {r.claim(id).verdict for r in self.shown} == {"undecided"}:
            return "is undecided" if n == 1 else ("is undecided on both seeds" if n == 2 else f"is undecided on all {n} seeds")
        each = ", ".join(f"seed {r.provenance['seed']}: {r.claim(id).verdict}" for r in self.shown)
        return f"is undecided ({each})"

    def _repr_markdown_(self) -> str:
        seeds = [r.provenance["seed"] for r in self.shown]
        rows = ["| claim | statement | " + " | ".join(f"seed {s}" for s in seeds) + " | over the seeds |",
                "| --- | --- | " + "--- | " * len(seeds) + "--- |"]
        for id in self.ids:
            cells = []
            for r in self.shown:
                c = r.claim(id)
                margin = (f" ({c.evidence['difference']:+.3f} ± {c.evidence['difference_se']:.3f})"
                          if "difference_se" in c.evidence else "")
                cells.append(VERDICT_CELL[c.verdict] + margin)
            statement = self.shown[0].claim(id).statement.replace("|", "\\|")
            rows.append(f"| `{id}` | {statement} | {' | '.join(cells)} | {VERDICT_CELL[self.verdict(id)]} |")
        counts = Counter(self.verdict(id) for id in self.ids)
        return folded_table("\n".join(rows), self.shown[0].name, counts, provenance_line(*self.shown))


def folded_table(table: str, name: str, counts: Counter, provenance: str) -> str:
    """A claims table as a page shows it: folded under a line that counts the verdicts (the
    chapter's findings box already gives each one), the provenance always in view."""
    words = {"holds": ("holds", "hold"), "does not hold": ("does not hold", "do not hold"),
             "undecided": ("undecided", "undecided")}
    said = ", ".join(f"{counts[v]} {words[v][counts[v] != 1]}" for v in words if counts[v])
    return (f"<details class=\"claims\">\n<summary>The claims of <code>{name}</code>: {said} "
            f"(open the table)</summary>\n\n{table}\n\n</details>\n\n*{provenance}.*")


VERDICT_CELL = {"holds": "yes", "does not hold": "**no**", "undecided": "*undecided*"}


def format_number(value: Any) -> str:
    """A number as a claim's evidence shows it: 4 significant digits, 3 in scientific notation when tiny or huge."""
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5) and math.isfinite(value):
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)
