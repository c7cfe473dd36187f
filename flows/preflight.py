from __future__ import annotations

from datetime import date

from prefect import flow

from flows import settings_for
from flows.hooks import HOOKS
from tasks import cycle as steps
from tenken.core.cycle import fiscal_year_in_progress


@flow(name="preflight", log_prints=True, **HOOKS)
def preflight(fiscal_year: int | None = None, config_dir: str | None = None, today: date | None = None) -> dict:
    """Weeks before the cycle opens: check what it needs (targets, contacts, reviewers, publish target,
    Slack) and send the findings to the office, so that what is missing is entered in time."""
    today = today or date.today()
    settings, year = settings_for(config_dir), fiscal_year or fiscal_year_in_progress(today)
    return steps.report_preflight(settings, year, today)
