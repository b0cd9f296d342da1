"""Record how long each chapter takes to execute at the quick scale, from a test run's report.

    python tools/chapter_times.py _build/test-report.xml     # writes ssl_lib/results/chapter_times.json

``make test`` executes every chapter's notebook with nbmake (stored results off, so every
result is computed at the quick scale) and writes a JUnit report (``--junitxml``). This tool
reads each notebook's time from it and stores them in the package under this machine's training
path (one record per kind of CPU: bfloat16 where it is native, float32 elsewhere), where
:func:`ssl_lib.costs.expected_time` reads them for the chapters' set-up cells and the
instructors' page; the other kinds' records are kept. Commit the file after a CI run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from ssl_lib.costs import machine_path
from ssl_lib.runtime import describe_device

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "ssl_lib" / "results" / "chapter_times.json"
NOTEBOOK = re.compile(r"notebooks[/.](\d\d_[a-z0-9_]+)(\.ipynb)?$")


def chapter_seconds(report: Path) -> dict[str, float]:
    """The execution time of every chapter notebook in a JUnit report, by chapter name."""
    try:
        tree = ET.parse(report)
    except (OSError, ET.ParseError) as error:
        raise SystemExit(f"cannot read the JUnit report {report}: {error}; run `make test` first") from None
    times = {}
    for case in tree.iter("testcase"):
        match = NOTEBOOK.search(case.get("classname", "")) or NOTEBOOK.search(case.get("file", "") or "")
        if match and case.find("failure") is None and case.find("error") is None:
            times[match.group(1)] = round(float(case.get("time", 0.0)), 1)
    if not times:
        raise SystemExit(f"{report} holds no passing chapter notebook; was it written by `make test`?")
    return dict(sorted(times.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the JUnit XML report of `make test`")
    parser.add_argument("--machine", default=None,
                        help="where and how the report was measured (shown beside the times; the date is added); "
                             "default: this machine's device and 'nbmake, no trained run cached'")
    args = parser.parse_args(argv)
    machine = args.machine or f"{describe_device()}, nbmake, no trained run cached"
    records = json.loads(OUT.read_text())["by_path"] if OUT.is_file() else {}
    records[machine_path()] = {"measured": f"{machine}, {date.today().isoformat()}",
                               "chapters": chapter_seconds(args.report)}
    OUT.write_text(json.dumps({"by_path": records}, indent=1) + "\n")
    chapters = records[machine_path()]["chapters"]
    print(f"{OUT} ({machine_path()}): {len(chapters)} chapters, {sum(chapters.values()) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
