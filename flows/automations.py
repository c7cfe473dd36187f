"""The Prefect automations tenken relies on, defined here and created by `python -m flows.automations`
(scripts/stack.sh runs it after deploying; it replaces automations of the same names):

- tenken: silent runs are crashed — a run of a tenken flow that stops sending heartbeats (its process
  and its worker gone: a machine restart, a killed worker) is marked Crashed after three missed
  heartbeats (the worker's `PREFECT_FLOWS_HEARTBEAT_FREQUENCY`, Prefect's default 180 s).
- tenken: crashed runs are told to the office — every Crashed run of a tenken flow starts the
  `run-problem` deployment, which tells the office (once: when a worker saw the crash it already ran the
  flow's on_crashed hook, and the notice is claimed in the ledger).
"""

from __future__ import annotations

from datetime import timedelta

TENKEN_FLOWS = ["preflight", "open-cycle", "collect-and-remind", "compile-and-review", "review-reminders", "publish"]
SILENT = "tenken: silent runs are crashed"
TO_OFFICE = "tenken: crashed runs are told to the office"
RUN_PROBLEM = "run-problem/run-problem"
MISSED_HEARTBEATS = 3


def automations(run_problem_deployment_id, heartbeat_seconds: int) -> list:
    from prefect.automations import Automation, ChangeFlowRunState, EventTrigger, Posture, RunDeployment
    from prefect.client.schemas.objects import StateType
    from prefect.events.schemas.events import ResourceSpecification

    tenken_flows = ResourceSpecification({"prefect.resource.role": "flow", "prefect.resource.name": TENKEN_FLOWS})
    silent = Automation(
        name=SILENT,
        description="A tenken flow run with no heartbeat for three beats is marked Crashed.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"}, match_related=tenken_flows,
            after={"prefect.flow-run.heartbeat"}, expect={"prefect.flow-run.*"},
            for_each={"prefect.resource.id"}, posture=Posture.Proactive, threshold=1,
            within=timedelta(seconds=MISSED_HEARTBEATS * heartbeat_seconds)),
        actions=[ChangeFlowRunState(state=StateType.CRASHED, message=(
            f"{MISSED_HEARTBEATS}回分の生存通知（heartbeat）が届かないため、実行が止まったとみなしました"
            "（ワーカーやマシンの停止）。"))],
    )
    to_office = Automation(
        name=TO_OFFICE,
        description="Every Crashed run of a tenken flow: the office is told (run-problem deployment).",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"}, match_related=tenken_flows,
            expect={"prefect.flow-run.Crashed"}, posture=Posture.Reactive, threshold=1, within=timedelta(0)),
        actions=[RunDeployment(source="selected", deployment_id=run_problem_deployment_id,
                               parameters={"flow_run_id": {"template": "{{ flow_run.id }}",
                                                           "__prefect_kind": "jinja"}})],
    )
    return [silent, to_office]


def ensure() -> list[str]:
    """Create tenken's automations on the server at PREFECT_API_URL; one that exists with the same trigger
    and actions is kept (replacing it would forget the runs it is watching), a changed one is replaced."""
    from prefect import get_client
    from prefect.automations import Automation
    from prefect.settings import get_current_settings

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(RUN_PROBLEM)
    heartbeat = get_current_settings().flows.heartbeat_frequency or 180
    made = []
    for automation in automations(deployment.id, heartbeat):
        try:
            existing = Automation.read(name=automation.name)
        except ValueError:
            existing = None
        if existing is not None:
            if (existing.trigger.model_dump(mode="json") == automation.trigger.model_dump(mode="json")
                    and [a.model_dump(mode="json") for a in existing.actions]
                    == [a.model_dump(mode="json") for a in automation.actions]):
                made.append(f"{automation.name} (kept)")
                continue
            existing.delete()
        made.append(automation.create().name)
    return made


if __name__ == "__main__":
    for name in ensure():
        print(f"automation: {name}")
