"""SSL_SCALE and SSL_STORED_RESULTS: read in one place, defaulting by hardware, rejecting unknown values."""

import pytest
import torch

from ssl_lib import scale


def test_explicit_scale_wins(monkeypatch):
    monkeypatch.setenv("SSL_SCALE", "full")
    assert scale.current_scale() == "full"
    monkeypatch.setenv("SSL_SCALE", " Quick ")
    assert scale.current_scale() == "quick"


@pytest.mark.parametrize("cuda, expected", [(True, "medium"), (False, "quick")])
def test_default_follows_the_hardware(monkeypatch, cuda, expected):
    monkeypatch.delenv("SSL_SCALE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert scale.current_scale() == expected


def test_unknown_scale_is_rejected(monkeypatch):
    monkeypatch.setenv("SSL_SCALE", "huge")
    with pytest.raises(ValueError, match="quick, medium, full"):
        scale.current_scale()


def test_by_scale_picks_the_value():
    assert scale.by_scale("quick", quick=1, full=2) == 1
    assert scale.by_scale("full", quick=1, full=2) == 2
    assert scale.by_scale("medium", quick=1, medium=3, full=2) == 3
    assert scale.by_scale("medium", quick=1, full=2) == 1  # not sized for medium: quick's settings
    with pytest.raises(ValueError, match="scale"):
        scale.by_scale("tiny", quick=1, full=2)


def test_only_scale_module_reads_the_variable():
    import re
    from pathlib import Path

    package = Path(scale.__file__).parent
    for variable in ("SSL_SCALE", "SSL_STORED_RESULTS"):
        reads = re.compile(r"(environ|getenv)[^\n]*" + variable)
        readers = [p.name for p in package.rglob("*.py") if reads.search(p.read_text()) and p.name != "scale.py"]
        assert readers == [], f"{variable} is read outside ssl_lib/scale.py: {readers}"


@pytest.mark.parametrize("value, expected", [("off", False), ("0", False), ("on", True), ("", True)])
def test_stored_results_switch(monkeypatch, value, expected):
    monkeypatch.setenv("SSL_STORED_RESULTS", value)
    assert scale.stored_results_enabled() is expected


def test_stored_results_switch_rejects_other_values(monkeypatch):
    monkeypatch.setenv("SSL_STORED_RESULTS", "maybe")
    with pytest.raises(ValueError, match="SSL_STORED_RESULTS=off"):
        scale.stored_results_enabled()
