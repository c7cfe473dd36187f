from __future__ import annotations

from datetime import date

from prefect import flow

from tasks import cycle as steps
from tenken.core.cycle import fiscal_year_closed_before
from tenken.runtime import CycleRun


@flow(name="collect-and-remind", log_prints=True)
def collect_and_remind(fiscal_year: int | None = None, today: date | None = None,
                       config_dir: str | None = None) -> dict:
    """Take in what arrived, then remind every department still missing (the reminder due today)."""
    today = today or date.today()
    run = CycleRun(fiscal_year=fiscal_year or fiscal_year_closed_before(today), config_dir=config_dir)
    intake = steps.take_in(run)
    return {"intake": intake, "reminders": steps.send_reminders(run, today)}
