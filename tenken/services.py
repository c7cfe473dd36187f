"""Use cases shared by the CLI and the Prefect tasks: load what a cycle needs, once."""

from __future__ import annotations

from pathlib import Path

from tenken.config import DEFAULT_CONFIG, load_plan, load_results
from tenken.core.aggregate import summarize
from tenken.core.assessment import Assessment, assess
from tenken.core.plan import Plan
from tenken.core.results import ResultSet


def load_cycle(fiscal_year: int, config_dir: Path | None = None) -> tuple[Plan, ResultSet]:
    """The plan and the results of a fiscal year (today: the results file of the config folder)."""
    config_dir = Path(config_dir or DEFAULT_CONFIG)
    return load_plan(config_dir), load_results(config_dir, fiscal_year)


def assess_cycle(fiscal_year: int, config_dir: Path | None = None) -> Assessment:
    plan, results = load_cycle(fiscal_year, config_dir)
    return assess(plan, results)


def summary_of(assessment: Assessment) -> dict:
    return summarize(assessment)
