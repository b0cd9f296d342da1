"""What one run of an experiment measured and concluded, with its provenance
(:class:`ExperimentResult`), and its JSON file (:func:`save`, :func:`load`)."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ssl_lib.experiments.claims import VERDICT_CELL, Claim, folded_table, format_number
from ssl_lib.experiments.provenance import provenance_line
from ssl_lib.storage import write_json


@dataclass
class ExperimentResult:
    """What one run of an experiment measured and concluded, with its provenance."""

    name: str
    measurements: dict[str, Any]
    claims: list[Claim]
    provenance: dict[str, Any]
    signature: dict[str, Any] | None = None  # a stored result's replay signature (freshness.sign)

    def claim(self, id: str) -> Claim:
        """The claim called ``id``."""
        for c in self.claims:
            if c.id == id:
                return c
        known = ", ".join(c.id for c in self.claims)
        raise KeyError(f"experiment {self.name!r} has no claim {id!r}; its claims: {known}")

    @property
    def all_hold(self) -> bool:
        return all(c.held for c in self.claims)

    def claims_table(self) -> str:
        """The claims as a Markdown table, with each one's evidence."""
        rows = ["| claim | statement | holds | evidence |", "| --- | --- | --- | --- |"]
        for c in self.claims:
            numbers = "; ".join(f"{k} = {format_number(v)}" for k, v in c.evidence.items())
            statement = c.statement.replace("|", "\\|")
            rows.append(f"| `{c.id}` | {statement} | {VERDICT_CELL[c.verdict]} | {numbers} |")
        return "\n".join(rows)

    def claims_markdown(self) -> str:
        """The claims table and the provenance, as the command line prints them."""
        return f"{self.claims_table()}\n\n*{provenance_line(self)}.*"

    def _repr_markdown_(self) -> str:
        """What Jupyter and the book show: the table folded under its count of verdicts."""
        if not self.claims:
            return self.claims_markdown()
        return folded_table(self.claims_table(), self.name, Counter(c.verdict for c in self.claims),
                            provenance_line(self))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measurements": self.measurements,
            "claims": [asdict(c) for c in self.claims],
            "provenance": self.provenance,
            **({"signature": self.signature} if self.signature is not None else {}),
        }


def save(result: ExperimentResult, out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir/NAME.json`` atomically (a reader never sees a half-written file)."""
    return write_json(Path(out_dir) / f"{result.name}.json", result.to_dict())


def load(path: str | os.PathLike) -> ExperimentResult:
    """Read a result written by :func:`save`; a ValueError names a file that is not one."""
    try:
        with open(path) as f:
            data = json.load(f)
        claims = [Claim(**c) for c in data["claims"]]
        return ExperimentResult(data["name"], data["measurements"], claims, data["provenance"],
                                data.get("signature"))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a readable experiment result ({type(error).__name__}: {error})") from None
