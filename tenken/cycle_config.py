"""cycle.yaml: how the office runs the yearly cycle (deadline, reminders, review, publication).

The calendar rules themselves (reminder stages, which one is due) are pure core (tenken.core.cycle);
this is the office's configuration of them, with the people and channels involved.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from tenken.core.cycle import ReminderPolicy
from tenken.notify.recipient import Recipient


class ReviewSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Recipient | None = None  # where the review notice goes, besides each reviewer
    reviewers: tuple[Recipient, ...] = ()
    timeout_days: int = Field(30, ge=1)
    # Drafts of plans larger than this carry the annex in HTML and CSV only (PDF layout is ~10 ms a row).
    pdf_annex_limit: int = Field(3000, ge=0)


class CycleSettings(BaseModel):
    """Dates are month-day in the year after the fiscal year (FY2020 -> 2021)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deadline: str = Field("05-31", pattern=r"^\d{2}-\d{2}$")
    reminders: ReminderPolicy = ReminderPolicy()
    review: ReviewSettings = ReviewSettings()
    announce_channel: Recipient | None = None
    office: Recipient | None = None  # the office's own channel: refusals of who sent a file, failures
    publish_target: str = "site"  # a folder (relative: under the var folder) or any fsspec URL
    site_url: str = "http://127.0.0.1:8000/"  # where the published site is served, for links in messages

    @property
    def office_recipient(self) -> Recipient | None:
        """Where the office hears of what needs it: `office`, else the review channel."""
        return self.office or self.review.channel

    def deadline_for(self, fiscal_year: int) -> date:
        month, day = (int(x) for x in self.deadline.split("-"))
        return date(fiscal_year + 1, month, day)
