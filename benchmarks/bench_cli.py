"""The command line as a person meets it: `tenken --help` (goal <= 0.3 s median), a command's --help,
and whole commands on the FY2020 example, each a fresh process as typed in a shell.

Usage: .venv/bin/python benchmarks/bench_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TENKEN = Path(sys.executable).with_name("tenken")


def timed(argv: list[str], runs: int, cwd: Path) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([str(TENKEN), *argv], cwd=cwd, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tenken-bench-cli-") as scratch:
        cwd = Path(scratch)
        cases = [
            ("tenken --help", ["--help"], args.runs),
            ("tenken summary --help", ["summary", "--help"], args.runs),
            ("tenken summary --year 2020", ["summary", "--year", "2020", "--db", f"sqlite:///{cwd}/none.db"],
             args.runs),
            ("tenken report --year 2020", ["report", "--year", "2020", "--out", str(cwd / "out"),
                                           "--db", f"sqlite:///{cwd}/none.db"], max(3, args.runs // 3)),
        ]
        for label, argv, runs in cases:
            timings = timed(argv, runs, cwd)
            print(f"{label:<30} median {statistics.median(timings):.3f} s "
                  f"(min {min(timings):.3f}, max {max(timings):.3f}, runs {runs})")


if __name__ == "__main__":
    main()
