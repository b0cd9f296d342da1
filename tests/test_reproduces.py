"""The README's table of what reproduces is generated from the stored results and kept fresh."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import reproduces  # noqa: E402


def test_the_readme_shows_todays_table_of_what_reproduces():
    readme = reproduces.README.read_text()
    assert reproduces.with_table(readme, reproduces.table()) == readme, \
        "README.md's table of what reproduces is stale: run `python tools/reproduces.py` and commit README.md"


def test_the_table_is_the_same_when_chapters_compute_every_result(monkeypatch):
    monkeypatch.setenv("SSL_STORED_RESULTS", "on")
    shown = reproduces.table()
    monkeypatch.setenv("SSL_STORED_RESULTS", "off")  # as `make test` runs
    assert reproduces.table() == shown


def test_the_table_counts_every_stored_claim_once():
    section = reproduces.table()
    rows = [line for line in section.splitlines() if line.startswith("| [")]
    assert [row.split("](")[0].removeprefix("| [") for row in rows] == \
        ["02_simclr", "06_feature_decoupling_cifar", "07_alignment_uniformity", "08_prediction_head"]
    against = sum(int(row.split(" | ")[2]) + int(row.split(" | ")[3]) for row in rows)
    assert section.count("\n- ") == against


def test_the_markers_must_be_there_once():
    with pytest.raises(ValueError, match="markers"):
        reproduces.with_table("no markers here", "table")
    assert reproduces.with_table(f"a {reproduces.START} old {reproduces.END} b", "new") == \
        f"a {reproduces.START}\nnew\n{reproduces.END} b"
