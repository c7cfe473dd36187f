"""The stand-in itself: what the end-to-end tests of the cycle rely on beyond the notifier tests."""

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tenken_demo.slack_standin import SlackStandIn
from tests.notify.conftest import HEAD, REVIEW, TOURISM


def test_channels_and_users_can_be_given_as_written_in_departments_yaml():
    with SlackStandIn(channels=["#tenken-tourism"], users=[{"name": "@tourism-head"}]) as slack:
        assert slack.messages_to("#tenken-tourism") == []
        assert slack.env == {"SLACK_BOT_TOKEN": slack.token, "TENKEN_SLACK_BASE_URL": slack.base_url}


def test_messages_to_finds_a_persons_direct_messages_by_handle_or_email(slack, notifier):
    notifier.post("@tourism-head", "一通目", key="k1")
    notifier.post("tourism-head@example.jp", "二通目", key="k2")
    notifier.post("#tenken-tourism", "別の宛先", key="k3")

    assert [m.key for m in slack.messages_to("@tourism-head")] == ["k1", "k2"]
    assert [m.key for m in slack.messages_to("tourism-head@example.jp")] == ["k1", "k2"]
    assert [m.key for m in slack.messages_to("#tenken-tourism")] == ["k3"]
    assert slack.messages_to("@nobody") == []


def test_faults_are_consumed_in_the_order_they_were_scripted(slack, notifier):
    slack.drop_connection("chat.postMessage")
    slack.server_error("chat.postMessage", status=503)
    slack.rate_limit("chat.postMessage", retry_after=0)

    notifier.post("#tenken-tourism", "本文", key="k1")

    assert [r.fault for r in slack.requests("chat.postMessage")] == ["drop", "server_error", "rate_limit", None]
    assert len(slack.messages) == 1


def test_an_unknown_method_and_a_wrong_token_are_answered_like_slack(slack):
    with urlopen(f"{slack.base_url}chat.postMessage", data=b"channel=C1&text=x") as response:
        assert b'"not_authed"' in response.read()
    with urlopen(f"{slack.base_url}no.such.method?token={slack.token}", data=b"") as response:
        assert b'"unknown_method"' in response.read()

    assert slack.messages == []


# -- the departments' half: people post files and replies, the bot collects them ------------------

WORKBOOK = bytes(range(256)) * 8 + "点検表の末尾".encode()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client(slack):
    return WebClient(token=slack.token, base_url=slack.base_url)


def _get(url, token=None):
    """(status, content type, body) of a GET, with the bot's bearer token if given."""
    request = Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urlopen(request) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_a_file_posted_in_a_thread_follows_its_parent_in_conversations_replies(slack, notifier, client):
    receipt = notifier.post(f"#{TOURISM}", "点検表を提出してください", key="k1")
    channel = slack.channel_id(f"#{TOURISM}")
    head = slack.user_id(HEAD["email"])

    posted = slack.post_file("@tourism-head", f"#{TOURISM}", "観光課.xlsx", WORKBOOK, thread_ts=receipt.ts,
                             text="提出します")

    replies = client.conversations_replies(channel=channel, ts=receipt.ts)["messages"]
    assert [(m["ts"], m.get("user")) for m in replies] == [(receipt.ts, slack.bot_user_id), (posted.ts, head)]
    parent, reply = replies
    assert (parent["thread_ts"], parent["reply_count"], parent["latest_reply"]) == (receipt.ts, 1, posted.ts)
    assert (reply["thread_ts"], reply["text"], reply["parent_user_id"]) == (receipt.ts, "提出します",
                                                                            slack.bot_user_id)
    [file] = reply["files"]
    assert (file["id"], file["name"], file["user"]) == (posted.files[0], "観光課.xlsx", head)
    # The reply's own ts names the same thread, as in Slack.
    assert client.conversations_replies(channel=channel, ts=posted.ts)["messages"] == replies


def test_replies_answer_slacks_errors_for_an_unknown_thread_or_channel(slack, client):
    channel = slack.channel_id(f"#{TOURISM}")
    with pytest.raises(SlackApiError, match="thread_not_found"):
        client.conversations_replies(channel=channel, ts="1700000000.000001")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.conversations_replies(channel="C99999999", ts="1700000000.000001")


def test_history_shows_top_level_posts_but_not_thread_replies(slack, notifier, client):
    request = notifier.post(f"#{TOURISM}", "依頼", key="k1")
    in_thread = slack.post_file(HEAD["name"], f"#{TOURISM}", "返信.xlsx", WORKBOOK, thread_ts=request.ts)
    top_level = slack.post_file(HEAD["name"], f"#{TOURISM}", "直接.csv", b"a,b\n1,2\n", text="直接提出")

    history = client.conversations_history(channel=slack.channel_id(f"#{TOURISM}"))
    assert [m["ts"] for m in history["messages"]] == [top_level.ts, request.ts]  # newest first
    assert in_thread.ts not in {m["ts"] for m in history["messages"]}
    newest, oldest = history["messages"]
    assert [f["name"] for f in newest["files"]] == ["直接.csv"] and newest["user"] == slack.user_id(HEAD["name"])
    assert "files" not in oldest and (oldest["reply_count"], oldest["thread_ts"]) == (1, request.ts)
    assert history["has_more"] is False


def test_history_honours_oldest_latest_inclusive_and_pages(slack, client):
    channel = slack.channel_id(f"#{TOURISM}")
    posts = [slack.post_reply(HEAD["email"], channel, f"{i}通目") for i in range(5)]

    after = client.conversations_history(channel=channel, oldest=posts[1].ts)["messages"]
    assert [m["ts"] for m in after] == [p.ts for p in reversed(posts[2:])]  # oldest is exclusive
    inclusive = client.conversations_history(channel=channel, oldest=posts[1].ts, latest=posts[3].ts, inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == [posts[3].ts, posts[2].ts, posts[1].ts]

    pages = [(page["messages"], page["has_more"]) for page in client.conversations_history(channel=channel, limit=2)]
    assert [(len(messages), has_more) for messages, has_more in pages] == [(2, True), (2, True), (1, False)]
    assert [m["text"] for messages, _ in pages for m in messages] == [f"{i}通目" for i in reversed(range(5))]


def test_files_info_describes_a_posted_file_like_slack(slack, client):
    posted = slack.post_file(HEAD["email"], f"#{TOURISM}", "令和2年度 観光課.xlsx", WORKBOOK, title="点検表")

    file = client.files_info(file=posted.files[0])["file"]

    assert {k: file[k] for k in ("id", "name", "title", "mimetype", "filetype", "size", "user", "channels",
                                 "is_external", "mode")} == {
        "id": posted.files[0], "name": "令和2年度 観光課.xlsx", "title": "点検表", "mimetype": XLSX,
        "filetype": "xlsx", "size": len(WORKBOOK), "user": slack.user_id(HEAD["email"]),
        "channels": [slack.channel_id(f"#{TOURISM}")], "is_external": False, "mode": "hosted"}
    prefix = f"{slack.root_url}/files-pri/T00000001-{posted.files[0]}/"
    quoted = "%E4%BB%A4%E5%92%8C2%E5%B9%B4%E5%BA%A6%20%E8%A6%B3%E5%85%89%E8%AA%B2.xlsx"
    assert file["url_private_download"] == f"{prefix}download/{quoted}"
    assert file["url_private"] == f"{prefix}{quoted}"
    assert abs(file["created"] - time.time()) < 60
    with pytest.raises(SlackApiError, match="file_not_found"):
        client.files_info(file="F99999999")


def test_a_csv_is_text_csv_and_anything_else_is_a_byte_stream(slack, client):
    csv_file = slack.post_file(HEAD["name"], f"#{TOURISM}", "a.CSV", b"x")
    other = slack.post_file(HEAD["name"], f"#{TOURISM}", "a.pdf", b"x")

    assert client.files_info(file=csv_file.files[0])["file"]["mimetype"] == "text/csv"
    assert client.files_info(file=other.files[0])["file"]["mimetype"] == "application/octet-stream"


def test_a_private_download_with_the_bot_token_returns_the_exact_bytes(slack, client):
    posted = slack.post_file(HEAD["name"], f"#{TOURISM}", "観光課.xlsx", WORKBOOK)
    url = client.files_info(file=posted.files[0])["file"]["url_private_download"]

    status, content_type, body = _get(url, slack.token)

    assert (status, content_type, body) == (200, XLSX, WORKBOOK)
    assert [r.params["file"] for r in slack.downloads()] == [posted.files[0]]
    assert [r.method for r in slack.requests()][-1] == "download"


@pytest.mark.parametrize("token", [None, "xoxb-wrong"])
def test_a_download_without_the_bot_token_gets_slacks_sign_in_page(slack, client, token):
    posted = slack.post_file(HEAD["name"], f"#{TOURISM}", "観光課.xlsx", WORKBOOK)
    url = client.files_info(file=posted.files[0])["file"]["url_private_download"]

    status, content_type, body = _get(url, token)

    assert status == 200 and content_type.startswith("text/html")
    assert b"Slack" in body and b"sign in" in body.lower() and WORKBOOK not in body
    assert slack.downloads() == []


def test_an_unknown_or_deleted_file_is_not_found(slack, client):
    posted = slack.post_file(HEAD["name"], f"#{TOURISM}", "観光課.xlsx", WORKBOOK)
    url = client.files_info(file=posted.files[0])["file"]["url_private_download"]
    slack.delete_file(posted.files[0])

    assert _get(url, slack.token)[0] == 404
    assert _get(url.replace(posted.files[0], "F99999999"), slack.token)[0] == 404
    with pytest.raises(SlackApiError, match="file_deleted"):
        client.files_info(file=posted.files[0])
    [message] = client.conversations_history(channel=posted.channel)["messages"]
    assert message["files"] == [{"id": posted.files[0], "mode": "tombstone"}]


def test_download_faults_are_scripted_like_any_method(slack, client):
    posted = slack.post_file(HEAD["name"], f"#{TOURISM}", "観光課.xlsx", WORKBOOK)
    url = client.files_info(file=posted.files[0])["file"]["url_private_download"]
    slack.rate_limit("download", retry_after=0)

    with pytest.raises(HTTPError) as refused:
        urlopen(Request(url, headers={"Authorization": f"Bearer {slack.token}"}))
    assert (refused.value.code, refused.value.headers["Retry-After"]) == (429, "0")
    assert _get(url, slack.token) == (200, XLSX, WORKBOOK)
    assert [r.fault for r in slack.requests("download")] == ["rate_limit", None]
    assert len(slack.downloads(posted.files[0])) == 1


def test_chat_get_permalink_links_messages_and_thread_replies(slack, notifier, client):
    receipt = notifier.post(f"#{TOURISM}", "依頼", key="k1")
    reply = slack.post_reply(HEAD["name"], f"#{TOURISM}", "了解です", thread_ts=receipt.ts)
    channel = receipt.channel

    top = client.chat_getPermalink(channel=channel, message_ts=receipt.ts)
    threaded = client.chat_getPermalink(channel=channel, message_ts=reply.ts)

    archive = f"{slack.root_url}/archives/{channel}/p"
    assert (top["channel"], top["permalink"]) == (channel, archive + receipt.ts.replace(".", ""))
    assert threaded["permalink"] == f"{archive}{reply.ts.replace('.', '')}?thread_ts={receipt.ts}&cid={channel}"
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_getPermalink(channel=channel, message_ts="1700000000.000001")


def test_users_info_names_the_poster(slack, client):
    head = slack.user_id(HEAD["name"])

    user = client.users_info(user=head)["user"]

    assert (user["id"], user["name"], user["profile"]["email"]) == (head, HEAD["name"], HEAD["email"])
    assert client.users_info(user=slack.bot_user_id)["user"]["is_bot"] is True
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U99999999")


def test_the_bots_messages_and_uploads_carry_its_user_and_bot_id(slack, notifier, client, tmp_path):
    workbook = tmp_path / "様式.xlsx"
    workbook.write_bytes(WORKBOOK)
    receipt = notifier.post(f"#{TOURISM}", "依頼", key="k1")
    uploaded = client.files_upload_v2(channel=receipt.channel, file=str(workbook), thread_ts=receipt.ts)

    assert client.auth_test()["user_id"] == slack.bot_user_id == "U00000000"
    assert [(m.user, m.bot_id) for m in slack.messages] == [("U00000000", "B00000001")] * 2
    [parent, reply] = client.conversations_replies(channel=receipt.channel, ts=receipt.ts)["messages"]
    assert (parent["bot_id"], reply["bot_id"], reply["user"]) == ("B00000001", "B00000001", "U00000000")
    assert reply["files"][0]["id"] == uploaded["file"]["id"]
    file = client.files_info(file=uploaded["file"]["id"])["file"]
    assert (file["user"], file["size"], file["channels"]) == ("U00000000", len(WORKBOOK), [receipt.channel])


def test_a_file_posted_to_a_person_lands_in_the_bots_direct_messages_with_them(slack, notifier, client):
    head = slack.user_id(HEAD["email"])
    dm = client.conversations_open(users=head)["channel"]["id"]

    posted = slack.post_file(f"@{HEAD['name']}", f"@{HEAD['name']}", "観光課.xlsx", WORKBOOK)
    notifier.post(HEAD["email"], "受け取りました", key="k1")

    assert posted.channel == dm == slack.channel_id(HEAD["email"]) and posted.conversation == f"@{HEAD['name']}"
    history = client.conversations_history(channel=dm)["messages"]
    assert [(m["text"], m["user"]) for m in history] == [("受け取りました", "U00000000"), ("", head)]
    assert client.files_info(file=posted.files[0])["file"]["ims"] == [dm]


def test_posting_as_an_unknown_user_into_an_unknown_place_or_thread_is_refused(slack, notifier):
    receipt = notifier.post(f"#{REVIEW}", "別チャンネル", key="k1")
    someone = slack.add_user("someone")

    with pytest.raises(ValueError, match="user"):
        slack.post_file("@nobody", f"#{TOURISM}", "a.xlsx", b"x")
    with pytest.raises(ValueError, match="conversation"):
        slack.post_reply(HEAD["name"], "#no-such-channel", "x")
    with pytest.raises(ValueError, match="reply to"):
        slack.post_file(HEAD["name"], f"#{TOURISM}", "a.xlsx", b"x", thread_ts=receipt.ts)
    with pytest.raises(ValueError, match="direct messages"):
        slack.post_reply(someone, f"@{HEAD['name']}", "x")
    assert len(slack.messages) == 1 and slack.files == {}


def test_the_server_accepts_a_burst_of_parallel_clients(slack):
    assert slack._server.request_queue_size >= 128
    channel = slack.channel_id(f"#{TOURISM}")
    slack.post_reply(HEAD["name"], channel, "一通")

    def history(_):
        return WebClient(token=slack.token, base_url=slack.base_url).conversations_history(channel=channel)

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(history, range(64)))
    assert {len(a["messages"]) for a in answers} == {1}


def test_replies_apply_oldest_to_the_parent_too_and_page_oldest_first(slack, notifier, client):
    receipt = notifier.post(f"#{TOURISM}", "依頼", key="k1")
    replies = [slack.post_reply(HEAD["name"], f"#{TOURISM}", f"{i}", thread_ts=receipt.ts) for i in range(3)]

    windowed = client.conversations_replies(channel=receipt.channel, ts=receipt.ts, oldest=receipt.ts)
    assert [m["ts"] for m in windowed["messages"]] == [r.ts for r in replies]
    pages = [[m["ts"] for m in page["messages"]]
             for page in client.conversations_replies(channel=receipt.channel, ts=receipt.ts, limit=3)]
    assert pages == [[receipt.ts, replies[0].ts, replies[1].ts], [replies[2].ts]]
    with pytest.raises(SlackApiError, match="invalid_cursor"):
        client.conversations_replies(channel=receipt.channel, ts=receipt.ts, cursor="not-a-cursor")
