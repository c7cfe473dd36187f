"""The yearly cycle's calendar: deadline, reminder stages and which reminder is due today.

A reminder stage is identified by a stable name (before_7, before_1, due, overdue_1, …) so that
the ledger can record each (cycle, department, stage) once and never send it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field


class ReminderPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    days_before: tuple[int, ...] = (7, 1)  # reminders this many days before the deadline
    on_the_day: bool = True
    overdue_every: int = Field(3, ge=1)  # then every N days after the deadline
    overdue_max: int = Field(10, ge=0)  # at most this many overdue reminders
    escalate_from: int = Field(2, ge=1)  # the n-th overdue reminder on also goes to the escalation contact


@dataclass(frozen=True)
class Stage:
    name: str
    on: date
    overdue: int  # 0 before and on the deadline, n for the n-th overdue reminder
    escalate: bool


def stages(deadline: date, policy: ReminderPolicy) -> list[Stage]:
    """All reminder stages of a cycle, in date order."""
    out = [Stage(f"before_{d}", deadline - timedelta(days=d), 0, False)
           for d in sorted(set(policy.days_before), reverse=True) if d > 0]
    if policy.on_the_day:
        out.append(Stage("due_today", deadline, 0, False))
    for n in range(1, policy.overdue_max + 1):
        out.append(Stage(f"overdue_{n}", deadline + timedelta(days=n * policy.overdue_every), n,
                         n >= policy.escalate_from))
    return out


def due_stage(deadline: date, today: date, policy: ReminderPolicy, sent: set[str]) -> Stage | None:
    """The reminder to send today: the latest stage reached and not yet sent.

    Earlier stages that were missed (the daily job did not run) are skipped rather than sent in a
    burst: a department hears once, with the most recent wording.
    """
    reached = [s for s in stages(deadline, policy) if s.on <= today]
    if not reached or reached[-1].name in sent:
        return None
    return reached[-1]


def fiscal_year_closed_before(day: date) -> int:
    """The fiscal year a cycle opened on `day` inspects: the latest one already closed.

    FY N runs 1 April N to 31 March N+1: a run on 15 April 2021 inspects FY2020, and so does
    one in February 2022 (FY2021 has not closed yet).
    """
    return day.year - 2 if day.month < 4 else day.year - 1


def fiscal_year_in_progress(day: date) -> int:
    """The fiscal year `day` falls in (FY N: 1 April N to 31 March N+1): the one a March preflight
    prepares, since its cycle opens in April."""
    return day.year if day.month >= 4 else day.year - 1
