from __future__ import annotations

from datetime import datetime

from prefect import flow

from flows import settings_for, year_or_last_closed
from flows.hooks import HOOKS
from tasks import cycle as steps


@flow(name="review-reminders", log_prints=True, **HOOKS)
def review_reminders(fiscal_year: int | None = None, config_dir: str | None = None,
                     now: datetime | None = None) -> list[str]:
    """Remind the reviewers who have not answered the open round (cycle.yaml review.remind_after_days),
    and tell the office of a round that ran out without a decision. Daily; nothing to do, nothing sent."""
    settings, year = settings_for(config_dir), year_or_last_closed(fiscal_year)
    return steps.remind_reviewers(settings, year, steps.paused_review_url(settings, year), now)
