"""Whether a stored result is fresh: today's code computes what it stored.

Two ways to be fresh, tried in order (:func:`check`):

1. **code unchanged**: the stored code fingerprint (the source text of the engine and of the
   experiment's modules, docstrings and comments excluded) equals today's, or is one that a
   replay vouched for (:func:`vouch`, ``python -m ssl_lib sign``); nothing is replayed.
2. **replayed**: the result's signature (made by :func:`sign` when it was stored, with the code
   that computed it) is replayed by today's code (:mod:`ssl_lib.replay`): every training run it
   read is still one its chapter trains (same configuration), and each run's replay signature
   (unless the engine's source text is the one it was signed with) and the experiment's analysis
   probe agree with the stored ones within the replay tolerance.

A result without a signature, with a corrupt one, or whose replay raises is stale, never fresh.
Each training run's record (its configuration and replay signature, and its history, final
accuracies and training time when the run was trained on the machine that signs) is kept with the
stored results in ``ssl_lib/results/<scale>/runs/<run id>.json``; replays are cached in
``SSL_LIB_CACHE/replay/`` under today's engine fingerprint, so that the tests, the chapters and
``verify`` replay a run once.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ssl_lib import replay
from ssl_lib.data import cache_dir, data_identity
from ssl_lib.experiments import registry
from ssl_lib.experiments.experiment_result import ExperimentResult
from ssl_lib.experiments.plans import training_plans
from ssl_lib.storage import code_fingerprint, jsonable, key_of, write_json
from ssl_lib.train import TrainConfig, config_key, run_dir


@dataclass(frozen=True)
class Freshness:
    """The verdict on one stored result: ``fresh``, and ``how`` (``code unchanged``, ``replayed``,
    or what made it stale, with ``command`` that refreshes it)."""

    fresh: bool
    how: str
    command: str = ""


def runs_dir(scale: str) -> Path:
    """Where the records of the training runs behind the stored results of ``scale`` live."""
    return registry.STORED_DIR / scale / "runs"


def sign_command(name: str, scale: str, seed: int) -> str:
    """The command that signs a stored result that today's code computed (its text unchanged)."""
    return f"python -m ssl_lib sign {name} --scale {scale} --seed {seed}"


# ----------------------------------------------------------------------------------------------
# Signing
# ----------------------------------------------------------------------------------------------

def planned_runs(chapter: str, scale: str, seed: int) -> list[TrainConfig]:
    """The distinct training runs ``chapter`` trains at ``scale`` and ``seed`` with today's code."""
    plan = training_plans().get(chapter)
    return plan(scale, seed) if plan else []


def runs_of(result: ExperimentResult) -> list[TrainConfig]:
    """The configurations of the training runs a result read (``measurements["runs"]``: run key ->
    seconds), found among its chapter's planned runs; only while today's code made it (the keys
    hash the engine's source text)."""
    p = result.provenance
    planned = {config_key(c): c for c in planned_runs(registry.get(result.name).chapter, p["scale"], p["seed"])}
    keys = list(result.measurements.get("runs", {}))
    unknown = [k for k in keys if k not in planned]
    if unknown:
        raise ValueError(f"{result.name} (seed {p['seed']}) read runs {', '.join(unknown)} that its chapter's "
                         f"training plan does not list; store it again with "
                         f"`{registry.refresh_command(result.name, p['scale'], p['seed'])}`")
    return [planned[k] for k in keys]


def sign(result: ExperimentResult) -> dict[str, Any]:
    """The signature of ``result``, made with today's code, which must be the code that computed it
    (same fingerprint); writes the record of each training run it read (:func:`runs_dir`)."""
    p = result.provenance
    if p.get("code_fingerprint") != registry.experiment_fingerprint(result.name):
        raise ValueError(f"{result.name} (seed {p['seed']}) was computed by other code than today's: it can be "
                         f"signed only by the code that made it; store it again with "
                         f"`{registry.refresh_command(result.name, p['scale'], p['seed'])}`")
    signed_with, digests = _signed_with(), {}
    for config in runs_of(result):
        record = {"id": replay.run_id(config), "config": asdict(config), **trained_record(config),
                  "signature": replay_run(config), "signed_with": signed_with}
        write_json(runs_dir(p["scale"]) / f"{record['id']}.json", record)
        digests[record["id"]] = record_digest(record)
    return {"runs": list(digests), "run_digests": digests, "analysis": replay_analysis(result.name, p["seed"]),
            **signed_with}


def record_digest(record: dict[str, Any]) -> str:
    """A hash of a run record's configuration and replay signature: a result signed against a
    record that a later store rewrote (another result, trained by other code) no longer matches."""
    return key_of(record["config"], record["signature"])


def vouch(result: ExperimentResult) -> Freshness:
    """Record in ``result``'s signature that today's code, whose source text differs from the one
    that computed it, replays it (``replayed_by``: experiment fingerprints), so that this text is
    fresh without a replay from now on; the signature itself is unchanged (no drift across many
    changes). Returns the verdict; a stale result is left as it is."""
    verdict = check(result)
    fingerprint = registry.experiment_fingerprint(result.name)
    if verdict.fresh and verdict.how != "code unchanged" and fingerprint not in result.signature.get("replayed_by", []):
        result.signature["replayed_by"] = [*result.signature.get("replayed_by", []), fingerprint]
    return verdict


def trained_record(config: TrainConfig) -> dict[str, Any]:
    """What the trained run of ``config`` recorded, when this machine's cache holds it
    (:func:`ssl_lib.train.run_dir`): its history (per epoch and per evaluation), final kNN and
    probe accuracy, training time, device and precision; empty when it is not cached here."""
    path = run_dir(config) / "result.pt"
    if not path.is_file():
        return {}
    state = torch.load(path, map_location="cpu", weights_only=False)
    history = state["history"]
    return {"history": history, "final": {"knn": history["knn"][-1], "probe": history["probe"][-1]},
            "wall_s": state["wall_s"], "device": state["device"], "precision": state["precision"]}


def _signed_with() -> dict[str, Any]:
    return {"data": data_identity(), "engine_fingerprint": code_fingerprint(), "torch": torch.__version__,
            "signature_steps": replay.SIGNATURE_STEPS}


# ----------------------------------------------------------------------------------------------
# Checking
# ----------------------------------------------------------------------------------------------

def check(result: ExperimentResult) -> Freshness:
    """Whether the stored ``result`` is fresh (module docstring); never raises on a bad signature."""
    p = result.provenance
    name, scale, seed = result.name, p.get("scale"), p.get("seed")
    store = registry.refresh_command(name, scale, seed)
    fingerprint = registry.experiment_fingerprint(name)
    if p.get("code_fingerprint") == fingerprint:
        return Freshness(True, "code unchanged")
    if isinstance(result.signature, dict) and fingerprint in result.signature.get("replayed_by", []):
        return Freshness(True, "code unchanged since a replay vouched for it")
    if not result.signature:
        return Freshness(False, "the code changed and the result has no signature to replay", store)
    try:
        signature, records = _read_signature(result.signature, scale)
    except (KeyError, TypeError, ValueError, OSError) as error:
        return Freshness(False, f"its signature is corrupt or incomplete ({type(error).__name__}: {error})", store)
    if signature["data"] != data_identity():
        return Freshness(False, f"signed on data {signature['data']}, this machine reads {data_identity()}: "
                                f"nothing to replay against", store)
    engine_unchanged = signature.get("engine_fingerprint") == code_fingerprint()
    try:
        planned = {replay.run_id(c) for c in planned_runs(registry.get(name).chapter, scale, seed)}
        for run, record in records.items():
            if run not in planned:
                return Freshness(False, f"run {run} is no longer trained by its chapter (its configuration "
                                        f"changed)", store)
            if engine_unchanged:  # the same engine text trains the same configuration alike
                continue
            difference = replay.first_difference(record["signature"], replay_run(TrainConfig(**record["config"])))
            if difference:
                return Freshness(False, f"run {run} replays differently: {difference}", store)
        difference = replay.first_difference(signature["analysis"], replay_analysis(name, seed))
        if difference:
            return Freshness(False, f"its analysis replays differently: measurements {difference}", store)
    except Exception as error:  # a replay that raises is stale, whatever it raised
        return Freshness(False, f"its replay raised {type(error).__name__}: {error}", store)
    if not records:
        runs = "no training run"
    elif engine_unchanged:
        runs = "its training runs' engine unchanged"
    else:
        runs = f"{len(records)} training run{'' if len(records) == 1 else 's'}"
    return Freshness(True, f"replayed ({runs} and its analysis agree)")


def _read_signature(signature: Any, scale: str) -> tuple[dict, dict[str, dict]]:
    """The signature and its runs' records, checked for every entry a replay reads."""
    if not isinstance(signature, dict):
        raise TypeError(f"a signature is a JSON object, got {type(signature).__name__}")
    for key, kind in (("runs", list), ("run_digests", dict), ("analysis", dict), ("data", str)):
        if not isinstance(signature[key], kind):
            raise TypeError(f"signature[{key!r}] must be a {kind.__name__}")
    records = {}
    for run in signature["runs"]:
        path = runs_dir(scale) / f"{run}.json"
        if not path.is_file():
            raise ValueError(f"the record of run {run} is missing ({path.name} in {path.parent})")
        record = json.loads(path.read_text())
        if not isinstance(record.get("config"), dict) or not isinstance(record.get("signature"), dict):
            raise ValueError(f"the record of run {run} ({path.name}) lacks its configuration or its signature")
        if record_digest(record) != signature["run_digests"].get(run):
            raise ValueError(f"the record of run {run} was rewritten since this result was signed (another "
                             f"result that reads the run was stored by other code)")
        records[run] = record
    return signature, records


def replay_run(config: TrainConfig) -> dict[str, Any]:
    """:func:`ssl_lib.replay.run_signature` of ``config`` with today's engine, cached per engine
    fingerprint in ``SSL_LIB_CACHE/replay/`` (an unwritable cache only costs the replay again)."""
    return _cached(f"run-{code_fingerprint()}-{data_identity()}-{replay.run_id(config)}",
                   lambda: replay.run_signature(config))


def replay_analysis(name: str, seed: int) -> dict[str, Any]:
    """:func:`ssl_lib.replay.analysis_probe` of experiment ``name`` with today's code, cached per
    the experiment's fingerprint."""
    experiment = registry.get(name)
    return _cached(f"analysis-{name}-{seed}-{registry.experiment_fingerprint(name)}-{data_identity()}",
                   lambda: replay.analysis_probe(experiment.measure, seed))


def _cached(label: str, compute) -> Any:
    path = cache_dir() / "replay" / f"{key_of(label)}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    value = json.loads(json.dumps(jsonable(compute())))  # as stored: plain JSON values
    try:
        write_json(path, value)
    except OSError as error:
        warnings.warn(f"could not cache a replay in {path.parent} ({error}); it will be replayed again",
                      stacklevel=3)
    return value
