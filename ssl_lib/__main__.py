"""Command line: the same registered experiments the chapters run.

    python -m ssl_lib list
    python -m ssl_lib run NAME [--scale quick|full] [--seed S] [--out DIR]

``run`` writes ``DIR/NAME.json`` with the measurements, the claims and the provenance, and
prints each claim. It exits with status 0 whether or not the claims hold: a claim that does
not hold is a finding, not a crash.
"""

from __future__ import annotations

import argparse
import sys

from ssl_lib import experiments
from ssl_lib.scale import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssl_lib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the registered experiments")
    run = commands.add_parser("run", help="run one experiment and save its result as JSON")
    run.add_argument("name", help="an experiment's name (see `list`)")
    run.add_argument("--scale", choices=SCALES, default=None,
                     help="quick (CPU) or full (GPU); default: SSL_SCALE, else by hardware")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--out", default="results", help="folder for NAME.json (default: results)")
    args = parser.parse_args(argv)

    if args.command == "list":
        for name in experiments.names():
            exp = experiments.get(name)
            print(f"{name:32s} [{exp.chapter}] {exp.summary}")
        return 0

    if args.name not in experiments.names():
        parser.error(f"no experiment called {args.name!r}; choose one of: {', '.join(experiments.names())}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    result = experiments.run(args.name, scale=args.scale, seed=args.seed)
    path = experiments.save(result, args.out)
    for c in result.claims:
        print(("HOLDS   " if c.held else "FAILS   ") + str(c))
    p = result.provenance
    print(f"scale {p['scale']}, seed {p['seed']}, {p['device']}, {p['wall_time_s']:.1f} s -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
