"""The sending use cases, in process and without Prefect: the service layer with a real ledger (SQLite),
the real slack-sdk talking HTTP to the local Slack stand-in, and the outbox when there is no token.

What is checked is what the office relies on: each request, reminder stage and notice reaches its
recipient exactly once, whatever happens between sending and recording.
"""

from collections import Counter
from datetime import date, timedelta

import pytest
import yaml

from tenken.config import load_plan, load_results
from tenken.ledger import Ledger
from tenken.notify import OutboxNotifier, SlackNotifier, read_outbox
from tenken.services import Cycle
from tenken.services import collecting, opening, publishing, reminding
from tenken.settings import Settings
from tests.conftest import TEST_SUBMISSION_KEY
from tenken.workbook.writer import request_file_name, request_workbook
from tests.flows.conftest import CITY, FAST_RETRIES, config_copy, standin_for

YEAR = 2024
DEADLINE = date(2025, 5, 31)
DEPARTMENTS = ("crisis", "fire", "safety", "digital", "citizens")


def city_config(tmp_path):
    """The city plan, its review and announcements in #digital, 消防局 with an escalation contact."""
    config = config_copy(CITY, tmp_path, deadline="05-31", review={"channel": "#digital"},
                         announce_channel="#digital", publish_target="site")
    departments = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    for entry in departments["departments"]:
        if entry["key"] == "fire":
            entry["escalation"] = {"name": "消防局長", "slack": "@fire-chief"}
    (config / "departments.yaml").write_text(yaml.safe_dump(departments, allow_unicode=True), encoding="utf-8")
    return config


def settings_for(tmp_path, config) -> Settings:
    var = tmp_path / "var"
    return Settings(var_dir=var, database_url=f"sqlite:///{var / 'tenken.db'}",
                        submission_key=TEST_SUBMISSION_KEY, config_dir=config)


@pytest.fixture
def city(tmp_path):
    """The FY2024 cycle of the city plan with the requests sent; the stand-in records every call."""
    config = city_config(tmp_path)
    settings = settings_for(tmp_path, config)
    with standin_for(config) as slack, settings.open_ledger() as ledger:
        notifier = SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FAST_RETRIES)
        cycle = Cycle.build(settings, YEAR, ledger, notifier)
        opening.send_requests(cycle, opening.open_cycle(cycle))
        yield cycle, slack


PLAN = "config"  # the plan id of the fixture's folder (tmp/config): every message key starts with it


def keys(slack, part: str) -> Counter:
    """The cycle's own keys of the messages whose key contains `part` (each checked to name the plan)."""
    found = [m.key for m in slack.messages if m.key and part in m.key]
    assert all(k.startswith(f"{PLAN}/") for k in found), found
    return Counter(k.removeprefix(f"{PLAN}/") for k in found)


def test_each_department_gets_its_workbook_once_in_its_own_channel_in_the_plans_words(city):
    cycle, slack = city
    for key in DEPARTMENTS:
        request, workbook = slack.messages_to(f"#{key}")
        assert "事業" in request.text and "施策" not in request.text and "このスレッドに記入済みのファイルを返信" in request.text
        assert workbook.files and workbook.thread_ts == request.ts, "the workbook is in the request's thread"
        [record] = [r for r in cycle.ledger.requests(YEAR) if r.department == key]
        assert record.message_ref == f"{request.channel}/{request.ts}", "the thread the department answers in"
    uploaded = {f.filename for f in slack.files.values()}
    assert uploaded == {request_file_name(YEAR, key) for key in DEPARTMENTS}

    again = opening.send_requests(cycle, opening.open_cycle(cycle))

    assert again == [] and len(slack.files) == len(DEPARTMENTS)
    assert {r.status for r in cycle.ledger.requests(YEAR)} == {"sent"}


def test_each_reminder_stage_goes_once_and_the_second_overdue_one_is_escalated(city):
    cycle, slack = city
    assert len(reminding.send_reminders(cycle, DEADLINE)) == 5
    assert reminding.send_reminders(cycle, DEADLINE) == []

    sent = reminding.send_reminders(cycle, DEADLINE + timedelta(days=6))

    assert {(s["department"], s["stage"], s["escalated"]) for s in sent} == {
        (key, "overdue_2", key == "fire") for key in DEPARTMENTS}
    [escalation] = slack.messages_to("@fire-chief")
    assert escalation.key == f"{PLAN}/{YEAR}/reminder/fire/overdue_2/escalation" and "消防局長" in escalation.text
    assert keys(slack, "/reminder/") == Counter(
        [f"{YEAR}/reminder/{key}/due_today" for key in DEPARTMENTS]
        + [f"{YEAR}/reminder/{key}/overdue_2" for key in DEPARTMENTS]
        + [f"{YEAR}/reminder/fire/overdue_2/escalation"])


def test_a_crash_between_sending_and_recording_then_a_rerun_sends_nothing_twice(city, monkeypatch):
    cycle, slack = city
    original = Ledger.mark_reminder_sent
    calls = []

    def crash_on_the_third(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("the worker died here")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "mark_reminder_sent", crash_on_the_third)
    with pytest.raises(RuntimeError, match="died"):
        reminding.send_reminders(cycle, DEADLINE)
    assert len(keys(slack, "/reminder/")) == 3, "two recorded, the third sent but not recorded"
    monkeypatch.setattr(Ledger, "mark_reminder_sent", original)

    reminding.send_reminders(cycle, DEADLINE)

    assert keys(slack, "/reminder/") == Counter(f"{YEAR}/reminder/{key}/due_today" for key in DEPARTMENTS)
    assert slack.requests("conversations.history"), "the unrecorded one was looked up, not sent again"
    assert {r.status for r in cycle.ledger.reminders(YEAR)} == {"sent"}


def test_a_rate_limit_then_success_delivers_one_message_not_two(city):
    cycle, slack = city
    slack.rate_limit("chat.postMessage", times=1, retry_after=0)

    reminding.send_reminders(cycle, DEADLINE)

    assert keys(slack, "/reminder/") == Counter(f"{YEAR}/reminder/{key}/due_today" for key in DEPARTMENTS)


def filled_workbook(cycle, department: str, **changes) -> bytes:
    plan = cycle.plan
    filled = opening.department_results(plan, load_results(cycle.settings.config_dir, YEAR), department)
    for measure, actual in changes.items():
        filled[measure] = filled[measure].model_copy(update={"actual": (actual,)})
    return request_workbook(plan, YEAR, department, cycle.deadline, filled, cycle.signer.token(YEAR, department))


def test_collecting_answers_each_sender_once_in_its_department_channel(city, tmp_path):
    cycle, slack = city
    good, bad = tmp_path / "crisis.xlsx", tmp_path / "fire.xlsx"
    good.write_bytes(filled_workbook(cycle, "crisis"))
    bad.write_bytes(filled_workbook(cycle, "fire", **{"1-A-1-2": "7.5秒"}))
    assert collecting.deliver(cycle, [good], "crisis", "mail-bridge") + collecting.deliver(cycle, [bad], "fire", "x") == 2

    report = collecting.take_in(cycle)

    assert [e["department"] for e in report.accepted] == ["crisis"]
    assert [e["department"] for e in report.rejected] == ["fire"]
    [receipt] = [m for m in slack.messages_to("#crisis") if m.key and "/accepted/" in m.key]
    assert "事業" in receipt.text
    [answer] = [m for m in slack.messages_to("#fire") if m.files and "確認" in m.text]
    assert slack.files[answer.files[0]].filename.endswith("確認結果.xlsx")
    assert list(cycle.folder("inbox").iterdir()) == []

    before = len(slack.messages)
    collecting.deliver(cycle, [good], "crisis", "mail-bridge")
    collecting.deliver(cycle, [bad], "fire", "mail-bridge")
    again = collecting.take_in(cycle)
    assert len(again.accepted) == len(again.rejected) == 1, "the same files are recognised"
    assert len(slack.messages) == before, "and not answered twice"


def test_publishing_resolves_a_relative_target_under_the_var_folder_and_announces_once(city):
    cycle, slack = city

    published = publishing.publish_final(cycle, unreviewed=True)
    publishing.publish_final(cycle, unreviewed=True)

    assert published.target == str(cycle.settings.var_dir / "site" / cycle.plan.id / str(YEAR))
    assert (cycle.settings.var_dir / "site" / "index.html").is_file()
    assert keys(slack, "/published") == Counter([f"{YEAR}/published"])
    assert len(cycle.ledger.publications(YEAR)) == 2


def test_without_a_token_the_same_use_cases_write_to_the_outbox_in_the_var_folder(tmp_path):
    config = city_config(tmp_path)
    settings = settings_for(tmp_path, config)
    notifier = settings.notifier()
    assert isinstance(notifier.chat, OutboxNotifier)

    with settings.open_ledger() as ledger:
        cycle = Cycle.build(settings, YEAR, ledger, notifier)
        opening.send_requests(cycle, opening.open_cycle(cycle))
        reminding.send_reminders(cycle, DEADLINE)

    sent = read_outbox(settings.var_dir)
    assert Counter(r["kind"] for r in sent) == Counter({"request": 5, "request_file": 5, "reminder": 5})
    assert all(r["thread_ts"] for r in sent if r["kind"] == "request_file")
    assert {r["target"] for r in sent} == {f"#{key}" for key in DEPARTMENTS}
    assert load_plan(config).measure_label == "事業"
