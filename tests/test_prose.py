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
