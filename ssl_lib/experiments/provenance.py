"""Where a result comes from, in one line: scale, seeds, stored or computed, device, precision,
data, commit and time (:func:`provenance_line`), and the commit the library runs from."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssl_lib.experiments.experiment_result import ExperimentResult


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
    minutes = ", ".join(f"{compute_s(r) / 60:.1f}" for r in shown)
    commits = ", ".join(dict.fromkeys(_short_commit(r.provenance.get("git_commit", "unknown")) for r in shown))
    return (f"{shown[0].name}: {first['scale']} scale, seed{'s' if len(shown) > 1 else ''} {seeds}; "
            f"{_origin(shown[0])}; {first['device']}, {first.get('precision', 'float32')}, "
            f"data {first.get('data', 'unknown')}, commit{'s' if ',' in commits else ''} {commits}; "
            f"{minutes} min {'of training' if trained(shown[0]) else 'to compute'}")


def trained(result: ExperimentResult) -> bool:
    """Whether ``result`` reports the training time of its runs (``runs``, by run, from
    :func:`ssl_lib.train.run_times`, or ``train_s``)."""
    return bool(result.measurements.get("runs")) or "train_s" in result.measurements


def compute_s(result: ExperimentResult) -> float:
    """The time a result cost: the training time of its runs when it reports one (kept when a
    result is re-assembled from cached training runs), else its computing time."""
    runs = result.measurements.get("runs")
    if runs:
        return sum(runs.values())
    return result.measurements.get("train_s", result.provenance["wall_time_s"])


def _origin(result: ExperimentResult) -> str:
    p = result.provenance
    if "shown_from" in p:
        return f"stored in ssl_lib/{Path(p['shown_from']).parent.as_posix()}, computed {p['finished_utc'][:10]}"
    return "computed for this page"


def _short_commit(commit: str) -> str:
    """The first 12 digits of a commit, keeping the ``-dirty`` mark of uncommitted changes."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def git_commit() -> str:
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
