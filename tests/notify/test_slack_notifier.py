"""SlackNotifier with the real slack-sdk, talking HTTP to the local stand-in."""

import json

import pytest

from tenken.notify import NotificationError, SlackNotifier
from tenken.notify.slack import METADATA_EVENT_TYPE
from tests.notify.conftest import HEAD, REVIEW, TOURISM
from tenken_demo.slack_standin import SlackStandIn


def test_a_message_to_a_channel_name_is_posted_into_that_channel(slack, notifier):
    receipt = notifier.post(f"#{TOURISM}", "提出をお願いします", key="k1")

    [message] = slack.messages
    assert message.conversation == f"#{TOURISM}" and message.text == "提出をお願いします"
    assert (receipt.channel, receipt.ts, receipt.via) == (message.channel, message.ts, "slack")


def test_a_message_to_a_channel_id_is_posted_without_listing_channels(slack, notifier):
    channel_id = slack.add_channel("tenken-elderly-welfare")

    notifier.post(channel_id, "本文", key="k1")

    assert [m.channel for m in slack.messages] == [channel_id]
    assert slack.requests("conversations.list") == []


def test_a_message_to_a_user_id_opens_a_direct_conversation_first(slack, notifier):
    user_id = slack.add_user("someone")

    receipt = notifier.post(user_id, "本文", key="k1")

    assert [r.method for r in slack.requests()] == ["conversations.open", "chat.postMessage"]
    assert slack.requests("conversations.open")[0].params["users"] == user_id
    assert [m.conversation for m in slack.messages] == ["@someone"]
    assert receipt.channel.startswith("D")


def test_a_message_to_an_email_address_looks_the_user_up_and_goes_to_their_direct_messages(slack, notifier):
    notifier.post(HEAD["email"], "本文", key="k1")

    assert [r.method for r in slack.requests()] == ["users.lookupByEmail", "conversations.open", "chat.postMessage"]
    assert slack.requests("users.lookupByEmail")[0].params["email"] == HEAD["email"]
    assert [m.conversation for m in slack.messages] == [f"@{HEAD['name']}"]


@pytest.mark.parametrize("handle", [HEAD["name"], HEAD["display_name"]])
def test_an_at_handle_is_found_by_user_name_or_display_name(slack, notifier, handle):
    notifier.post(f"@{handle}", "本文", key="k1")

    assert [m.conversation for m in slack.messages] == [f"@{HEAD['name']}"]


def test_lookups_are_made_once_per_notifier(slack, notifier):
    for n in range(3):
        notifier.post(f"#{TOURISM}", "本文", key=f"c{n}")
        notifier.post(HEAD["email"], "本文", key=f"e{n}")

    assert len(slack.messages) == 6
    assert [len(slack.requests(m)) for m in ("conversations.list", "users.lookupByEmail", "conversations.open")] \
        == [1, 1, 1]


def test_channel_names_are_found_across_pages_of_the_channel_list(notifier):
    with SlackStandIn(channels=["a", "b", "c", "d"], max_page_size=1) as small_pages:
        paging = SlackNotifier(small_pages.token, base_url=small_pages.base_url)

        paging.post("#d", "本文", key="k1")

        assert len(small_pages.requests("conversations.list")) == 4
        assert [m.conversation for m in small_pages.messages] == ["#d"]


def test_the_idempotency_key_travels_in_the_message_metadata_and_comes_back_in_the_receipt(slack, notifier):
    receipt = notifier.post(f"#{REVIEW}", "本文", key="2020/review/1", kind="review_request")

    [message] = slack.messages
    assert message.key == receipt.key == "2020/review/1"
    assert message.metadata == {"event_type": METADATA_EVENT_TYPE,
                                "event_payload": {"key": "2020/review/1", "kind": "review_request"}}


def test_the_bot_token_is_sent_as_a_bearer_header(slack, notifier):
    notifier.post(f"#{TOURISM}", "本文", key="k1")

    assert {r.headers["Authorization"] for r in slack.requests()} == {f"Bearer {slack.token}"}


def test_an_upload_takes_three_steps_and_the_bytes_arrive_intact(slack, notifier, tmp_path):
    workbook = tmp_path / "令和2年度_観光課.xlsx"
    workbook.write_bytes(bytes(range(256)) * 64 + "末尾".encode())

    receipt = notifier.upload(f"#{TOURISM}", workbook, key="2020/tourism/request", title="記入様式",
                              initial_comment="記入をお願いします")

    assert [r.method for r in slack.requests()] == [
        "conversations.list", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert slack.requests("files.getUploadURLExternal")[0].params == {
        "filename": workbook.name, "length": str(workbook.stat().st_size)}
    uploaded = slack.files[receipt.file_id]
    assert uploaded.content == workbook.read_bytes()
    assert (uploaded.filename, uploaded.title) == (workbook.name, "記入様式")
    [message] = slack.messages
    assert (message.conversation, message.text, message.files) == (f"#{TOURISM}", "記入をお願いします",
                                                                  (receipt.file_id,))
    assert json.loads(slack.requests("files.completeUploadExternal")[0].params["files"])[0]["id"] == receipt.file_id


def test_an_upload_to_a_user_goes_to_their_direct_messages(slack, notifier, tmp_path):
    workbook = tmp_path / "f.xlsx"
    workbook.write_bytes(b"PK\x03\x04")

    notifier.upload(HEAD["email"], workbook, key="k1")

    assert [m.conversation for m in slack.messages] == [f"@{HEAD['name']}"]


def test_a_missing_attachment_is_refused_before_anything_is_sent(slack, notifier, tmp_path):
    with pytest.raises(NotificationError, match="添付ファイルがありません"):
        notifier.upload(f"#{TOURISM}", tmp_path / "none.xlsx", key="k1")

    assert slack.requests() == []


def test_an_unknown_channel_raises_an_error_naming_it(slack, notifier):
    with pytest.raises(NotificationError, match="#tenken-nowhere が見つかりません"):
        notifier.post("#tenken-nowhere", "本文", key="k1")

    assert slack.messages == []


def test_an_unknown_email_raises_an_error_naming_it(slack, notifier):
    with pytest.raises(NotificationError, match="nobody@example.jp"):
        notifier.post("nobody@example.jp", "本文", key="k1")


def test_a_handle_shared_by_two_users_is_refused(slack, notifier):
    slack.add_user("tanaka")
    slack.add_user("tanaka2", display_name="tanaka")

    with pytest.raises(NotificationError, match="@tanaka が 2 人います"):
        notifier.post("@tanaka", "本文", key="k1")


@pytest.mark.parametrize("target", ["tenken-tourism", "#", "@", "not an address", ""])
def test_an_unreadable_target_is_refused_before_anything_is_sent(slack, notifier, target):
    with pytest.raises(NotificationError, match="解釈できません"):
        notifier.post(target, "本文", key="k1")

    assert slack.requests() == []


def test_a_rejected_token_fails_the_check_with_slacks_reason(slack):
    wrong = SlackNotifier("xoxb-wrong", base_url=slack.base_url)

    with pytest.raises(NotificationError, match="invalid_auth"):
        wrong.check()


def test_the_check_names_the_workspace_and_the_api_it_talks_to(slack, notifier):
    assert slack.base_url in notifier.check()


def test_a_sent_message_is_found_again_by_its_key(notifier, slack):
    notifier.post(f"#{TOURISM}", "一通目", key="2020/tourism/before_7")
    notifier.post(f"#{TOURISM}", "二通目", key="2020/tourism/before_1")
    found = notifier.find(f"#{TOURISM}", "2020/tourism/before_7")
    assert found is not None and found.ts == slack.messages[0].ts
    assert notifier.find(f"#{TOURISM}", "2020/tourism/due") is None
