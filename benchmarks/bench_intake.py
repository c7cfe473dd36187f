"""Intake of 500 department workbooks of 20 measures each into a fresh SQLite ledger (goal: <= 30 s
median), with each workbook reader (python-calamine, openpyxl), and where the time goes.

Usage: .venv/bin/python benchmarks/bench_intake.py [--departments N] [--measures-per-department N] [--runs N]

The workbooks are written once into --workdir (not timed) and reused while the plan shape is the same.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from tenken.config import plan_from_mapping
from tenken.core.plan import Plan, Rating
from tenken.core.results import MeasureResult
from tenken.intake import Intake
from tenken.ledger import Ledger
from tenken.workbook.reader import READERS, read_workbook
from tenken.workbook.submission import PlanIndex, interpret
from tenken.workbook.writer import request_file_name, request_workbook

YEAR = 2020


def synthetic_plan(departments: int, per_department: int) -> Plan:
    """Kanagawa's shape (3 levels); per department: numeric, lower-is-better, two-part, qualitative and
    no-indicator measures in the proportions of the real plan."""
    depts = [{"key": f"dept-{d:04d}", "name": f"部署{d:04d}"} for d in range(departments)]
    fields = []
    for d, dept in enumerate(depts):
        measures = []
        for i in range(per_department):
            kind = i % 10
            if kind == 0:
                entry = {"kind": "qualitative", "target": "実施"}
            elif kind == 1:
                entry = {"status": "no_indicator"}
            elif kind == 2:
                entry = {"parts": [{"label": "件数", "kind": "numeric", "target": "100件", "unit": "件"},
                                   {"label": "割合", "kind": "numeric", "target": "80%", "unit": "%"}]}
            else:
                entry = {"kind": "numeric", "target": f"{(i + 1) * 1000:,}人", "unit": "人",
                         "direction": "lower" if kind == 3 else "higher"}
            measures.append({"name": f"施策{d}-{i}", "department": dept["name"], "indicator": "指標",
                             "years": {YEAR: entry}})
        fields.append({"title": f"分野{d}", "measures": measures})
    subs = [{"title": f"中柱{s}", "children": fields[s::7]} for s in range(7)]
    raw = {"plan": {"name": "合成計画", "organisation": "合成県", "period": [2019, 2022]},
           "levels": [{"key": "pillar", "label": "柱", "numbering": "roman"},
                      {"key": "sub", "label": "中柱", "numbering": "circled"},
                      {"key": "field", "label": "分野", "numbering": "arabic"}],
           "rating": {"cause_tags": [{"key": "covid", "label": "感染症の影響"}, {"key": "other", "label": "その他"}]},
           "tree": [{"title": "柱Ⅰ", "children": subs[:4]}, {"title": "柱Ⅱ", "children": subs[4:]}]}
    return plan_from_mapping(raw, depts)


def filled_results(plan: Plan, department: str, rng: random.Random) -> dict[str, MeasureResult]:
    results = {}
    for measure in plan.measures_of(department):
        year = measure.years[YEAR]
        if year.status != "rated":
            results[measure.key] = MeasureResult(measure=measure.key, highlight=("今年度の主な取組。",))
            continue
        if year.kind == "qualitative":
            results[measure.key] = MeasureResult(measure=measure.key, actual=("実施",), self_rating=Rating.ACHIEVED)
            continue
        actual = tuple(f"{float(p.target_quantity.value) * rng.uniform(0.6, 1.6):,.0f}{p.unit}" for p in year.parts)
        results[measure.key] = MeasureResult(measure=measure.key, actual=actual, reason="理由と今後の見込み",
                                             cause="covid")
    return results


def prepare(plan: Plan, folder: Path) -> list[Path]:
    departments = [d.key for d in plan.departments]
    stamp = folder / f"plan-{hashlib.sha256(repr((len(departments), len(plan.measures))).encode()).hexdigest()[:8]}"
    paths = [stamp / request_file_name(YEAR, key) for key in departments]
    if all(p.is_file() for p in paths):
        return paths
    stamp.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1)
    started = time.perf_counter()
    for key, path in zip(departments, paths, strict=True):
        path.write_bytes(request_workbook(plan, YEAR, key, results=filled_results(plan, key, rng)))
    print(f"wrote {len(paths)} workbooks in {time.perf_counter() - started:.1f} s (not timed below) into {stamp}")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--departments", type=int, default=500)
    parser.add_argument("--measures-per-department", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "tenken-bench-intake")
    args = parser.parse_args()

    plan = synthetic_plan(args.departments, args.measures_per_department)
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
    print("  (the rest of an intake run is hashing and the ledger: one lookup and one transaction per file)")
    assert all(r.accepted for r in readings)


if __name__ == "__main__":
    main()
