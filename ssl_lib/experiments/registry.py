"""Experiments as code: every experiment of the book is a registered function.

An experiment takes a scale and a seed and returns its measurements and its **claims**. A
claim is one sentence of a paper, checked against the run's own numbers: its id, the
statement, whether it held, and the numbers that decided it. The chapters, the command line
(``python -m ssl_lib run NAME``) and the tests all call :func:`run`, so they show the same numbers.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ssl_lib.data import cache_dir
from ssl_lib.runtime import describe_device
from ssl_lib.scale import check_scale, current_scale


@dataclass(frozen=True)
class Claim:
    """A paper's statement checked against measurements.

    Attributes:
        id: a short identifier, unique within its experiment (``"masking_aligns_neurons"``).
        statement: the paper's statement in one sentence.
        held: whether the measurements support it.
        evidence: the numbers that decided it, by name.
    """

    id: str
    statement: str
    held: bool
    evidence: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        numbers = ", ".join(f"{k} = {_format_number(v)}" for k, v in self.evidence.items())
        verdict = "holds" if self.held else "does NOT hold"
        return f"{self.id}: {self.statement} [{verdict}; {numbers}]"


def claim(id: str, statement: str, held: bool, **evidence: float) -> Claim:
    """Build a :class:`Claim`; ``evidence`` holds the numbers that decided ``held``."""
    return Claim(id=id, statement=statement, held=bool(held), evidence=_jsonable(evidence))


@dataclass
class ExperimentResult:
    """What one run of an experiment measured and concluded, with its provenance."""

    name: str
    measurements: dict[str, Any]
    claims: list[Claim]
    provenance: dict[str, Any]

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

    def claims_markdown(self) -> str:
        """The claims as a Markdown table (shown by Jupyter and the book)."""
        rows = ["| claim | statement | holds | evidence |", "| --- | --- | --- | --- |"]
        for c in self.claims:
            numbers = "; ".join(f"{k} = {_format_number(v)}" for k, v in c.evidence.items())
            statement = c.statement.replace("|", "\\|")
            rows.append(f"| `{c.id}` | {statement} | {'yes' if c.held else '**no**'} | {numbers} |")
        p = self.provenance
        rows.append("")
        rows.append(
            f"*{self.name}: scale {p['scale']}, seed {p['seed']}, {p['device']}, "
            f"{p['wall_time_s']:.1f} s.*"
        )
        return "\n".join(rows)

    def _repr_markdown_(self) -> str:
        return self.claims_markdown()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measurements": self.measurements,
            "claims": [asdict(c) for c in self.claims],
            "provenance": self.provenance,
        }


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``function(scale, seed) -> (measurements, claims)``."""

    name: str
    function: Callable[..., tuple[dict[str, Any], list[Claim]]]
    chapter: str
    summary: str


_REGISTRY: dict[str, Experiment] = {}

# Where `python -m ssl_lib run NAME --scale full --out results` saves the results a GPU computed.
RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"


def experiment(name: str, *, chapter: str) -> Callable:
    """Register the decorated function as the experiment ``name`` of ``chapter``.

    The function takes keyword arguments ``scale`` and ``seed`` and returns a pair
    ``(measurements, claims)``: a dict of JSON-serialisable values (numbers, lists, NumPy
    arrays and tensors are converted) and a list of :class:`Claim`.
    """

    def register(function: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"an experiment called {name!r} is already registered")
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _REGISTRY[name] = Experiment(name=name, function=function, chapter=chapter, summary=summary)
        return function

    return register


def names() -> list[str]:
    """The names of all registered experiments, sorted."""
    return sorted(_REGISTRY)


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name raises a ``KeyError`` listing the valid ones."""
    if name not in _REGISTRY:
        raise KeyError(f"no experiment called {name!r}; registered experiments: {', '.join(names())}")
    return _REGISTRY[name]


def run(name: str, scale: str | None = None, seed: int = 0) -> ExperimentResult:
    """Run the experiment ``name`` at ``scale`` (default: :func:`ssl_lib.current_scale`) and ``seed``."""
    exp = get(name)
    scale = current_scale() if scale is None else check_scale(scale)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    start = time.perf_counter()
    measurements, claims = exp.function(scale=scale, seed=seed)
    wall = time.perf_counter() - start
    if not all(isinstance(c, Claim) for c in claims):
        raise TypeError(f"experiment {name!r} must return a list of Claim objects")
    provenance = {
        "experiment": name,
        "chapter": exp.chapter,
        "scale": scale,
        "seed": seed,
        "device": describe_device(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "wall_time_s": round(wall, 3),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return ExperimentResult(name, _jsonable(measurements), list(claims), provenance)


def cached_run(name: str, scale: str | None = None, seed: int = 0) -> ExperimentResult:
    """:func:`run`, or the saved result of the same experiment, scale, seed and library code.

    The chapters call this, so that a chapter executed twice in a row (by the tests and by the
    book build) computes each result once. The key includes a fingerprint of every source file of
    ``ssl_lib``: any change to the library's code computes the result afresh.
    """
    scale = current_scale() if scale is None else check_scale(scale)
    path = cache_dir() / "results" / code_fingerprint()[:16] / f"{name}-{scale}-seed{seed}.json"
    if path.exists():
        return load(path)
    result = run(name, scale=scale, seed=seed)
    _write_json(path, result.to_dict())
    return result


def saved_or_run(name: str, scale: str | None = None, seed: int = 0, results_dir: str | Path | None = None
                 ) -> ExperimentResult:
    """The full-scale result ``results_dir/NAME.json`` if one was saved (by
    ``python -m ssl_lib run NAME --scale full --out results``), else the experiment at ``scale``
    (through :func:`ssl_lib.experiments.cached_run`). The result's ``provenance["scale"]`` says
    which, so a chapter can label its figures."""
    scale = current_scale() if scale is None else check_scale(scale)
    path = Path(results_dir or RESULTS_DIR) / f"{name}.json"
    if path.exists():
        saved = load(path)
        if saved.provenance.get("scale") == "full":
            saved.provenance["shown_from"] = str(path)
            return saved
    return cached_run(name, scale=scale, seed=seed)


def provenance_line(result: ExperimentResult) -> str:
    """One line saying which scale a result (and so a figure) comes from, and how it was made."""
    p = result.provenance
    how = (f"saved in {Path(p['shown_from']).parent.name}/{Path(p['shown_from']).name} "
           f"on {p['finished_utc']}" if "shown_from" in p else "computed for this page")
    return (f"{result.name}: {p['scale']} scale, seed {p['seed']}, {how}; {p['device']}, "
            f"commit {str(p.get('git_commit', 'unknown'))[:12]}, {p['wall_time_s']:.0f} s")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the paths and contents of every ``.py`` file of the ``ssl_lib`` package."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def save(result: ExperimentResult, out_dir: str | os.PathLike) -> Path:
    """Write ``out_dir/NAME.json`` atomically (a reader never sees a half-written file)."""
    path = Path(out_dir) / f"{result.name}.json"
    _write_json(path, result.to_dict())
    return path


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> ExperimentResult:
    """Read a result written by :func:`save`."""
    with open(path) as f:
        data = json.load(f)
    claims = [Claim(**c) for c in data["claims"]]
    return ExperimentResult(data["name"], data["measurements"], claims, data["provenance"])


def _jsonable(value: Any) -> Any:
    """Convert tensors, arrays and NumPy scalars into plain JSON values, recursively."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an experiment's measurements")


def _format_number(value: Any) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5) and math.isfinite(value):
            return f"{value:.3g}"
        return f"{value:.4g}"
    return str(value)


def _git_commit() -> str:
    """The commit of the checkout ssl_lib runs from, with ``-dirty`` for local changes."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=10
        )
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
