"""The Prefect tasks: never cached, never retried by Prefect, and sending through the notifier."""

import pytest
from prefect import flow
from prefect.cache_policies import NO_CACHE

from tasks.notify import send_file, send_message
from tests.notify.conftest import TOURISM


@pytest.mark.parametrize("send", [send_message, send_file])
def test_send_tasks_are_never_cached_and_never_retried_by_prefect(send):
    assert send.cache_policy is NO_CACHE
    assert send.retries == 0


# Persisting results is what makes Prefect caching bite; with it on, a cached send would be skipped.
@flow(persist_result=True)
def announce(target: str, path: str, key: str):
    return (send_message(target, "本文", key=f"{key}/message", kind="reminder"),
            send_message(target, "本文", key=f"{key}/message", kind="reminder"),
            send_file(target, path, key=f"{key}/file", title="記入様式", initial_comment="添付します", kind="request"))


@flow
def send_one(target: str):
    return send_message(target, "本文", key="k1")


@pytest.mark.prefect
def test_the_tasks_send_through_slack_inside_a_flow_and_the_same_call_twice_sends_twice(
        prefect_server, slack, monkeypatch, tmp_path):
    for name, value in slack.env.items():
        monkeypatch.setenv(name, value)
    workbook = tmp_path / "観光課.xlsx"
    workbook.write_bytes(b"PK\x03\x04")

    first, second, upload = announce(f"#{TOURISM}", str(workbook), "2020/tourism")

    assert [m.key for m in slack.messages[:2]] == ["2020/tourism/message"] * 2, "no cache may swallow a send"
    assert first.ts != second.ts
    assert slack.files[upload.file_id].content == workbook.read_bytes()


@pytest.mark.prefect
def test_the_token_can_come_from_a_prefect_secret_block(prefect_server, slack, monkeypatch):
    from prefect.blocks.system import Secret

    Secret(value=slack.token).save("tenken-test-slack-token", overwrite=True)
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "tenken-test-slack-token")
    monkeypatch.setenv("TENKEN_SLACK_BASE_URL", slack.base_url)

    receipt = send_one(f"#{TOURISM}")

    assert receipt.via == "slack"
    assert slack.requests("chat.postMessage")[0].headers["Authorization"] == f"Bearer {slack.token}"


@pytest.mark.prefect
def test_a_token_in_the_environment_wins_over_the_secret_block(prefect_server, slack, monkeypatch):
    from prefect.blocks.system import Secret

    Secret(value="xoxb-from-the-block").save("tenken-test-other-token", overwrite=True)
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "tenken-test-other-token")
    for name, value in slack.env.items():
        monkeypatch.setenv(name, value)

    send_one(f"#{TOURISM}")

    assert slack.requests("chat.postMessage")[0].headers["Authorization"] == f"Bearer {slack.token}"


@pytest.mark.prefect
def test_a_missing_secret_block_means_the_outbox(prefect_server, monkeypatch, tmp_path):
    monkeypatch.setenv("TENKEN_SLACK_SECRET_BLOCK", "tenken-no-such-block")

    assert send_one(f"#{TOURISM}").via == "outbox"
