"""What a chapter finds, in one box at its top: every claim of its experiments with its verdict
over the seeds shown, generated from the same results the chapter shows further down.

Where a chapter shows stored results, the box reads every stored seed of the largest fresh scale
(:func:`ssl_lib.experiments.stored.results`); where it computes them, it reads the results of seed
0 at the chapter's scale (the chapter computes those anyway, so the box costs nothing more).
"""

from __future__ import annotations

from collections import Counter

from ssl_lib.experiments import registry
from ssl_lib.experiments.claims import SeedVerdicts
from ssl_lib.experiments.stored import results
from ssl_lib.scale import SCALES, check_scale, stored_results_enabled

#: How a verdict over the seeds opens its line in the box.
VERDICT_WORDS = {"holds": "**holds**", "does not hold": "**does not hold**", "undecided": "*undecided*"}


def shown_seeds(name: str, scale: str) -> tuple[int, ...]:
    """The seeds the box reads for experiment ``name`` at ``scale``: those stored at the largest
    stored scale at least as large as ``scale`` while stored results are shown, else seed 0."""
    return _stored_seeds(name, scale) or (0,)


def _stored_seeds(name: str, scale: str) -> tuple[int, ...]:
    """The seeds of :func:`shown_seeds` where they are stored, else ()."""
    if stored_results_enabled():
        for stored_scale in registry.STORED_SCALES:
            if stored_scale in registry.get(name).stored and SCALES.index(stored_scale) >= SCALES.index(scale):
                seeds = registry.stored_seeds(name, stored_scale)
                if seeds:
                    return tuple(seeds)
    return ()


def chapter_verdicts(chapter: str, scale: str, stored_only: bool = False) -> list[SeedVerdicts]:
    """The verdicts over the shown seeds of every experiment of ``chapter`` that has claims, in
    registry order; with ``stored_only``, of those with stored results only (nothing is computed)."""
    check_scale(scale)
    names = [name for name in registry.names() if registry.get(name).chapter == chapter]
    if not names:
        raise KeyError(f"no experiment belongs to the chapter {chapter!r}; chapters: {', '.join(chapters())}")
    if stored_only:
        names = [name for name in names if _stored_seeds(name, scale)]
    verdicts = [SeedVerdicts(tuple(results(name, seeds=shown_seeds(name, scale), scale=scale))) for name in names]
    return [v for v in verdicts if v.ids]  # an experiment without claims (checks only) finds nothing



def _origin(verdicts: SeedVerdicts) -> str:
    first = verdicts.shown[0].provenance
    seeds = [r.provenance["seed"] for r in verdicts.shown]
    where = "stored" if "shown_from" in first else "computed on this page"
    return (f"{first['scale']} scale, {where}, seed{'s' if len(seeds) > 1 else ''} "
            f"{' and '.join(map(str, seeds))}")


def _over_seeds(verdicts: SeedVerdicts, id: str) -> str:
    verdict, n = verdicts.verdict(id), len(verdicts.shown)
    if n == 1:
        return VERDICT_WORDS[verdict]
    each = {r.claim(id).verdict for r in verdicts.shown}
    if len(each) > 1:
        return f"{VERDICT_WORDS['undecided']} (the seeds disagree)"
    if verdict == "does not hold":
        return f"{VERDICT_WORDS[verdict]} on {'either seed' if n == 2 else f'any of the {n} seeds'}"
    return f"{VERDICT_WORDS[verdict]} on {'both' if n == 2 else f'all {n}'} seeds"


def findings_box(chapter: str, scale: str) -> str:
    """The chapter's findings as Markdown: one line per claim (the paper's statement it tests),
    grouped by its verdict over the seeds, what holds and what does not first and the undecided
    claims folded under their count; where most results come from said once, and on the line of a
    claim whose results come from elsewhere. In a
    ``<div class="findings">`` that the book's style sheet sets as a compact box."""
    verdicts = chapter_verdicts(chapter, scale)
    claims_by_origin = Counter()
    for v in verdicts:
        claims_by_origin[_origin(v)] += len(v.ids)
    usual = claims_by_origin.most_common(1)[0][0]
    groups = {verdict: [] for verdict in VERDICT_WORDS}
    for v in verdicts:
        origin = "" if _origin(v) == usual else f" ({_origin(v)})"
        for id in v.ids:
            disagree = " (the seeds disagree)" if len({r.claim(id).verdict for r in v.shown}) > 1 else ""
            line = f"- {v.shown[0].claim(id).statement}{origin}{disagree}"
            if line not in groups[v.verdict(id)]:  # a control two experiments share is one finding
                groups[v.verdict(id)].append(line)
    otherwise = ", unless a claim's line says otherwise" if len(claims_by_origin) > 1 else ""
    lines = ['<div class="findings">', "",
             f"**What this chapter finds** ({usual}{otherwise}). Each line is one claim, checked against this "
             "page's own results further down; a claim holds only when it holds on every seed shown.", ""]
    for verdict, claims in groups.items():
        if not claims:
            continue
        title = f"{GROUP_TITLES[verdict]} ({len(claims)})"
        if verdict == "undecided":
            lines += ["<details>", f"<summary>{title}: open the list</summary>", "", *claims, "", "</details>", ""]
        else:
            lines += [f"**{title}:**", "", *claims, ""]
    return "\n".join([*lines, "</div>"])


#: The heading of each group of claims in the findings box.
GROUP_TITLES = {"holds": "Holds", "does not hold": "Does not hold", "undecided": "Undecided"}


def chapters() -> list[str]:
    """Every chapter that has an experiment, in the book's order (their names sort by number)."""
    return sorted({registry.get(name).chapter for name in registry.names()})


def reproduction_counts(verdicts: list[SeedVerdicts]) -> dict[str, int]:
    """How many claims of ``verdicts`` hold, do not hold and are undecided over their seeds."""
    counts = {"holds": 0, "does not hold": 0, "undecided": 0}
    for v in verdicts:
        for id in v.ids:
            counts[v.verdict(id)] += 1
    return counts


def reproduction_table(scale: str, link: str = "[{chapter}]({chapter}.html)", stored_only: bool = False) -> str:
    """What reproduces, as Markdown: a table with one row per chapter (its claims that hold, do not
    hold and are undecided over the seeds shown, and where the results come from), then every
    claim that does not hold or is undecided, by chapter, with its statement. ``link`` formats a
    link to a chapter from its name; ``stored_only`` leaves out the chapters without stored results
    (for pages that are not executed, such as the README)."""
    rows = ["| chapter | holds | does not hold | undecided | results |", "| --- | --- | --- | --- | --- |"]
    details = []
    for chapter in chapters():
        verdicts = chapter_verdicts(chapter, scale, stored_only)
        if not verdicts:
            continue
        counts = reproduction_counts(verdicts)
        origins = "; ".join(dict.fromkeys(_origin(v) for v in verdicts))
        name = link.format(chapter=chapter)
        rows.append(f"| {name} | {counts['holds']} | {counts['does not hold']} | {counts['undecided']} | {origins} |")
        against = [f"- {_over_seeds(v, id)}: {v.shown[0].claim(id).statement}"
                   for v in verdicts for id in v.ids if v.verdict(id) != "holds"]
        if against:
            details += [f"**{name}**", "", *against, ""]
    return "\n".join([*rows, "", "The claims that do not hold or are undecided:", "", *details]).rstrip()
