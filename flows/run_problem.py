from __future__ import annotations

from prefect import flow

from tasks import cycle as steps


@flow(name="run-problem", log_prints=True)
def run_problem(flow_run_id: str | None = None) -> bool:
    """Tell the office of a crashed run (started by the automation of flows/automations.py). No hooks of
    its own: it must not report itself."""
    return steps.tell_office_of_crash(flow_run_id) if flow_run_id else False
