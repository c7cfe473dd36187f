"""The FY2020 cycle end to end on the bundled example, with the departments played by this module.

Timeline (deadline 2021-05-31 from cycle.yaml):
- 2021-04-15  the cycle opens: 34 departments get their request workbooks.
- 2021-05-20  31 departments submit; 高齢福祉課 sends a file with a unit error (8件 for 8回): refused.
- 2021-05-21  高齢福祉課 sends the corrected file: accepted.
- 05-24, 05-30, 05-31, 06-03  観光課 and 歴史博物館 are reminded (7 days, 1 day, on the day, overdue).
- 2021-06-04  観光課 submits.
- 2021-06-06  歴史博物館 gets the second overdue reminder, escalated to its head.
- 2021-06-07  歴史博物館 submits. Then compile, review (approved by a demo reviewer), publish.
"""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

from tenken.config import load_plan, load_results
from tenken.example import department_results
from tenken.runtime import CycleRun
from tenken.workbook.layout import departments_on_form
from tenken.workbook.writer import request_file_name, request_workbook

FISCAL_YEAR = 2020
LATE = {"tourism": date(2021, 6, 4), "history-museum": date(2021, 6, 7)}
CORRECTED = ("elderly-welfare", date(2021, 5, 20), date(2021, 5, 21))
ON_TIME = date(2021, 5, 20)
COLLECTION_DAYS = [date(2021, 5, 20), date(2021, 5, 21), date(2021, 5, 24), date(2021, 5, 30), date(2021, 5, 31),
                   date(2021, 6, 3), date(2021, 6, 4), date(2021, 6, 6), date(2021, 6, 7)]


def scenario(run: CycleRun) -> dict[str, list[str]]:
    """Write each department's filled workbook (and one bad first try); return the arrivals by day."""
    plan = load_plan(run.config)
    results = load_results(run.config, run.fiscal_year)
    folder = run.folder("demo-submissions")
    arrivals: dict[str, list[str]] = {}
    for department in departments_on_form(plan, run.fiscal_year):
        filled = department_results(plan, results, department)
        path = folder / request_file_name(run.fiscal_year, department)
        path.write_bytes(request_workbook(plan, run.fiscal_year, department, run.deadline, filled))
        day = LATE.get(department, CORRECTED[2] if department == CORRECTED[0] else ON_TIME)
        arrivals.setdefault(day.isoformat(), []).append(str(path))
    bad_department, bad_day, _ = CORRECTED
    filled = department_results(plan, results, bad_department)
    first = next(iter(filled))
    filled[first] = filled[first].model_copy(update={"actual": tuple(a.replace("回", "件") for a in filled[first].actual)})
    bad = folder / "first-try" / request_file_name(run.fiscal_year, bad_department)
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(request_workbook(plan, run.fiscal_year, bad_department, run.deadline, filled))
    arrivals.setdefault(bad_day.isoformat(), []).append(str(bad))
    return arrivals


def run_demo(approve: bool, reviewer: str = "デモ確認者", on_paused=None, config_dir: str | None = None) -> dict:
    """Run the whole cycle; with `approve`, a demo reviewer approves through the Prefect API."""
    from flows.annual_inspection import annual_inspection
    from tenken.review_client import answer_review, wait_for_paused_review

    run = CycleRun(fiscal_year=FISCAL_YEAR, config_dir=config_dir)
    arrivals = scenario(run)

    def reviewer_thread() -> None:
        paused = wait_for_paused_review(timeout=600)
        if on_paused:
            on_paused(paused)
        if approve:
            answer_review(paused.id, "approve", reviewer, "デモのため承認します。")

    watcher = threading.Thread(target=reviewer_thread, daemon=True)
    watcher.start()
    result = annual_inspection(FISCAL_YEAR, COLLECTION_DAYS, arrivals, config_dir)
    watcher.join(timeout=5)
    return result


def published_path(result: dict) -> Path:
    return Path(result["published"]["index"])
