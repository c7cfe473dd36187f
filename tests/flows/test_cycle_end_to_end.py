"""The FY2020 cycle end to end on a real Prefect server, with slack-sdk talking to the Slack stand-in.

Departments are played by tenken_demo.scenario: two are late, one sends a bad file and then a corrected one.
The reviewer first requests changes, then approves, through the same API the UI's Resume uses.
"""

import subprocess
import threading
from collections import Counter

import pytest

from tenken.ledger import Ledger
from tenken_demo.review_client import answer_review, code_in, wait_for_paused_review
from tests.flows.conftest import KANAGAWA, config_copy, point_at, standin_for

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def cycle(prefect_server, tmp_path_factory):
    """Run the demo cycle once for every assertion in this module."""
    tmp_path = tmp_path_factory.mktemp("cycle")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("TENKEN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TENKEN_REVIEW_POLL_SECONDS", "1")
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "")
    monkeypatch.delenv("TENKEN_DATABASE_URL", raising=False)
    config = config_copy(KANAGAWA, tmp_path)
    decisions = []
    with standin_for(config) as slack:
        point_at(monkeypatch, slack)

        def code(round):
            return code_in([m.text for m in slack.messages_to("@review-lead")], 2020, round)

        def reviewers():
            first = wait_for_paused_review(timeout=300, pause_key="review-2020-round-1")
            answer_review(first.id, "request_changes", code(1), "別紙の理由欄を確認してください。<!channel>")
            decisions.append(first.state.state_details.pause_key)
            second = wait_for_paused_review(timeout=300, pause_key="review-2020-round-2")
            answer_review(second.id, "approve", code(1), "前の回のコードで承認します。")  # refused: a stale code
            decisions.append(second.state.state_details.pause_key)
            again = wait_for_paused_review(timeout=300, pause_key="review-2020-round-2-2")
            answer_review(again.id, "approve", code(2), "承認します。")
            decisions.append(again.state.state_details.pause_key)

        from tenken_demo.in_process import run_demo

        thread = threading.Thread(target=reviewers, daemon=True)
        thread.start()
        result = run_demo(approve=False, config_dir=str(config), workspace_url=slack.root_url)
        thread.join(timeout=30)
        yield {"slack": slack, "result": result, "tmp": tmp_path, "decisions": decisions}
    monkeypatch.undo()


def texts(slack, target):
    return [m.text for m in slack.messages_to(target)]


def test_every_department_gets_its_request_with_the_workbook_attached(cycle):
    slack = cycle["slack"]
    uploads = [f for f in slack.files.values() if f.title and f.title.endswith("点検調書")]
    assert len(uploads) == 34 and len({f.filename for f in uploads}) == 34
    assert all(f.content.startswith(b"PK") for f in uploads)
    marked = [f for f in slack.files.values() if f.title == "確認結果"]
    assert len(marked) == 1, "the refused workbook goes back with its problems marked"
    assert len(slack.requests("files.completeUploadExternal")) == 35


def test_each_department_replied_in_its_request_thread_and_got_its_answer_there(cycle):
    slack, ledger_url = cycle["slack"], f"sqlite:///{cycle['tmp'] / 'var' / 'tenken.db'}"
    with Ledger.open(ledger_url) as ledger:
        requests = {r.department: r.message_ref for r in ledger.requests(2020)}
        submissions = ledger.submissions(2020)
    assert len(submissions) == 35 and all(s.channel == "slack" for s in submissions)
    for record in submissions:
        channel, ts = requests[record.department].split("/")
        assert record.origin.channel == channel, "it came through the department's own conversation"
        assert record.origin.user == slack.user_id(f"{record.department}-clerk")
        assert record.origin.permalink and record.origin.message_ts
        replies = [m for m in slack.messages if m.channel == channel and m.thread_ts == ts]
        clerk_posts = [m for m in replies if m.user == record.origin.user and m.files]
        assert clerk_posts, f"{record.department}: the file was a reply in the request thread"
        if record.accepted:
            assert any(m.key and "/accepted/" in m.key for m in replies), f"{record.department}: receipt in the thread"
        else:  # the letter with the marked workbook (an upload: Slack keeps no metadata on those)
            assert any(m.bot_id and m.files and "受け付けできませんでした" in m.text for m in replies)
    museum = [m for m in slack.messages_to("#tenken-history-museum") if m.key and "/accepted/" in m.key]
    assert len(museum) == 1 and museum[0].thread_ts, "the receipt is in the thread, not a new message"


def test_reminders_go_to_exactly_the_late_departments_at_the_right_stages(cycle):
    reminders = [m for m in cycle["slack"].messages if m.metadata and m.metadata["event_payload"]["kind"] == "reminder"]
    assert all(m.key.startswith("kanagawa/2020/reminder/") for m in reminders), "keys name the plan and year"
    keys = Counter(m.key.split("/", 3)[3] for m in reminders)
    assert set(keys) == {
        "tourism/before_7", "tourism/before_1", "tourism/due_today", "tourism/overdue_1",
        "history-museum/before_7", "history-museum/before_1", "history-museum/due_today",
        "history-museum/overdue_1", "history-museum/overdue_2", "history-museum/overdue_2/escalation"}
    assert set(keys.values()) == {1}, "no reminder twice"


def test_the_second_overdue_reminder_is_escalated_to_the_head(cycle):
    escalation = texts(cycle["slack"], "@history-museum-head")
    assert len(escalation) == 1 and "歴史博物館長" in escalation[0] and "2回目" in escalation[0]


def test_the_bad_file_is_answered_cell_by_cell_and_the_corrected_one_accepted(cycle):
    answers = texts(cycle["slack"], "#tenken-elderly-welfare")
    rejection = next(t for t in answers if "単位" in t)
    assert "8件" in rejection
    assert any("受け付けました" in t or "受領" in t for t in answers)


def test_reviewers_are_notified_and_a_request_for_changes_opens_another_round(cycle):
    review = texts(cycle["slack"], "#tenken-review")
    assert sum("第1回" in t or "（1回目）" in t or "round 1" in t.lower() for t in review) >= 1
    assert any("&lt;!channel&gt;" in t for t in review), "reviewer text reaches Slack escaped"
    assert cycle["decisions"] == ["review-2020-round-1", "review-2020-round-2", "review-2020-round-2-2"]
    lead = "デジタル戦略本部室 情報政策グループリーダー"  # the reviewer whose codes were used, not a typed name
    with Ledger.open(f"sqlite:///{cycle['tmp'] / 'var' / 'tenken.db'}") as ledger:
        decisions = [(d.round, d.decision, d.reviewer) for d in ledger.review_decisions(2020)]
        attempts = [(a.round, a.outcome) for a in ledger.review_attempts(2020)]
        [publication] = ledger.publications(2020)
    assert decisions == [(1, "request_changes", lead), (2, "approve", lead)]
    assert attempts == [(1, "accepted"), (2, "stale"), (2, "accepted")]
    assert publication.review_round == 2
    dms = [m.text for m in cycle["slack"].messages_to("@review-lead")]
    assert len(dms) == 2 and all("確認コード：" in t for t in dms), "one code per round, in the reviewer's DM"
    assert not any("確認コード：" in t for t in review), "no code in the shared channel"


def test_reviewers_get_every_discrepancy_as_a_csv_beside_the_draft(cycle):
    csv = (cycle["tmp"] / "var" / "cycles" / "kanagawa" / "2020" / "review" / "round-1" / "discrepancies-2020.csv")
    text = csv.read_text(encoding="utf-8-sig")
    assert "モバイルPCの導入" in text and "学習用コンピュータの整備" in text and "adjusted" in text


def test_the_publication_is_announced_and_the_files_verify(cycle):
    announce = texts(cycle["slack"], "#tenken-announce")
    assert len(announce) == 1 and "8000/kanagawa/2020/report-2020.pdf|" in announce[0]
    assert "<http://127.0.0.1:8000/kanagawa/|" in announce[0], "the plan's index of years"
    year_dir = cycle["tmp"] / "site" / "kanagawa" / "2020"
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=year_dir, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "report-2020.pdf: OK" in check.stdout
    text = subprocess.run(["pdftotext", str(year_dir / "report-2020.pdf"), "-"], capture_output=True, text=True).stdout
    assert "69.8%" in text and "案" not in text.split("目")[0]
    assert (cycle["tmp"] / "site" / "index.html").exists() and (cycle["tmp"] / "site" / "kanagawa" / "index.html").exists()
