"""Departments submit where they were asked: the collect stage reads their Slack threads through real
slack-sdk and the stand-in, and a file counts only for the department whose conversation it came
through, with that department's submission token. Nothing here is inferred from the file.

The city plan (5 departments, each with its own channel and a clerk in the stand-in workspace).
"""

from datetime import date

import pytest

from tenken.config import load_results
from tenken.identity import Signer
from tenken.intake import Intake
from tenken.ledger import Ledger
from tenken.notify import SlackNotifier
from tenken.services import Cycle, collecting, opening, reminding
from tenken.services.auditing import audit_rows
from tenken.workbook.writer import request_workbook
from tests.conftest import run_cli
from tests.flows.conftest import standin_for
from tests.services.test_sending import YEAR, city, city_config, settings_for  # noqa: F401 — city: the fixture

DEADLINE = date(2025, 5, 31)


def filled(cycle, department: str, token: str | None = "own", **changes) -> bytes:
    """The department's workbook filled in from the example, with its own token (or the one given)."""
    results = opening.department_results(cycle.plan, load_results(cycle.settings.config_dir, YEAR), department)
    for measure, actual in changes.items():
        results[measure] = results[measure].model_copy(update={"actual": (actual,)})
    if token == "own":
        token = cycle.signer.token(YEAR, department)
    return request_workbook(cycle.plan, YEAR, department, cycle.deadline, results, token)


def thread_of(cycle, department: str) -> tuple[str, str]:
    [record] = [r for r in cycle.ledger.requests(YEAR) if r.department == department]
    channel, ts = record.message_ref.split("/")
    return channel, ts


def reply(cycle, slack, department: str, content: bytes, *, poster: str | None = None, name: str = "提出.xlsx",
          in_thread: bool = True):
    """`department`'s clerk (or `poster`'s) posts a file in `department`'s request thread (or top level)."""
    channel, ts = thread_of(cycle, department)
    return slack.post_file(f"{poster or department}-clerk", channel, name, content,
                           thread_ts=ts if in_thread else None)


def in_thread(slack, message) -> list:
    thread = message.thread_ts or message.ts
    return [m for m in slack.messages if m.channel == message.channel and m.thread_ts == thread and m.bot_id]


def test_a_reply_in_the_thread_is_accepted_answered_there_and_stops_the_reminders(city):
    cycle, slack = city
    posted = reply(cycle, slack, "crisis", filled(cycle, "crisis"))

    report = collecting.collect(cycle)

    assert [(e["department"], e["version"], e["via"]) for e in report.accepted] == [("crisis", 1, "slack")]
    [record] = cycle.ledger.submissions(YEAR)
    assert (record.channel, record.origin.user, record.origin.channel, record.origin.message_ts) == (
        "slack", slack.user_id("crisis-clerk"), posted.channel, posted.ts)
    assert record.origin.permalink.startswith(slack.root_url + "/archives/")
    [receipt] = [m for m in in_thread(slack, posted) if m.key and "/accepted/" in m.key]
    assert "第1版" in receipt.text and "このスレッドに返信" in receipt.text
    reminded = {s["department"] for s in reminding.send_reminders(cycle, DEADLINE)}
    assert reminded == {"fire", "safety", "digital", "citizens"}
    [reminder] = [m for m in slack.messages_to("#fire") if m.key and "/reminder/" in m.key]
    channel, ts = thread_of(cycle, "fire")
    assert f"{slack.root_url}/archives/{channel}/p{ts.replace('.', '')}" in reminder.text, "links the request thread"


def test_a_file_posted_at_the_top_of_the_channel_is_taken_in_and_answered_in_its_own_thread(city):
    cycle, slack = city
    posted = reply(cycle, slack, "safety", filled(cycle, "safety"), in_thread=False)

    assert [e["department"] for e in collecting.collect(cycle).accepted] == ["safety"]
    assert [m for m in in_thread(slack, posted) if m.key and "/accepted/" in m.key]


def test_the_bots_own_uploads_and_messages_without_files_are_not_submissions(city):
    cycle, slack = city
    channel, ts = thread_of(cycle, "digital")
    slack.post_reply("digital-clerk", channel, "明日提出します。", thread_ts=ts)

    report = collecting.collect(cycle)

    assert report.accepted == report.rejected == report.failed == []
    assert cycle.ledger.submissions(YEAR) == []


def test_department_a_posting_bs_workbook_is_refused_b_is_untouched_and_the_office_is_told(city):
    cycle, slack = city
    reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    collecting.collect(cycle)
    before = cycle.ledger.latest_results(YEAR)
    # 消防局 edits a copy of 危機管理課's workbook (its token included) and posts it in its own thread.
    forged = reply(cycle, slack, "fire", filled(cycle, "crisis", **{"1-A-1-1": "999件"}))

    report = collecting.collect(cycle)

    assert report.accepted == [] and [e["department"] for e in report.rejected] == ["fire"]
    assert cycle.ledger.latest_results(YEAR) == before, "危機管理課's figures are untouched"
    assert cycle.ledger.latest_versions(YEAR)["crisis"].version == 1
    [answer] = [m for m in in_thread(slack, forged) if m.key and "/rejection/" in m.key]
    assert "危機管理課の依頼ファイルですが、消防局から提出されました" in answer.text
    [told] = [m for m in slack.messages_to("#digital") if m.key and "/sender-refused/" in m.key]
    assert f"<@{slack.user_id('fire-clerk')}>" in told.text and "消防局" in told.text
    assert [m for m in slack.messages_to("#crisis") if m.key and "/rejection/" in m.key] == [], \
        "nothing is posted into the victim's channel"


def test_the_same_bytes_from_another_department_are_refused_not_taken_as_a_duplicate(city):
    cycle, slack = city
    content = filled(cycle, "crisis")
    reply(cycle, slack, "crisis", content)
    collecting.collect(cycle)
    copied = reply(cycle, slack, "fire", content)  # 消防局 posts 危機管理課's accepted file, byte for byte

    report = collecting.collect(cycle)

    assert [e["department"] for e in report.rejected] == ["fire"]
    assert [m for m in in_thread(slack, copied) if m.key and "/rejection/" in m.key]
    assert not [m for m in in_thread(slack, copied) if m.key and "/accepted/" in m.key]


@pytest.mark.parametrize(("token", "expected"), [
    (None, "提出用コードがありません"),
    (Signer(b"somebody-elses-key-0123456789", "市民安全計画").token(YEAR, "crisis"), "一致しません"),
    ("TK1-AAAAAAAAAAAAAAAAAAAAAAAA", "一致しません"),
])
def test_a_workbook_with_a_missing_or_forged_token_is_refused_in_its_thread(city, token, expected):
    cycle, slack = city
    posted = reply(cycle, slack, "crisis", filled(cycle, "crisis", token=token))

    report = collecting.collect(cycle)

    assert report.accepted == [] and [e["department"] for e in report.rejected] == ["crisis"]
    assert expected in report.rejected[0]["problems"][0]
    assert [m for m in in_thread(slack, posted) if m.key and "/rejection/" in m.key]
    assert [m for m in slack.messages_to("#digital") if m.key and "/sender-refused/" in m.key], "the office hears"
    assert "crisis" not in cycle.ledger.latest_versions(YEAR)


def test_a_token_of_the_same_department_for_another_year_is_refused(city):
    cycle, slack = city
    reply(cycle, slack, "crisis", filled(cycle, "crisis", token=cycle.signer.token(YEAR - 1, "crisis")))
    assert "一致しません" in collecting.collect(cycle).rejected[0]["problems"][0]


def test_a_rate_limit_then_success_on_download_takes_the_file_in_once(city):
    cycle, slack = city
    reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    slack.rate_limit("download", times=1, retry_after=0)

    report = collecting.collect(cycle)

    assert [e["department"] for e in report.accepted] == ["crisis"]
    assert [r.fault for r in slack.requests("download")] == ["rate_limit", None]
    assert len(cycle.ledger.submissions(YEAR)) == 1


def test_server_errors_while_listing_are_retried_then_reported_and_the_next_run_takes_the_files_in(city):
    cycle, slack = city
    reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    reply(cycle, slack, "fire", filled(cycle, "fire"))
    slack.server_error("conversations.history", times=2)  # retried by slack-sdk: nothing lost
    assert len(collecting.collect(cycle).accepted) == 2
    reply(cycle, slack, "safety", filled(cycle, "safety"))
    slack.server_error("conversations.history", times=None)  # Slack down for good

    down = collecting.collect(cycle)
    slack.clear_faults()
    again = collecting.collect(cycle)

    assert down.accepted == [] and len(down.failed) == 5 and "サーバーエラー" in down.failed[0]["error"]
    assert [e["department"] for e in again.accepted] == ["safety"] and again.failed == []
    assert sorted(cycle.ledger.latest_versions(YEAR)) == ["crisis", "fire", "safety"]


def test_a_crash_after_download_before_recording_then_a_rerun_makes_one_version(city, monkeypatch):
    cycle, slack = city
    posted = reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    original = Intake.submit_bytes

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died after the download")

    monkeypatch.setattr(Intake, "submit_bytes", crash)
    first = collecting.collect(cycle)
    assert len(first.failed) == 1 and cycle.ledger.submissions(YEAR) == []
    [claimed] = cycle.ledger.arrivals(YEAR, "slack")
    assert claimed.status == "claimed", "claimed, not taken: the next run takes it in"
    monkeypatch.setattr(Intake, "submit_bytes", original)

    second = collecting.collect(cycle)
    third = collecting.collect(cycle)

    assert [e["version"] for e in second.accepted] == [1] and third.accepted == []
    assert len(cycle.ledger.submissions(YEAR)) == 1 and len(slack.downloads(posted.files[0])) == 2
    assert len([m for m in in_thread(slack, posted) if m.key and "/accepted/" in m.key]) == 1


def test_a_crash_after_recording_before_marking_then_a_rerun_makes_one_version_and_one_receipt(city, monkeypatch):
    cycle, slack = city
    posted = reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    original = Ledger.mark_arrival_taken
    monkeypatch.setattr(Ledger, "mark_arrival_taken", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("died")))
    assert len(collecting.collect(cycle).failed) == 1
    monkeypatch.setattr(Ledger, "mark_arrival_taken", original)

    collecting.collect(cycle)

    [record] = cycle.ledger.submissions(YEAR)
    assert record.version == 1
    assert len([m for m in in_thread(slack, posted) if m.key and "/accepted/" in m.key]) == 1


def test_the_same_file_posted_twice_is_one_version_and_the_second_post_is_told_so(city):
    cycle, slack = city
    content = filled(cycle, "crisis")
    reply(cycle, slack, "crisis", content)
    again = reply(cycle, slack, "crisis", content, name="再送.xlsx")

    collecting.collect(cycle)

    [record] = cycle.ledger.submissions(YEAR)
    assert record.version == 1
    [receipt] = [m for m in in_thread(slack, again) if m.key and again.files[0] in m.key]
    assert "既に受け付けています" in receipt.text
    outcomes = [r["outcome"] for r in audit_rows(cycle.ledger, YEAR)]
    assert outcomes == ["accepted", "repost"]


def test_a_file_dropped_in_the_inbox_without_a_recorded_sender_is_refused_and_one_with_one_is_taken(city, tmp_path):
    cycle, slack = city
    anonymous = cycle.folder("inbox") / "tenken-2024-crisis.xlsx"
    anonymous.write_bytes(filled(cycle, "crisis"))
    delivered = tmp_path / "fire.xlsx"
    delivered.write_bytes(filled(cycle, "fire"))
    collecting.deliver(cycle, [delivered], "fire", "mail-bridge")

    report = collecting.collect(cycle)

    assert [e["department"] for e in report.accepted] == ["fire"]
    [refused] = report.rejected
    assert refused["department"] is None and "提出元が記録されていない" in refused["problems"][0]
    assert "crisis" not in cycle.ledger.latest_versions(YEAR)
    assert not [m for m in slack.messages_to("#crisis") if m.key and ("/accepted/" in m.key or "/rejection/" in m.key)]
    [told] = [m for m in slack.messages_to("#digital") if m.key and "/sender-refused/" in m.key]
    assert "送信者の記録なし" in told.text


def test_a_conversation_two_departments_share_counts_a_file_only_for_the_posters_registered_department(tmp_path):
    import yaml

    config = city_config(tmp_path)
    departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    for entry in departments["departments"]:
        if entry["key"] in ("crisis", "fire"):
            entry["slack"] = "#shared"
    (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
    settings = settings_for(tmp_path, config)
    with standin_for(config) as slack, settings.open_ledger() as ledger:
        for entry in departments["departments"]:  # registered once the workspace (and its user IDs) exist
            if entry["key"] == "fire":
                entry["submitters"] = [slack.user_id("fire-clerk")]
        (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
        cycle = Cycle.build(settings, YEAR, ledger, SlackNotifier(slack.token, base_url=slack.base_url))
        opening.send_requests(cycle, opening.open_cycle(cycle))
        reply(cycle, slack, "fire", filled(cycle, "fire"))  # registered for 消防局
        reply(cycle, slack, "crisis", filled(cycle, "crisis"))  # crisis-clerk is registered nowhere

        report = collecting.collect(cycle)

    assert [e["department"] for e in report.accepted] == ["fire"]
    assert [e["department"] for e in report.rejected] == [None]


def test_where_a_department_registers_its_submitters_nobody_else_submits_for_it_even_in_its_channel(tmp_path):
    import yaml

    config = city_config(tmp_path)
    settings = settings_for(tmp_path, config)
    with standin_for(config) as slack, settings.open_ledger() as ledger:
        departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
        for entry in departments["departments"]:
            if entry["key"] == "crisis":
                entry["submitters"] = [slack.user_id("crisis-clerk")]
        (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
        cycle = Cycle.build(settings, YEAR, ledger, SlackNotifier(slack.token, base_url=slack.base_url))
        opening.send_requests(cycle, opening.open_cycle(cycle))
        reply(cycle, slack, "crisis", filled(cycle, "crisis"), poster="fire")  # someone else in 危機管理課's channel

        report = collecting.collect(cycle)

    assert report.accepted == [] and [e["department"] for e in report.rejected] == [None]
    assert "どの所属の提出としても登録されていない" in report.rejected[0]["problems"][0]


def test_the_audit_lists_each_submission_with_its_sender_and_every_refusal_with_its_reason(city):
    cycle, slack = city
    reply(cycle, slack, "crisis", filled(cycle, "crisis"))
    reply(cycle, slack, "fire", filled(cycle, "crisis"))
    reply(cycle, slack, "safety", filled(cycle, "safety", token=None))
    collecting.collect(cycle)
    common = ["--year", str(YEAR), "--config", str(cycle.settings.config_dir), "--var", str(cycle.settings.var_dir)]

    as_json = run_cli("audit", *common, "--json")
    table = run_cli("audit", *common)
    as_csv = run_cli("audit", *common, "--csv")

    assert as_json.returncode == table.returncode == as_csv.returncode == 0, as_json.stderr + table.stderr
    import json

    rows = json.loads(as_json.stdout)["submissions"]
    assert [(r["department"], r["outcome"], r["sender"]) for r in rows] == [
        ("crisis", "accepted", slack.user_id("crisis-clerk")), ("fire", "rejected", slack.user_id("fire-clerk")),
        ("safety", "rejected", slack.user_id("safety-clerk"))]
    assert all(r["channel"] == "slack" and r["conversation"] and r["link"] for r in rows)
    assert "から提出されました" in rows[1]["reasons"][0] and "提出用コードがありません" in rows[2]["reasons"][0]
    assert "受付 1件、差戻し 2件" in table.stdout and "危機管理課" in table.stdout and "提出用コード" in table.stdout
    assert as_csv.stdout.count("slack") == 3 and "から提出されました" in as_csv.stdout


def test_intake_without_from_is_refused_with_a_clear_message_and_nothing_recorded(tmp_path):
    workbook = tmp_path / "x.xlsx"
    workbook.write_bytes(b"PK")
    done = run_cli("intake", "--year", "2020", str(workbook), "--var", str(tmp_path / "var"))
    assert done.returncode == 2
    assert "--from" in done.stderr and "ファイルの中身から提出元を判断することはしません" in done.stderr
    assert not (tmp_path / "var" / "tenken.db").exists()
