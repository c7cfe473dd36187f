"""The office hears of what goes wrong with a run, and of its repair: once per failed run, once when a
later run of the same flow completes, and the preflight's findings.

Built from the Settings alone (not a Cycle: a run may fail before its cycle can be built, e.g. a year
the plan has no targets for). Each notice is claimed in the ledger under the run's fiscal year, so a
hook that runs twice sends once.
"""

from __future__ import annotations

import logging
from datetime import date

from tenken.config import load_cycle_settings, load_plan
from tenken.core.cycle import fiscal_year_closed_before, fiscal_year_in_progress
from tenken.notify import render
from tenken.services.dispatch import Dispatcher, Outgoing
from tenken.services.preflight import Preflight
from tenken.settings import Settings

log = logging.getLogger(__name__)
FAILED, RESOLVED, PREFLIGHT = "run-failed", "run-resolved", "preflight"
DETAIL_LINES = 30


PREPARES_NEXT = {"preflight"}  # flows whose default year is the one in progress, not the last closed


def fiscal_year_of(flow_name: str, parameters: dict, today: date | None = None) -> int:
    """The year a run of a tenken flow was about, as the flow itself derives it from its parameters."""
    if parameters.get("fiscal_year"):
        return int(parameters["fiscal_year"])
    day = parameters.get("today") or today or date.today()
    day = date.fromisoformat(str(day)) if not isinstance(day, date) else day
    return fiscal_year_in_progress(day) if flow_name in PREPARES_NEXT else fiscal_year_closed_before(day)


def _office(settings: Settings):
    office = load_cycle_settings(settings.config_dir).office_recipient
    return office.address if office is not None else None


def _plan_name(settings: Settings) -> str:
    try:
        return load_plan(settings.config_dir).name
    except Exception:  # noqa: BLE001 — the plan itself may be what failed
        return str(settings.config_dir)


def notify_run_problem(settings: Settings, fiscal_year: int, flow: str, run_id: str, run_name: str,
                       run_url: str | None, crashed: bool, message: str) -> bool:
    """One notice to the office for a failed or crashed run (False: sent before, or nowhere to send)."""
    office = _office(settings)
    if office is None:
        log.warning("run %s of %s failed and cycle.yaml names no office to tell", run_name, flow)
        return False
    lines = [line for line in (message or "").splitlines() if line.strip()] or ["（エラーの内容は記録されていません）"]
    text = render("run_failed", plan=_plan_name(settings), fiscal_year=fiscal_year, flow=flow, run=run_name,
                  run_url=run_url, crashed=crashed, error=lines[0][:500], details=lines[1:DETAIL_LINES + 1])
    key = f"{flow}/{run_id}"
    with settings.open_ledger() as ledger:
        return Dispatcher(ledger, settings.notifier(), fiscal_year, settings.plan_id).notice(
            FAILED, key, [Outgoing(office, text, f"{fiscal_year}/{FAILED}/{key}", FAILED)])


def notify_review_ran_out(settings: Settings, fiscal_year: int, run_url: str | None) -> bool:
    """A review run that failed because its last round ran out (the pause timed out): the office hears
    that, with who approved and who did not answer (once per round), instead of a bare failure."""
    from tenken.services import reviewing
    from tenken.services.cycle import Cycle

    with Cycle.opened(settings, fiscal_year) as cycle:
        rounds = reviewing.rounds_on_record(cycle)
        if not rounds or reviewing.round_state(cycle, rounds[-1]).status != "expired":
            return False
        reviewing.tell_office_stopped(cycle, rounds[-1], "expired", run_url)
        return True


def notify_run_resolved(settings: Settings, fiscal_year: int, flow: str, run_name: str,
                        run_url: str | None) -> list[str]:
    """After a run completes: one notice for the failures of the same flow the office heard of and has
    not heard resolved. Returns the keys of the failures now resolved."""
    office = _office(settings)
    if office is None:
        return []
    with settings.open_ledger() as ledger:
        notices = ledger.notices(fiscal_year)
        told = {n.stage.split(":", 1)[1] for n in notices if n.stage.startswith(f"{FAILED}:{flow}/")}
        resolved = {n.stage.split(":", 1)[1] for n in notices if n.stage.startswith(f"{RESOLVED}:{flow}/")}
        open_failures = sorted(told - resolved)
        if not open_failures:
            return []
        text = render("run_resolved", plan=_plan_name(settings), fiscal_year=fiscal_year, flow=flow, run=run_name,
                      run_url=run_url, failures=len(open_failures))
        dispatcher = Dispatcher(ledger, settings.notifier(), fiscal_year, settings.plan_id)
        first, rest = open_failures[0], open_failures[1:]
        dispatcher.notice(RESOLVED, first, [Outgoing(office, text, f"{fiscal_year}/{RESOLVED}/{first}", RESOLVED)])
        for key in rest:  # one message for all of them; the others are recorded as resolved by it
            if ledger.claim_notice(fiscal_year, RESOLVED, key, office):
                ledger.mark_notice_sent(fiscal_year, RESOLVED, key, f"with {first}")
        return open_failures


def report_preflight(settings: Settings, checked: Preflight, on: str) -> bool:
    """The preflight's findings to the office (once a day per year)."""
    office = _office(settings)
    if office is None:
        log.warning("preflight of FY%s: cycle.yaml names no office to tell:\n%s", checked.fiscal_year, checked.text())
        return False
    text = render("preflight", plan=checked.plan_name, fiscal_year=checked.fiscal_year, ok=checked.ok,
                  findings=[f"{'【要対応】' if f.severity == 'error' else '【注意】'}{f.text}" for f in checked.findings])
    with settings.open_ledger() as ledger:
        return Dispatcher(ledger, settings.notifier(), checked.fiscal_year, settings.plan_id).notice(
            PREFLIGHT, on, [Outgoing(office, text, f"{checked.fiscal_year}/{PREFLIGHT}/{on}", PREFLIGHT)])
