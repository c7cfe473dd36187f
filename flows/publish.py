from __future__ import annotations

from datetime import date

from prefect import flow

from tasks import cycle as steps
from tenken.core.cycle import fiscal_year_closed_before
from tenken.runtime import CycleRun


@flow(name="publish", log_prints=True)
def publish(fiscal_year: int | None = None, config_dir: str | None = None) -> dict:
    """Publish the final report, HTML and open data to the website, with checksums; announce it."""
    run = CycleRun(fiscal_year=fiscal_year or fiscal_year_closed_before(date.today()), config_dir=config_dir)
    return steps.publish_final(run)
