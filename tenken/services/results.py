"""Where a cycle's results come from, loaded once.

- the ledger, when it holds accepted submissions for the fiscal year: each department's latest
  accepted version (a department that has not submitted has no results, and the assessment says so);
- otherwise the plan folder's results/<year>.yaml (the bundled example's, for instance).
The office's own part: the report text (`report`) comes from the config results file when there is
one; the rating adjustments are those of the results file (`adjustment` of a measure) overridden,
measure by measure, by the latest one entered in the ledger (`tenken adjust`). `adjustments_for` is
the one place that merges them, and `load_cycle` the one place that puts them into the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tenken.config import DEFAULT_CONFIG, load_plan, load_results, results_path
from tenken.core.assessment import Assessment, assess
from tenken.core.errors import DomainError
from tenken.core.plan import Plan, Rating
from tenken.core.results import Adjustment, MeasureResult, ReportText, ResultSet

if TYPE_CHECKING:  # the ledger only in type hints: a command without a ledger never imports SQLAlchemy
    from tenken.ledger import Ledger

# The rating of a ledger row that withdraws the measure's adjustment: the rule's rating counts again.
WITHDRAWN = ""


def office_results(fiscal_year: int, config_dir: Path | None = None) -> ResultSet | None:
    """The config results file of the year (report text, adjustments, example results), if there is one."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    if not results_path(config_dir, fiscal_year).is_file():
        return None
    return load_results(config_dir, fiscal_year)


def adjustments_of(results: ResultSet | None) -> dict[str, Adjustment]:
    """The adjustments written in a results file, by measure key."""
    if results is None:
        return {}
    return {r.measure: r.adjustment for r in results.results if r.adjustment is not None}


def ledger_adjustments(ledger: Ledger, fiscal_year: int) -> dict[str, Adjustment | None]:
    """The latest adjustment of each measure entered in the ledger; None where it was withdrawn."""
    latest: dict[str, Adjustment | None] = {}
    for record in ledger.adjustments(fiscal_year):
        if record.rating == WITHDRAWN:
            latest[record.measure] = None
            continue
        try:
            rating = Rating(record.rating)
        except ValueError:
            raise DomainError(f"台帳の評価の調整（{record.measure}）の評価「{record.rating}」が読めません。") from None
        latest[record.measure] = Adjustment(rating=rating, justification=record.justification, by=record.by)
    return latest


def adjustments_for(fiscal_year: int, office: ResultSet | None, ledger: Ledger | None) -> dict[str, Adjustment]:
    """The adjustments in effect: the results file's, each overridden (or withdrawn) by the ledger's latest."""
    merged = adjustments_of(office)
    if ledger is not None:
        for measure, adjustment in ledger_adjustments(ledger, fiscal_year).items():
            if adjustment is None:
                merged.pop(measure, None)
            else:
                merged[measure] = adjustment
    return merged


def _adjusted(results: Iterable[MeasureResult], adjustments: Mapping[str, Adjustment]) -> tuple[MeasureResult, ...]:
    return tuple(r if r.adjustment == adjustments.get(r.measure)
                 else r.model_copy(update={"adjustment": adjustments.get(r.measure)}) for r in results)


def load_cycle(fiscal_year: int, config_dir: Path | None = None,
               ledger: Ledger | None = None) -> tuple[Plan, ResultSet]:
    """The plan and the results of a fiscal year (from the ledger if it has any, else the config file),
    with the adjustments in effect."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    plan = load_plan(config_dir)
    submitted = ledger.latest_results(fiscal_year) if ledger is not None else []
    if not submitted:
        results = load_results(config_dir, fiscal_year)
        adjustments = adjustments_for(fiscal_year, results, ledger)
        return plan, results.model_copy(update={"results": _adjusted(results.results, adjustments)})
    office = office_results(fiscal_year, config_dir)
    adjustments = adjustments_for(fiscal_year, office, ledger)
    order = {m.key: i for i, m in enumerate(plan.measures)}
    merged = _adjusted(sorted(submitted, key=lambda r: order.get(r.measure, len(order))), adjustments)
    report = office.report if office is not None else ReportText()
    return plan, ResultSet(fiscal_year=fiscal_year, report=report, results=merged)


def assess_cycle(fiscal_year: int, config_dir: Path | None = None, ledger: Ledger | None = None,
                 allow_missing: bool = False) -> Assessment:
    plan, results = load_cycle(fiscal_year, config_dir, ledger)
    return assess(plan, results, allow_missing=allow_missing)
