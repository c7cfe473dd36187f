"""Prefect tasks of the yearly cycle: each opens the cycle from the flow's Settings and calls one use case
of tenken.services, nothing more.

Every task here has a side effect (ledger, files, messages), so none is cached; none is retried by
Prefect either: sends retry inside slack-sdk, and every step is safe to run again by hand.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tenken.services import Cycle
from tenken.services import collecting, compiling, opening, preflight, publishing, reminding, reviewing, run_notices
from tenken.settings import Settings

side_effect = task(cache_policy=NO_CACHE, retries=0)


@task(cache_policy=NO_CACHE, retries=0)
def check_ready(settings: Settings, fiscal_year: int, strict: bool = False) -> dict:
    """The preflight at the start of a stage: strict (open-cycle) fails the run with the list of what is
    missing; otherwise the findings are logged as warnings."""
    checked = preflight.require(settings, fiscal_year) if strict else preflight.preflight(settings, fiscal_year)
    logger = get_run_logger()
    for finding in checked.findings:
        (logger.error if finding.severity == "error" else logger.warning)("preflight: %s", finding.text)
    return checked.to_dict()


@side_effect
def report_preflight(settings: Settings, fiscal_year: int, today: date) -> dict:
    checked = preflight.preflight(settings, fiscal_year)
    told = run_notices.report_preflight(settings, checked, today.isoformat())
    get_run_logger().info("preflight FY%s: %s (office told: %s)\n%s", fiscal_year, "ok" if checked.ok else "NOT READY",
                          told, checked.text())
    return {**checked.to_dict(), "office_told": told}


@side_effect
def open_cycle(settings: Settings, fiscal_year: int) -> dict[str, str]:
    with Cycle.opened(settings, fiscal_year) as cycle:
        workbooks = opening.open_cycle(cycle)
    get_run_logger().info("cycle FY%s opened; %d request workbooks written", fiscal_year, len(workbooks))
    return workbooks


@side_effect
def send_requests(settings: Settings, fiscal_year: int, workbooks: dict[str, str]) -> list[str]:
    with Cycle.opened(settings, fiscal_year) as cycle:
        sent = opening.send_requests(cycle, workbooks)
    get_run_logger().info("requests sent to %d departments (%d already sent)", len(sent), len(workbooks) - len(sent))
    return sent


@side_effect
def take_in(settings: Settings, fiscal_year: int) -> dict:
    with Cycle.opened(settings, fiscal_year) as cycle:
        report = collecting.collect(cycle)
    logger = get_run_logger()
    logger.info("intake: %d accepted, %d refused", len(report.accepted), len(report.rejected))
    for failed in report.failed:
        logger.error("not taken in (stays in the inbox for the next run): %s: %s", failed["file"], failed["error"])
    return {"accepted": report.accepted, "rejected": report.rejected, "failed": report.failed}


@side_effect
def send_reminders(settings: Settings, fiscal_year: int, today: date) -> list[dict]:
    with Cycle.opened(settings, fiscal_year) as cycle:
        sent = reminding.send_reminders(cycle, today)
    get_run_logger().info("%d reminders sent on %s", len(sent), today)
    return sent


@side_effect
def next_round(settings: Settings, fiscal_year: int) -> int:
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        return reviewing.next_round(cycle)


@side_effect
def compile_draft(settings: Settings, fiscal_year: int, round: int) -> compiling.Compiled:
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        return compiling.compile_draft(cycle, round)


@side_effect
def show_compiled(settings: Settings, fiscal_year: int, compiled: compiling.Compiled) -> None:
    """Artifacts for the office and the reviewers: the summary table, who is missing, what to check."""
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        shown = reviewing.artifacts(cycle, compiled)
    for artifact in shown:
        create = create_table_artifact if artifact.kind == "table" else create_markdown_artifact
        create(artifact.content, key=artifact.key, description=artifact.description)


@side_effect
def open_round(settings: Settings, fiscal_year: int, compiled: compiling.Compiled, run_url: str) -> str:
    """Each reviewer's one-time code (to them alone) and the round's notice; returns when the round expires."""
    with Cycle.opened(settings, fiscal_year) as cycle:
        expires_at = reviewing.open_round(cycle, compiled, run_url)
    get_run_logger().info("round %s: codes sent to %d reviewers, valid until %s", compiled.round,
                          len(cycle.config.review.reviewers), expires_at.isoformat())
    return expires_at.isoformat()


@side_effect
def round_state(settings: Settings, fiscal_year: int, round: int) -> reviewing.RoundState:
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        return reviewing.round_state(cycle, round)


@side_effect
def review_form(settings: Settings, fiscal_year: int, compiled: compiling.Compiled,
                notice: str = "") -> reviewing.ReviewForm:
    with Cycle.opened(settings, fiscal_year, sending=False) as cycle:
        return reviewing.review_form(cycle, compiled, notice)


@side_effect
def answer_review(settings: Settings, fiscal_year: int, round: int, decision: str, code: str, comments: str,
                  run_url: str) -> reviewing.Answered:
    """The answer checked against the round's codes: recorded under the code's reviewer, or refused."""
    with Cycle.opened(settings, fiscal_year) as cycle:
        answered = reviewing.answer(cycle, round, decision, code, comments, run_url)
    logger = get_run_logger()
    (logger.info if answered.accepted else logger.warning)("round %s answer: %s (%s)", round, answered.outcome,
                                                          answered.reviewer or "no reviewer")
    return answered


@task(cache_policy=NO_CACHE, retries=0)
def forget_typed_code(flow_run_id: str, pause_key: str) -> bool:
    """Prefect keeps a resumed form's answer as the run's input, the typed code with it. By now the code is
    spent or was wrong, and the ledger keeps only digests: the answer is deleted from Prefect as well (the
    decision and comments are in the ledger). Best effort: a failure is logged, the review goes on."""
    from prefect.input.actions import delete_flow_run_input
    from prefect.input.run_input import keyset_from_base_key

    try:
        delete_flow_run_input(keyset_from_base_key(f"paused-{pause_key}")["response"], flow_run_id=flow_run_id)
        return True
    except Exception as exc:  # noqa: BLE001
        get_run_logger().warning("the typed code of %s could not be removed from Prefect: %s", pause_key, exc)
        return False


def paused_reviews() -> list:
    """The compile-and-review runs paused for their reviewers (Prefect API)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, \
        FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["compile-and-review"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))


def plan_of_run(run) -> str | None:
    """The plan id a flow run works on, from its config_dir parameter (none: the default plan folder)."""
    try:
        return Settings.resolve(config_dir=(run.parameters or {}).get("config_dir")).plan_id
    except Exception:  # noqa: BLE001 - a run of a plan folder that no longer loads is nobody's here
        return None


@task(cache_policy=NO_CACHE, retries=0)
def paused_review_url(settings: Settings, fiscal_year: int) -> str | None:
    """The UI address of the compile-and-review run paused for this plan's reviewers of the year, if any
    (several plans may be under review in the same fiscal year)."""
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    for run in paused_reviews():
        year = (run.parameters or {}).get("fiscal_year")
        if ui and (year is None or int(year) == fiscal_year) and plan_of_run(run) == settings.plan_id:
            return f"{ui.rstrip('/')}/runs/flow-run/{run.id}"
    return None


@side_effect
def remind_reviewers(settings: Settings, fiscal_year: int, run_url: str | None = None,
                     now: datetime | None = None) -> list[str]:
    with Cycle.opened(settings, fiscal_year) as cycle:
        sent = reviewing.remind_reviewers(cycle, run_url, now)
    get_run_logger().info("FY%s review reminders and notices sent: %s", fiscal_year, sent or "none")
    return sent


@side_effect
def publish_final(settings: Settings, fiscal_year: int, published_on: datetime | None = None) -> dict:
    with Cycle.opened(settings, fiscal_year) as cycle:
        published = publishing.publish_final(cycle, published_on)
    get_run_logger().info("published FY%s to %s", fiscal_year, published.target)
    return {"target": published.target, "files": published.files, "checksums": published.checksums,
            "index": published.index}


@side_effect
def tell_office_of_crash(flow_run_id: str) -> bool:
    """The office's notice of a crashed run, from what the Prefect API knows of it (the same notice the
    flow's on_crashed hook sends when a worker saw the crash: claimed once in the ledger)."""
    from prefect import get_client
    from prefect.settings import PREFECT_UI_URL

    from tenken.settings import DEFAULT_SECRET_BLOCK, DEFAULT_SUBMISSION_BLOCK

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        flow_name = client.read_flow(run.flow_id).name
    parameters = dict(run.parameters or {})
    ui = PREFECT_UI_URL.value()
    # The crashed run's own settings, as its flow resolved them (flows.settings_for).
    run_settings = Settings.resolve(config_dir=parameters.get("config_dir"), secret_block=DEFAULT_SECRET_BLOCK,
                                    submission_block=DEFAULT_SUBMISSION_BLOCK)
    told = run_notices.notify_run_problem(
        run_settings, run_notices.fiscal_year_of(flow_name, parameters), flow_name,
        str(run.id), run.name, f"{ui.rstrip('/')}/runs/flow-run/{run.id}" if ui else None, True,
        (run.state.message if run.state else "") or "")
    get_run_logger().info("office told of crashed run %s of %s: %s", run.name, flow_name, told)
    return told
