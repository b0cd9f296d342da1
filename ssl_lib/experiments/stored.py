"""Stored results: read (checked against the name, scale and seed they are shown for, their
claims decided by today's rules), shown only while fresh (:mod:`ssl_lib.experiments.freshness`),
and stored by ``make results`` (:func:`store`)."""

from __future__ import annotations

import warnings
from pathlib import Path

from ssl_lib.checks import seed as check_seed
from ssl_lib.experiments import registry
from ssl_lib.experiments.experiment_result import ExperimentResult, load
from ssl_lib.experiments.freshness import check, sign
from ssl_lib.scale import SCALES, check_scale, current_scale, stored_results_enabled
from ssl_lib.storage import check_writable, write_json


def is_fresh(result: ExperimentResult) -> bool:
    """Whether today's code computes what the stored ``result`` holds: its code is unchanged, or
    its signature replays (:func:`ssl_lib.experiments.freshness.check`)."""
    return check(result).fresh


def load_stored(name: str, scale: str, seed: int) -> ExperimentResult | None:
    """The stored result of ``name`` at ``scale`` and ``seed``, or None if there is none.

    Raises ValueError if the file is corrupt (naming it and the command that rebuilds it).
    """
    seed = check_seed(seed)
    path = registry.stored_path(name, scale, seed)
    if not path.exists():
        return None
    try:
        result = load(path)
    except ValueError as error:
        raise ValueError(f"{error}; rebuild it with `{registry.refresh_command(name, scale, seed)}`") from None
    found = (result.name, result.provenance.get("scale"), result.provenance.get("seed"))
    if found != (name, scale, seed):
        raise ValueError(f"{path} holds the result of {found[0]} at scale {found[1]}, seed {found[2]}, not of {name} "
                         f"at scale {scale}, seed {seed}; rebuild it with `{registry.refresh_command(name, scale, seed)}`")
    result.provenance["shown_from"] = path.relative_to(registry.STORED_DIR.parent).as_posix()
    exp = registry.get(name)
    if exp.claims is not None:  # decided by today's rules from the stored measurements
        result.claims = exp.decide(result.measurements, scale)
    return result


def result(name: str, seed: int = 0, scale: str | None = None) -> ExperimentResult:
    """The result a chapter shows: the largest fresh stored result (full, then medium) of
    ``name`` and ``seed``, else the experiment computed at ``scale`` (:func:`ssl_lib.experiments.registry.cached_run`).

    Stored results are used only at scales at least as large as ``scale`` (default
    :func:`ssl_lib.current_scale`) and only while ``SSL_STORED_RESULTS`` is on. A stale stored
    result (computed by other code) is never shown: it warns, naming the refresh command, and
    the result is computed. Its ``provenance`` says where it came from (:func:`ssl_lib.experiments.provenance.provenance_line`).
    """
    exp = registry.get(name)
    scale = current_scale() if scale is None else check_scale(scale)
    seed = check_seed(seed)
    if stored_results_enabled():
        for stored_scale in registry.STORED_SCALES:
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
                          f"`{registry.refresh_command(name, stored_scale, seed)}`", stacklevel=2)
    return registry.cached_run(name, scale=scale, seed=seed)


def results(name: str, seeds: tuple[int, ...] = (0,), scale: str | None = None) -> list[ExperimentResult]:
    """:func:`result` for each of ``seeds``, in order (a missing seed is computed, never replaced)."""
    return [result(name, seed=seed, scale=scale) for seed in seeds]


def store(name: str, scale: str, seed: int) -> tuple[Path, ExperimentResult, bool]:
    """Compute (unless fresh) and store the result of ``name`` at ``scale`` and ``seed``.

    Returns the path, the result, and whether it was computed (False: the stored one was fresh).
    """
    if scale not in registry.get(name).stored:
        raise ValueError(f"experiment {name!r} is not sized to be stored at the {scale} scale; "
                         f"its stored scales: {', '.join(registry.get(name).stored) or 'none'}")
    path = registry.stored_path(name, scale, seed)
    check_writable(path.parent, "the package's results folder")
    try:
        existing = load_stored(name, scale, seed)
    except ValueError:  # a corrupt stored result is replaced
        existing = None
    if existing is not None and is_fresh(existing):
        return path, existing, False
    computed = registry.cached_run(name, scale=scale, seed=seed)
    computed.signature = sign(computed)
    write_json(path, computed.to_dict())
    return path, computed, True
