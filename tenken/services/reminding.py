"""Stage 3, remind: each department still missing gets the reminder due today, once per stage."""

from __future__ import annotations

from datetime import date

from tenken.core.cycle import due_stage
from tenken.notify import NotificationError, render
from tenken.services.cycle import Cycle
from tenken.services.dispatch import to_recipient
from tenken.workbook.layout import departments_on_form


def missing_departments(cycle: Cycle) -> list[str]:
    """Departments asked this year with no accepted submission yet."""
    status = cycle.ledger.department_status(cycle.fiscal_year)
    return [d for d in departments_on_form(cycle.plan, cycle.fiscal_year)
            if d not in status or status[d].latest is None]


def _request_link(cycle: Cycle, message_ref: str | None) -> str | None:
    """A link to the department's request thread, where it submits (None when the channel has none)."""
    channel, _, ts = (message_ref or "").partition("/")
    if not ts:
        return None
    try:
        return cycle.notifier.permalink(channel, ts)
    except NotificationError:
        return None  # the reminder goes out without the link rather than not at all


def send_reminders(cycle: Cycle, today: date) -> list[dict]:
    """For each department still missing, the reminder due today (once per stage). The reminders are claimed
    a chunk at a time and each marked sent as soon as it is (Dispatcher.reminders)."""
    plan, year = cycle.plan, cycle.fiscal_year
    wanted = []
    # Only stages recorded as sent count: a stage claimed by a run that crashed is due again,
    # and the dispatcher finds out whether its message went out before sending anything.
    already: dict[str, set[str]] = {}
    for record in cycle.ledger.reminders(year):
        if record.status == "sent":
            already.setdefault(record.department, set()).add(record.stage)
    threads = {r.department: r.message_ref for r in cycle.ledger.requests(year) if r.status == "sent"}
    for key in missing_departments(cycle):
        stage = due_stage(cycle.deadline, today, cycle.config.reminders, already.get(key, set()))
        if stage is None:
            continue
        department = plan.department(key)
        contact = cycle.directory.escalation(key) if stage.escalate else None
        wording = dict(plan=plan.name, fiscal_year=year, department=department.name,
                      deadline=cycle.deadline, stage=stage.name, today=today,
                      escalation=contact.name if contact else None, request_url=_request_link(cycle, threads.get(key)))
        text, mail_text = render("reminder", **wording), render("reminder", **wording, by_mail=True)
        messages = to_recipient(cycle.directory.department(key), text, f"{year}/reminder/{key}/{stage.name}", "reminder",
                                mail_text)
        if contact is not None:
            messages += to_recipient(contact, text, f"{year}/reminder/{key}/{stage.name}/escalation", "reminder",
                                     mail_text)
        if messages:
            wanted.append((key, stage.name, contact is not None, messages))
    sent = set(cycle.dispatcher.reminders(wanted))
    return [{"department": key, "stage": stage, "escalated": escalated}
            for key, stage, escalated, _ in wanted if (key, stage) in sent]
