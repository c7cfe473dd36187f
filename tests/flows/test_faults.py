"""Faults on the way to Slack: rate limits, server errors, dropped connections, a crash mid-run.

Every reminder reaches its department exactly once, whatever happened on the way.
"""

from collections import Counter
from datetime import date

import pytest

from flows.collect_and_remind import collect_and_remind
from tenken.ledger import Ledger
from tenken.services import Cycle, opening
from tenken.settings import Settings
from tests.flows.conftest import CITY, config_copy, point_at, standin_for

pytestmark = pytest.mark.prefect
DEADLINE_DAY = date(2025, 5, 31)


@pytest.fixture
def city(prefect_server, environment, monkeypatch):
    """The city plan's FY2024 cycle opened (requests sent), nobody has submitted yet."""
    config = config_copy(CITY, environment, deadline="05-31", review={"channel": "#digital"},
                         announce_channel="#digital")
    with standin_for(config) as slack:
        point_at(monkeypatch, slack)
        settings = Settings.resolve(config_dir=config)
        with Cycle.opened(settings, 2024) as cycle:
            opening.send_requests(cycle, opening.open_cycle(cycle))
        yield settings, slack


def remind(settings: Settings):
    return collect_and_remind(2024, DEADLINE_DAY, str(settings.config_dir), return_state=True)


def reminder_keys(slack) -> Counter:
    """The cycle's own keys of the reminders sent (each message's key names the plan first: config/2024/…)."""
    found = [m.key for m in slack.messages if m.key and "/reminder/" in m.key]
    assert all(k.startswith("config/") for k in found), found
    return Counter(k.removeprefix("config/") for k in found)


def expected_keys(settings: Settings) -> set[str]:
    return {f"2024/reminder/{d}/due_today" for d in ("crisis", "fire", "safety", "digital", "citizens")}


def test_a_rate_limit_then_success_delivers_one_message_not_two(city):
    run, slack = city
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    assert remind(run).is_completed()
    assert reminder_keys(slack) == Counter(expected_keys(run))
    reminder_posts = [r for r in slack.requests("chat.postMessage") if "/reminder/" in str(r.params.get("metadata"))]
    assert len(reminder_posts) == len(expected_keys(run)) + 1


def test_server_errors_until_retries_run_out_fail_the_flow_and_a_rerun_sends_nothing_twice(city):
    run, slack = city
    slack.server_error("chat.postMessage", times=None, after=2)
    state = remind(run)
    assert state.is_failed()
    assert "サーバーエラー" in str(state.result(raise_on_failure=False))
    assert len(reminder_keys(slack)) == 2
    slack.clear_faults()
    assert remind(run).is_completed()
    assert reminder_keys(slack) == Counter(expected_keys(run))


def test_a_dropped_connection_is_retried_into_one_message(city):
    run, slack = city
    slack.drop_connection("chat.postMessage", times=1)
    assert remind(run).is_completed()
    assert reminder_keys(slack) == Counter(expected_keys(run))


def test_a_crash_between_sending_and_recording_then_a_rerun_completes_without_duplicates(city, monkeypatch):
    run, slack = city
    original = Ledger.mark_reminder_sent
    calls = []

    def crash_on_the_third(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("the worker died here")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "mark_reminder_sent", crash_on_the_third)
    assert remind(run).is_failed()
    assert len(reminder_keys(slack)) == 3, "two recorded, the third sent but not recorded"
    monkeypatch.setattr(Ledger, "mark_reminder_sent", original)

    assert remind(run).is_completed()
    assert reminder_keys(slack) == Counter(expected_keys(run))
    assert slack.requests("conversations.history"), "the unrecorded one was looked up, not sent again"
    with Ledger.open(run.database_url) as ledger:
        assert {r.status for r in ledger.reminders(2024)} == {"sent"}


def test_running_the_same_day_again_sends_nothing(city):
    run, slack = city
    assert remind(run).is_completed()
    before = len(slack.messages)
    assert remind(run).is_completed()
    assert len(slack.messages) == before
