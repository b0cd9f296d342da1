"""SSL_SCALE: read in one place, defaulting by hardware, rejecting unknown values."""

import pytest
import torch

from ssl_lib import scale


def test_explicit_scale_wins(monkeypatch):
    monkeypatch.setenv("SSL_SCALE", "full")
    assert scale.current_scale() == "full"
    monkeypatch.setenv("SSL_SCALE", " Quick ")
    assert scale.current_scale() == "quick"


@pytest.mark.parametrize("cuda, expected", [(True, "full"), (False, "quick")])
def test_default_follows_the_hardware(monkeypatch, cuda, expected):
    monkeypatch.delenv("SSL_SCALE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert scale.current_scale() == expected


def test_unknown_scale_is_rejected(monkeypatch):
    monkeypatch.setenv("SSL_SCALE", "medium")
    with pytest.raises(ValueError, match="quick, full"):
        scale.current_scale()


def test_by_scale_picks_the_value():
    assert scale.by_scale("quick", quick=1, full=2) == 1
    assert scale.by_scale("full", quick=1, full=2) == 2
    with pytest.raises(ValueError, match="scale"):
        scale.by_scale("tiny", quick=1, full=2)


def test_only_scale_module_reads_the_variable():
    import re
    from pathlib import Path

    package = Path(scale.__file__).parent
    reads = re.compile(r"(environ|getenv)[^\n]*SSL_SCALE")
    readers = [p.name for p in package.rglob("*.py") if reads.search(p.read_text()) and p.name != "scale.py"]
    assert readers == [], f"SSL_SCALE is read outside ssl_lib/scale.py: {readers}"
