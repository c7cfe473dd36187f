"""The demo's calendar and departments for one plan's year: each department's filled workbook (and one
bad first try), and the days they arrive on.

Kanagawa FY2020 (the bundled example) keeps its own timeline (deadline 2021-05-31 from cycle.yaml):
- 2021-04-15  the cycle opens: 34 departments get their request workbooks.
- 2021-05-20  31 departments submit; 高齢福祉課 sends a file with a unit error (8件 for 8回): refused.
- 2021-05-21  高齢福祉課 sends the corrected file: accepted.
- 05-24, 05-30, 05-31, 06-03  観光課 and 歴史博物館 are reminded (7 days, 1 day, on the day, overdue).
- 2021-06-04  観光課 submits.
- 2021-06-06  歴史博物館 gets the second overdue reminder, escalated to its head.
- 2021-06-07  歴史博物館 submits. Then compile, review (approved by a demo reviewer), publish.

Any other plan or year gets a timeline derived from cycle.yaml's deadline D for that year (`calendar_for`),
with the departments that have rows on that year's form (tenken.workbook.layout.departments_on_form):
- D − 42 days  the cycle opens (about six weeks before the deadline).
- D − 10       every department submits but the late one; one department (the first with a numeric
               indicator, one reached on Slack when there is such a one) sends a file whose actual carries a
               unit that is not its target's (e.g. 18件 for a target in 分): refused, cell by cell.
- D − 9        that department sends the corrected file: accepted.
- the reminder days of cycle.yaml from D − 10 to the first overdue reminder: the late department (the last
  on the form, one reached on Slack when there is such a one) is reminded before, on and after the deadline.
- the day after that first overdue reminder: the late department submits. Then compile, review, publish.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tenken.config import load_cycle_settings, load_directory, load_plan, load_results, results_path
from tenken.core.cycle import stages
from tenken.core.plan import Plan
from tenken.core.results import MeasureResult, ResultSet
from tenken.core.values import Quantity, format_number, parse_value
from tenken.notify.base import MAILTO
from tenken.notify.recipient import Directory
from tenken.resources import EXAMPLE_CONFIG
from tenken.services.opening import department_results, write_request_files
from tenken.settings import Settings
from tenken.workbook.layout import departments_on_form
from tenken.workbook.writer import request_file_name, request_workbook

# Kanagawa FY2020: the bundled example's scenario, as the seed report's year ran (tests depend on it).
KANAGAWA = "kanagawa"
FISCAL_YEAR = 2020
LATE = {"tourism": date(2021, 6, 4), "history-museum": date(2021, 6, 7)}
CORRECTED = ("elderly-welfare", date(2021, 5, 20), date(2021, 5, 21))
ON_TIME = date(2021, 5, 20)
COLLECTION_DAYS = [date(2021, 5, 20), date(2021, 5, 21), date(2021, 5, 24), date(2021, 5, 30), date(2021, 5, 31),
                   date(2021, 6, 3), date(2021, 6, 4), date(2021, 6, 6), date(2021, 6, 7)]

# Any other plan or year: days relative to cycle.yaml's deadline.
OPENS_BEFORE = timedelta(weeks=6)
ON_TIME_BEFORE = timedelta(days=10)


@dataclass(frozen=True)
class Calendar:
    """One year's demo timeline: when the cycle opens, who submits when, and the days collect-and-remind runs."""

    fiscal_year: int
    opens: date
    deadline: date
    on_time: date  # most departments submit on this day
    late: dict[str, date]  # department -> the day it submits, after reminders
    corrected: tuple[str, date, date] | None  # department, day of its bad first file, day of the corrected one
    collection_days: tuple[date, ...]  # the days collect-and-remind runs, in order


def is_kanagawa_fy2020(plan: Plan, fiscal_year: int) -> bool:
    return plan.id == KANAGAWA and fiscal_year == FISCAL_YEAR


def default_years(config_dir: str | Path | None = None) -> list[int]:
    """The years the demo runs when none is given: Kanagawa's FY2020; for any other plan every year with a
    results/<year>.yaml in its plan folder, oldest first."""
    config = Path(config_dir or EXAMPLE_CONFIG)
    if load_plan(config).id == KANAGAWA:
        return [FISCAL_YEAR]
    folder = config / "results"
    return sorted(int(p.stem) for p in folder.glob("*.yaml") if p.stem.isdigit()) if folder.is_dir() else []


def missing_results(config_dir: str | Path, years: list[int]) -> list[int]:
    """The years among `years` the plan folder has no results file for (the departments' answers come from it)."""
    return [year for year in years if not results_path(Path(config_dir), year).is_file()]


def calendar_for(settings: Settings, fiscal_year: int) -> Calendar:
    """The timeline of a plan's year: Kanagawa FY2020's own, else one derived from cycle.yaml (module doc)."""
    plan, cycle = load_plan(settings.config_dir), load_cycle_settings(settings.config_dir)
    deadline = cycle.deadline_for(fiscal_year)
    if is_kanagawa_fy2020(plan, fiscal_year):
        return Calendar(FISCAL_YEAR, date(2021, 4, 15), deadline, ON_TIME, dict(LATE), CORRECTED,
                        tuple(COLLECTION_DAYS))
    directory, results = load_directory(settings.config_dir), load_results(settings.config_dir, fiscal_year)
    asked = departments_on_form(plan, fiscal_year)
    on_time = deadline - ON_TIME_BEFORE
    bad = _department_to_correct(plan, fiscal_year, asked, results, directory)
    corrected = (bad, on_time, on_time + timedelta(days=1)) if bad else None
    others = [key for key in asked if key != bad]
    late: dict[str, date] = {}
    if others:
        overdue = [s.on for s in stages(deadline, cycle.reminders) if s.overdue >= 1]
        late_day = (overdue[0] if overdue else deadline) + timedelta(days=1)
        late[_prefer_slack(list(reversed(others)), directory)] = late_day
    last = max([on_time, *(corrected[1:] if corrected else ()), *late.values()])
    reminders = {s.on for s in stages(deadline, cycle.reminders) if on_time <= s.on <= last}
    days = {on_time, last, *reminders, *(corrected[1:] if corrected else ())}
    return Calendar(fiscal_year, deadline - OPENS_BEFORE, deadline, on_time, late, corrected, tuple(sorted(days)))


def scenario(settings: Settings, fiscal_year: int = FISCAL_YEAR) -> dict[str, list[list[str]]]:
    """Write each department's filled workbook (and one bad first try), each with its department's
    submission token as tenken's request carries it; return the arrivals by day: [department, path]."""
    plan, results = load_plan(settings.config_dir), load_results(settings.config_dir, fiscal_year)
    calendar = calendar_for(settings, fiscal_year)
    folder = settings.cycle_dir(fiscal_year) / "demo-submissions"
    arrivals: dict[str, list[list[str]]] = {}
    signer = settings.signer(plan.name)
    written = write_request_files(plan, fiscal_year, folder, calendar.deadline, filled=results, signer=signer,
                                  directory=load_directory(settings.config_dir))
    corrected = calendar.corrected
    for department, path in written.items():
        if department in calendar.late:
            day = calendar.late[department]
        elif corrected and department == corrected[0]:
            day = corrected[2]
        else:
            day = calendar.on_time
        arrivals.setdefault(day.isoformat(), []).append([department, str(path)])
    if corrected is None:
        return arrivals
    bad_department, bad_day, _ = corrected
    filled = department_results(plan, results, bad_department)
    if is_kanagawa_fy2020(plan, fiscal_year):
        first = next(iter(filled))
        filled[first] = filled[first].model_copy(
            update={"actual": tuple(a.replace("回", "件") for a in filled[first].actual)})
    else:
        key, part, wrong = _wrong_unit(plan, fiscal_year, filled.values())
        actual = list(filled[key].actual)
        actual[part] = wrong
        filled[key] = filled[key].model_copy(update={"actual": tuple(actual)})
    bad = folder / "first-try" / request_file_name(fiscal_year, bad_department)
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(request_workbook(plan, fiscal_year, bad_department, calendar.deadline, filled,
                                     signer.token(fiscal_year, bad_department)))
    arrivals.setdefault(bad_day.isoformat(), []).append([bad_department, str(bad)])
    return arrivals


def _in_slack(directory: Directory, department: str) -> bool:
    return any(not t.startswith(MAILTO) for t in directory.department(department).targets)


def _prefer_slack(departments: list[str], directory: Directory) -> str:
    """The first of `departments` reached on Slack (its answers show in its thread), else the first."""
    return next((key for key in departments if _in_slack(directory, key)), departments[0])


def _department_to_correct(plan: Plan, fiscal_year: int, asked: list[str], results: ResultSet,
                           directory: Directory) -> str | None:
    """The department that sends a bad first file: the first on the form with a numeric actual to get wrong."""
    candidates = [key for key in asked
                  if _numeric_actuals(plan, fiscal_year, department_results(plan, results, key).values())]
    return _prefer_slack(candidates, directory) if candidates else None


def _numeric_actuals(plan: Plan, fiscal_year: int, filled: Iterable[MeasureResult]) -> list[tuple[str, int, Quantity, str]]:
    """(measure, part index, the actual as written, the target's unit) of every numeric part whose actual is a
    quantity in the target's unit."""
    found = []
    measures = {m.key: m for m in plan.measures}
    for result in filled:
        year = measures[result.measure].years.get(fiscal_year) if result.measure in measures else None
        if year is None or year.status != "rated":
            continue
        for index, part in enumerate(year.parts):
            if part.kind != "numeric" or index >= len(result.actual):
                continue
            value = parse_value(result.actual[index])
            if isinstance(value, Quantity) and value.unit == (part.unit or ""):
                found.append((result.measure, index, value, part.unit or ""))
    return found


def _wrong_unit(plan: Plan, fiscal_year: int, filled: Iterable[MeasureResult]) -> tuple[str, int, str]:
    """The first numeric actual of a department's results rewritten with a unit that is not its target's: the
    intake refuses it, naming the cell (「…の単位「件」が目標「20分」の単位「分」と異なります」)."""
    measure, index, value, unit = _numeric_actuals(plan, fiscal_year, filled)[0]
    wrong = "回" if unit == "件" else "件"
    return measure, index, f"{format_number(value.value)}{wrong}"
