"""CITATION.cff: valid Citation File Format 1.2.0 with the keys GitHub needs, whose version is
pyproject.toml's."""

import datetime
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent


def test_citation_file_is_cff_1_2_0_with_the_package_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors", "type", "version", "date-released",
                "license", "repository-code", "url"):
        assert key in cff, f"CITATION.cff lacks {key!r}"
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert all("name" in a or "family-names" in a for a in cff["authors"]), "each author needs a name"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert str(cff["version"]) == version, f"CITATION.cff says version {cff['version']}, pyproject {version}"
    datetime.date.fromisoformat(str(cff["date-released"]))
    assert cff["repository-code"].startswith("https://github.com/") and cff["url"].startswith("https://")
