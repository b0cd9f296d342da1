"""Command line: the same registered experiments the chapters run.

    python -m ssl_lib list
    python -m ssl_lib run NAME [--scale quick|medium|full] [--seed S] [--out DIR]
    python -m ssl_lib store [NAME ...] [--scale medium|full] [--seed S ...]
    python -m ssl_lib verify [NAME ...]
    python -m ssl_lib sign [NAME ...] [--scale medium|full] [--seed S ...]
    python -m ssl_lib show NAME [--scale medium|full] [--seed S]

``run`` writes ``DIR/NAME.json`` with the measurements, the claims and the provenance, and
prints each claim. ``store`` computes the results the book shows and stores them in the package
(``ssl_lib/results/SCALE/NAME-seedS.json``; default: every experiment sized for the scale),
skipping those that are fresh; an interrupted training resumes from its last epoch. Both exit
with status 0 whether or not the claims hold: a claim that does not hold is a finding, not a
crash. ``verify`` checks every stored result (or those of NAME), one line each: fresh (its code
unchanged, or its signature replayed by today's code) or stale, with what differs and the
command that refreshes it; exit status 1 when any is stale. ``sign`` signs stored results that
today's code computed (their code unchanged), and for those computed by other code that today's
code replays, records today's code as vouched for (so that it is fresh without a replay). ``show`` prints a stored result's claims and
provenance as its chapter shows them. An error of the library (a bad setting, missing data) is
printed as one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from ssl_lib import experiments
from ssl_lib.experiments import freshness, registry
from ssl_lib.experiments.registry import STORED_SCALES, refresh_command, stored_path, stored_seeds
from ssl_lib.experiments.stored import load_stored
from ssl_lib.scale import SCALES
from ssl_lib.storage import check_writable, write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssl_lib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the registered experiments")
    run = commands.add_parser("run", help="run one experiment and save its result as JSON")
    run.add_argument("name", help="an experiment's name (see `list`)")
    run.add_argument("--scale", choices=SCALES, default=None,
                     help="quick (CPU/CI), medium (2 CPU cores, bfloat16) or full (GPU); default: SSL_SCALE, else by hardware")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--out", default="results", help="folder for NAME.json (default: results)")
    store = commands.add_parser("store", help="compute and store the results the book shows")
    store.add_argument("names", nargs="*", help="experiments (default: all stored at the scale)")
    store.add_argument("--scale", choices=STORED_SCALES, default="medium")
    store.add_argument("--seed", type=int, nargs="+", default=[0], help="seeds (default 0)")
    verify = commands.add_parser("verify", help="check that every stored result is fresh (exit 1 if not)")
    verify.add_argument("names", nargs="*", help="experiments (default: every stored result)")
    sign = commands.add_parser("sign", help="sign stored results that today's code computed")
    sign.add_argument("names", nargs="*", help="experiments (default: every stored result)")
    sign.add_argument("--scale", choices=STORED_SCALES, default=None, help="default: every stored scale")
    sign.add_argument("--seed", type=int, nargs="+", default=None, help="default: every stored seed")
    show = commands.add_parser("show", help="print a stored result's claims and provenance")
    show.add_argument("name", help="an experiment stored at --scale")
    show.add_argument("--scale", choices=STORED_SCALES, default="medium")
    show.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in experiments.names():
            exp = experiments.get(name)
            stored = f" stored: {', '.join(exp.stored)}" if exp.stored else ""
            print(f"{name:32s} [{exp.chapter}]{stored} {exp.summary}")
        return 0
    try:
        if args.command == "run":
            return _run(parser, args)
        if args.command == "verify":
            return _verify(parser, args)
        if args.command == "sign":
            return _sign(parser, args)
        if args.command == "show":
            return _show(parser, args)
        return _store(parser, args)
    except (ValueError, TypeError, KeyError, OSError, RuntimeError, ArithmeticError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.name not in experiments.names():
        parser.error(f"no experiment called {args.name!r}; choose one of: {', '.join(experiments.names())}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    check_writable(args.out, "--out")
    result = experiments.run(args.name, scale=args.scale, seed=args.seed)
    path = experiments.save(result, args.out)
    for c in result.claims:
        print(f"{c.verdict.upper():14s}{c}")
    print(f"{experiments.provenance_line(result)} -> {path}")
    return 0


def _store(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    names = args.names or [n for n in experiments.names() if args.scale in experiments.get(n).stored]
    for name in names:
        if name not in experiments.names():
            parser.error(f"no experiment called {name!r}; choose one of: {', '.join(experiments.names())}")
        if args.scale not in experiments.get(name).stored:
            parser.error(f"{name} is not stored at the {args.scale} scale")
    if any(seed < 0 for seed in args.seed):
        parser.error(f"--seed must be non-negative integers, got {args.seed}")
    jobs = [(name, seed) for seed in args.seed for name in names]
    bar = tqdm(jobs, desc=f"store {args.scale}", unit="result")
    for name, seed in bar:
        bar.set_postfix_str(f"{name} seed {seed}")
        start = time.perf_counter()
        path, result, computed = experiments.store(name, args.scale, seed)
        verdict = f"computed in {time.perf_counter() - start:.0f} s" if computed else "fresh, kept"
        held, undecided = (sum(c.verdict == v for c in result.claims) for v in ("holds", "undecided"))
        tqdm.write(f"{path}: {verdict}; of {len(result.claims)} claims {held} hold, {undecided} undecided")
    return 0


def _stored_results(parser, names, scales=STORED_SCALES, seeds=None) -> list[tuple[str, str, int]]:
    """(name, scale, seed) of every stored result of ``names`` (all when empty) at ``scales``."""
    for name in names:
        if name not in experiments.names():
            parser.error(f"no experiment called {name!r}; choose one of: {', '.join(experiments.names())}")
    found = []
    for name in names or experiments.names():
        for scale in scales:
            found += [(name, scale, seed) for seed in stored_seeds(name, scale) if seeds is None or seed in seeds]
    return found


def _verify(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    start, stale = time.perf_counter(), 0
    targets = _stored_results(parser, args.names)
    for name, scale, seed in targets:
        label = f"{scale}/{name}-seed{seed}"
        try:
            verdict = freshness.check(load_stored(name, scale, seed))
        except ValueError as error:  # a corrupt file
            verdict = freshness.Freshness(False, str(error), refresh_command(name, scale, seed))
        stale += not verdict.fresh
        print(f"{'fresh' if verdict.fresh else 'STALE':6s} {label}: {verdict.how}"
              + ("" if verdict.fresh else f"; refresh it with `{verdict.command}`"), flush=True)
    print(f"{len(targets) - stale} of {len(targets)} stored results fresh, {stale} stale "
          f"({time.perf_counter() - start:.0f} s)")
    return 1 if stale else 0


def _sign(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    scales = (args.scale,) if args.scale else STORED_SCALES
    for name, scale, seed in tqdm(_stored_results(parser, args.names, scales, args.seed), desc="sign", unit="result"):
        path = stored_path(name, scale, seed)
        result = experiments.load(path)  # as stored: its claims the record it holds
        if result.provenance.get("code_fingerprint") == registry.experiment_fingerprint(name):
            result.signature = freshness.sign(result)
            done = f"signed ({len(result.signature['runs'])} training runs and the analysis)"
        else:
            verdict = freshness.vouch(result)
            if not verdict.fresh:
                print(f"error: {path} is stale ({verdict.how}); store it again with `{verdict.command}`",
                      file=sys.stderr)
                return 1
            done = f"fresh ({verdict.how}); today's code recorded as replaying it"
        write_json(path, result.to_dict())
        tqdm.write(f"{path}: {done}")
    return 0


def _show(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.name not in experiments.names():
        parser.error(f"no experiment called {args.name!r}; choose one of: {', '.join(experiments.names())}")
    shown = load_stored(args.name, args.scale, args.seed)
    if shown is None:
        parser.error(f"no stored result of {args.name} at the {args.scale} scale for seed {args.seed}; "
                     f"stored seeds: {stored_seeds(args.name, args.scale) or 'none'}")
    verdict = freshness.check(shown)
    print(shown.claims_markdown())
    print(f"\n{'fresh' if verdict.fresh else 'STALE'}: {verdict.how}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
