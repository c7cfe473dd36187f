"""Drive a plan's demo cycle (FY2020 of the bundled example by default) through the deployments on a running
Prefect server and worker.

This plays what the calendar and the departments do in production: the yearly deployment is
triggered with the fiscal year its April schedule would derive, each simulated collection day
delivers that day's submissions (in the Slack threads, by mail, or to the inbox) and runs the daily
deployment with `today` set, then the review deployment runs and pauses for the reviewers. Every run
gets the plan folder as its `config_dir` parameter, so one server and worker serve several plans. The
flows themselves run in the worker's processes; this process shares with them only the var folder, the
ledger and the site.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter, \
    FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.states import Cancelled

from tenken.settings import Settings
from tenken_demo import departments
from tenken_demo.review_client import plan_of, year_of
from tenken_demo.scenario import calendar_for, default_years, scenario

OPEN = "open-cycle/yearly-open"
COLLECT = "collect-and-remind/daily-collect-and-remind"
REVIEW = "compile-and-review/compile-and-review"


class DeployedRunFailed(RuntimeError):
    pass


def ui_address(flow_run_id: UUID) -> str:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value() or "http://127.0.0.1:4200"
    return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


# _sync: callers may have an event loop running (Playwright's sync API does), where run_deployment would return a coroutine.
def run_to_completion(name: str, parameters: dict, timeout: float = 300) -> FlowRun:
    flow_run = run_deployment(name, parameters=parameters, timeout=timeout, poll_interval=1, _sync=True)
    if not flow_run.state or not flow_run.state.is_completed():
        raise DeployedRunFailed(f"{name}: {flow_run.name} ended {flow_run.state and flow_run.state.name}")
    return flow_run


def wait_for_state(flow_run_id: UUID, wanted: set[StateType], timeout: float = 300) -> FlowRun:
    """Poll one flow run until it reaches one of `wanted`; a final state that is not wanted fails."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            flow_run = client.read_flow_run(flow_run_id)
            if flow_run.state and flow_run.state.type in wanted:
                return flow_run
            if flow_run.state and flow_run.state.is_final():
                raise DeployedRunFailed(f"{flow_run.name} ended {flow_run.state.name}")
            time.sleep(0.5)
    raise TimeoutError(f"flow run {flow_run_id} not {sorted(s.value for s in wanted)} after {timeout} s")


def wait_for_pause(flow_run_id: UUID, pause_key: str, timeout: float = 300) -> FlowRun:
    """The review run paused at a given round's form (e.g. 'review-2020-round-2')."""
    deadline = time.monotonic() + timeout
    while True:
        flow_run = wait_for_state(flow_run_id, {StateType.PAUSED}, max(deadline - time.monotonic(), 0.1))
        if flow_run.state.state_details.pause_key == pause_key:
            return flow_run
        time.sleep(0.5)


def cancel_waiting_reviews(plan_id: str | None = None, fiscal_year: int | None = None) -> int:
    """Cancel reviews an earlier demo left waiting, so that only this demo's review can be answered: those of
    the given plan (and year) only, since other plans may be under review on the same server."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[REVIEW.split("/")[1]])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                any_=[StateType.PAUSED, StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]))))
        runs = [r for r in runs if (plan_id is None or plan_of(r) == plan_id)
                and (fiscal_year is None or year_of(r) in (None, fiscal_year))]
        for flow_run in runs:
            client.set_flow_run_state(flow_run.id, Cancelled(message="新しいデモの開始により取り消し"), force=True)
    return len(runs)


def start_review(config_dir: str | None = None, fiscal_year: int | None = None) -> FlowRun:
    """Trigger the review deployment and return its run once it is paused at the review form."""
    flow_run = run_deployment(REVIEW, parameters=_parameters(config_dir, fiscal_year), timeout=0, _sync=True)
    return wait_for_state(flow_run.id, {StateType.PAUSED})


def run_cycle_until_review(config_dir: str | None = None, progress: Callable[[str], None] = lambda _: None,
                           workspace_url: str | None = None, maildirs: Path | None = None,
                           fiscal_year: int | None = None) -> FlowRun:
    """Open, collect on every demo day and compile the plan's year (default: its first demo year): returns the
    review run paused for reviewers. With a `workspace_url` (the stand-in the worker sends to), departments
    answer in their Slack threads; with `maildirs` (the demo mail server's, make demo MAIL=1), those asked by
    mail answer by mail; a department asked by mail with no mail server hands its file over through the
    bridge to the inbox."""
    settings = Settings.resolve(config_dir=config_dir)
    year = fiscal_year or default_years(settings.config_dir)[0]
    cancel_waiting_reviews(settings.plan_id, year)
    arrivals = scenario(settings, year)
    days = calendar_for(settings, year).collection_days
    run_to_completion(OPEN, _parameters(config_dir, year))
    progress("開始: 各所属へ依頼ファイルを送付しました")
    if maildirs:
        return _mail_and_slack(settings, year, days, arrivals, config_dir, progress, workspace_url, Path(maildirs))
    for day in days:
        done = departments.submit_each(settings, year, [tuple(a) for a in arrivals.get(day.isoformat(), [])],
                                       workspace_url, None)
        run_to_completion(COLLECT, {**_parameters(config_dir, year), "today": day.isoformat()})
        progress(f"{day.isoformat()}: 受付・督促（提出 {done.total} 件{_where(done, workspace_url)}）")
    return start_review(config_dir, year)


def _where(done: departments.Submitted, workspace_url: str | None) -> str:
    if not done.total:
        return ""
    parts = []
    if done.slack:
        parts.append(f"Slack のスレッドに返信 {len(done.slack)} 件")
    if done.bridge:
        why = "" if not workspace_url else "、メールで依頼した所属"
        parts.append(f"受信フォルダへ（送信者を記録{why}） {len(done.bridge)} 件")
    if done.mail:
        parts.append(f"メールで返信 {len(done.mail)} 件")
    return " — " + "／".join(parts)


def _mail_and_slack(settings: Settings, year: int, days, arrivals: dict, config_dir: str | None,
                    progress: Callable[[str], None], workspace_url: str | None, maildirs: Path) -> FlowRun:
    """The collection days with departments split between Slack and mail; says who answered by mail."""
    from tenken.config import load_directory

    directory = load_directory(settings.config_dir)

    def names(keys) -> str:
        return "、".join(directory.department(key).name or key for key in keys)

    by_mail = departments.asked_by_mail(settings, year)
    progress(f"  うちメールで依頼した所属（{len(by_mail)}）：{names(by_mail)} — 依頼メールに記入したファイルを添付して返信します")
    elsewhere = "Slack のスレッドに返信" if workspace_url else "受信フォルダへ（送信者を記録）"
    for day in days:
        done = departments.submit_each(settings, year, [tuple(a) for a in arrivals.get(day.isoformat(), [])],
                                       workspace_url, maildirs)
        run_to_completion(COLLECT, {**_parameters(config_dir, year), "today": day.isoformat()})
        parts = [f"{elsewhere} {len(done.slack) + len(done.bridge)} 件"] if done.slack or done.bridge else []
        if done.mail:
            parts.append(f"メールで返信 {len(done.mail)} 件：{names(done.mail)}")
        progress(f"{day.isoformat()}: 受付・督促（提出 {done.total} 件" + (f" — {'／'.join(parts)}" if parts else "") + "）")
    return start_review(config_dir, year)


def wait_for_publication(flow_run_id: UUID, timeout: float = 300) -> FlowRun:
    return wait_for_state(flow_run_id, {StateType.COMPLETED}, timeout)


def _parameters(config_dir: str | None, fiscal_year: int | None = None) -> dict:
    """The April schedule derives the year that just closed; the demo replays its years later, so it gives
    the year. The plan folder goes with every run (one worker serves several plans)."""
    if fiscal_year is None:
        fiscal_year = default_years(Settings.resolve(config_dir=config_dir).config_dir)[0]
    parameters: dict = {"fiscal_year": fiscal_year}
    if config_dir:
        parameters["config_dir"] = str(Path(config_dir).resolve())
    return parameters
