"""Rate limits, server errors and dropped connections, scripted in the stand-in."""

import time

import pytest

from tenken.notify import NotificationError, SlackNotifier
from tests.notify.conftest import TOURISM

CHANNEL = f"#{TOURISM}"


def test_a_rate_limited_message_is_retried_after_retry_after_and_delivered_once(slack, notifier):
    notifier.channel_for(CHANNEL)
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    started = time.monotonic()
    receipt = notifier.post(CHANNEL, "本文", key="k1")

    assert time.monotonic() - started >= 1
    assert [r.fault for r in slack.requests("chat.postMessage")] == ["rate_limit", None]
    assert [m.key for m in slack.messages] == ["k1"] and slack.messages[0].ts == receipt.ts


def test_rate_limits_beyond_the_retry_budget_raise_a_clear_error(slack):
    notifier = SlackNotifier(slack.token, base_url=slack.base_url, rate_limit_retries=1)
    notifier.channel_for(CHANNEL)
    slack.rate_limit("chat.postMessage", times=None, retry_after=0)

    with pytest.raises(NotificationError, match=r"HTTP 429.*再試行 1 回") as raised:
        notifier.post(CHANNEL, "本文", key="k1")

    assert (raised.value.api_method, raised.value.target) == ("chat.postMessage", CHANNEL)
    assert len(slack.requests("chat.postMessage")) == 2 and slack.messages == []


def test_server_errors_until_retries_run_out_raise_a_clear_error_and_deliver_nothing(slack, notifier):
    notifier.channel_for(CHANNEL)
    slack.server_error("chat.postMessage", times=None)

    with pytest.raises(NotificationError, match=r"chat.postMessage.*#tenken-tourism.*HTTP 500.*再試行 2 回"):
        notifier.post(CHANNEL, "本文", key="k1")

    assert len(slack.requests("chat.postMessage")) == 3 and slack.messages == []


def test_a_server_error_then_success_delivers_one_message(slack, notifier):
    slack.server_error("chat.postMessage", times=1, status=503)

    notifier.post(CHANNEL, "本文", key="k1")

    assert [m.key for m in slack.messages] == ["k1"]


def test_a_dropped_connection_is_retried_and_the_message_is_delivered_once(slack, notifier):
    slack.drop_connection("chat.postMessage", times=1)

    notifier.post(CHANNEL, "本文", key="k1")

    assert [r.fault for r in slack.requests("chat.postMessage")] == ["drop", None]
    assert [m.key for m in slack.messages] == ["k1"]


def test_connections_dropped_every_time_raise_a_clear_error(slack, notifier):
    notifier.channel_for(CHANNEL)
    slack.drop_connection("chat.postMessage", times=None)

    with pytest.raises(NotificationError, match="接続できませんでした"):
        notifier.post(CHANNEL, "本文", key="k1")

    assert len(slack.requests("chat.postMessage")) == 3 and slack.messages == []


def test_a_fault_scripted_after_some_calls_lets_those_calls_through(slack, notifier):
    slack.server_error("chat.postMessage", times=None, after=2)

    notifier.post(CHANNEL, "1", key="k1")
    notifier.post(CHANNEL, "2", key="k2")
    with pytest.raises(NotificationError):
        notifier.post(CHANNEL, "3", key="k3")

    assert [m.key for m in slack.messages] == ["k1", "k2"]


def test_a_rate_limited_upload_step_is_retried_and_one_file_is_shared(slack, notifier, tmp_path):
    workbook = tmp_path / "f.xlsx"
    workbook.write_bytes(b"content")
    slack.rate_limit("files.getUploadURLExternal", retry_after=0)
    slack.server_error("files.completeUploadExternal")

    receipt = notifier.upload(CHANNEL, workbook, key="k1")

    assert [len(m.files) for m in slack.messages] == [1]
    assert slack.files[receipt.file_id].content == b"content"


def test_a_dropped_byte_upload_raises_and_shares_nothing(slack, notifier, tmp_path):
    workbook = tmp_path / "f.xlsx"
    workbook.write_bytes(b"content")
    slack.drop_connection("upload")

    with pytest.raises(NotificationError, match="files_upload_v2"):
        notifier.upload(CHANNEL, workbook, key="k1")

    assert slack.messages == [] and slack.requests("files.completeUploadExternal") == []
