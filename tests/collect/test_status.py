"""`tenken status`: a stuck cycle is visible — its stage, who it waits for, and the deployments' last runs.

Each state is built with the ledger's own API (what the stages record), then read through the real command."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from tenken.cli import app
from tenken.config import DEFAULT_CONFIG, load_cycle_settings
from tenken.cycle_config import ReviewSettings as CycleSettingsReview
from tenken.ledger import Ledger, ReviewRecord
from tenken.services.progress import LedgerFacts, cycle_progress
from tenken.workbook.layout import departments_on_form

from .conftest import YEAR
from .test_ledger import submission

runner = CliRunner()
UNREACHABLE = "http://127.0.0.1:9/api"  # the discard port: nothing answers there
REVIEWER = "デジタル戦略本部室 情報政策グループリーダー"  # the example cycle.yaml's reviewer


@pytest.fixture
def no_prefect(monkeypatch):
    """No Prefect API configured, even inside a session whose Prefect test server is running (Prefect reads
    the environment once, when first imported: its settings are set for this process too)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert PREFECT_API_URL.value() is None
        yield


@pytest.fixture
def unreachable_prefect(monkeypatch):
    """A Prefect API that cannot be reached, for a new process (environment) and for this one (settings)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", UNREACHABLE)
    with temporary_settings({PREFECT_API_URL: UNREACHABLE}):
        yield


@pytest.fixture
def book(db_url, plan, no_prefect):
    """The ledger `tenken status` reads (TENKEN_DATABASE_URL), and the departments asked this year."""
    with Ledger.open(db_url, plan.id, plan.name) as ledger:  # as `tenken status` opens it for the bundled plan
        yield ledger, departments_on_form(plan, YEAR)


def status(*args: str) -> dict:
    result = runner.invoke(app, ["status", "--year", str(YEAR), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def opened(ledger: Ledger, asked: list[str]) -> None:
    """The open stage's record: the cycle with its deadline, and every department's request sent."""
    ledger.open_cycle(YEAR, "plan", date(2021, 5, 31))
    for key in asked:
        assert ledger.claim_request(YEAR, key, f"#{key}")
        ledger.mark_request_sent(YEAR, key, f"C1/{key}")


def submit(ledger: Ledger, keys: list[str], accepted: bool = True) -> None:
    for key in keys:
        ledger.store_submission(submission(f"{key}-{accepted}".encode().hex().ljust(64, "0")[:64], key, accepted))


def remind(ledger: Ledger, key: str, stage: str, sent: bool = True) -> None:
    assert ledger.claim_reminder(YEAR, key, stage, f"#{key}")
    if sent:
        ledger.mark_reminder_sent(YEAR, key, stage, f"C1/{stage}")


def notify_reviewers(ledger: Ledger, round: int) -> None:
    assert ledger.claim_notice(YEAR, "review", f"round-{round}", "#tenken-review")
    ledger.mark_notice_sent(YEAR, "review", f"round-{round}", "C2/1")


def waiting(figures: dict, who: str) -> dict[str, dict]:
    return {w["key"] or w["name"]: w for w in figures["waiting"] if w["who"] == who}


def test_a_cycle_without_requests_is_not_opened_and_waits_for_the_office(book):
    ledger, _ = book
    ledger.open_cycle(YEAR, "plan", date(2021, 5, 31))  # `tenken requests` records the cycle, sends nothing

    figures = status("--today", "2021-04-10")
    assert figures["stage"]["key"] == "not_opened" and figures["stage"]["label"] == "未開始"
    assert [w["who"] for w in figures["waiting"]] == ["office"]
    assert figures["deadline"] == "2021-05-31" and figures["fiscal_year"] == YEAR
    assert len(figures["departments"]) == 34
    text = runner.invoke(app, ["status", "--year", str(YEAR), "--today", "2021-04-10"]).output
    assert "段階: 未開始（not_opened、2021-04-10 現在）" in text
    assert "事務局: 点検の開始" in text and "Prefect に接続できないため、実行履歴は表示できません" in text


def test_collecting_lists_the_departments_still_missing_and_those_sent_back(book):
    ledger, asked = book
    opened(ledger, asked)
    submit(ledger, asked[:30])
    submit(ledger, asked[30:31], accepted=False)

    figures = status("--today", "2021-05-20")
    assert (figures["stage"]["key"], figures["stage"]["label"]) == ("collecting", "提出受付中")
    departments = waiting(figures, "department")
    assert list(departments) == asked[30:]
    assert departments[asked[30]]["status"] == "rejected" and departments[asked[30]]["reason"].startswith("差戻し中")
    assert {departments[k]["status"] for k in asked[31:]} == {"missing"}
    assert not waiting(figures, "office") and not waiting(figures, "reviewer")


def test_after_the_deadline_the_missing_are_overdue_with_their_reminders(book):
    ledger, asked = book
    opened(ledger, asked)
    submit(ledger, asked[1:])
    late = asked[0]
    remind(ledger, late, "before_7")
    remind(ledger, late, "due_today")
    remind(ledger, late, "overdue_1", sent=False)  # claimed by a run that crashed: not known to have gone out

    figures = status("--today", "2021-06-05")
    assert figures["stage"]["key"] == "overdue" and figures["stage"]["label"] == "督促中（期限超過）"
    assert figures["stage"]["days_overdue"] == 5
    [entry] = figures["waiting"]
    assert (entry["key"], entry["status"], entry["reminders"], entry["last_reminder"]) == \
           (late, "missing", 2, "due_today")
    assert entry["last_reminder_at"]
    assert next(d for d in figures["departments"] if d["department"] == late)["reminders"] == 2

    text = runner.invoke(app, ["status", "--year", str(YEAR), "--today", "2021-06-05"]).output
    assert "段階: 督促中（期限超過） — 期限から5日経過" in text
    assert "督促 2回（最終 due_today" in text


def test_on_the_deadline_itself_the_cycle_is_still_collecting(book):
    ledger, asked = book
    opened(ledger, asked)
    assert status("--today", "2021-05-31")["stage"]["key"] == "collecting"
    assert status("--today", "2021-06-01")["stage"]["key"] == "overdue"


def test_when_everyone_submitted_the_office_is_to_compile(book):
    ledger, asked = book
    opened(ledger, asked)
    submit(ledger, asked)

    figures = status("--today", "2021-06-05")
    assert (figures["stage"]["key"], figures["stage"]["label"]) == ("ready_to_compile", "取りまとめ待ち")
    assert [w["who"] for w in figures["waiting"]] == ["office"]
    assert "取りまとめ" in figures["waiting"][0]["reason"]


def test_a_round_sent_to_the_reviewers_waits_for_them_and_a_sent_back_one_for_the_office(book):
    ledger, asked = book
    opened(ledger, asked)
    submit(ledger, asked)
    notify_reviewers(ledger, 1)

    figures = status()
    assert (figures["stage"]["key"], figures["stage"]["label"], figures["stage"]["round"]) == \
           ("in_review", "確認中（第1回）", 1)
    assert list(waiting(figures, "reviewer")) == [REVIEWER]
    assert figures["stage"]["since"] and waiting(figures, "reviewer")[REVIEWER]["since"] == figures["stage"]["since"]
    text = runner.invoke(app, ["status", "--year", str(YEAR)]).output
    assert f"確認者 {REVIEWER}: 第1回確認の判断" in text

    ledger.record_review_decision(YEAR, 1, "request_changes", "係長", "理由を直してください")
    figures = status()
    assert figures["stage"]["key"] == "in_review" and figures["stage"]["changes_requested"] is True
    assert [w["who"] for w in figures["waiting"]] == ["office"] and "第2回" in figures["waiting"][0]["reason"]

    notify_reviewers(ledger, 2)
    figures = status()
    assert (figures["stage"]["label"], figures["stage"]["changes_requested"]) == ("確認中（第2回）", False)
    assert list(waiting(figures, "reviewer")) == [REVIEWER]


def test_approved_waits_for_publication_and_published_waits_for_nobody(book):
    ledger, asked = book
    opened(ledger, asked)
    submit(ledger, asked)
    notify_reviewers(ledger, 1)
    ledger.record_review_decision(YEAR, 1, "approve", "係長")

    figures = status()
    assert (figures["stage"]["key"], figures["stage"]["label"], figures["stage"]["round"]) == \
           ("approved", "承認済み・公表待ち", 1)
    assert [w["who"] for w in figures["waiting"]] == ["office"] and "公表" in figures["waiting"][0]["reason"]

    ledger.record_publication(YEAR, "site", {"report.pdf": "0" * 64}, review_round=1)
    ledger.record_publication(YEAR, "site", {"report.pdf": "1" * 64}, review_round=1)
    figures = status()
    assert (figures["stage"]["key"], figures["stage"]["label"]) == ("published", "公表済み")
    assert figures["stage"]["publication"]["version"] == 2 and figures["stage"]["publication"]["published_at"]
    assert figures["waiting"] == []
    assert "段階: 公表済み — 第2版" in runner.invoke(app, ["status", "--year", str(YEAR)]).output


def test_with_approvals_all_one_approval_keeps_the_round_in_review_waiting_for_the_others_only(plan):
    asked = departments_on_form(plan, YEAR)
    config = load_cycle_settings(DEFAULT_CONFIG).model_copy(update={"review": CycleSettingsReview(
        reviewers=[{"name": "審査 花子", "slack": "@hanako"}, {"name": "審査 一郎", "slack": "@ichiro"}],
        approvals="all")})
    one = [ReviewRecord(1, "approve", "審査 花子", "", datetime(2021, 7, 2, tzinfo=UTC))]
    facts = LedgerFacts(YEAR, None, [], {}, [], [], one, compiled_rounds=(1,), publications=[])

    progress = cycle_progress(facts, plan, config, asked, date(2021, 7, 3))
    assert (progress.stage.key, progress.stage.round) == ("in_review", 1)
    assert [w.name for w in progress.waiting] == ["審査 一郎"]

    both = [*one, ReviewRecord(1, "approve", "審査 一郎", "", datetime(2021, 7, 3, tzinfo=UTC))]
    facts = LedgerFacts(YEAR, None, [], {}, [], [], both, compiled_rounds=(1,), publications=[])
    assert cycle_progress(facts, plan, config, asked, date(2021, 7, 3)).stage.key == "approved"


def test_a_locked_or_expired_round_waits_for_the_office_not_the_reviewers(plan):
    asked = departments_on_form(plan, YEAR)
    config = load_cycle_settings(DEFAULT_CONFIG)
    ends = {1: datetime(2021, 7, 31, tzinfo=UTC)}
    locked = LedgerFacts(YEAR, None, [], {}, [], [], [], compiled_rounds=(1,), publications=[],
                         refused_answers={1: config.review.lock_after}, round_ends=ends)
    expired = LedgerFacts(YEAR, None, [], {}, [], [], [], compiled_rounds=(1,), publications=[],
                          refused_answers={1: 1}, round_ends=ends)

    at_lock = cycle_progress(locked, plan, config, asked, date(2021, 7, 3))
    after_end = cycle_progress(expired, plan, config, asked, date(2021, 8, 1))
    before_end = cycle_progress(expired, plan, config, asked, date(2021, 7, 30))

    assert "ロック" in at_lock.stage.label and [w.who for w in at_lock.waiting] == ["office"]
    assert "期限切れ" in after_end.stage.label and "compile-and-review" in after_end.waiting[0].reason
    assert before_end.stage.label == "確認中（第1回）" and [w.who for w in before_end.waiting] == ["reviewer"]


def test_a_compiled_round_not_yet_notified_is_in_review_too(plan):
    """A draft compiled (its ratings snapshotted) before the notice went out: the reviewers are next."""
    asked = departments_on_form(plan, YEAR)
    facts = LedgerFacts(YEAR, None, [], {}, [], [], [], compiled_rounds=(1,), publications=[])
    progress = cycle_progress(facts, plan, load_cycle_settings(DEFAULT_CONFIG), asked, date(2021, 7, 1))
    assert (progress.stage.key, progress.stage.round, progress.stage.since) == ("in_review", 1, None)
    assert [w.name for w in progress.waiting] == [REVIEWER]


def test_without_prefect_the_status_says_so_at_once_and_shows_everything_else(book, unreachable_prefect):
    ledger, asked = book
    opened(ledger, asked)

    started = time.monotonic()
    result = runner.invoke(app, ["status", "--year", str(YEAR), "--today", "2021-05-01"])
    assert time.monotonic() - started < 10
    assert result.exit_code == 0, result.output
    assert "Prefect に接続できないため、実行履歴は表示できません" in result.output
    assert "段階: 提出受付中" in result.output and "提出済み 0 / 34所属、未提出 34所属" in result.output

    figures = status("--today", "2021-05-01")
    assert set(figures) >= {"fiscal_year", "deadline", "departments", "stage", "waiting", "runs"}
    assert figures["runs"] is None


def test_the_csv_keeps_its_columns_and_adds_the_reminders(book):
    ledger, asked = book
    opened(ledger, asked)
    remind(ledger, asked[0], "before_7")
    result = runner.invoke(app, ["status", "--year", str(YEAR), "--csv"])
    header, first = result.stdout.splitlines()[:2]
    assert header == ("department,name,status,versions,latest_version,latest_received_at,rejected,"
                      "last_received_at,reminders")
    assert first.startswith(f"{asked[0]},") and first.endswith(",1")


def test_the_last_runs_of_the_deployments_come_from_the_prefect_api(prefect_server, db_url):
    """Against a real Prefect server: a deployment whose last run failed after a success shows both."""
    from prefect import get_client
    from prefect.states import Completed, Failed, Running

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("publish")
        deployment_id = client.create_deployment(flow_id, "publish")
        for final in (Completed, Failed):
            run = client.create_flow_run_from_deployment(deployment_id)
            client.set_flow_run_state(run.id, Running(), force=True)
            client.set_flow_run_state(run.id, final(message="公表先に書き込めません"), force=True)
            if final is Completed:
                succeeded = run.id

    figures = status()
    runs = {r["deployment"]: r for r in figures["runs"]}
    assert runs["publish/publish"]["last"]["state_type"] == "FAILED"
    assert runs["publish/publish"]["last_success"]["id"] == str(succeeded)
    assert runs["publish/publish"]["last_success"]["url"].endswith(f"/runs/flow-run/{succeeded}")
    assert runs["open-cycle/yearly-open"]["last"] is None
    text = runner.invoke(app, ["status", "--year", str(YEAR)]).output
    assert "実行履歴（Prefect、日本時間）" in text and "最終 Failed" in text and "成功 Completed" in text
    assert "公表先に書き込めません" in text
