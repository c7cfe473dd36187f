"""The bundled example as real files: each department's request workbook, filled in from the
example results (config/<plan>/results/<year>.yaml) the way the department would have filled it.

Only what a department writes goes in (actuals, self-ratings, reasons, cause tags, highlights);
the office's adjustments and report text stay in the config. Tests and the demo submit these files.

    tenken example-workbooks --year 2020 --out DIR     (or: python -m tenken.example 2020 DIR)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from tenken.config import DEFAULT_CONFIG, load_plan, load_results
from tenken.core.plan import Plan
from tenken.core.results import MeasureResult, ResultSet
from tenken.workbook.layout import departments_on_form
from tenken.workbook.writer import request_csv, request_file_name, request_workbook


def department_results(plan: Plan, results: ResultSet, department: str) -> dict[str, MeasureResult]:
    mine = {m.key for m in plan.measures_of(department)}
    return {r.measure: r for r in results.results if r.measure in mine}


def write_example_workbooks(fiscal_year: int, out_dir: Path, config_dir: Path | None = None,
                            deadline: date | None = None, csv: bool = False,
                            on_file: Callable[[Path], None] | None = None) -> list[Path]:
    """One filled workbook (or CSV) per department asked for this year; returns the paths written."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    plan = load_plan(config_dir)
    results = load_results(config_dir, fiscal_year)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for department in departments_on_form(plan, fiscal_year):
        filled = department_results(plan, results, department)
        if csv:
            path = out_dir / request_file_name(fiscal_year, department, ".csv")
            path.write_text(request_csv(plan, fiscal_year, department, filled), encoding="utf-8")
        else:
            path = out_dir / request_file_name(fiscal_year, department)
            path.write_bytes(request_workbook(plan, fiscal_year, department, deadline, filled))
        written.append(path)
        if on_file is not None:
            on_file(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tenken.example YEAR OUT_DIR")
    for written_path in write_example_workbooks(int(sys.argv[1]), Path(sys.argv[2])):
        print(written_path)
