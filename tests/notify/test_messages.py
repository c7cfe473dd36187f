"""Message templates: Japanese, escalating, and safe against text that came from departments."""

from datetime import UTC, date, datetime, timedelta, timezone

import jinja2.meta
import pytest

from tenken.config import DEFAULT_CONFIG, load_plan
from tenken.core.errors import Problem
from tenken.notify import KINDS, MessageError, render
from tenken.settings import ENV_SLACK_BASE_URL, ENV_SLACK_SECRET_BLOCK, ENV_SLACK_TOKEN, ENV_VAR_DIR
from tenken.notify.messages import TEMPLATE_DIR, environment
from tests.conftest import ROOT

PLAN = "かながわICT・データ利活用推進計画"
DEADLINE = date(2021, 5, 31)
HOSTILE = "<!channel> & <http://evil.example|ここをクリック> & <@U12345>"

VALID = {
    "request": dict(department="観光課", measure_count=3, deadline=DEADLINE, filename="令和2年度_観光課.xlsx"),
    "reminder": dict(department="観光課", deadline=DEADLINE, stage="overdue_2", today=date(2021, 6, 6),
                     escalation="観光課長"),
    "rejection": dict(department="観光課", filename="観光課.xlsx", problems=["実績が空欄です"], deadline=DEADLINE,
                      marked_copy="観光課_指摘.xlsx"),
    "accepted": dict(department="観光課", filename="観光課.xlsx", measure_count=3, version=2,
                     received_at=datetime(2021, 5, 20, 14, 5, tzinfo=timezone(timedelta(hours=9)))),
    "sender_refused": dict(department="観光課", filename="観光課.xlsx", sender="U0TOURISM", reasons=["提出用コードが一致しません"],
                           received_at=datetime(2021, 5, 20, 14, 5, tzinfo=timezone(timedelta(hours=9))),
                           link="https://slack.example/archives/C1/p1"),
    "run_failed": dict(flow="open-cycle", run="brave-fox", error="PreflightFailed: 目標がありません",
                       details=["・【要対応】施策 73件"], run_url="http://127.0.0.1:4200/runs/flow-run/1", crashed=False),
    "run_resolved": dict(flow="open-cycle", run="calm-owl", run_url="http://127.0.0.1:4200/runs/flow-run/2",
                         failures=2),
    "preflight": dict(ok=False, findings=["【要対応】令和3年度の目標がありません"]),
    "review_request": dict(round=1, draft_url="https://reports.example.jp/2020/draft.pdf",
                           run_url="http://127.0.0.1:4200/runs/flow-run/1234", missing_departments=["観光課"],
                           discrepancy_count=4, expires_at=datetime(2021, 7, 31, 9, 0, tzinfo=UTC),
                           approvals_needed=1),
    "review_code": dict(round=1, reviewer="山田", code="ABCD-2345", expires_at=datetime(2021, 7, 31, 9, 0, tzinfo=UTC),
                        draft_url="https://review.example.jp/r/1/ab/kanagawa/fy2020/round-1/report-2020-draft.pdf",
                        run_url="http://127.0.0.1:4200/runs/flow-run/1234"),
    "review_reminder": dict(round=1, reviewer="山田", expires_at=datetime(2021, 7, 31, 9, 0, tzinfo=UTC),
                            draft_url="https://review.example.jp/r/1/ab/kanagawa/fy2020/round-1/report-2020-draft.pdf",
                            run_url="http://127.0.0.1:4200/runs/flow-run/1234"),
    "review_stopped": dict(round=1, why="expired", expires_at=datetime(2021, 7, 31, 9, 0, tzinfo=UTC),
                           approvals_needed=2, approved_by=["山田"], waiting_for=["佐藤"], failures=0,
                           run_url="http://127.0.0.1:4200/runs/flow-run/1234"),
    "changes_requested": dict(round=1, reviewer="山田", comments="表2を確認してください",
                              run_url="http://127.0.0.1:4200/runs/flow-run/1234"),
    "published": dict(pdf_url="https://www.example.jp/2020/report.pdf", html_url="https://www.example.jp/2020/",
                      data_url="https://www.example.jp/2020/data/", index_url="https://www.example.jp/"),
}


def message(kind, **changes):
    return render(kind, **{"plan": PLAN, "fiscal_year": 2020, **VALID[kind], **changes})


def test_every_kind_has_a_template_and_every_template_a_kind():
    assert {p.name.removesuffix(".txt.j2") for p in TEMPLATE_DIR.glob("*.txt.j2")} == set(KINDS) == set(VALID)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_template_uses_only_declared_variables_and_every_input_matters(kind):
    env = environment()
    source = env.loader.get_source(env, f"{kind}.txt.j2")[0]
    spec = KINDS[kind]
    inputs = {*spec.required, *spec.optional}

    used = jinja2.meta.find_undeclared_variables(env.parse(source))

    assert used <= inputs | set(spec.derived)
    assert used >= inputs or spec.prepare is not None, "an input no template reads and no step derives from"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_in_japanese_with_the_plan_and_the_reiwa_year(kind):
    text = message(kind)

    assert "令和2年度" in text and PLAN in text and "2020年" not in text


def test_a_request_names_the_department_the_count_the_deadline_in_reiwa_and_the_attachment():
    text = message("request")

    assert text.startswith("観光課 ご担当者様")
    for expected in ("施策 3 件", "令和3年5月31日（月）", "令和2年度_観光課.xlsx（このメッセージのスレッドに添付しています）"):
        assert expected in text


def test_a_request_says_where_to_submit_when_told():
    assert "記入後のファイルは、受付フォルダへご提出ください" in message("request", submit_to="受付フォルダ")
    assert "このスレッド" not in message("request", submit_to="受付フォルダ").split("記入様式")[1]


@pytest.mark.parametrize(("stage", "today", "expected", "absent"), [
    ("before_7", None, "あと7日です", "至急"),
    ("before_1", None, "明日（令和3年5月31日（月））", "至急"),
    ("due_today", None, "本日中にご提出ください", "至急"),
    ("overdue_1", date(2021, 6, 1), "至急ご提出ください", "回目"),
    ("overdue_2", date(2021, 6, 4), "今回で2回目です", "あと"),
    ("overdue_5", date(2021, 6, 13), "今回で5回目です", "あと"),
])
def test_reminders_escalate_from_polite_to_firm(stage, today, expected, absent):
    text = message("reminder", stage=stage, today=today, escalation=None)

    assert expected in text and absent not in text


def test_an_overdue_reminder_counts_the_days_since_the_deadline_when_it_knows_today():
    assert "期限から4日経過" in message("reminder", stage="overdue_2", today=date(2021, 6, 4))
    assert "経過" not in message("reminder", stage="overdue_2", today=None)


def test_the_escalation_contact_is_addressed_when_given():
    escalated = message("reminder", stage="overdue_2", escalation="観光課長")
    plain = message("reminder", stage="overdue_2", escalation=None)

    assert escalated.startswith("観光課 ご担当者様、観光課長 様") and "観光課長 様には" in escalated
    assert "観光課長" not in plain


@pytest.mark.parametrize("stage", ["overdue", "before_x", "late_1", "due_tomorrow", ""])
def test_an_unknown_reminder_stage_is_refused(stage):
    with pytest.raises(MessageError, match="督促の段階"):
        message("reminder", stage=stage)


def test_a_rejection_lists_every_problem_with_its_cell_and_measure():
    problems = [
        Problem("実績 '１万人' の単位が目標 '人' と異なります", measure="I-1-ア-2", field="actual"),
        {"cell": "実績!E7", "measure": "II-1-イ-1", "message": "自己評価を選んでください"},
        "ファイルの様式が違います",
    ]

    text = message("rejection", problems=problems)

    assert "・（施策 I-1-ア-2）：実績 '１万人' の単位が目標 '人' と異なります" in text
    assert "・実績!E7（施策 II-1-イ-1）：自己評価を選んでください" in text
    assert "・ファイルの様式が違います" in text
    assert "観光課_指摘.xlsx" in text and "令和3年5月31日（月）" in text


CITY = ROOT / "tests" / "fixtures" / "city_plan"
# What names or counts measures in each kind, rendered with a problem located in a measure for rejections.
MEASURE_WORDS = {
    "request": ({}, "が所管する{} 3 件の実績"),
    "accepted": ({}, "{} 3 件の記入を確認しました"),
    "rejection": ({"problems": [Problem("実績を入力してください", measure="1-B-1-1")]}, "・（{} 1-B-1-1）：実績を入力してください"),
}


@pytest.mark.parametrize("kind", sorted(MEASURE_WORDS))
def test_messages_about_measures_use_the_plans_word_for_them(kind):
    label = load_plan(CITY).measure_label
    changes, expected = MEASURE_WORDS[kind]

    text = message(kind, plan="みなと市デジタル推進計画", measure_label=label, **changes)

    assert label == "事業" and expected.format("事業") in text
    assert "施策" not in text


@pytest.mark.parametrize("kind", sorted(MEASURE_WORDS))
def test_messages_about_measures_say_施策_when_no_word_is_given(kind):
    changes, expected = MEASURE_WORDS[kind]

    text = message(kind, **changes)

    assert expected.format("施策") in text and "事業" not in text


def test_kanagawas_own_word_renders_the_same_message_as_the_default():
    label = load_plan(DEFAULT_CONFIG).measure_label

    assert label == "施策"
    for kind, (changes, _) in MEASURE_WORDS.items():
        assert message(kind, measure_label=label, **changes) == message(kind, **changes)


def test_a_rejection_without_problems_is_refused():
    with pytest.raises(MessageError, match="problems"):
        message("rejection", problems=[])


def test_an_acceptance_shows_the_time_in_tokyo_and_the_version():
    text = message("accepted", received_at=datetime(2021, 5, 20, 5, 5, tzinfo=timezone.utc))

    assert "令和3年5月20日（木）14:05に受け付けました" in text and "第2版" in text and "置き換えます" in text


def test_a_review_request_links_the_draft_and_the_prefect_run():
    text = message("review_request")

    assert "<https://reports.example.jp/2020/draft.pdf|報告書案を開く>" in text
    assert "<http://127.0.0.1:4200/runs/flow-run/1234|Prefect の実行画面を開く>" in text
    assert "未提出の所属：観光課" in text and "4 件" in text


def test_a_local_path_is_shown_as_text_not_as_a_link():
    text = message("published", html_url="/srv/site/2020/index.html", data_url=None, index_url=None)

    assert "・報告書（HTML）：/srv/site/2020/index.html" in text
    assert "オープンデータ" not in text and "一覧" not in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_injected_mentions_links_and_ampersands_are_escaped_in_every_value(kind):
    hostile = {name: HOSTILE for name, value in VALID[kind].items()
               if isinstance(value, str) and not name.endswith("url") and name != "stage"}
    hostile["plan"] = HOSTILE
    if kind == "rejection":
        hostile["problems"] = [Problem(HOSTILE, measure=HOSTILE), {"cell": HOSTILE, "message": HOSTILE}]
    if kind == "review_request":
        hostile["missing_departments"] = [HOSTILE]
    if kind == "review_stopped":
        hostile.pop("why")
        hostile["approved_by"] = hostile["waiting_for"] = [HOSTILE]
    if kind == "sender_refused":
        hostile["reasons"] = [HOSTILE]
    if kind == "run_failed":
        hostile["details"] = [HOSTILE]
    if kind == "preflight":
        hostile["findings"] = [HOSTILE]
    text = message(kind, **hostile)

    assert "<!channel>" not in text and "<http://evil" not in text and "<@U12345>" not in text
    assert "&lt;!channel&gt; &amp; &lt;http://evil.example|ここをクリック&gt; &amp; &lt;@U12345&gt;" in text


def test_a_url_cannot_break_out_of_its_link():
    text = message("review_request", draft_url="https://x.example/a?b=1&c=<!here>|偽のラベル>")

    assert "<https://x.example/a?b=1&amp;c=&lt;!here&gt;%7C偽のラベル&gt;|報告書案を開く>" in text


def test_reviewer_comments_are_quoted_line_by_line_and_escaped():
    text = message("changes_requested", comments="表2を確認\n<!here> 図1も")

    assert "> 表2を確認\n> &lt;!here&gt; 図1も" in text


def test_a_missing_variable_is_an_error_naming_it():
    with pytest.raises(MessageError, match="deadline"):
        render("request", plan=PLAN, fiscal_year=2020, department="観光課", measure_count=3, filename="f.xlsx")


def test_an_unknown_variable_is_an_error_naming_it():
    with pytest.raises(MessageError, match="dedline"):
        message("request", dedline=DEADLINE)


def test_an_unknown_kind_is_an_error():
    with pytest.raises(MessageError, match="reminder_overdue"):
        render("reminder_overdue")


DOC = (ROOT / "docs" / "notifications.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_documentation_lists_every_kind_with_its_variables(kind):
    spec = KINDS[kind]
    row = next((line for line in DOC.splitlines() if line.startswith(f"| `{kind}` |")), "")

    assert row, f"docs/notifications.md has no row for {kind}"
    for name in {*spec.required, *spec.optional} - {"plan", "fiscal_year"}:
        assert f"`{name}`" in row, name
    for name in spec.derived:
        assert f"`{name}`" in DOC, name


@pytest.mark.parametrize("variable", [ENV_SLACK_TOKEN, ENV_SLACK_SECRET_BLOCK, ENV_SLACK_BASE_URL, ENV_VAR_DIR])
def test_the_documentation_explains_every_environment_variable(variable):
    assert f"| `{variable}` |" in DOC


def test_requests_and_reminders_say_how_to_submit_and_where():
    request = message("request")
    reminder = message("reminder", request_url="https://slack.example/archives/C1/p1700000000000100")

    assert "このスレッドに記入済みのファイルを返信してください" in request
    assert "<https://slack.example/archives/C1/p1700000000000100|依頼のスレッドを開く>" in reminder
    assert "スレッドに返信してください" in reminder
    assert "点検事務局へご提出ください" not in request + reminder
    assert "tenken@example.jpへご提出ください" in message("request", submit_to="tenken@example.jp")


def test_the_office_hears_who_was_refused_with_a_mention_only_for_a_slack_user_id():
    assert "<@U0TOURISM> が提出したファイル" in message("sender_refused")
    assert "<@" not in message("sender_refused", sender="someone@example.jp")


def test_a_crashed_run_and_a_failed_one_say_which_and_link_the_run():
    crashed = message("run_failed", crashed=True)
    failed = message("run_failed")
    assert "異常終了しました" in crashed and "失敗しました" in failed
    assert "<http://127.0.0.1:4200/runs/flow-run/1|Prefect で開く>" in failed
    assert "エラー：PreflightFailed: 目標がありません" in failed and "・【要対応】施策 73件" in failed
    assert "（2回）" in message("run_resolved") and "（" not in message("run_resolved", failures=1).split("は、")[1][:8]


def test_a_review_code_goes_with_its_round_its_expiry_and_a_warning_to_keep_it_to_oneself():
    text = message("review_code")

    assert "確認コード：ABCD-2345" in text and "第1回レビュー" in text and "令和3年7月31日" in text
    assert "1回だけ" in text and "他の人に伝えないでください" in text
    assert "<https://review.example.jp/r/1/ab/kanagawa/fy2020/round-1/report-2020-draft.pdf|報告書案を開く>" in text


def test_a_stopped_round_says_why_and_that_nothing_was_published():
    ran_out = message("review_stopped")
    locked = message("review_stopped", why="locked", failures=5)

    assert "期限" in ran_out and "承認済み：山田" in ran_out and "未回答：佐藤" in ran_out and "公表されていません" in ran_out
    assert "5 回" in locked and "ロック" in locked and "期限" not in locked.split("\n")[2]
