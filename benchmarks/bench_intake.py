"""Intake of 500 department workbooks of 20 measures each into a fresh SQLite ledger (goal: <= 30 s
median), with each workbook reader (python-calamine, openpyxl), and where the time goes.

Usage: .venv/bin/python benchmarks/bench_intake.py [--departments N] [--measures-per-department N] [--runs N]

The workbooks are written once into --workdir (not timed) and reused while the plan shape is the same.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import YEAR, synthetic_config, synthetic_results  # noqa: E402

from tenken.config import plan_from_mapping  # noqa: E402
from tenken.core.plan import Plan  # noqa: E402
from tenken.example import department_results  # noqa: E402
from tenken.intake import Intake  # noqa: E402
from tenken.ledger import Ledger  # noqa: E402
from tenken.workbook.reader import READERS, read_workbook  # noqa: E402
from tenken.workbook.submission import PlanIndex, interpret  # noqa: E402
from tenken.workbook.writer import request_file_name, request_workbook  # noqa: E402


def prepare(plan: Plan, folder: Path) -> list[Path]:
    departments = [d.key for d in plan.departments]
    stamp = folder / f"plan-{hashlib.sha256(repr((len(departments), len(plan.measures))).encode()).hexdigest()[:8]}"
    paths = [stamp / request_file_name(YEAR, key) for key in departments]
    if all(p.is_file() for p in paths):
        return paths
    stamp.mkdir(parents=True, exist_ok=True)
    results = synthetic_results(plan)
    started = time.perf_counter()
    for key, path in zip(departments, paths, strict=True):
        path.write_bytes(request_workbook(plan, YEAR, key, results=department_results(plan, results, key)))
    print(f"wrote {len(paths)} workbooks in {time.perf_counter() - started:.1f} s (not timed below) into {stamp}")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--departments", type=int, default=500)
    parser.add_argument("--measures-per-department", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tenken-bench-intake")
    args = parser.parse_args()

    plan = plan_from_mapping(*synthetic_config(args.departments * args.measures_per_department, args.departments,
                                               grouped=True))
    paths = prepare(plan, args.workdir)
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} workbooks, {len(plan.measures)} measures, {size / len(paths) / 1024:.1f} KB each")

    for reader in READERS:
        timings = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as scratch, Ledger.open(f"sqlite:///{scratch}/ledger.db") as ledger:
                started = time.perf_counter()
                outcomes = Intake(plan, YEAR, ledger, reader=reader).run(paths)
                timings.append(time.perf_counter() - started)
                refused = [o for o in outcomes if not o.accepted]
                assert not refused, refused[0].record.problems
        print(f"intake with {reader:<9}: median {statistics.median(timings):6.2f} s "
              f"(min {min(timings):.2f}, max {max(timings):.2f}, runs {args.runs})")

    print("where the time goes (one pass over all files, no ledger):")
    datas = [p.read_bytes() for p in paths]
    forms = None
    for reader in READERS:
        started = time.perf_counter()
        read = [read_workbook(data, reader=reader) for data in datas]
        print(f"  read with {reader:<9}: {time.perf_counter() - started:6.2f} s")
        forms = forms or read
    started = time.perf_counter()
    index = PlanIndex(plan, YEAR)
    readings = [interpret(plan, YEAR, form, index=index) for form in forms]
    print(f"  identify + check     : {time.perf_counter() - started:6.2f} s")
    print("  (the rest of an intake run is hashing and the ledger: one read of the bytes the cycle holds per run,\n"
          "   then one transaction per file; a file whose bytes are among them is looked up first)")
    assert all(r.accepted for r in readings)


if __name__ == "__main__":
    main()
