"""The review flow on a real Prefect server (the test harness): answers arrive through the same API the
UI's Resume uses, each with a reviewer's one-time code read from their DM in the Slack stand-in.

- approvals: all with two reviewers: the first approval leaves the run paused (the next form says who
  approved) and nothing is published; the second publishes;
- a client with access to the API but no valid code cannot approve: a wrong code brings the form back
  with the reason and records nothing; five lock the round, tell the office, and end the run unpublished;
- a round that runs out tells the office instead of failing silently.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from tenken.ledger import Ledger
from tenken_demo.review_client import answer_review, code_in, wait_for_paused_review
from tests.flows.conftest import KANAGAWA, config_copy, point_at, standin_for

pytestmark = pytest.mark.prefect
REVIEWERS = [{"name": "審査 花子", "slack": "@hanako"}, {"name": "審査 一郎", "slack": "@ichiro"}]


@pytest.fixture
def review(prefect_server, environment, monkeypatch, tmp_path):
    """Run compile-and-review for FY2020 (the example's results) in a thread with the given review settings."""
    started = []

    def start(**review):
        config = config_copy(KANAGAWA, tmp_path, review={
            "channel": "#tenken-review", "reviewers": REVIEWERS, "site_url": "http://127.0.0.1:4310/", **review})
        slack = standin_for(config).start()
        point_at(monkeypatch, slack)
        outcome: dict = {}

        def run() -> None:
            from flows.compile_and_review import compile_and_review

            try:
                outcome["result"] = compile_and_review(2020, str(config))
            except BaseException as exc:  # noqa: BLE001 — the test looks at it
                outcome["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        started.append(slack)
        return slack, thread, outcome

    yield start
    for slack in started:
        slack.stop()


def code(slack, handle: str, round: int = 1) -> str:
    deadline = time.monotonic() + 60
    while True:
        try:
            return code_in([m.text for m in slack.messages_to(handle)], 2020, round)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ledger(tmp_path) -> Ledger:
    return Ledger.open(f"sqlite:///{tmp_path / 'var' / 'tenken.db'}")


def form_of(flow_run) -> str:
    """The description the paused run shows above its form (what the UI shows)."""
    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state

    return read_flow_run_input(keyset_from_paused_state(flow_run.state)["description"], flow_run.id)


def test_with_approvals_all_the_first_approval_keeps_the_run_paused_and_the_second_publishes(review, tmp_path):
    slack, thread, outcome = review(approvals="all")

    first = wait_for_paused_review(timeout=120, pause_key="review-2020-round-1")
    answer_review(first.id, "approve", code(slack, "@hanako"), "確認しました。")

    again = wait_for_paused_review(timeout=60, pause_key="review-2020-round-1-2")
    assert "承認: 1/2 名（承認済み: 審査 花子／未回答: 審査 一郎）" in form_of(again)
    assert not (tmp_path / "site" / "kanagawa" / "2020").exists(), "one approval of two publishes nothing"
    answer_review(again.id, "approve", code(slack, "@ichiro"), "")
    thread.join(timeout=120)

    assert outcome["result"]["status"] == "approved" and outcome["result"]["published"]
    assert (tmp_path / "site" / "kanagawa" / "2020" / "report-2020.pdf").is_file()
    from prefect.input.actions import read_flow_run_input

    for key in ("review-2020-round-1", "review-2020-round-1-2"):  # the typed codes are not kept by Prefect
        assert read_flow_run_input(f"paused-{key}-response", flow_run_id=first.id) is None
    with ledger(tmp_path) as book:
        assert [(d.round, d.decision, d.reviewer) for d in book.review_decisions(2020)] == [
            (1, "approve", "審査 花子"), (1, "approve", "審査 一郎")]
        assert [p.review_round for p in book.publications(2020)] == [1]


def test_wrong_codes_record_nothing_come_back_with_the_reason_and_five_lock_the_round(review, tmp_path):
    slack, thread, outcome = review()

    paused = wait_for_paused_review(timeout=120, pause_key="review-2020-round-1")
    answer_review(paused.id, "approve", "2345-6789", "")  # a client with API access but no code of its own
    again = wait_for_paused_review(timeout=60, pause_key="review-2020-round-1-2")
    assert "確認コードが正しくありません" in form_of(again) and "あと 4 回" in form_of(again)
    with ledger(tmp_path) as book:
        assert book.review_decisions(2020) == []
    for attempt in range(2, 6):
        answer_review(wait_for_paused_review(timeout=60, pause_key=f"review-2020-round-1-{attempt}").id,
                      "approve", f"AAAA-AAA{attempt}", "")
    thread.join(timeout=120)

    assert outcome["result"]["status"] == "locked" and outcome["result"]["published"] is None
    assert not (tmp_path / "site" / "kanagawa" / "2020").exists()
    office = [m.text for m in slack.messages_to("#tenken-office")]
    assert len(office) == 1 and "ロック" in office[0]
    with ledger(tmp_path) as book:
        assert book.review_decisions(2020) == []
        assert [a.outcome for a in book.review_attempts(2020)] == ["wrong"] * 5
    # A code sent to a reviewer is useless now: the round is closed; the next run opens round 2.
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}", code(slack, "@hanako"))


def test_a_round_that_runs_out_tells_the_office_who_has_not_answered(review, tmp_path):
    slack, thread, outcome = review(timeout_days=0.00005)  # about 4 seconds

    wait_for_paused_review(timeout=120, pause_key="review-2020-round-1")
    thread.join(timeout=120)

    assert "error" in outcome, "the paused run ends (Prefect fails a pause that times out)"
    office = [m.text for m in slack.messages_to("#tenken-office")]
    assert len(office) == 1, office
    assert "期限" in office[0] and "審査 花子" in office[0] and "公表されていません" in office[0]
    assert not (tmp_path / "site" / "kanagawa" / "2020").exists()


def test_the_daily_reminders_reach_only_who_has_not_answered_with_the_paused_runs_address(review, tmp_path):
    from datetime import UTC, datetime, timedelta

    from prefect.settings import PREFECT_UI_URL, temporary_settings

    from flows.review_reminders import review_reminders

    slack, thread, outcome = review(approvals="all", remind_after_days=[1])
    paused = wait_for_paused_review(timeout=120, pause_key="review-2020-round-1")
    answer_review(paused.id, "approve", code(slack, "@hanako"), "")
    wait_for_paused_review(timeout=60, pause_key="review-2020-round-1-2")

    with temporary_settings({PREFECT_UI_URL: "http://tenken-ui.example:4200"}):
        sent = review_reminders(2020, str(tmp_path / "config"), now=datetime.now(UTC) + timedelta(days=2))
        again = review_reminders(2020, str(tmp_path / "config"), now=datetime.now(UTC) + timedelta(days=3))

    assert sent == ["review_reminder/round-1/1/1"] and again == []
    [reminder] = [m.text for m in slack.messages_to("@ichiro") if "まだ判断をいただいていません" in m.text]
    assert f"http://tenken-ui.example:4200/runs/flow-run/{paused.id}" in reminder
    assert not [m for m in slack.messages_to("@hanako") if "まだ判断" in m.text], "she has answered"
    answer_review(wait_for_paused_review(timeout=60, pause_key="review-2020-round-1-2").id, "approve",
                  code(slack, "@ichiro"), "")
    thread.join(timeout=120)
    assert outcome["result"]["status"] == "approved"


def test_a_mail_only_reviewer_gets_the_code_by_mail_and_approves_through_the_form(review, tmp_path, monkeypatch):
    from tenken_demo.mail_standin import MailStandIn

    with MailStandIn() as smtp:
        for name, value in {"TENKEN_SMTP_HOST": smtp.host, "TENKEN_SMTP_PORT": str(smtp.port),
                            "TENKEN_SMTP_SECURITY": "none", "TENKEN_MAIL_ADDRESS": "tenken@pref.example.jp"}.items():
            monkeypatch.setenv(name, value)
        slack, thread, outcome = review(reviewers=[{"name": "審査 花子", "email": "hanako@pref.example.jp"}])

        paused = wait_for_paused_review(timeout=120, pause_key="review-2020-round-1")
        [mail] = smtp.messages_to("hanako@pref.example.jp")
        assert "確認コード" in mail.subject and not slack.messages_to("@hanako"), "by mail, not Slack"
        answer_review(paused.id, "approve", code_in([mail.text], 2020, 1), "メールで受け取ったコードで承認します。")
        thread.join(timeout=120)

    assert outcome["result"]["status"] == "approved" and outcome["result"]["published"]
    with ledger(tmp_path) as book:
        assert [(d.decision, d.reviewer) for d in book.review_decisions(2020)] == [("approve", "審査 花子")]
