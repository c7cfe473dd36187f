from __future__ import annotations

from prefect import flow

from flows import settings_for, year_or_last_closed
from flows.hooks import HOOKS
from tasks import cycle as steps


@flow(name="publish", log_prints=True, **HOOKS)
def publish(fiscal_year: int | None = None, config_dir: str | None = None) -> dict:
    """Publish the final report, HTML and open data to the website, with checksums; announce it."""
    return steps.publish_final(settings_for(config_dir), year_or_last_closed(fiscal_year))
