"""deployments.yaml: every entrypoint resolves to a flow, and every flow meant to run deployed has one."""

import importlib.util
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

from tests.conftest import ROOT

DEPLOYMENTS = yaml.safe_load((ROOT / "deployments.yaml").read_text(encoding="utf-8"))["deployments"]
NOT_DEPLOYED = {"annual-inspection"}  # the whole cycle in one process: for the demo and tests


def load(entrypoint: str) -> object:
    path, name = entrypoint.split(":")
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def flows_in_repository() -> dict[str, Flow]:
    found = {}
    for path in sorted((ROOT / "flows").glob("*.py")):
        module = importlib.import_module(f"flows.{path.stem}")
        found.update({obj.name: obj for obj in vars(module).values() if isinstance(obj, Flow)})
    return found


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_every_entrypoint_resolves_to_a_flow(deployment):
    assert isinstance(load(deployment["entrypoint"]), Flow)


def test_every_flow_meant_to_be_deployed_has_a_deployment():
    deployed = {load(d["entrypoint"]).name for d in DEPLOYMENTS}
    assert set(flows_in_repository()) - NOT_DEPLOYED == deployed


@pytest.mark.parametrize("deployment", [d for d in DEPLOYMENTS if d.get("schedules")], ids=lambda d: d["name"])
def test_schedules_are_valid_crons_in_tokyo_time(deployment):
    for schedule in deployment["schedules"]:
        assert schedule["timezone"] == "Asia/Tokyo"
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])


def test_the_yearly_deployment_opens_the_cycle_in_april():
    yearly = next(d for d in DEPLOYMENTS if d["entrypoint"].endswith(":open_cycle"))
    assert yearly["schedules"][0]["cron"].split()[3] == "4"


def test_deployed_flows_take_no_required_parameters_so_schedules_can_start_them():
    for deployment in DEPLOYMENTS:
        assert not load(deployment["entrypoint"]).parameters.required, deployment["name"]


def test_the_automations_watch_every_tenken_flow_and_report_crashes_through_the_deployed_run_problem_flow():
    from uuid import uuid4

    from flows.automations import TENKEN_FLOWS, automations

    deployed = {load(d["entrypoint"]).name: d["name"] for d in DEPLOYMENTS}
    assert set(TENKEN_FLOWS) == set(deployed) - {"run-problem"}, "every flow that can crash is watched"
    assert deployed["run-problem"] == "run-problem"
    target = uuid4()
    silent, to_office = automations(target, heartbeat_seconds=30)
    assert silent.trigger.within.total_seconds() == 90 and silent.trigger.posture == "Proactive"
    assert silent.actions[0].state == "CRASHED"
    assert to_office.trigger.expect == {"prefect.flow-run.Crashed"}
    assert to_office.actions[0].deployment_id == target
    assert to_office.actions[0].parameters["flow_run_id"]["template"] == "{{ flow_run.id }}"


def test_each_schedule_runs_one_plan_folder_that_loads_and_no_two_share_a_slug():
    """Several plans: a schedule names its plan by the config_dir parameter (none: the bundled example)."""
    from tenken.config import load_plan
    from tenken.resources import EXAMPLE_CONFIG

    flows_taking_config = {d["name"] for d in DEPLOYMENTS if "config_dir" in load(d["entrypoint"]).parameters.properties}
    plans_per_deployment = {}
    for deployment in DEPLOYMENTS:
        slugs = [s.get("slug") for s in deployment.get("schedules", []) if s.get("slug")]
        assert len(slugs) == len(set(slugs)), deployment["name"]
        for schedule in deployment.get("schedules", []):
            parameters = schedule.get("parameters") or {}
            assert set(parameters) <= {"config_dir"}, schedule
            if parameters:
                assert deployment["name"] in flows_taking_config
            folder = ROOT / parameters["config_dir"] if parameters.get("config_dir") else EXAMPLE_CONFIG
            plans_per_deployment.setdefault(deployment["name"], set()).add(load_plan(folder).id)
    scheduled = {name: ids for name, ids in plans_per_deployment.items()}
    assert scheduled and all(ids == {"kanagawa", "minato"} for ids in scheduled.values()), scheduled
