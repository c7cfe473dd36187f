from __future__ import annotations

from datetime import date

from prefect import flow

from tasks import cycle as steps
from tenken.core.cycle import fiscal_year_closed_before
from tenken.runtime import CycleRun


@flow(name="open-cycle", log_prints=True)
def open_cycle(fiscal_year: int | None = None, config_dir: str | None = None) -> list[str]:
    """Open the inspection of a fiscal year (default: the one that closed last) and send the requests."""
    run = CycleRun(fiscal_year=fiscal_year or fiscal_year_closed_before(date.today()), config_dir=config_dir)
    return steps.send_requests(run, steps.open_cycle(run))
