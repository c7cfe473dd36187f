"""On the deployed stack (server, worker, deployments, the Slack stand-in as the workspace): the yearly
open is killed mid-send, the worker reports the crash and the office hears of it with the run's link;
the rerun sends the other departments their requests, none twice, and the office hears it is resolved.

No browser here: it shares the stack fixture (and the serial run) with the browser tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment

from tenken.ledger import Ledger
from tenken_demo.deployed import OPEN
from tenken_demo.departments import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def children(pid: int) -> list[int]:
    done = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_yearly_open_killed_mid_send_is_reported_and_its_rerun_asks_no_department_twice(stack):
    workspace = Workspace(stack.workspace_url)
    workspace.control("slow", method="chat.postMessage", seconds=0.4)
    parameters = {"fiscal_year": 2020, "config_dir": str(stack.config)}
    crashed = run_deployment(OPEN, parameters=parameters, timeout=0, _sync=True)

    def sent() -> int:
        with Ledger.open(stack.ledger_url) as ledger:
            return sum(r.status == "sent" for r in ledger.requests(2020))

    wait_until(lambda: sent() >= 6, 180, "six requests sent")
    worker = int((stack.tmp / "run" / "worker.pid").read_text())
    runs = children(worker)
    assert runs, "the flow run's process runs under the worker"
    for pid in runs:
        os.kill(pid, signal.SIGKILL)
    state = wait_for_state_type(crashed.id, {StateType.CRASHED})
    assert state.type == StateType.CRASHED

    def office_told(kind: str):
        messages = workspace.control("messages")["messages"]
        return [m for m in messages if m["conversation"] == "#tenken-office" and m["kind"] == kind]

    [told] = wait_until(lambda: office_told("run-failed"), 60, "the office told of the crash")
    assert "異常終了" in told["text"] and f"/runs/flow-run/{crashed.id}" in told["text"]

    workspace.control("slow", method="chat.postMessage", seconds=0)
    rerun = run_deployment(OPEN, parameters=parameters, timeout=300, poll_interval=1, _sync=True)
    assert rerun.state.is_completed(), rerun.state

    messages = workspace.control("messages")["messages"]
    requests = [m["key"] for m in messages if m["key"] and m["key"].startswith("kanagawa/2020/request/")]
    assert len(requests) == 34 and len(set(requests)) == 34, "every department asked, none twice"
    [resolved] = wait_until(lambda: office_told("run-resolved"), 60, "the office told it is resolved")
    assert f"/runs/flow-run/{rerun.id}" in resolved["text"]
    assert len(office_told("run-failed")) == 1


def wait_for_state_type(flow_run_id, wanted, timeout: float = 120):
    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(flow_run_id)
            if run.state and run.state.type in wanted:
                return run.state
            time.sleep(0.5)
    raise AssertionError(f"flow run {flow_run_id} not {wanted} after {timeout} s (last: {run.state})")


def test_a_run_whose_worker_is_killed_is_marked_crashed_by_the_automation_and_the_office_is_told(stack):
    """No worker left to see the crash: the run falls silent, the automation marks it Crashed after three
    missed heartbeats (30 s each on this stack) and starts run-problem on the restarted worker."""
    workspace = Workspace(stack.workspace_url)
    workspace.control("slow", method="chat.postMessage", seconds=0.5)
    parameters = {"fiscal_year": 2020, "config_dir": str(stack.config), "today": "2021-05-24"}
    silent = run_deployment("collect-and-remind/daily-collect-and-remind", parameters=parameters, timeout=0,
                            _sync=True)

    def reminded() -> int:
        with Ledger.open(stack.ledger_url) as ledger:
            return sum(r.status == "sent" for r in ledger.reminders(2020))

    wait_until(lambda: reminded() >= 3, 180, "three reminders sent")
    worker = int((stack.tmp / "run" / "worker.pid").read_text())
    family = [worker]
    while (below := [c for p in family for c in children(p) if c not in family]):
        family += below
    for pid in family:  # the worker and every process it started: nobody is left to report
        os.kill(pid, signal.SIGKILL)
    workspace.control("slow", method="chat.postMessage", seconds=0)
    stack.run("start")  # the worker comes back (as its service manager would restart it); the run stays orphaned

    state = wait_for_state_type(silent.id, {StateType.CRASHED}, timeout=240)
    assert "生存通知" in (state.message or "")

    def office_told():
        messages = workspace.control("messages")["messages"]
        return [m for m in messages if m["conversation"] == "#tenken-office" and m["kind"] == "run-failed"
                and f"/runs/flow-run/{silent.id}" in m["text"]]

    [told] = wait_until(office_told, 180, "the office told of the silent run")
    assert "collect-and-remind" in told["text"] and "異常終了" in told["text"]
