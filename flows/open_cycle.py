from __future__ import annotations

from prefect import flow

from flows import settings_for, year_or_last_closed
from flows.hooks import HOOKS
from tasks import cycle as steps


@flow(name="open-cycle", log_prints=True, **HOOKS)
def open_cycle(fiscal_year: int | None = None, config_dir: str | None = None) -> list[str]:
    """Open the inspection of a fiscal year (default: the one that closed last) and send the requests.
    A cycle the preflight finds not ready is not opened: the run fails with the list (and the office
    hears of it through the failure hook)."""
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year)
    steps.check_ready(settings, year, strict=True)
    return steps.send_requests(settings, year, steps.open_cycle(settings, year))
