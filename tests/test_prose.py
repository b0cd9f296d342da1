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
