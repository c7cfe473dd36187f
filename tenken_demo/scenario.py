"""The FY2020 cycle on the bundled example, with the departments played by this module.

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

from datetime import date

from tenken.config import load_cycle_settings, load_directory, load_plan, load_results
from tenken.services.opening import department_results, write_request_files
from tenken.settings import Settings
from tenken.workbook.writer import request_file_name, request_workbook

FISCAL_YEAR = 2020
LATE = {"tourism": date(2021, 6, 4), "history-museum": date(2021, 6, 7)}
CORRECTED = ("elderly-welfare", date(2021, 5, 20), date(2021, 5, 21))
ON_TIME = date(2021, 5, 20)
COLLECTION_DAYS = [date(2021, 5, 20), date(2021, 5, 21), date(2021, 5, 24), date(2021, 5, 30), date(2021, 5, 31),
                   date(2021, 6, 3), date(2021, 6, 4), date(2021, 6, 6), date(2021, 6, 7)]


def scenario(settings: Settings, fiscal_year: int = FISCAL_YEAR) -> dict[str, list[list[str]]]:
    """Write each department's filled workbook (and one bad first try), each with its department's
    submission token as tenken's request carries it; return the arrivals by day: [department, path]."""
    plan, results = load_plan(settings.config_dir), load_results(settings.config_dir, fiscal_year)
    deadline = load_cycle_settings(settings.config_dir).deadline_for(fiscal_year)
    folder = settings.cycle_dir(fiscal_year) / "demo-submissions"
    arrivals: dict[str, list[list[str]]] = {}
    signer = settings.signer(plan.name)
    written = write_request_files(plan, fiscal_year, folder, deadline, filled=results, signer=signer,
                                  directory=load_directory(settings.config_dir))
    for department, path in written.items():
        day = LATE.get(department, CORRECTED[2] if department == CORRECTED[0] else ON_TIME)
        arrivals.setdefault(day.isoformat(), []).append([department, str(path)])
    bad_department, bad_day, _ = CORRECTED
    filled = department_results(plan, results, bad_department)
    first = next(iter(filled))
    filled[first] = filled[first].model_copy(update={"actual": tuple(a.replace("回", "件") for a in filled[first].actual)})
    bad = folder / "first-try" / request_file_name(fiscal_year, bad_department)
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(request_workbook(plan, fiscal_year, bad_department, deadline, filled,
                                     signer.token(fiscal_year, bad_department)))
    arrivals.setdefault(bad_day.isoformat(), []).append([bad_department, str(bad)])
    return arrivals
