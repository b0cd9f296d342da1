"""Experiments as code: every experiment of the book is a registered function.

An experiment takes a scale and a seed and returns its measurements and its **claims**. A
claim is one sentence of a paper, checked against the run's own numbers: its id, the
statement, whether it held, and the numbers that decided it. The chapters, the command line
(``python -m ssl_lib run NAME``) and the tests all call :func:`run`, so they show the same numbers.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ssl_lib.checks import seed as check_seed
from ssl_lib.data import CACHE_ENV, CorruptDataError, DataUnavailableError, cache_dir
from ssl_lib.precision import default_precision, layout_name, memory_format
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.scale import SCALES, check_scale, current_scale, stored_results_enabled
from ssl_lib.storage import (ENGINE_MODULES, check_writable, code_fingerprint, data_identity, module_imports,
                             write_json)


@dataclass(frozen=True)
class Claim:
    """A paper's statement checked against measurements.

    Attributes:
        id: a short identifier, unique within its experiment (``"masking_aligns_neurons"``).
        statement: the paper's statement in one sentence.
        held: whether the measurements support it.
        evidence: the numbers that decided it, by name.
        decided: False when the measurements are too noisy to say either way (then ``held`` is
            False too): the claim is reported as undecided, neither held nor refuted.
    """

    id: str
    statement: str
    held: bool
    evidence: dict[str, float] = field(default_factory=dict)
    decided: bool = True

    @property
    def verdict(self) -> str:
        """``holds``, ``does not hold`` or ``undecided``."""
        return "holds" if self.held else ("does not hold" if self.decided else "undecided")

    def __str__(self) -> str:
        numbers = ", ".join(f"{k} = {_format_number(v)}" for k, v in self.evidence.items())
        return f"{self.id}: {self.statement} [{self.verdict}; {numbers}]"


def claim(id: str, statement: str, held: bool, decided: bool = True, **evidence: float) -> Claim:
    """Build a :class:`Claim`; ``evidence`` holds the numbers that decided ``held``."""
    if held and not decided:
        raise ValueError(f"claim {id!r}: an undecided claim cannot hold")
    return Claim(id=id, statement=statement, held=bool(held), evidence=jsonable(evidence), decided=bool(decided))


#: How many standard errors of a difference make it a decided one (about 95% two-sided).
MARGIN_SE = 2.0


def greater_claim(id: str, statement: str, larger: tuple[str, float, float], smaller: tuple[str, float, float],
                  **evidence: float) -> Claim:
    """The claim "``larger`` exceeds ``smaller``", each given as ``(name, value, standard error)``.

    With the difference d and its standard error s = sqrt(se_larger^2 + se_smaller^2) (the two
    measured independently), the claim holds when d > MARGIN_SE * s, does not hold when
    d < -MARGIN_SE * s, and is undecided in between.
    """
    (name_a, a, se_a), (name_b, b, se_b) = larger, smaller
    difference, se = a - b, math.sqrt(se_a ** 2 + se_b ** 2)
    return claim(id, statement, held=difference > MARGIN_SE * se, decided=abs(difference) > MARGIN_SE * se,
                 **{name_a: a, name_b: b, "difference": difference, "difference_se": se}, **evidence)


def mean_and_se(values) -> tuple[float, float]:
    """The mean of the finite ``values`` and its standard error std / sqrt(n) (0 for one value)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        raise ValueError("mean_and_se needs at least one finite value")
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


#: The significance level of :func:`majority_claim`'s binomial test (one-sided).
MAJORITY_LEVEL = 0.05


def majority_claim(id: str, statement: str, successes: int, runs: int, **evidence: float) -> Claim:
    """The claim "it happens in most runs", from ``successes`` of ``runs`` independent runs.

    A one-sided binomial test against a fair coin (scipy's ``binomtest``): the claim holds when
    P(X >= successes | p = 1/2) < :data:`MAJORITY_LEVEL` (with 16 runs: 12 or more), does not hold
    when P(X <= successes | p = 1/2) < :data:`MAJORITY_LEVEL` (4 or fewer), and is undecided in
    between, or when there are no runs.
    """
    from scipy.stats import binomtest

    if not (0 <= successes <= runs):
        raise ValueError(f"claim {id!r}: successes must be between 0 and runs = {runs}, got {successes}")
    if runs == 0:
        return claim(id, statement, held=False, decided=False, runs=0, successes=0, **evidence)
    above = binomtest(successes, runs, 0.5, alternative="greater").pvalue
    below = binomtest(successes, runs, 0.5, alternative="less").pvalue
    return claim(id, statement, held=above < MAJORITY_LEVEL, decided=min(above, below) < MAJORITY_LEVEL,
                 runs=runs, successes=successes, p_value=above, **evidence)


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

    def claims_markdown(self) -> str:
        """The claims as a Markdown table (shown by Jupyter and the book)."""
        rows = ["| claim | statement | holds | evidence |", "| --- | --- | --- | --- |"]
        for c in self.claims:
            numbers = "; ".join(f"{k} = {_format_number(v)}" for k, v in c.evidence.items())
            statement = c.statement.replace("|", "\\|")
            rows.append(f"| `{c.id}` | {statement} | {_VERDICT_CELL[c.verdict]} | {numbers} |")
        rows.append("")
        rows.append(f"*{provenance_line(self)}.*")
        return "\n".join(rows)

    def _repr_markdown_(self) -> str:
        return self.claims_markdown()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measurements": self.measurements,
            "claims": [asdict(c) for c in self.claims],
            "provenance": self.provenance,
            **({"signature": self.signature} if self.signature is not None else {}),
        }


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``function(scale, seed) -> (measurements, claims)``, or, when it
    has ``claims``, ``function(scale, seed) -> measurements`` and ``claims(measurements, scale) ->
    claims``: then its claims are decided from the measurements as stored (JSON values), and
    recomputed whenever a stored result is shown or verified (the stored claims are a record).

    ``stored``: the scales at which ``make results`` computes and stores it (the CIFAR-10
    experiments sized for them); an experiment not listed there is computed by the chapter.
    """

    name: str
    function: Callable[..., Any]
    chapter: str
    summary: str
    stored: tuple[str, ...] = ()
    claims: Callable[[dict[str, Any], str], list[Claim]] | None = None

    def measure(self, scale: str, seed: int) -> dict[str, Any]:
        """The measurements of the experiment at ``scale`` and ``seed``, as JSON values (without its
        claims: an experiment without :attr:`claims` decides them too, and they are dropped)."""
        output = self.function(scale=scale, seed=seed)
        return jsonable(output if self.claims is not None else output[0])

    def decide(self, measurements: dict[str, Any], scale: str) -> list[Claim]:
        """The claims of ``measurements`` (JSON values) at ``scale``, by :attr:`claims`."""
        claims = self.claims(measurements, scale)
        if not all(isinstance(c, Claim) for c in claims):
            raise TypeError(f"the claims of experiment {self.name!r} must be a list of Claim objects")
        return claims

    @property
    def module(self) -> str:
        return self.function.__module__


_REGISTRY: dict[str, Experiment] = {}

# Stored results live inside the package, so that a `pip install` (Colab) finds them too.
STORED_DIR = Path(__file__).resolve().parents[1] / "results"
# The scales whose results are stored, largest first: a chapter shows the largest fresh one.
STORED_SCALES = ("full", "medium")


def experiment(name: str, *, chapter: str, stored: tuple[str, ...] = (),
               claims: Callable[[dict[str, Any], str], list[Claim]] | None = None) -> Callable:
    """Register the decorated function as the experiment ``name`` of ``chapter``.

    The function takes keyword arguments ``scale`` and ``seed`` and returns its measurements: a
    dict of JSON-serialisable values (numbers, lists, NumPy arrays and tensors are converted),
    from which ``claims(measurements, scale)`` decides its list of :class:`Claim` (the way of the
    stored experiments: their claims are recomputed from the stored measurements). Without
    ``claims`` it returns the pair ``(measurements, claims)``. ``stored`` lists the scales (of
    :data:`STORED_SCALES`) at which its results are stored in the package.
    """

    def register(function: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"an experiment called {name!r} is already registered")
        for scale in stored:
            if scale not in STORED_SCALES:
                raise ValueError(f"stored scale {scale!r} of {name!r} must be one of {', '.join(STORED_SCALES)}")
        summary = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _REGISTRY[name] = Experiment(name, function, chapter, summary, tuple(stored), claims)
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
    seed = check_seed(seed)
    start = time.perf_counter()
    if exp.claims is None:
        measurements, claims = exp.function(scale=scale, seed=seed)
        measurements = jsonable(measurements)
    else:
        measurements = exp.measure(scale, seed)
        claims = exp.decide(measurements, scale)
    wall = time.perf_counter() - start
    if not all(isinstance(c, Claim) for c in claims):
        raise TypeError(f"experiment {name!r} must return a list of Claim objects")
    device = default_device()
    precision = default_precision(device)
    provenance = {
        "experiment": name,
        "chapter": exp.chapter,
        "scale": scale,
        "seed": seed,
        "device": describe_device(),
        "precision": precision,
        "memory_format": layout_name(memory_format(precision, device)),
        "code_fingerprint": experiment_fingerprint(name),
        "data": _data_read(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "git_commit": _git_commit(),
        "wall_time_s": round(wall, 3),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return ExperimentResult(name, measurements, list(claims), provenance)


def experiment_fingerprint(name: str) -> str:
    """The code fingerprint of experiment ``name`` (:func:`ssl_lib.storage.code_fingerprint`): the
    engine's modules, the experiment's module and the ``ssl_lib`` modules it imports, docstrings
    and comments excluded. The registry itself (formatting, storage) does not count."""
    module = get(name).module
    modules = {*ENGINE_MODULES, module, *module_imports(module)} - {__name__, "ssl_lib", "ssl_lib.experiments"}
    return code_fingerprint(modules)


def cached_run(name: str, scale: str | None = None, seed: int = 0) -> ExperimentResult:
    """:func:`run`, or the result of the same experiment, scale, seed, code and data computed
    before on this machine (in ``SSL_LIB_CACHE``).

    So a chapter executed twice in a row (by the tests and by the book build) computes each
    result once; any change to the code that decides it (:func:`experiment_fingerprint`) or to
    the data computes it afresh.
    """
    scale = current_scale() if scale is None else check_scale(scale)
    path = cache_dir() / "results" / f"{name}-{scale}-seed{seed}-{experiment_fingerprint(name)}-{_data_key()}.json"
    if path.exists():
        try:
            return load(path)
        except ValueError:  # an unreadable cache entry is recomputed, not fatal
            path.unlink(missing_ok=True)
    check_writable(cache_dir(), CACHE_ENV)  # before the work, not after it
    result = run(name, scale=scale, seed=seed)
    try:
        write_json(path, result.to_dict())
    except OSError as error:  # the disk filled up or the folder went away meanwhile: keep the work
        warnings.warn(f"could not cache {name} in {path.parent} ({error}); the result is returned "
                      f"but will be computed again next time (check {CACHE_ENV})", stacklevel=2)
    return result


def _data_key() -> str:
    return _data_read().replace(":", "-").replace(",", "-").replace(" ", "-")


def _data_read() -> str:
    """The data's identity (:func:`ssl_lib.storage.data_identity`), or ``unavailable`` when the
    CIFAR-10 mirror cannot be read: an experiment that never reads CIFAR-10 still runs and is
    saved, and one that does fails when it loads the data, naming the problem."""
    try:
        return data_identity()
    except (DataUnavailableError, CorruptDataError):
        return "unavailable"


# ----------------------------------------------------------------------------------------------
# Stored results: computed once by `make results`, committed in the package, shown by the book
# ----------------------------------------------------------------------------------------------

def stored_path(name: str, scale: str, seed: int) -> Path:
    """Where the stored result of ``name`` at ``scale`` and ``seed`` lives in the package."""
    return STORED_DIR / scale / f"{name}-seed{seed}.json"


def stored_seeds(name: str, scale: str) -> list[int]:
    """The seeds for which a result of ``name`` at ``scale`` is stored in the package, in order."""
    found = (path.name.removeprefix(f"{name}-seed").removesuffix(".json")
             for path in (STORED_DIR / scale).glob(f"{name}-seed*.json"))
    return sorted(int(seed) for seed in found if seed.isdigit())


def refresh_command(name: str, scale: str, seed: int) -> str:
    """The command that computes and stores the result of ``name`` at ``scale`` and ``seed``."""
    return f"python -m ssl_lib store {name} --scale {scale} --seed {seed}"


def is_fresh(result: ExperimentResult) -> bool:
    """Whether today's code computes what the stored ``result`` holds: its code is unchanged, or
    its signature replays (:func:`ssl_lib.experiments.freshness.check`)."""
    from ssl_lib.experiments.freshness import check  # freshness builds on this module

    return check(result).fresh


def load_stored(name: str, scale: str, seed: int) -> ExperimentResult | None:
    """The stored result of ``name`` at ``scale`` and ``seed``, or None if there is none.

    Raises ValueError if the file is corrupt (naming it and the command that rebuilds it).
    """
    seed = check_seed(seed)
    path = stored_path(name, scale, seed)
    if not path.exists():
        return None
    try:
        result = load(path)
    except ValueError as error:
        raise ValueError(f"{error}; rebuild it with `{refresh_command(name, scale, seed)}`") from None
    found = (result.name, result.provenance.get("scale"), result.provenance.get("seed"))
    if found != (name, scale, seed):
        raise ValueError(f"{path} holds the result of {found[0]} at scale {found[1]}, seed {found[2]}, not of {name} "
                         f"at scale {scale}, seed {seed}; rebuild it with `{refresh_command(name, scale, seed)}`")
    result.provenance["shown_from"] = path.relative_to(STORED_DIR.parent).as_posix()
    exp = get(name)
    if exp.claims is not None:  # decided by today's rules from the stored measurements
        result.claims = exp.decide(result.measurements, scale)
    return result


def result(name: str, seed: int = 0, scale: str | None = None) -> ExperimentResult:
    """The result a chapter shows: the largest fresh stored result (full, then medium) of
    ``name`` and ``seed``, else the experiment computed at ``scale`` (:func:`cached_run`).

    Stored results are used only at scales at least as large as ``scale`` (default
    :func:`ssl_lib.current_scale`) and only while ``SSL_STORED_RESULTS`` is on. A stale stored
    result (computed by other code) is never shown: it warns, naming the refresh command, and
    the result is computed. Its ``provenance`` says where it came from (:func:`provenance_line`).
    """
    from ssl_lib.experiments.freshness import check  # freshness builds on this module

    exp = get(name)
    scale = current_scale() if scale is None else check_scale(scale)
    seed = check_seed(seed)
    if stored_results_enabled():
        for stored_scale in STORED_SCALES:
            if stored_scale not in exp.stored or SCALES.index(stored_scale) < SCALES.index(scale):
                continue
            stored = load_stored(name, stored_scale, seed)
            if stored is None:
                continue
            freshness = check(stored)
            if freshness.fresh:
                return stored
            warnings.warn(f"the stored result {stored.provenance['shown_from']} is stale ({freshness.how}); "
                          f"computing {name} at the {scale} scale instead. Refresh it with "
                          f"`{refresh_command(name, stored_scale, seed)}`", stacklevel=2)
    return cached_run(name, scale=scale, seed=seed)


def results(name: str, seeds: tuple[int, ...] = (0,), scale: str | None = None) -> list[ExperimentResult]:
    """:func:`result` for each of ``seeds``, in order (a missing seed is computed, never replaced)."""
    return [result(name, seed=seed, scale=scale) for seed in seeds]


@dataclass(frozen=True)
class SeedVerdicts:
    """One experiment's claims decided on several seeds (results of :func:`results`).

    A claim holds only when it holds on every seed, does not hold when it fails beyond the noise
    on every seed, and is undecided otherwise (undecided on a seed, or seeds that disagree).
    """

    shown: tuple[ExperimentResult, ...]

    def __post_init__(self) -> None:
        if not self.shown or len({r.name for r in self.shown}) != 1:
            raise ValueError("SeedVerdicts needs results of one experiment, at least one")
        scales = [r.provenance["scale"] for r in self.shown]
        if len(set(scales)) > 1:
            raise ValueError(f"SeedVerdicts judges results of one scale together, got scales {scales} for seeds "
                             f"{[r.provenance['seed'] for r in self.shown]}; store or compute every seed at one scale")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.shown[0].claims]

    def verdict(self, id: str) -> str:
        """``holds``, ``does not hold`` or ``undecided``, over every seed."""
        verdicts = {r.claim(id).verdict for r in self.shown}
        return verdicts.pop() if len(verdicts) == 1 else "undecided"

    def describe(self, id: str) -> str:
        """The verdict in words, for a sentence: "holds on both seeds", "does not hold on either
        seed", or "is undecided" with each seed's verdict."""
        verdict, n = self.verdict(id), len(self.shown)
        if verdict == "holds":
            return "holds on both seeds" if n == 2 else ("holds" if n == 1 else f"holds on all {n} seeds")
        if verdict == "does not hold":
            return "does not hold on either seed" if n == 2 else ("does not hold" if n == 1 else
                                                                   f"does not hold on any of the {n} seeds")
        each = ", ".join(f"seed {r.provenance['seed']}: {r.claim(id).verdict}" for r in self.shown)
        return f"is undecided ({each})"

    def _repr_markdown_(self) -> str:
        seeds = [r.provenance["seed"] for r in self.shown]
        rows = ["| claim | statement | " + " | ".join(f"seed {s}" for s in seeds) + " | over the seeds |",
                "| --- | --- | " + "--- | " * len(seeds) + "--- |"]
        for id in self.ids:
            cells = []
            for r in self.shown:
                c = r.claim(id)
                margin = (f" ({c.evidence['difference']:+.3f} ± {c.evidence['difference_se']:.3f})"
                          if "difference_se" in c.evidence else "")
                cells.append(_VERDICT_CELL[c.verdict] + margin)
            statement = self.shown[0].claim(id).statement.replace("|", "\\|")
            rows.append(f"| `{id}` | {statement} | {' | '.join(cells)} | {_VERDICT_CELL[self.verdict(id)]} |")
        rows += ["", f"*{provenance_line(*self.shown)}.*"]
        return "\n".join(rows)


def store(name: str, scale: str, seed: int) -> tuple[Path, ExperimentResult, bool]:
    """Compute (unless fresh) and store the result of ``name`` at ``scale`` and ``seed``.

    Returns the path, the result, and whether it was computed (False: the stored one was fresh).
    """
    if scale not in get(name).stored:
        raise ValueError(f"experiment {name!r} is not sized to be stored at the {scale} scale; "
                         f"its stored scales: {', '.join(get(name).stored) or 'none'}")
    path = stored_path(name, scale, seed)
    check_writable(path.parent, "the package's results folder")
    try:
        existing = load_stored(name, scale, seed)
    except ValueError:  # a corrupt stored result is replaced
        existing = None
    if existing is not None and is_fresh(existing):
        return path, existing, False
    from ssl_lib.experiments.freshness import sign  # freshness builds on this module

    computed = cached_run(name, scale=scale, seed=seed)
    computed.signature = sign(computed)
    write_json(path, computed.to_dict())
    return path, computed, True


def provenance_line(*shown: ExperimentResult) -> str:
    """One line saying where results (of one experiment, one per seed) come from: scale, seeds,
    stored or computed, device, precision, data, commit and time. Results of different origins
    (a stored seed beside a computed one) are described one by one, separated by ``|``."""
    if not shown:
        raise ValueError("provenance_line needs at least one result")
    origins = {_origin(r) for r in shown}
    if len(origins) > 1:
        return " | ".join(provenance_line(r) for r in shown)
    first = shown[0].provenance
    seeds = ", ".join(str(r.provenance["seed"]) for r in shown)
    minutes = ", ".join(f"{_compute_s(r) / 60:.1f}" for r in shown)
    commits = ", ".join(dict.fromkeys(_short_commit(r.provenance.get("git_commit", "unknown")) for r in shown))
    return (f"{shown[0].name}: {first['scale']} scale, seed{'s' if len(shown) > 1 else ''} {seeds}; "
            f"{_origin(shown[0])}; {first['device']}, {first.get('precision', 'float32')}, "
            f"data {first.get('data', 'unknown')}, commit{'s' if ',' in commits else ''} {commits}; "
            f"{minutes} min {'of training' if 'train_s' in shown[0].measurements else 'to compute'}")


def _compute_s(result: ExperimentResult) -> float:
    """The time a result cost: the training time of its runs when it reports one (``train_s``,
    kept when a result is re-assembled from cached training runs), else its computing time."""
    return result.measurements.get("train_s", result.provenance["wall_time_s"])


def _origin(result: ExperimentResult) -> str:
    p = result.provenance
    if "shown_from" in p:
        return f"stored in ssl_lib/{Path(p['shown_from']).parent.as_posix()}, computed {p['finished_utc'][:10]}"
    return "computed for this page"


def _short_commit(commit: str) -> str:
    """The first 12 digits of a commit, keeping the ``-dirty`` mark of uncommitted changes."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


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


def jsonable(value: Any) -> Any:
    """Convert tensors, arrays and NumPy scalars into plain JSON values, recursively."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in an experiment's measurements")


_VERDICT_CELL = {"holds": "yes", "does not hold": "**no**", "undecided": "*undecided*"}


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
        dirty = subprocess.run(  # the stored results being rewritten do not make the code dirty
            ["git", "status", "--porcelain", "--", ":/", ":(top,exclude)ssl_lib/results"],
            cwd=here, capture_output=True, text=True, timeout=10,
        )
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
