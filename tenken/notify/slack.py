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
from pathlib import Path
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import RetryIntervalCalculator
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


class SlackNotifier:
    """Posts messages and uploads files as the bot whose token it holds."""

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

    def check(self) -> str:
        auth = self._call("auth.test", None, self.client.auth_test)
        return f"Slack {auth.get('team', '')} as {auth.get('user', '')} ({self.client.base_url})"

    def post(self, target: str, text: str, *, key: str, kind: str = "message") -> Receipt:
        channel = self.channel_for(target)
        response = self._call("chat.postMessage", target, lambda: self.client.chat_postMessage(
            channel=channel,
            text=text,
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
        ))
        return Receipt(key=key, target=target, channel=channel, ts=None, file_id=response["file"]["id"])

    def find(self, target: str, key: str, *, scan: int = 1000) -> Receipt | None:
        """The message sent to `target` with this idempotency key, if Slack has it (recent history).

        Used after a crash between sending and recording: the key travels in the message metadata.
        """
        channel = self.channel_for(target)
        seen = 0
        for message in self._pages("conversations.history", "messages", target, self.client.conversations_history,
                                   channel=channel, include_all_metadata=True, limit=200):
            payload = ((message.get("metadata") or {}).get("event_payload") or {})
            if payload.get("key") == key:
                return Receipt(key=key, target=target, channel=channel, ts=message.get("ts"))
            seen += 1
            if seen >= scan:
                return None
        return None

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
