"""Sending in chunks (issue 14): requests, reminders and notices are claimed a chunk at a time in one
transaction before any of the chunk's messages goes out, and each is marked sent as soon as it is. Whatever
stops a run in the middle of a chunk (a failed send, a failed upload after its message went out, Ctrl-C,
the process killed) must lose no message and send none twice: the failed item keeps its claim and the next
run asks the channel what it already has; the items never tried are given back, or completed by the next
run when the process died before it could give them back.

Real parts: the service layer and the CLI, the ledger (SQLite; PostgreSQL too when TENKEN_TEST_POSTGRES_URL
is set), slack-sdk talking HTTP to the local Slack stand-in (its faults and delays), the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest
import yaml

from tenken.ledger import Ledger
from tenken.notify import NotificationError, OutboxNotifier, SlackNotifier, read_outbox
from tenken.services import Cycle, opening, reminding
from tenken.services.dispatch import Dispatcher, Outgoing
from tenken.settings import Settings
from tests.collect.conftest import ledger_url  # noqa: F401 — a fixture: a fresh SQLite or PostgreSQL ledger
from tests.conftest import TENKEN, TEST_SUBMISSION_KEY
from tests.flows.conftest import FAST_RETRIES, standin_for
from tests.services.test_sending import DEADLINE, PLAN, YEAR, city_config, keys


@pytest.fixture
def unsent(tmp_path, ledger_url):  # noqa: F811
    """The FY2024 cycle of the city plan, opened (workbooks written), nothing sent yet."""
    config = city_config(tmp_path)
    settings = Settings(var_dir=tmp_path / "var", database_url=ledger_url, submission_key=TEST_SUBMISSION_KEY,
                        config_dir=config)
    with standin_for(config) as slack, settings.open_ledger() as ledger:
        notifier = SlackNotifier(slack.token, base_url=slack.base_url, retry_interval=FAST_RETRIES)
        cycle = Cycle.build(settings, YEAR, ledger, notifier)
        yield cycle, slack, opening.open_cycle(cycle)


def statuses(records) -> dict:
    """Each outbound record's status by what it is: a request's department, a reminder's (department, stage),
    a notice's 'kind:key'."""
    return {r.stage if r.department is None else (r.department, r.stage) if r.stage else r.department: r.status
            for r in records}


def each_request_once(slack, departments) -> None:
    """Every department's request message exactly once, and its workbook exactly once in that thread."""
    assert keys(slack, "/request/") == Counter(f"{YEAR}/request/{d}" for d in departments)
    for department in departments:
        request, workbook = slack.messages_to(f"#{department}")
        assert request.key == f"{PLAN}/{YEAR}/request/{department}" and not request.files
        assert workbook.files and workbook.thread_ts == request.ts


def test_a_send_failing_mid_chunk_keeps_its_claim_gives_back_the_untried_and_the_rerun_sends_each_once(unsent):
    cycle, slack, workbooks = unsent
    order = list(workbooks)
    slack.server_error("chat.postMessage", times=None, after=2)

    with pytest.raises(NotificationError):
        opening.send_requests(cycle, workbooks)

    assert statuses(cycle.ledger.requests(YEAR)) == {order[0]: "sent", order[1]: "sent", order[2]: "claimed"}, \
        "the failed one keeps its claim (its message may have left); the two never tried are given back"
    slack.clear_faults()

    assert opening.send_requests(cycle, workbooks) == order[2:]

    each_request_once(slack, order)
    assert set(statuses(cycle.ledger.requests(YEAR)).values()) == {"sent"}
    assert opening.send_requests(cycle, workbooks) == []


def test_an_upload_failing_after_its_message_went_out_is_completed_without_posting_the_message_again(unsent):
    cycle, slack, workbooks = unsent
    order = list(workbooks)
    slack.server_error("files.completeUploadExternal", times=None, after=2)

    with pytest.raises(NotificationError):
        opening.send_requests(cycle, workbooks)

    assert [m.key for m in slack.messages_to(f"#{order[2]}")] == [f"{PLAN}/{YEAR}/request/{order[2]}"], \
        "the third department's message went out, its workbook did not"
    assert statuses(cycle.ledger.requests(YEAR)) == {order[0]: "sent", order[1]: "sent", order[2]: "claimed"}
    slack.clear_faults()
    looked_up = len(slack.requests("conversations.history"))

    assert opening.send_requests(cycle, workbooks) == order[2:]

    each_request_once(slack, order)
    assert len(slack.requests("conversations.history")) > looked_up, "the claimed one was looked up first"


def test_a_reminder_failing_mid_chunk_gives_back_the_untried_and_the_rerun_sends_each_stage_once(unsent):
    cycle, slack, workbooks = unsent
    opening.send_requests(cycle, workbooks)
    order = list(workbooks)
    slack.server_error("chat.postMessage", times=None, after=2)

    with pytest.raises(NotificationError):
        reminding.send_reminders(cycle, DEADLINE)

    assert statuses(cycle.ledger.reminders(YEAR)) == {
        (order[0], "due_today"): "sent", (order[1], "due_today"): "sent", (order[2], "due_today"): "claimed"}
    slack.clear_faults()

    sent = reminding.send_reminders(cycle, DEADLINE)

    assert [(s["department"], s["stage"]) for s in sent] == [(d, "due_today") for d in order[2:]]
    assert keys(slack, "/reminder/") == Counter(f"{YEAR}/reminder/{d}/due_today" for d in order)
    assert set(statuses(cycle.ledger.reminders(YEAR)).values()) == {"sent"}
    assert reminding.send_reminders(cycle, DEADLINE) == []


def test_a_notice_failing_mid_chunk_stops_no_other_and_is_completed_once_by_the_next_run(tmp_path, ledger_url):  # noqa: F811
    """Notices go on past a failure (one file's answer never stops another's). The third notice's first
    message goes out and its second fails: the next run sends only the second."""
    var = tmp_path / "var"
    with Ledger.open(ledger_url) as ledger:
        ledger.open_cycle(YEAR, "計画")
        dispatcher = Dispatcher(ledger, OutboxNotifier(var), YEAR, "city")

        def wanted(second_target: str) -> list:
            return [("accepted", f"file-{n}", [Outgoing("#office", f"受付 {n}", f"{YEAR}/accepted/{n}", "accepted")]
                     + ([Outgoing(second_target, "写し", f"{YEAR}/accepted/{n}/copy", "accepted")] if n == 2 else []))
                    for n in range(5)]

        first = dispatcher.notices(wanted("not a target"), chunk=2)

        assert [o if isinstance(o, bool) else type(o) for o in first] == [True, True, NotificationError, True, True]
        assert statuses(ledger.notices(YEAR)) == {**{f"accepted:file-{n}": "sent" for n in (0, 1, 3, 4)},
                                                  "accepted:file-2": "claimed"}

        assert dispatcher.notices(wanted("#archive"), chunk=2) == [False, False, True, False, False]

    sent = Counter(r["key"] for r in read_outbox(var))
    assert sent == Counter([f"city/{YEAR}/accepted/{n}" for n in range(5)] + [f"city/{YEAR}/accepted/2/copy"])
    assert set(statuses(ledger.notices(YEAR)).values()) == {"sent"}


def _ready_to_open(tmp_path):
    """The city plan's folder as `tenken open` accepts it (its preflight wants someone to review)."""
    config = city_config(tmp_path)
    settings = yaml.safe_load((config / "cycle.yaml").read_text(encoding="utf-8"))
    settings["review"]["reviewers"] = [{"name": "審査 花子", "slack": "@hanako"}]
    (config / "cycle.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return config


def _tenken_open(config, var, database_url, slack) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("TENKEN_DATABASE_URL", "TENKEN_CONFIG_DIR")}
    env.update(slack.env, TENKEN_SLACK_SECRET_BLOCK="")
    return subprocess.Popen([str(TENKEN), "open", "--year", str(YEAR), "--config", str(config),
                             "--db", database_url, "--var", str(var)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "interrupted"])
def test_tenken_open_stopped_in_the_middle_of_a_chunk_then_run_again_sends_each_request_once(tmp_path, ledger_url,  # noqa: F811
                                                                                            stop):
    config = _ready_to_open(tmp_path)
    var = tmp_path / "var"
    with standin_for(config) as slack:
        slack.slow("chat.postMessage", 2.0)  # each request's message: the run is stopped while one is on its way
        run = _tenken_open(config, var, ledger_url, slack)
        deadline = time.monotonic() + 120
        sent = []
        with Ledger.open(ledger_url) as ledger:
            while run.poll() is None and time.monotonic() < deadline:
                sent = [r.department for r in ledger.requests(YEAR) if r.status == "sent"]
                if len(sent) >= 2:
                    break
                time.sleep(0.05)
        assert run.poll() is None and len(sent) >= 2, \
            [part.decode() for part in run.communicate()] if run.poll() is not None else sent
        run.send_signal(stop)
        assert run.wait(timeout=60) != 0
        landed = time.monotonic() + 5  # the message on its way when the run stopped may still land
        while len(slack.requests("chat.postMessage")) <= len(sent) and time.monotonic() < landed:
            time.sleep(0.05)
        time.sleep(0.2)

        with Ledger.open(ledger_url) as ledger:
            left = statuses(ledger.requests(YEAR))
        done = [d for d, status in left.items() if status == "sent"]
        assert 2 <= len(done) <= 3, left
        if stop == signal.SIGKILL:
            assert len(left) == 5 and list(left.values()).count("claimed") == 5 - len(done) >= 2, \
                "killed: the chunk's claims are all left, none given back"
        else:
            assert len(left) == len(done) + 1 and list(left.values()).count("claimed") == 1, \
                "interrupted: the one on its way keeps its claim, the untried are given back"
        slack.slow("chat.postMessage", 0)

        again = _tenken_open(config, var, ledger_url, slack)
        _, err = again.communicate(timeout=120)

        assert again.returncode == 0, err.decode()
        with Ledger.open(ledger_url) as ledger:
            final = statuses(ledger.requests(YEAR))
        assert set(final.values()) == {"sent"} and len(final) == 5
        each_request_once(slack, list(final))
