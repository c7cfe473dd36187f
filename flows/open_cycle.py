from __future__ import annotations

from prefect import flow

from flows import settings_for, year_or_last_closed
from tasks import cycle as steps


@flow(name="open-cycle", log_prints=True)
def open_cycle(fiscal_year: int | None = None, config_dir: str | None = None) -> list[str]:
    """Open the inspection of a fiscal year (default: the one that closed last) and send the requests."""
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year)
    return steps.send_requests(settings, year, steps.open_cycle(settings, year))
