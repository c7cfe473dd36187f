"""Sending through the Slack Web API with slack-sdk.

Retries live here, in slack-sdk's retry handlers, and nowhere else: the Prefect tasks that call
this have no retries of their own, so one send is never multiplied by two retry layers. When the
handlers give up, a NotificationError says which call failed and why, and the flow run fails.

Destinations are resolved once per notifier and cached: channel names through
conversations.list, '@handles' through users.list, e-mail addresses through users.lookupByEmail,
and a user's direct-message channel through conversations.open.

An upload is files_upload_v2's three steps. The handlers cover the two API calls; slack-sdk posts
the bytes to the upload URL without retrying, and a failure there leaves nothing shared, so the
whole send can simply be made again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryIntervalCalculator, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web import SlackResponse

from tenken.notify.base import NotificationError, Receipt, Target, parse_target

DEFAULT_BASE_URL = "https://slack.com/api/"
METADATA_EVENT_TYPE = "tenken_notification"


@dataclass(frozen=True)
class PostedFile:
    """A file a person posted in a conversation, as Slack lists it (nothing here is read from the file)."""

    id: str
    name: str
    size: int
    user: str  # who posted it (Slack user ID)
    channel: str  # the conversation it was posted in
    ts: str  # the message it came with
    thread_ts: str | None  # the thread it was posted in (None: a top-level message)

    @property
    def thread(self) -> str:
        """The thread an answer goes to: the one it was posted in, or the one its message starts."""
        return self.thread_ts or self.ts


class SlackNotifier:
    """Posts messages and uploads files as the bot whose token it holds, and reads back what people
    post (the departments' files in their channels and threads)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        rate_limit_retries: int = 5,
        server_error_retries: int = 2,
        connection_retries: int = 2,
        retry_interval: RetryIntervalCalculator | None = None,
        timeout: int = 30,
    ):
        interval = retry_interval or BackoffRetryIntervalCalculator(backoff_factor=0.5)
        self._retries = {"rate_limit": rate_limit_retries, "server": server_error_retries,
                         "connection": connection_retries}
        self.client = WebClient(
            token=token,
            # WebClient joins method names onto the base URL, which therefore needs its final slash.
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=timeout,
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
                ServerErrorRetryHandler(max_retry_count=server_error_retries, interval_calculator=interval),
                ConnectionErrorRetryHandler(max_retry_count=connection_retries, interval_calculator=interval),
            ],
        )
        self._lock = threading.Lock()
        self._channels_by_name: dict[str, str] | None = None
        self._users_by_handle: dict[str, set[str]] | None = None
        self._users_by_email: dict[str, str] = {}
        self._direct_channels: dict[str, str] = {}
        self._token = token
        self._timeout = timeout
        self._bot_user: str | None = None
        self._bot_lock = threading.Lock()

    def check(self) -> str:
        auth = self._call("auth.test", None, self.client.auth_test)
        return f"Slack {auth.get('team', '')} as {auth.get('user', '')} ({self.client.base_url})"

    def post(self, target: str, text: str, *, key: str, kind: str = "message",
             thread_ts: str | None = None) -> Receipt:
        channel = self.channel_for(target)
        response = self._call("chat.postMessage", target, lambda: self.client.chat_postMessage(
            channel=channel,
            text=text,
            thread_ts=thread_ts,
            # The key travels with the message so that Slack itself shows what a message was sent for.
            metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": key, "kind": kind}},
            # Links point at drafts and the Prefect UI; previews of those would only be noise.
            unfurl_links=False,
            unfurl_media=False,
        ))
        return Receipt(key=key, target=target, channel=response["channel"], ts=response["ts"])

    def upload(
        self,
        target: str,
        path: str | Path,
        *,
        key: str,
        title: str | None = None,
        initial_comment: str | None = None,
        kind: str = "file",
        thread_ts: str | None = None,
    ) -> Receipt:
        path = Path(path)
        if not path.is_file():
            raise NotificationError(f"添付ファイルがありません: {path}", target=target)
        channel = self.channel_for(target)
        response = self._call("files_upload_v2", target, lambda: self.client.files_upload_v2(
            channel=channel,
            file=str(path),
            filename=path.name,
            title=title or path.name,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
        ))
        return Receipt(key=key, target=target, channel=channel, ts=None, file_id=response["file"]["id"])

    def find(self, target: str, key: str, *, thread_ts: str | None = None, scan: int = 1000) -> Receipt | None:
        """The message sent to `target` (in a thread, when given) with this idempotency key, if Slack
        has it (recent history). Used after a crash between sending and recording: the key travels in
        the message metadata."""
        channel = self.channel_for(target)
        seen = 0
        if thread_ts:
            listing = self._pages("conversations.replies", "messages", target, self.client.conversations_replies,
                                  channel=channel, ts=thread_ts, include_all_metadata=True, limit=200)
        else:
            listing = self._pages("conversations.history", "messages", target, self.client.conversations_history,
                                  channel=channel, include_all_metadata=True, limit=200)
        for message in listing:
            payload = ((message.get("metadata") or {}).get("event_payload") or {})
            if payload.get("key") == key:
                return Receipt(key=key, target=target, channel=channel, ts=message.get("ts"))
            seen += 1
            if seen >= scan:
                return None
        return None

    # ------------------------------------------------------------------ reading what people post

    def bot_user_id(self) -> str:
        with self._bot_lock:  # asked by several listing threads at once: one auth.test
            if self._bot_user is None:
                self._bot_user = self._call("auth.test", None, self.client.auth_test).get("user_id") or ""
            return self._bot_user

    def posted_files(self, channel: str, oldest: str | None = None) -> list[PostedFile]:
        """Every file people (not the bot) posted in a conversation since `oldest` (a message ts), in
        top-level messages and in the threads of top-level messages since then, oldest first."""
        bot = self.bot_user_id()
        found: list[PostedFile] = []
        history = {"channel": channel, "limit": 200, **({"oldest": oldest, "inclusive": True} if oldest else {})}
        for message in self._pages("conversations.history", "messages", channel, self.client.conversations_history,
                                   **history):
            found.extend(_files_of(message, channel, bot))
            if message.get("reply_count"):
                for reply in self._pages("conversations.replies", "messages", channel,
                                         self.client.conversations_replies, channel=channel, ts=message["ts"],
                                         limit=200):
                    if reply.get("ts") != message["ts"]:
                        found.extend(_files_of(reply, channel, bot))
        return sorted(found, key=lambda f: (float(f.ts), f.id))

    def file_info(self, file_id: str) -> dict:
        """files.info's file object (name, size, url_private_download, …)."""
        return self._call("files.info", file_id, lambda: self.client.files_info(file=file_id))["file"]

    def download(self, url: str, max_bytes: int) -> bytes:
        """A private file's bytes (at most `max_bytes` of them), with the bot token; 429 and 5xx are
        retried by the same slack-sdk handlers as every API call."""
        request = Request(url, headers={"Authorization": f"Bearer {self._token}"})
        described = HttpRequest(method="GET", url=url, headers={})
        state = RetryState()
        while True:
            response = error = None
            try:
                with urlopen(request, timeout=self._timeout) as answer:
                    kind = answer.headers.get("Content-Type", "")
                    data = answer.read(max_bytes)
                if kind.startswith("text/html") and b"<html" in data[:2000].lower():
                    # Slack answers an unauthorised download with its sign-in page, not an error.
                    raise NotificationError(
                        "Slack からファイルを取得できませんでした（サインイン画面が返りました）。"
                        "ボットのトークンと files:read 権限を確認してください。", target=url, api_method="download")
                return data
            except HTTPError as exc:
                error = exc
                response = HttpResponse(status_code=exc.code, headers=dict(exc.headers.items()))
            except (URLError, OSError) as exc:
                error = exc
            state.next_attempt_requested = False
            for handler in self.client.retry_handlers:
                if handler.can_retry(state=state, request=described, response=response, error=error):
                    handler.prepare_for_next_attempt(state=state, request=described, response=response, error=error)
                    break
            if not state.next_attempt_requested:
                status = f"HTTP {response.status_code}" if response is not None else repr(error)
                raise NotificationError(f"Slack からファイルを取得できませんでした（{status}、再試行の後）: {url}",
                                        target=url, api_method="download") from error

    def permalink(self, channel: str, ts: str) -> str | None:
        """The link a person clicks to open a message (its thread) in Slack."""
        response = self._call("chat.getPermalink", channel, lambda: self.client.chat_getPermalink(
            channel=channel, message_ts=ts))
        return response.get("permalink")

    def channel_for(self, target: str) -> str:
        """The conversation ID a target posts into (a user's target is the bot's DM with them)."""
        parsed = parse_target(target)
        if parsed.kind == "channel_id":
            return parsed.value
        if parsed.kind == "channel_name":
            return self._channel_named(parsed, target)
        return self._direct_channel(self._user_id(parsed, target), target)

    def _channel_named(self, parsed: Target, target: str) -> str:
        with self._lock:
            if self._channels_by_name is None:
                self._channels_by_name = {
                    c["name"]: c["id"]
                    for c in self._pages("conversations.list", "channels", target, self.client.conversations_list,
                                         types="public_channel,private_channel", exclude_archived=True, limit=1000)
                }
            channels = self._channels_by_name
        if parsed.value not in channels:
            raise NotificationError(
                f"Slack にチャンネル #{parsed.value} が見つかりません"
                "（名前と、ボットがそのチャンネルを見られるかを確認してください）",
                target=target, api_method="conversations.list")
        return channels[parsed.value]

    def _user_id(self, parsed: Target, target: str) -> str:
        if parsed.kind == "user_id":
            return parsed.value
        if parsed.kind == "email":
            return self._user_by_email(parsed.value, target)
        with self._lock:
            if self._users_by_handle is None:
                self._users_by_handle = {}
                for user in self._pages("users.list", "members", target, self.client.users_list, limit=200):
                    if user.get("deleted"):
                        continue
                    profile = user.get("profile") or {}
                    for handle in {user.get("name"), profile.get("display_name")} - {None, ""}:
                        self._users_by_handle.setdefault(handle, set()).add(user["id"])
            ids = self._users_by_handle.get(parsed.value, set())
        if len(ids) != 1:
            problem = "が見つかりません" if not ids else f"が {len(ids)} 人います"
            raise NotificationError(
                f"Slack にユーザー @{parsed.value} {problem}（ユーザー ID かメールアドレスでの指定を検討してください）",
                target=target, api_method="users.list")
        return next(iter(ids))

    def _user_by_email(self, email: str, target: str) -> str:
        with self._lock:
            if email in self._users_by_email:
                return self._users_by_email[email]
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise NotificationError(f"Slack にメールアドレス {email} のユーザーがいません",
                                        target=target, api_method="users.lookupByEmail") from None
            raise self._failure("users.lookupByEmail", target, exc) from exc
        except (URLError, OSError, SlackRequestError) as exc:
            raise self._failure("users.lookupByEmail", target, exc) from exc
        with self._lock:
            self._users_by_email[email] = response["user"]["id"]
        return response["user"]["id"]

    def _direct_channel(self, user_id: str, target: str) -> str:
        with self._lock:
            if user_id in self._direct_channels:
                return self._direct_channels[user_id]
        response = self._call("conversations.open", target, lambda: self.client.conversations_open(users=user_id))
        with self._lock:
            self._direct_channels[user_id] = response["channel"]["id"]
        return response["channel"]["id"]

    def _pages(self, api_method: str, field: str, target: str, fetch: Callable[..., SlackResponse],
               **params: Any) -> Iterator[dict]:
        cursor = None
        while True:
            page = self._call(api_method, target, lambda: fetch(cursor=cursor, **params))
            yield from page.get(field, [])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    def _call(self, api_method: str, target: str | None, send: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return send()
        except (SlackApiError, URLError, OSError, SlackRequestError) as exc:
            raise self._failure(api_method, target, exc) from exc

    def _failure(self, api_method: str, target: str | None, exc: Exception) -> NotificationError:
        where = f"Slack {api_method}" + (f"（宛先 {target}）" if target else "")
        if isinstance(exc, SlackApiError):
            status = exc.response.status_code
            if status == 429:
                why = f"レート制限（HTTP 429）が再試行 {self._retries['rate_limit']} 回の後も解除されませんでした"
            elif status in (500, 503):
                why = f"サーバーエラー（HTTP {status}）が再試行 {self._retries['server']} 回の後も続きました"
            elif status >= 500:
                why = f"サーバーエラー（HTTP {status}）"
            else:
                why = f"Slack が要求を拒否しました: {exc.response.get('error') or f'HTTP {status}'}"
        elif isinstance(exc, SlackRequestError):
            why = f"要求を完了できませんでした: {exc}"
        else:
            why = f"接続できませんでした（接続エラーの再試行は最大 {self._retries['connection']} 回）: {exc!r}"
        return NotificationError(f"{where} に失敗しました。{why}", target=target, api_method=api_method)


def _files_of(message: dict, channel: str, bot: str) -> list[PostedFile]:
    """The files of one message, unless the bot (or an integration) posted it."""
    user = message.get("user")
    if not user or user == bot or message.get("bot_id") or message.get("subtype") == "bot_message":
        return []
    thread = message.get("thread_ts")
    return [PostedFile(id=f["id"], name=str(f.get("name") or f.get("title") or f["id"]), size=int(f.get("size") or 0),
                       user=user, channel=channel, ts=message["ts"],
                       thread_ts=thread if thread and thread != message["ts"] else None)
            for f in message.get("files") or [] if f.get("id") and f.get("mode") != "tombstone"]
