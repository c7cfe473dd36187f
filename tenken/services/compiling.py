"""Stage 4, compile: rate and aggregate what was submitted, render the watermarked draft of a review round."""

from __future__ import annotations

from dataclasses import dataclass

from tenken.core.aggregate import Summary, summarize
from tenken.core.assessment import Assessment
from tenken.core.discrepancies import discrepancies
from tenken.csvsafe import to_csv
from tenken.services.cycle import Cycle
from tenken.services.history import history_for, previous_rates
from tenken.services.reminding import missing_departments
from tenken.services.results import assess_cycle, office_results

SAMPLE = 200


@dataclass
class Compiled:
    """What a review round needs to show; small, because Prefect walks every task parameter."""

    round: int
    files: dict[str, str]  # the draft: pdf, html, csv, json, columns, discrepancies
    summary: Summary
    missing: list[str]
    discrepancy_count: int
    discrepancy_sample: list[dict]  # the first ones; all of them are in files["discrepancies"]


def current_assessment(cycle: Cycle, allow_missing: bool) -> Assessment:
    return assess_cycle(cycle.fiscal_year, cycle.settings.config_dir, cycle.ledger, allow_missing=allow_missing)


def compile_draft(cycle: Cycle, round: int) -> Compiled:
    """Rate and aggregate what was submitted, render the watermarked draft for this review round."""
    from tenken.report import write_report  # WeasyPrint is heavy: imported by the steps that render

    plan, year = cycle.plan, cycle.fiscal_year
    assessment = current_assessment(cycle, allow_missing=True)
    history = history_for(plan, year, cycle.ledger)
    summary = summarize(assessment, previous_rates(plan, year, history))
    folder = cycle.folder(f"review/round-{round}")
    files = write_report(assessment, summary, folder, draft=True,
                         pdf_annex_limit=cycle.config.review.pdf_annex_limit, history=history)
    cycle.ledger.record_ratings(assessment, round)
    missing = [plan.department(d).name for d in missing_departments(cycle)]
    found = discrepancies(assessment, office_results(year - 1, cycle.settings.config_dir))
    label = plan.measure_label
    files["discrepancies"] = folder / f"discrepancies-{year}.csv"
    files["discrepancies"].write_text(to_csv(
        [label, f"{label}名", "所属", "種類", "内容"],
        ([d["key"], d["name"], plan.department(d["department"]).name, d["kind"], d["detail"]] for d in found),
        bom=True, keep_values=True), encoding="utf-8", newline="")
    return Compiled(round, {k: str(v) for k, v in files.items()}, summary, missing, len(found), found[:SAMPLE])
