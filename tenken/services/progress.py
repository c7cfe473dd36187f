"""Where a cycle stands and what it waits for: its stage, who is expected to act, and (when Prefect is
reachable) the last run of each deployment. What `tenken status` shows above the per-department table.

The stage is read from the ledger alone (`read_facts`, then the pure `cycle_progress`), so it is the
same whether the stages ran as Prefect flows or by hand:

    not_opened        未開始                no request sent yet (nor anything received)
    collecting        提出受付中            requests sent, departments missing, deadline not passed
    overdue           督促中（期限超過）    departments missing after the deadline
    ready_to_compile  取りまとめ待ち        every department asked has an accepted version, no review round yet
    in_review         確認中（第N回）       a round compiled or sent to the reviewers without a decision, or
                                            sent back (request_changes) with the next round not yet started
    approved          承認済み・公表待ち    approved, not published
    published         公表済み              published (the latest publication's version and time)

The Prefect part (`deployment_runs`) is separate: it returns None when no API is configured or the API
does not answer within a few seconds, and everything else is shown all the same.
"""

from __future__ import annotations

from collections import Counter

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenken.core.plan import Plan
    from tenken.cycle_config import CycleSettings
    from tenken.ledger import (
        CycleRecord,
        DepartmentStatus,
        Ledger,
        OutboundRecord,
        PublicationRecord,
        ReviewRecord,
    )

STAGE_LABELS = {
    "not_opened": "未開始",
    "collecting": "提出受付中",
    "overdue": "督促中（期限超過）",
    "ready_to_compile": "取りまとめ待ち",
    "in_review": "確認中",  # the round is added: 確認中（第N回）
    "approved": "承認済み・公表待ち",
    "published": "公表済み",
}
# (flow name, deployment name) of each deployment in deployments.yaml, in the order of the cycle.
DEPLOYMENTS = (
    ("preflight", "yearly-preflight"),
    ("open-cycle", "yearly-open"),
    ("collect-and-remind", "daily-collect-and-remind"),
    ("compile-and-review", "compile-and-review"),
    ("publish", "publish"),
)
PREFECT_TIMEOUT = 3.0  # seconds per request, and about the most the whole history may take


# ------------------------------------------------------------------------------------------ ledger


@dataclass(frozen=True)
class LedgerFacts:
    """What the ledger records about one cycle, as far as its progress goes."""

    fiscal_year: int
    cycle: CycleRecord | None
    requests: list[OutboundRecord]
    departments: dict[str, DepartmentStatus]
    reminders: list[OutboundRecord]
    notices: list[OutboundRecord]
    decisions: list[ReviewRecord]
    compiled_rounds: tuple[int, ...]  # rounds with a rating snapshot (a draft was compiled)
    publications: list[PublicationRecord]
    refused_answers: dict[int, int] = field(default_factory=dict)  # round -> answers refused (wrong codes, …)
    round_ends: dict[int, datetime] = field(default_factory=dict)  # round -> when its codes expire


def read_facts(ledger: Ledger, fiscal_year: int) -> LedgerFacts:
    decisions = ledger.review_decisions(fiscal_year)
    # A round is compiled before it is decided, so only rounds up to the one after the last decision can exist.
    rounds = range(1, max([d.round for d in decisions], default=0) + 2)
    return LedgerFacts(
        fiscal_year=fiscal_year,
        cycle=ledger.cycle(fiscal_year),
        requests=ledger.requests(fiscal_year),
        departments=ledger.department_status(fiscal_year),
        reminders=ledger.reminders(fiscal_year),
        notices=ledger.notices(fiscal_year),
        decisions=decisions,
        compiled_rounds=tuple(r for r in rounds if ledger.rating_snapshot(fiscal_year, r)),
        publications=ledger.publications(fiscal_year),
        refused_answers=dict(Counter(a.round for a in ledger.review_attempts(fiscal_year) if a.outcome != "accepted")),
        round_ends={c.round: c.expires_at for c in ledger.review_codes(fiscal_year)},
    )


@dataclass(frozen=True)
class Stage:
    key: str  # one of STAGE_LABELS
    label: str
    today: date
    deadline: date | None
    days_overdue: int = 0  # days past the deadline (overdue only)
    round: int | None = None  # in_review: the round under review (or sent back); approved: the approved round
    changes_requested: bool = False  # in_review: the round was sent back and the next one has not started
    since: datetime | None = None  # in_review: the round's notice; approved: the decision; published: the publication
    publication: PublicationRecord | None = None


@dataclass(frozen=True)
class Waiting:
    """Someone the cycle waits for, and for what."""

    who: str  # department | reviewer | office
    name: str
    reason: str
    key: str | None = None  # department key
    status: str | None = None  # department: missing (未提出) | rejected (差戻し中: refused, nothing accepted)
    reminders: int = 0  # department: reminders sent
    last_reminder: str | None = None  # department: the stage of the last one sent (e.g. overdue_1)
    last_reminder_at: datetime | None = None
    since: datetime | None = None  # reviewer: since the round was sent; department: its last refused file


@dataclass(frozen=True)
class Progress:
    fiscal_year: int
    stage: Stage
    waiting: tuple[Waiting, ...]
    asked: int  # departments asked this year
    missing: int  # of them, without an accepted version

    def to_dict(self) -> dict:
        """JSON-ready: dates and times as ISO strings."""
        stage = asdict(self.stage)
        stage["publication"] = None if self.stage.publication is None else {
            "version": self.stage.publication.version, "target": self.stage.publication.target,
            "published_at": self.stage.publication.published_at}
        return _iso({"stage": stage, "waiting": [asdict(w) for w in self.waiting]})


def _iso(value):
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_iso(v) for v in value]
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return value


def _when(record: OutboundRecord) -> datetime:
    return record.sent_at or record.claimed_at


def _department_waits(facts: LedgerFacts, plan: Plan, missing: list[str]) -> list[Waiting]:
    waits = []
    for key in missing:
        sent = sorted((r for r in facts.reminders if r.department == key and r.status == "sent"), key=_when)
        entry = facts.departments.get(key)
        refused = entry is not None and entry.rejected > 0
        waits.append(Waiting(
            who="department", name=plan.department(key).name, key=key,
            status="rejected" if refused else "missing",
            reason="差戻し中（再提出待ち）" if refused else "未提出",
            reminders=len(sent), last_reminder=sent[-1].stage if sent else None,
            last_reminder_at=_when(sent[-1]) if sent else None,
            since=entry.last_received_at if refused else None))
    return waits


def _reviewers(config: CycleSettings, round: int, since: datetime | None, decided: set[str]) -> list[Waiting]:
    review = config.review
    people = [r.name or r.address or "確認者" for r in review.reviewers if r.name not in decided]
    if not people:
        channel = review.channel
        people = [(channel.name or channel.address) if channel else "確認者（cycle.yaml の review.reviewers に未設定）"]
    return [Waiting(who="reviewer", name=name, reason=f"第{round}回確認の判断（approve / request_changes）",
                    since=since) for name in people]


def cycle_progress(facts: LedgerFacts, plan: Plan, config: CycleSettings, asked: list[str],
                   today: date) -> Progress:
    """The cycle's stage and who it waits for, from the ledger's records (pure).

    `asked`: the departments asked this year (tenken.workbook.layout.departments_on_form). The deadline is
    the one recorded when the cycle was opened (what the workbooks say), else cycle.yaml's."""
    year = facts.fiscal_year
    deadline = facts.cycle.deadline if facts.cycle and facts.cycle.deadline else config.deadline_for(year)
    missing = [k for k in asked if k not in facts.departments or facts.departments[k].latest is None]
    decisions = sorted(facts.decisions, key=lambda d: d.round)
    by_round: dict[int, list[ReviewRecord]] = {}
    for decision in decisions:
        by_round.setdefault(decision.round, []).append(decision)

    def sent_back(round: int) -> ReviewRecord | None:
        return next((d for d in by_round.get(round, []) if d.decision == "request_changes"), None)

    def approved(round: int) -> bool:
        approvals = sum(d.decision == "approve" for d in by_round.get(round, []))
        return sent_back(round) is None and approvals >= config.review.required_approvals

    decided = {r for r in by_round if sent_back(r) or approved(r)}  # rounds the office's rule has closed
    notified = {}
    for notice in facts.notices:
        kind, _, key = (notice.stage or "").partition(":")
        if kind == "review" and key.startswith("round-") and key[6:].isdigit():
            notified[int(key[6:])] = _when(notice)
    open_rounds = sorted(r for r in set(facts.compiled_rounds) | set(notified) if r > max(decided, default=0))

    def done(stage: Stage, waiting: list[Waiting]) -> Progress:
        return Progress(year, stage, tuple(waiting), len(asked), len(missing))

    def office(reason: str) -> Waiting:
        return Waiting(who="office", name="事務局", reason=reason)

    base = {"today": today, "deadline": deadline}
    if facts.publications:
        last = max(facts.publications, key=lambda p: p.version)
        return done(Stage("published", STAGE_LABELS["published"], **base, round=last.review_round,
                          since=last.published_at, publication=last), [])
    last_closed = max(decided, default=0)
    if last_closed and approved(last_closed):  # a draft compiled by hand afterwards changes nothing
        approval = max((d for d in by_round[last_closed] if d.decision == "approve"), key=lambda d: d.decided_at)
        return done(Stage("approved", STAGE_LABELS["approved"], **base, round=last_closed,
                          since=approval.decided_at), [office("公表（publish の実行）")])
    open_rounds = sorted(set(open_rounds) | {r for r in by_round if r > last_closed})
    if open_rounds:
        round = open_rounds[-1]
        since = notified.get(round)
        ends = facts.round_ends.get(round)
        if facts.refused_answers.get(round, 0) >= config.review.lock_after or (ends and ends.date() < today):
            why = "ロック" if facts.refused_answers.get(round, 0) >= config.review.lock_after else "期限切れ"
            return done(Stage("in_review", f"確認中（第{round}回 {why}・確認のやり直し待ち）", **base, round=round,
                              since=since),
                        [office(f"第{round}回の確認の{why}への対応と、確認のやり直し（compile-and-review の再実行）")])
        return done(Stage("in_review", f"確認中（第{round}回）", **base, round=round, since=since),
                    _reviewers(config, round, since, {d.reviewer for d in by_round.get(round, [])}))
    if last_closed:  # the last round was sent back and the next one has not been compiled yet
        back = sent_back(last_closed)
        return done(Stage("in_review", f"確認中（第{back.round}回 差戻し・修正待ち）", **base,
                          round=back.round, changes_requested=True, since=back.decided_at),
                    [office(f"差戻し（{back.reviewer}）への対応と第{back.round + 1}回の取りまとめ"
                            "（compile-and-review の実行）")])
    opened = bool(facts.requests) or bool(facts.departments)
    if not opened:
        return done(Stage("not_opened", STAGE_LABELS["not_opened"], **base),
                    [office("点検の開始: 依頼ファイルの送付（yearly-open または tenken open）")])
    if not missing:
        return done(Stage("ready_to_compile", STAGE_LABELS["ready_to_compile"], **base),
                    [office("取りまとめ（compile-and-review または tenken compile）")])
    late = (today - deadline).days
    key = "overdue" if late > 0 else "collecting"
    return done(Stage(key, STAGE_LABELS[key], **base, days_overdue=max(late, 0)),
                _department_waits(facts, plan, missing))


# ----------------------------------------------------------------------------------------- Prefect


@dataclass(frozen=True)
class RunInfo:
    id: str
    name: str
    state_name: str
    state_type: str  # COMPLETED, FAILED, CRASHED, RUNNING, PAUSED, SCHEDULED (a Late run), …
    expected_start_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    message: str  # the state's message (why it failed or crashed), shortened
    url: str | None  # the run in the Prefect UI (when PREFECT_UI_URL is known)

    @property
    def when(self) -> datetime | None:
        """When it ended, else started, else was due (a Late run never started)."""
        return self.end_time or self.start_time or self.expected_start_time


@dataclass(frozen=True)
class DeploymentRuns:
    flow: str
    deployment: str
    last: RunInfo | None = None  # the last run due, whatever its state (a Late, failed or crashed one shows)
    last_success: RunInfo | None = None

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.deployment}"

    def to_dict(self) -> dict:
        return _iso({**asdict(self), "deployment": self.full_name})


def deployment_runs(timeout: float = PREFECT_TIMEOUT, deployments=DEPLOYMENTS) -> list[DeploymentRuns] | None:
    """The last run and the last successful run of each tenken deployment, from the Prefect API.

    None when no API is configured (PREFECT_API_URL) or it does not answer in time: the caller says so
    and shows the rest. Never starts a temporary server, never retries for long."""
    import contextvars
    import threading

    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return None
    answer: list = []
    # A thread, so that a server that accepts connections and never answers costs `timeout`, not minutes;
    # with the caller's context, so that temporary Prefect settings (tests, profiles) hold inside it.
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(_read_runs, timeout, deployments, answer), daemon=True,
                              name="tenken-prefect-history")
    worker.start()
    worker.join(timeout * 2)
    return answer[0] if answer else None


def _read_runs(timeout: float, deployments, answer: list) -> None:
    try:
        answer.append(_query_runs(timeout, deployments))
    except Exception:  # noqa: BLE001 — unreachable, refused, timed out, an incompatible server: no history
        return


def _query_runs(timeout: float, deployments) -> list[DeploymentRuns]:
    from datetime import UTC

    import httpx
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, PREFECT_UI_URL, temporary_settings

    ui = (PREFECT_UI_URL.value() or "").rstrip("/")

    def info(run) -> RunInfo:
        return RunInfo(id=str(run.id), name=run.name, state_name=run.state_name or "",
                       state_type=run.state_type.value if run.state_type else "",
                       expected_start_time=run.expected_start_time, start_time=run.start_time,
                       end_time=run.end_time, message=((run.state.message or "") if run.state else "")[:300],
                       url=f"{ui}/runs/flow-run/{run.id}" if ui else None)

    now = datetime.now(UTC)
    found = []
    with temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}), \
            get_client(sync_client=True, httpx_settings={"timeout": httpx.Timeout(timeout)}) as client:
        for flow_name, deployment_name in deployments:
            which = {"flow_filter": FlowFilter(name=FlowFilterName(any_=[flow_name])),
                     "deployment_filter": DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name]))}
            last = client.read_flow_runs(
                **which, flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(
                    before_=now)), sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)
            success = client.read_flow_runs(
                **which, flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                    any_=[StateType.COMPLETED]))), sort=FlowRunSort.END_TIME_DESC, limit=1)
            found.append(DeploymentRuns(flow_name, deployment_name, info(last[0]) if last else None,
                                        info(success[0]) if success else None))
    return found
