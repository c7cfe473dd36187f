"""cycle.yaml: how the office runs the yearly cycle (deadline, reminders, review, publication).

The calendar rules themselves (reminder stages, which one is due) are pure core (tenken.core.cycle);
this is the office's configuration of them, with the people and channels involved.
"""

from __future__ import annotations

from datetime import date

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenken.core.cycle import ReminderPolicy
from tenken.notify.base import parse_target
from tenken.notify.recipient import Recipient


class ReviewSettings(BaseModel):
    """Who decides on the draft and how: each reviewer gets a one-time code per round on their own
    channel (a Slack user or an e-mail address, never a shared channel), and the decision that comes
    with a code is that reviewer's. `approvals`: any one reviewer, all of them, or a number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Recipient | None = None  # where the review notice goes (no codes), besides each reviewer
    reviewers: tuple[Recipient, ...] = ()
    approvals: Literal["any", "all"] | int = "any"
    timeout_days: float = Field(30, gt=0)  # a round's codes and draft links expire after this
    remind_after_days: tuple[float, ...] = (7, 14)  # reminders to reviewers who have not answered
    lock_after: int = Field(5, ge=1)  # refused answers (wrong, reused, expired codes) that lock a round
    site_url: str = "http://127.0.0.1:4310/"  # the review site serving the drafts (python -m tenken.review_site)
    # Drafts of plans larger than this carry the annex in HTML and CSV only (PDF layout is ~10 ms a row).
    pdf_annex_limit: int = Field(3000, ge=0)

    @model_validator(mode="after")
    def _reviewers_are_people(self) -> ReviewSettings:
        names = [r.name for r in self.reviewers]
        for reviewer in self.reviewers:
            if not reviewer.name:
                raise ValueError("review.reviewers: 確認者ごとに氏名（name）を指定してください")
            if personal_address(reviewer) is None:
                raise ValueError(
                    f"review.reviewers: {reviewer.name} の連絡先は本人だけが読めるもの（Slack の @ユーザー名・U… の ID、"
                    "またはメールアドレス（email、via: email））にしてください。確認コードを送るため、チャンネルは指定できません")
        if len(set(names)) != len(names):
            raise ValueError("review.reviewers: 同じ氏名の確認者が複数います")
        if isinstance(self.approvals, int) and not 1 <= self.approvals <= max(len(self.reviewers), 1):
            raise ValueError(f"review.approvals: 1 から確認者の人数（{len(self.reviewers)}）までの数、"
                             "any または all を指定してください")
        return self

    @property
    def required_approvals(self) -> int:
        """Approvals that publish a round (at least one)."""
        if self.approvals == "any":
            return 1
        if self.approvals == "all":
            return max(len(self.reviewers), 1)
        return self.approvals


def personal_address(recipient: Recipient) -> str | None:
    """Where only this person reads, among the recipient's targets: a Slack user (U…, @name) or their
    mail (`mailto:`); None when they are reached only through a channel."""
    return next((t for t in recipient.targets if parse_target(t).kind in ("user_id", "user_name", "mail")), None)


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
    mail_signature: str = ""  # the office's signature under every mail tenken sends

    @property
    def office_recipient(self) -> Recipient | None:
        """Where the office hears of what needs it: `office`, else the review channel."""
        return self.office or self.review.channel

    def deadline_for(self, fiscal_year: int) -> date:
        month, day = (int(x) for x in self.deadline.split("-"))
        return date(fiscal_year + 1, month, day)
