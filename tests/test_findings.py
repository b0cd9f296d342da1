"""The findings box at the top of every chapter: one line per claim, its verdict over the seeds."""

import pytest

from ssl_lib.experiments import ExperimentResult, claim, findings
from ssl_lib.experiments.claims import SeedVerdicts


def _result(seed: int, held: bool, decided: bool = True) -> ExperimentResult:
    return ExperimentResult("x", {}, [claim("c", "A statement.", held, decided)],
                            {"seed": seed, "scale": "medium", "shown_from": "results/medium/x.json"})


def test_a_verdict_over_seeds_says_when_the_seeds_disagree():
    assert findings._over_seeds(SeedVerdicts((_result(0, True), _result(1, True))), "c") == "**holds** on both seeds"
    assert findings._over_seeds(SeedVerdicts((_result(0, True), _result(1, False))), "c") == \
        "*undecided* (the seeds disagree)"
    assert findings._over_seeds(SeedVerdicts((_result(0, False, False),)), "c") == "*undecided*"
    assert findings._over_seeds(SeedVerdicts((_result(0, False), _result(1, False))), "c") == \
        "**does not hold** on either seed"


@pytest.mark.needs_cifar
def test_the_box_of_a_stored_chapter_lists_every_claim_of_its_stored_results(monkeypatch):
    monkeypatch.setenv("SSL_STORED_RESULTS", "on")
    box = findings.findings_box("02_simclr", "quick")
    for verdicts in findings.chapter_verdicts("02_simclr", "quick"):
        assert len(verdicts.shown) == 2 and all("shown_from" in r.provenance for r in verdicts.shown)
        for id in verdicts.ids:
            assert verdicts.shown[0].claim(id).statement in box
    assert "medium scale, stored, seeds 0 and 1" in box


def test_a_chapter_without_experiments_is_named():
    with pytest.raises(KeyError, match="no experiment belongs to the chapter '99_nothing'"):
        findings.chapter_verdicts("99_nothing", "quick")


def test_seed_verdicts_in_words_name_each_seed_only_where_they_differ():
    undecided = SeedVerdicts((_result(0, False, False), _result(1, False, False)))
    assert undecided.describe("c") == "is undecided on both seeds"
    mixed = SeedVerdicts((_result(0, True), _result(1, False, False)))
    assert mixed.describe("c") == "is undecided (seed 0: holds, seed 1: undecided)"


def _experiment(name: str, verdicts: dict[str, tuple[bool, bool]], seeds=(0, 1)) -> SeedVerdicts:
    """Verdicts of experiment ``name`` whose claim ``id`` is (held, decided) on every seed."""
    return SeedVerdicts(tuple(
        ExperimentResult(name, {}, [claim(id, f"Statement {id}.", *hd) for id, hd in verdicts.items()],
                         {"seed": seed, "scale": "medium", "shown_from": f"results/medium/{name}.json"})
        for seed in seeds))


def test_the_box_groups_claims_by_verdict_and_folds_the_undecided(monkeypatch):
    monkeypatch.setattr(findings, "chapter_verdicts", lambda chapter, scale: [
        _experiment("a", {"h1": (True, True), "u1": (False, False)}),
        _experiment("b", {"n1": (False, True), "h2": (True, True)})])
    box = findings.findings_box("any", "medium")
    holds, against, undecided = (box.index(t) for t in ("**Holds (2):**", "**Does not hold (1):**", "Undecided (1)"))
    assert holds < box.index("Statement h1.") < box.index("Statement h2.") < against < box.index("Statement n1.")
    assert box.index("<details>") < undecided < box.index("Statement u1.") < box.index("</details>")
    assert box.count("medium scale, stored, seeds 0 and 1") == 1  # the origin, said once
    monkeypatch.setattr(findings, "chapter_verdicts", lambda chapter, scale: [
        _experiment("a", {"h1": (True, True)}), _experiment("b", {"h1": (True, True)})])
    assert findings.findings_box("any", "medium").count("Statement h1.") == 1  # a shared control said once


def test_the_box_says_where_a_claims_results_come_from_where_it_is_not_the_usual_place(monkeypatch):
    monkeypatch.setattr(findings, "chapter_verdicts", lambda chapter, scale: [
        _experiment("a", {"h1": (True, True), "h3": (True, True)}), _experiment("b", {"h2": (True, True)}, seeds=(0,))])
    box = findings.findings_box("any", "medium")
    assert "(medium scale, stored, seeds 0 and 1, unless a claim's line says otherwise)" in box
    assert "Statement h1.\n" in box and "Statement h2. (medium scale, stored, seed 0)" in box
