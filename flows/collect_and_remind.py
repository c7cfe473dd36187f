from __future__ import annotations

from datetime import date

from prefect import flow

from flows import settings_for, year_or_last_closed
from flows.hooks import HOOKS
from tasks import cycle as steps


@flow(name="collect-and-remind", log_prints=True, **HOOKS)
def collect_and_remind(fiscal_year: int | None = None, today: date | None = None,
                       config_dir: str | None = None) -> dict:
    """Take in what arrived, then remind every department still missing (the reminder due today)."""
    today = today or date.today()
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year, today)
    steps.check_ready(settings, year)
    intake = steps.take_in(settings, year)
    return {"intake": intake, "reminders": steps.send_reminders(settings, year, today)}
