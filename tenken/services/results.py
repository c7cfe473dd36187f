"""Where a cycle's results come from, loaded once.

- the ledger, when it holds accepted submissions for the fiscal year: each department's latest
  accepted version (a department that has not submitted has no results, and the assessment says so);
- otherwise the plan folder's results/<year>.yaml (the bundled example's, for instance).
The office's own part always comes from the config results file when there is one: the report
text (`report`) and the rating adjustments (`adjustment` of a measure), merged into the
departments' results by measure key.
"""

from __future__ import annotations

from pathlib import Path

from tenken.config import DEFAULT_CONFIG, load_plan, load_results, results_path
from tenken.core.assessment import Assessment, assess
from tenken.core.plan import Plan
from tenken.core.results import Adjustment, ResultSet, ReportText
from tenken.ledger import Ledger


def office_results(fiscal_year: int, config_dir: Path | None = None) -> ResultSet | None:
    """The config results file of the year (report text, adjustments, example results), if there is one."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    if not results_path(config_dir, fiscal_year).is_file():
        return None
    return load_results(config_dir, fiscal_year)


def adjustments_of(results: ResultSet | None) -> dict[str, Adjustment]:
    if results is None:
        return {}
    return {r.measure: r.adjustment for r in results.results if r.adjustment is not None}


def load_cycle(fiscal_year: int, config_dir: Path | None = None,
               ledger: Ledger | None = None) -> tuple[Plan, ResultSet]:
    """The plan and the results of a fiscal year: from the ledger if it has any, else the config file."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    plan = load_plan(config_dir)
    submitted = ledger.latest_results(fiscal_year) if ledger is not None else []
    if not submitted:
        return plan, load_results(config_dir, fiscal_year)
    office = office_results(fiscal_year, config_dir)
    adjustments = adjustments_of(office)
    order = {m.key: i for i, m in enumerate(plan.measures)}
    merged = tuple(
        r.model_copy(update={"adjustment": adjustments[r.measure]}) if r.measure in adjustments else r
        for r in sorted(submitted, key=lambda r: order.get(r.measure, len(order))))
    report = office.report if office is not None else ReportText()
    return plan, ResultSet(fiscal_year=fiscal_year, report=report, results=merged)


def assess_cycle(fiscal_year: int, config_dir: Path | None = None, ledger: Ledger | None = None,
                 allow_missing: bool = False) -> Assessment:
    plan, results = load_cycle(fiscal_year, config_dir, ledger)
    return assess(plan, results, allow_missing=allow_missing)
