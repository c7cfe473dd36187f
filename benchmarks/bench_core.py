"""Rate and aggregate a synthetic plan of 100,000 measures in 2,000 departments (goal: <= 1 s median).

Usage: .venv/bin/python benchmarks/bench_core.py [--measures N] [--departments N] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import synthetic  # noqa: E402

from tenken.core.aggregate import summarize  # noqa: E402
from tenken.core.assessment import assess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    plan, results = synthetic(args.measures, args.departments)
    print(f"built plan and results (not timed below): {time.perf_counter() - started:.2f} s, "
          f"{len(plan.measures)} measures, {len(plan.departments)} departments, {len(results.results)} results")

    timings = []
    for _ in range(args.runs):
        fresh = plan.model_copy()  # drop cached lookups so every run pays for them
        started = time.perf_counter()
        figures = summarize(assess(fresh, results))
        timings.append(time.perf_counter() - started)
    print(f"rate + aggregate: median {statistics.median(timings):.3f} s "
          f"(min {min(timings):.3f}, max {max(timings):.3f}, runs {args.runs}); rate {figures.rate}%")


if __name__ == "__main__":
    main()
