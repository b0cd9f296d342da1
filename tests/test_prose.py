"""The helpers that write the chapters' numbers into sentences."""

import pytest

from ssl_lib import prose


def test_a_range_whose_ends_are_written_alike_is_one_number():
    assert prose.value_range([0.0351, 0.0349]) == "0.035"
    assert prose.value_range([0.035, 0.120]) == "0.035 to 0.120"
    with pytest.raises(ValueError, match="at least one"):
        prose.value_range([])


def test_values_that_agree_over_the_seeds_are_said_once():
    assert prose.over_seeds([16, 16], "{:g}".format) == "16 on both seeds"
    assert prose.over_seeds([16, 64], "{:g}".format) == "16 and 64"
    assert prose.over_seeds([0.5, 0.5, 0.5], prose.percent) == "50.0% on every seed"
    assert prose.percent(0.6341) == "63.4%"


class _Result:
    def __init__(self, seed, verdict):
        self.provenance = {"seed": seed}
        self._verdict = verdict

    def claim(self, id):
        return type("C", (), {"verdict": self._verdict})()


class _Verdicts:
    def __init__(self, *verdicts):
        self.shown = tuple(_Result(seed, v) for seed, v in enumerate(verdicts))


WORDS = {"holds": "beats it", "does not hold": "falls below it", "undecided": "ties it"}


def test_a_verdict_the_seeds_share_is_said_once_and_differing_ones_seed_by_seed():
    assert prose.verdict_in_words(_Verdicts("holds", "holds"), "x", WORDS) == "beats it on both seeds"
    assert prose.verdict_in_words(_Verdicts("holds"), "x", WORDS) == "beats it"
    assert (prose.verdict_in_words(_Verdicts("holds", "undecided"), "x", WORDS)
            == "beats it on seed 0, ties it on seed 1")
    with pytest.raises(ValueError, match="missing: undecided"):
        prose.verdict_in_words(_Verdicts("holds"), "x", {"holds": "a", "does not hold": "b"})


def _two_seeds(verdicts: dict[str, tuple[str, str]]):
    """SeedVerdicts over seeds 0 and 1 whose claim ``id`` has the verdicts ``verdicts[id]``."""
    from ssl_lib.experiments import ExperimentResult, claim
    from ssl_lib.experiments.claims import SeedVerdicts

    flags = {"holds": (True, True), "does not hold": (False, True), "undecided": (False, False)}
    return SeedVerdicts(tuple(
        ExperimentResult("x", {}, [claim(id, "A statement.", *flags[v[seed]]) for id, v in verdicts.items()],
                         {"seed": seed, "scale": "medium"}) for seed in (0, 1)))


def test_claims_that_share_a_verdict_are_said_together():
    verdicts = _two_seeds({"a": ("does not hold",) * 2, "b": ("does not hold",) * 2, "c": ("holds",) * 2})
    assert (prose.claims_in_words(verdicts, {"a": "A", "b": "B", "c": "C"})
            == "the claims on A and B do not hold on either seed, and the claim on C holds on both seeds")
    mixed = _two_seeds({"a": ("holds", "undecided"), "b": ("undecided",) * 2, "c": ("undecided",) * 2,
                        "d": ("holds",) * 2})
    assert (prose.claims_in_words(mixed, {"a": "A", "b": "B", "c": "C", "d": "D"})
            == "the claim on A is undecided (seed 0: holds, seed 1: undecided); the claims on B and C are "
               "undecided on both seeds; the claim on D holds on both seeds")
    with pytest.raises(ValueError, match="at least one claim"):
        prose.claims_in_words(verdicts, {})
