"""Record how long each chapter takes to execute at the quick scale, from a test run's report.

    python tools/chapter_times.py _build/test-report.xml     # writes ssl_lib/results/chapter_times.json

``make test`` executes every chapter's notebook with nbmake (stored results off, so every
result is computed at the quick scale) and writes a JUnit report (``--junitxml``). This tool
reads each notebook's time from it and stores them in the package, where
:func:`ssl_lib.costs.expected_time` reads them for the chapters' set-up cells and the
instructors' page. Commit the file after a CI run on the machine the README describes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

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
    parser.add_argument("--machine", default="2 CPU cores with AVX-512 BF16, CI",
                        help="where and how the report was measured (shown beside the times; the date is added)")
    args = parser.parse_args(argv)
    record = {"measured": f"{args.machine}, {date.today().isoformat()}", "chapters": chapter_seconds(args.report)}
    OUT.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{OUT}: {len(record['chapters'])} chapters, {sum(record['chapters'].values()) / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
