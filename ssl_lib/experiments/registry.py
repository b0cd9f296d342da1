"""Experiments as code: every experiment of the book is a registered function.

An experiment takes a scale and a seed and returns its measurements, from which its **claims**
(:mod:`ssl_lib.experiments.claims`) are decided. The chapters, the command line
(``python -m ssl_lib run NAME``) and the tests all call :func:`run` (or :func:`cached_run`), so
they show the same numbers. Where the stored results live is named here too (:func:`stored_path`);
reading and showing them is :mod:`ssl_lib.experiments.stored`'s.
"""

from __future__ import annotations

import platform
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch

from ssl_lib.checks import seed as check_seed
from ssl_lib.data import CACHE_ENV, CorruptDataError, DataUnavailableError, cache_dir, data_identity
from ssl_lib.experiments.claims import Claim
from ssl_lib.experiments.experiment_result import ExperimentResult, load
from ssl_lib.experiments.provenance import git_commit
from ssl_lib.precision import default_precision, layout_name, memory_format
from ssl_lib.runtime import default_device, describe_device
from ssl_lib.scale import check_scale, current_scale
from ssl_lib.storage import ENGINE_MODULES, check_writable, code_fingerprint, jsonable, module_imports, write_json


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
#: The modules of the experiments' infrastructure, which no experiment's fingerprint includes.
INFRASTRUCTURE = ("ssl_lib.experiments.registry", "ssl_lib.experiments.claims", "ssl_lib.experiments.experiment_result",
                  "ssl_lib.experiments.provenance", "ssl_lib.experiments.stored", "ssl_lib.experiments.freshness")

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
        "git_commit": git_commit(),
        "wall_time_s": round(wall, 3),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return ExperimentResult(name, measurements, list(claims), provenance)


def experiment_fingerprint(name: str) -> str:
    """The code fingerprint of experiment ``name`` (:func:`ssl_lib.storage.code_fingerprint`): the
    engine's modules, the experiment's module and the ``ssl_lib`` modules it imports, docstrings
    and comments excluded. The experiments' infrastructure (:data:`INFRASTRUCTURE`: the registry,
    claims, results, provenance) does not count: the claims are recomputed whenever a result is shown."""
    module = get(name).module
    modules = {*ENGINE_MODULES, module, *module_imports(module)} - {"ssl_lib", "ssl_lib.experiments", *INFRASTRUCTURE}
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
    """The data's identity (:func:`ssl_lib.data.data_identity`), or ``unavailable`` when the
    CIFAR-10 mirror cannot be read: an experiment that never reads CIFAR-10 still runs and is
    saved, and one that does fails when it loads the data, naming the problem."""
    try:
        return data_identity()
    except (DataUnavailableError, CorruptDataError):
        return "unavailable"


# Where stored results live: computed once by `make results`, committed in the package

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
