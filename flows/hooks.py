"""State hooks every tenken flow carries: the office hears of each failed or crashed run (with its UI
link and the error), and of the run of the same flow that completes after it.

A crash (the run's process killed) cannot run hooks in that process; Prefect's process worker runs
`on_crashed` hooks itself when the process it started exits without a final state
(prefect/runner/_flow_run_executor.py). When the worker is gone too, the automations of
flows/automations.py mark the silent run Crashed and start `run-problem`, which sends the same
notice. The notices are claimed in the ledger: whichever path runs first sends, once.
"""

from __future__ import annotations

import logging

from flows import settings_for

log = logging.getLogger(__name__)


def run_url(flow_run_id) -> str | None:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None


def on_problem(flow, flow_run, state) -> None:
    from tenken.services import run_notices

    parameters = dict(flow_run.parameters or {})
    try:
        if flow.name == "compile-and-review" and not state.is_crashed() and run_notices.notify_review_ran_out(
                settings_for(parameters.get("config_dir")), run_notices.fiscal_year_of(flow.name, parameters),
                run_url(flow_run.id)):
            return  # the round ran out: the office has the review's own notice
        run_notices.notify_run_problem(
            settings_for(parameters.get("config_dir")), run_notices.fiscal_year_of(flow.name, parameters), flow.name,
            str(flow_run.id), flow_run.name, run_url(flow_run.id), state.is_crashed(), state.message or "")
    except Exception:  # noqa: BLE001 — a hook must not hide the run's own failure
        log.exception("the office could not be told that run %s of %s failed", flow_run.name, flow.name)


def on_completed(flow, flow_run, state) -> None:
    from tenken.services import run_notices

    parameters = dict(flow_run.parameters or {})
    try:
        run_notices.notify_run_resolved(
            settings_for(parameters.get("config_dir")), run_notices.fiscal_year_of(flow.name, parameters), flow.name,
            flow_run.name, run_url(flow_run.id))
    except Exception:  # noqa: BLE001
        log.exception("the office could not be told that %s completed again", flow.name)


HOOKS = {"on_failure": [on_problem], "on_crashed": [on_problem], "on_completion": [on_completed]}
