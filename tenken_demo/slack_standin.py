"""A local stand-in of the Slack Web API, for tests that run the real slack-sdk over real HTTP.

    with SlackStandIn(channels=["tenken-tourism"], users=[{"name": "tourism-head", "email": "t@example.jp"}]) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
        monkeypatch.setenv("TENKEN_SLACK_BASE_URL", slack.base_url)
        ...                                    # code under test sends
        assert [m.key for m in slack.messages_to("#tenken-tourism")] == [...]

The bot's side: auth.test, chat.postMessage, conversations.open, conversations.list, users.list,
users.lookupByEmail, files.getUploadURLExternal, the upload URL it hands out (/upload/<file_id>)
and files.completeUploadExternal. Messages the bot posts carry user "U00000000" (auth.test's
user_id, also `bot_user_id`) and bot_id "B00000001".

The departments' side is played from Python, not over HTTP:

    parent = slack.post_reply("@tourism-head", "#tenken-tourism", "提出します")
    slack.post_file("tourism-head@example.jp", "#tenken-tourism", "点検表.xlsx", data, thread_ts=parent.ts)
    slack.post_file("@tourism-head", "@tourism-head", "点検表.xlsx", data)   # into the bot's DM with them

and the bot collects with the read methods, answered like Slack:

  conversations.history   top-level messages only (no thread replies), newest first; oldest/latest are
                          exclusive unless inclusive; cursor pagination with has_more.
  conversations.replies   the parent, then its replies oldest first. ts may be the parent's or a reply's
                          (both give the whole thread). oldest/latest apply to every message, the parent
                          included: a window that leaves the parent out returns the replies alone. The parent
                          is an ordinary item for pagination, so it is on the first page only.
  files.info, chat.getPermalink, users.info.

Message items carry type, ts, text, user, bot_id (bot messages), metadata (include_all_metadata),
files + upload + subtype "file_share" (messages with files), thread_ts + reply_count + reply_users +
reply_users_count + latest_reply (thread parents), thread_ts + parent_user_id (replies). A deleted
file shows as {"id": ..., "mode": "tombstone"}. Cursors are Slack-shaped (base64 "next_ts:<ts>").

A file object's url_private_download (GET /files-pri/T00000001-<file_id>/download/<name>) serves the
bytes to "Authorization: Bearer <bot token>" and, as Slack does, a 200 text/html sign-in page to a
missing or wrong token; an unknown file is 404. Downloads are recorded under the method "download".

Every request is recorded, faulted or not. Faults are scripted per method ("upload" and "download"
for the file URLs) and consumed in order, e.g.

    slack.rate_limit("chat.postMessage", times=1, retry_after=0)   # next call: 429 Retry-After 0
    slack.server_error("chat.postMessage", times=None, after=3)    # 3 calls succeed, then 500 forever
    slack.drop_connection("upload")                                 # close the socket, no response

A dropped request is read in full and recorded but has no effect: nothing is posted or stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

UPLOAD = "upload"
CONTROL = "/_standin/"
DOWNLOAD = "download"
TEAM_ID = "T00000001"
BOT_USER_ID = "U00000000"
BOT_ID = "B00000001"

_FILE_TYPES = {  # extension: (mimetype, Slack's filetype)
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("text/csv", "csv"),
}
_BINARY = ("application/octet-stream", "binary")
_SIGN_IN_PAGE = (
    b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Slack</title></head>'
    b"<body><h1>Sign in to Slack</h1><p>You need to sign in to your workspace to see this file.</p></body></html>"
)


@dataclass(frozen=True)
class RecordedRequest:
    method: str  # the API method ("chat.postMessage"), or "upload" / "download" for the file URLs
    params: dict[str, Any]  # query string, form fields and JSON body merged ({"file": id} for a download)
    headers: dict[str, str]
    body: bytes
    time: float
    fault: str | None  # "rate_limit", "server_error" or "drop" when a scripted fault answered


@dataclass(frozen=True)
class Message:
    channel: str  # conversation ID
    conversation: str  # "#name" for a channel, "@name" for a direct message with that user
    ts: str
    text: str
    metadata: dict | None = None
    files: tuple[str, ...] = ()
    thread_ts: str | None = None
    user: str | None = None  # who posted it (BOT_USER_ID for the bot)
    bot_id: str | None = None  # BOT_ID when the bot posted it

    @property
    def key(self) -> str | None:
        """The idempotency key tenken puts in the message metadata."""
        return ((self.metadata or {}).get("event_payload") or {}).get("key")

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)  # every conversation it was shared into, DMs included
    user: str | None = None  # the uploader (BOT_USER_ID for the bot)
    created: int = 0

    @property
    def mimetype(self) -> str:
        return _FILE_TYPES.get(self.filename.rpartition(".")[2].lower(), _BINARY)[0]

    @property
    def filetype(self) -> str:
        return _FILE_TYPES.get(self.filename.rpartition(".")[2].lower(), _BINARY)[1]


@dataclass
class _Fault:
    kind: str  # "pass" lets calls through
    remaining: int | None  # None: forever
    status: int = 0
    retry_after: int = 0


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many parallel clients must not be refused
    daemon_threads = True


class SlackStandIn:
    def __init__(
        self,
        *,
        token: str = "xoxb-standin-token",
        channels: Iterable[str] = (),
        users: Iterable[Mapping[str, str]] = (),
        max_page_size: int = 1000,
    ):
        self.token = token
        self.max_page_size = max_page_size
        self._lock = threading.RLock()
        self._serial = 0
        self._last_ts_us = 0
        self._channels: dict[str, dict] = {}
        self._channel_by_name: dict[str, str] = {}
        self._dm_by_user: dict[str, str] = {}
        self._users: dict[str, dict] = {}
        self._user_by_email: dict[str, str] = {}
        self._user_by_handle: dict[str, str] = {}
        self._messages: list[Message] = []
        self._by_channel: dict[str, list[Message]] = {}
        self._by_ts: dict[tuple[str, str], Message] = {}
        self._replies: dict[tuple[str, str], list[Message]] = {}  # (channel, parent ts) -> replies, oldest first
        self._files: dict[str, UploadedFile] = {}
        self._deleted_files: set[str] = set()
        self._requests: list[RecordedRequest] = []
        self._downloads: list[RecordedRequest] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for name in channels:
            self.add_channel(name)
        for user in users:
            self.add_user(**user)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, port: int = 0) -> SlackStandIn:
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        # A short poll keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="slack-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """What TENKEN_SLACK_BASE_URL (or WebClient's base_url) should be."""
        return f"{self.root_url}/api/"

    @property
    def env(self) -> dict[str, str]:
        """The environment that points tenken at this stand-in."""
        return {"SLACK_BOT_TOKEN": self.token, "TENKEN_SLACK_BASE_URL": self.base_url}

    @property
    def bot_user_id(self) -> str:
        """The bot's user ID: auth.test's user_id, and the `user` of every message the bot posts."""
        return BOT_USER_ID

    # -- the workspace -----------------------------------------------------------------------

    def add_channel(self, name: str) -> str:
        with self._lock:
            channel_id = self._new_id("C")
            self._channels[channel_id] = {"id": channel_id, "name": name.lstrip("#"), "is_channel": True,
                                          "is_im": False, "is_private": False, "is_archived": False}
            self._channel_by_name.setdefault(name.lstrip("#"), channel_id)
            return channel_id

    def add_user(self, name: str, email: str | None = None, display_name: str | None = None) -> str:
        with self._lock:
            user_id = self._new_id("U")
            self._users[user_id] = {"id": user_id, "name": name.lstrip("@"), "deleted": False, "is_bot": False,
                                    "profile": {"display_name": display_name or "", "email": email}}
            if email:
                self._user_by_email.setdefault(email, user_id)
            for handle in (name.lstrip("@"), display_name):
                if handle:
                    self._user_by_handle.setdefault(handle, user_id)
            return user_id

    def user_id(self, user: str) -> str:
        """A user's ID from their ID, name ('@name' or 'name', or display name) or e-mail; ValueError if none."""
        with self._lock:
            found = self._find_user(user)
            if found is None:
                raise ValueError(f"no such user in the Slack stand-in: {user!r}")
            return found["id"]

    def channel_id(self, conversation: str) -> str:
        """A conversation's ID from '#name' or its ID; '@name', a user ID or an e-mail give (and open) the
        bot's direct-message conversation with that user. ValueError if there is none."""
        with self._lock:
            channel_id = self._conversation_for(conversation, open_dm=True)
            if channel_id is None:
                raise ValueError(f"no such conversation in the Slack stand-in: {conversation!r}")
            return channel_id

    def post_file(self, user: str, conversation: str, filename: str, content: bytes, *,
                  thread_ts: str | None = None, text: str = "", title: str | None = None) -> Message:
        """`user` uploads a file into `conversation` ('#name', a conversation ID, or '@name' / user ID /
        e-mail for the bot's DM with that user), optionally as a reply in the thread of `thread_ts`."""
        with self._lock:
            poster, channel_id, thread_ts = self._posting(user, conversation, thread_ts)
            file_id = self._new_id("F")
            self._files[file_id] = UploadedFile(id=file_id, filename=filename, length=len(content),
                                                title=title or filename, content=bytes(content),
                                                channels=[channel_id], user=poster, created=int(time.time()))
            return self._add_message(Message(channel=channel_id, conversation=self._conversation_label(channel_id),
                                             ts=self._ts(), text=text, files=(file_id,), thread_ts=thread_ts,
                                             user=poster))

    def post_reply(self, user: str, conversation: str, text: str, *, thread_ts: str | None = None) -> Message:
        """`user` posts a plain text message into `conversation` (as post_file), in a thread if given."""
        with self._lock:
            if not text:
                raise ValueError("a message needs text")
            poster, channel_id, thread_ts = self._posting(user, conversation, thread_ts)
            return self._add_message(Message(channel=channel_id, conversation=self._conversation_label(channel_id),
                                             ts=self._ts(), text=text, thread_ts=thread_ts, user=poster))

    def transcript(self) -> str:
        """Every conversation as a person would read it: messages in order, replies under their thread."""
        with self._lock:
            lines = ["Slack stand-in（Slack の代役）の会話記録", ""]
            by_conversation: dict[str, list[Message]] = {}
            for message in self._messages:
                by_conversation.setdefault(message.conversation, []).append(message)
            names = {u["id"]: u["name"] for u in self._users.values()}
            for conversation, messages in by_conversation.items():
                lines += ["=" * 72, conversation, "=" * 72]
                for message in messages:
                    who = "tenken" if message.bot_id else names.get(message.user or "", message.user or "?")
                    indent = "    " if message.thread_ts and message.thread_ts != message.ts else ""
                    files = ", ".join(self._files[f].filename for f in message.files if f in self._files)
                    lines.append(f"{indent}[{message.ts}] {who}" + (f"  添付: {files}" if files else ""))
                    lines += [indent + "  " + line for line in message.text.splitlines()]
                    lines.append("")
            return "\n".join(lines)

    def _control(self, action: str, body: bytes) -> tuple[int, dict]:
        """The workspace's people, driven over HTTP by another process (the deployed demo's departments):
        POST /_standin/post_file {user, conversation, filename, content (base64), thread_ts, text},
        /_standin/post_reply {user, conversation, text, thread_ts}, /_standin/transcript (the
        conversations as text), /_standin/messages (every message), /_standin/calls (API calls so far,
        by method) and /_standin/slow {method, seconds}. Not part of Slack's API."""
        try:
            given = json.loads(body or b"{}")
            if action == "post_file":
                message = self.post_file(given["user"], given["conversation"], given["filename"],
                                         base64.b64decode(given["content"]), thread_ts=given.get("thread_ts"),
                                         text=given.get("text") or "")
            elif action == "transcript":
                return 200, {"ok": True, "text": self.transcript()}
            elif action == "slow":
                self.slow(given["method"], float(given["seconds"]))
                return 200, {"ok": True}
            elif action == "messages":
                return 200, {"ok": True, "messages": [
                    {"conversation": m.conversation, "channel": m.channel, "ts": m.ts, "thread_ts": m.thread_ts,
                     "key": m.key, "kind": ((m.metadata or {}).get("event_payload") or {}).get("kind"),
                     "text": m.text, "user": m.user, "files": list(m.files)} for m in self.messages]}
            elif action == "calls":
                return 200, {"ok": True, "calls": dict(Counter(r.method for r in self.requests()))}
            elif action == "post_reply":
                message = self.post_reply(given["user"], given["conversation"], given["text"],
                                          thread_ts=given.get("thread_ts"))
            else:
                return 404, {"ok": False, "error": "unknown_action"}
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"ok": False, "error": str(exc)}
        return 200, {"ok": True, "channel": message.channel, "ts": message.ts, "files": list(message.files)}

    def delete_file(self, file_id: str) -> None:
        """The file is gone: files.info says file_deleted, downloads are 404, messages show a tombstone."""
        with self._lock:
            if self._files.pop(file_id, None) is None:
                raise ValueError(f"no such file in the Slack stand-in: {file_id!r}")
            self._deleted_files.add(file_id)

    def _posting(self, user: str, conversation: str, thread_ts: str | None) -> tuple[str, str, str | None]:
        poster = self.user_id(user)
        channel_id = self._conversation_for(conversation, open_dm=True)
        if channel_id is None:
            raise ValueError(f"no such conversation in the Slack stand-in: {conversation!r}")
        channel = self._channels[channel_id]
        if channel["is_im"] and channel["user"] != poster:
            raise ValueError(f"{user!r} cannot post into the bot's direct messages with someone else")
        if thread_ts is not None:
            parent = self._by_ts.get((channel_id, thread_ts))
            if parent is None:
                raise ValueError(f"no message {thread_ts!r} in {conversation!r} to reply to")
            thread_ts = parent.thread_ts or parent.ts  # a reply's ts means its thread, as in Slack's clients
        return poster, channel_id, thread_ts

    # -- faults ------------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int | None = 1, *, retry_after: int = 0, after: int = 0) -> None:
        self._script(method, after, _Fault("rate_limit", times, status=429, retry_after=retry_after))

    def server_error(self, method: str, times: int | None = 1, *, status: int = 500, after: int = 0) -> None:
        self._script(method, after, _Fault("server_error", times, status=status))

    def drop_connection(self, method: str, times: int | None = 1, *, after: int = 0) -> None:
        self._script(method, after, _Fault("drop", times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delays.clear()

    def slow(self, method: str, seconds: float) -> None:
        """Every call of `method` from now on is answered `seconds` late (0: on time again)."""
        with self._lock:
            self._delays[method] = seconds

    def _script(self, method: str, after: int, fault: _Fault) -> None:
        with self._lock:
            queue = self._faults.setdefault(method, [])
            if after:
                queue.append(_Fault("pass", after))
            queue.append(fault)

    def _next_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method, [])
            while queue and queue[0].remaining == 0:
                queue.pop(0)
            if not queue:
                return None
            step = queue[0]
            if step.remaining is not None:
                step.remaining -= 1
            return None if step.kind == "pass" else step

    # -- what happened -----------------------------------------------------------------------

    def requests(self, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if method is None or r.method == method]

    def downloads(self, file_id: str | None = None) -> list[RecordedRequest]:
        """The downloads that were answered with the file's bytes."""
        with self._lock:
            return [r for r in self._downloads if file_id is None or r.params.get("file") == file_id]

    @property
    def messages(self) -> list[Message]:
        """Every message delivered (posted by the bot or a user, or shared with an upload), oldest first."""
        with self._lock:
            return list(self._messages)

    def messages_to(self, target: str) -> list[Message]:
        """Messages in one conversation: '#name', '@name', an e-mail, or a channel/user ID."""
        with self._lock:
            channel_id = self._conversation_for(target, open_dm=False)
            return list(self._by_channel.get(channel_id, [])) if channel_id is not None else []

    @property
    def files(self) -> dict[str, UploadedFile]:
        with self._lock:
            return dict(self._files)

    # -- the API -----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08d}"

    def _ts(self) -> str:
        """The clock in microseconds, strictly increasing: unique and ordered like Slack's."""
        self._serial += 1
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _add_message(self, message: Message) -> Message:
        self._messages.append(message)
        self._by_channel.setdefault(message.channel, []).append(message)
        self._by_ts[(message.channel, message.ts)] = message
        if message.is_reply:
            self._replies.setdefault((message.channel, message.thread_ts), []).append(message)
        return message

    def _user_by(self, field_name: str, value: str) -> dict | None:
        index = self._user_by_email if field_name == "email" else self._user_by_handle
        user_id = index.get(value)
        return self._users[user_id] if user_id is not None else None

    def _find_user(self, target: str) -> dict | None:
        if target in self._users:
            return self._users[target]
        if target.startswith("@"):
            return self._user_by("handle", target[1:])
        if "@" in target:
            return self._user_by("email", target)
        return self._user_by("handle", target)

    def _conversation_for(self, target: str, *, open_dm: bool) -> str | None:
        if target in self._channels:
            return target
        if target.startswith("#"):
            return self._channel_by_name.get(target[1:])
        if target.startswith("@"):
            user = self._user_by("handle", target[1:])
        elif "@" in target:
            user = self._user_by("email", target)
        else:
            user = self._users.get(target)
        if user is None:
            return None
        dm = self._dm_by_user.get(user["id"])
        if dm is None and open_dm:
            dm = self._new_id("D")
            self._channels[dm] = {"id": dm, "is_im": True, "user": user["id"]}
            self._dm_by_user[user["id"]] = dm
        return dm

    def _conversation_label(self, channel_id: str) -> str:
        channel = self._channels[channel_id]
        return f"@{self._users[channel['user']]['name']}" if channel["is_im"] else f"#{channel['name']}"

    def _page(self, items: list[dict], params: dict, field_name: str) -> dict:
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 100), self.max_page_size)
        end = start + limit
        return {"ok": True, field_name: items[start:end],
                "response_metadata": {"next_cursor": str(end) if end < len(items) else ""}}

    def _dispatch(self, method: str, params: dict, headers: Mapping[str, str]) -> dict:
        token = self._bearer(headers) or params.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return handler(params)

    @staticmethod
    def _bearer(headers: Mapping[str, str]) -> str:
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        return value.removeprefix("Bearer ").strip()

    # -- objects as the API shows them -------------------------------------------------------

    def _file_url(self, file_id: str, name: str, *, download: bool) -> str:
        return f"{self.root_url}/files-pri/{TEAM_ID}-{file_id}/{'download/' if download else ''}{quote(name, safe='')}"

    def _file_json(self, f: UploadedFile) -> dict:
        shared = [self._channels[c] for c in dict.fromkeys(f.channels) if c in self._channels]
        return {"id": f.id, "created": f.created, "timestamp": f.created, "name": f.filename,
                "title": f.title or f.filename, "mimetype": f.mimetype, "filetype": f.filetype,
                "user": f.user, "size": len(f.content) if f.content is not None else f.length,
                "mode": "hosted", "is_external": False, "is_public": any(not c["is_im"] and not c["is_private"]
                                                                         for c in shared),
                "url_private": self._file_url(f.id, f.filename, download=False),
                "url_private_download": self._file_url(f.id, f.filename, download=True),
                "permalink": f"{self.root_url}/files/{f.user}/{f.id}/{quote(f.filename, safe='')}",
                "channels": [c["id"] for c in shared if not c["is_im"] and not c["is_private"]],
                "groups": [c["id"] for c in shared if not c["is_im"] and c["is_private"]],
                "ims": [c["id"] for c in shared if c["is_im"]]}

    def _message_json(self, m: Message, *, with_metadata: bool) -> dict:
        item: dict[str, Any] = {"type": "message", "ts": m.ts, "text": m.text}
        if m.user:
            item["user"] = m.user
        if m.bot_id:
            item["bot_id"] = m.bot_id
        if m.files:
            item["subtype"] = "file_share"
            item["upload"] = True
            item["files"] = [self._file_json(self._files[f]) if f in self._files else {"id": f, "mode": "tombstone"}
                             for f in m.files]
        replies = self._replies.get((m.channel, m.ts))
        if m.is_reply:
            parent = self._by_ts.get((m.channel, m.thread_ts))
            item["thread_ts"] = m.thread_ts
            if parent is not None and parent.user:
                item["parent_user_id"] = parent.user
        elif replies:
            users = list(dict.fromkeys(r.user for r in replies if r.user))
            item.update(thread_ts=m.ts, reply_count=len(replies), reply_users=users[:5],
                        reply_users_count=len(users), latest_reply=replies[-1].ts)
        if with_metadata and m.metadata:
            item["metadata"] = m.metadata
        return item

    def _timeline(self, messages: list[Message], params: dict, *, default_limit: int,
                  newest_first: bool) -> dict:
        """A page of messages within oldest/latest, with Slack's next_ts cursors."""
        inclusive = _true(params.get("inclusive"))
        bounds = []
        for name in ("oldest", "latest"):
            value = params.get(name)
            try:
                bounds.append(Decimal(str(value)) if value not in (None, "") else None)
            except InvalidOperation:
                return {"ok": False, "error": f"invalid_ts_{name}"}
        oldest, latest = bounds

        def within(ts: Decimal) -> bool:
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                return False
            return latest is None or ts < latest or (ts == latest and inclusive)

        found = [(Decimal(m.ts), m) for m in messages]
        found = [(ts, m) for ts, m in found if within(ts)]
        start = 0
        if params.get("cursor"):
            try:
                raw = base64.b64decode(str(params["cursor"]), validate=True).decode("ascii")
                digits = raw.removeprefix("next_ts:")
                if not raw.startswith("next_ts:") or not digits.isdigit():
                    raise ValueError(raw)
                at = Decimal(digits) / 1_000_000
            except (ValueError, binascii.Error, UnicodeDecodeError):
                return {"ok": False, "error": "invalid_cursor"}
            start = next((i for i, (ts, _) in enumerate(found) if (ts <= at if newest_first else ts >= at)),
                         len(found))
        try:
            limit = min(int(params.get("limit") or default_limit), self.max_page_size)
        except ValueError:
            return {"ok": False, "error": "invalid_limit"}
        page, rest = found[start:start + max(limit, 1)], found[start + max(limit, 1):]
        with_metadata = _true(params.get("include_all_metadata"))
        next_cursor = base64.b64encode(f"next_ts:{rest[0][1].ts.replace('.', '')}".encode()).decode() if rest else ""
        return {"ok": True, "messages": [self._message_json(m, with_metadata=with_metadata) for _, m in page],
                "has_more": bool(rest), "response_metadata": {"next_cursor": next_cursor}}

    # -- methods -----------------------------------------------------------------------------

    def _api_auth_test(self, params: dict) -> dict:
        return {"ok": True, "url": f"{self.root_url}/", "team": "tenken-standin", "user": "tenken",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    def _api_chat_postMessage(self, params: dict) -> dict:
        channel_id = self._conversation_for(str(params.get("channel") or ""), open_dm=True)
        if channel_id is None:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = self._add_message(Message(
            channel=channel_id, conversation=self._conversation_label(channel_id), ts=self._ts(),
            text=params.get("text") or "", metadata=metadata, thread_ts=params.get("thread_ts") or None,
            user=BOT_USER_ID, bot_id=BOT_ID))
        return {"ok": True, "channel": channel_id, "ts": message.ts,
                "message": {"type": "message", "text": message.text, "ts": message.ts, "metadata": metadata,
                            "user": BOT_USER_ID, "bot_id": BOT_ID,
                            **({"thread_ts": message.thread_ts} if message.thread_ts else {})}}

    def _api_chat_getPermalink(self, params: dict) -> dict:
        channel_id = str(params.get("channel") or "")
        if channel_id not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self._by_ts.get((channel_id, str(params.get("message_ts") or "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        permalink = f"{self.root_url}/archives/{channel_id}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            permalink += f"?thread_ts={message.thread_ts}&cid={channel_id}"
        return {"ok": True, "channel": channel_id, "permalink": permalink}

    def _api_conversations_history(self, params: dict) -> dict:
        """Top-level messages only, newest first, like Slack; metadata only with include_all_metadata."""
        channel_id = str(params.get("channel") or "")
        if channel_id not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        top_level = [m for m in reversed(self._by_channel.get(channel_id, [])) if not m.is_reply]
        return self._timeline(top_level, params, default_limit=100, newest_first=True)

    def _api_conversations_replies(self, params: dict) -> dict:
        """The thread's parent then its replies, oldest first; oldest/latest apply to the parent too."""
        channel_id = str(params.get("channel") or "")
        if channel_id not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self._by_ts.get((channel_id, str(params.get("ts") or "")))
        if message is None:
            return {"ok": False, "error": "thread_not_found"}
        if message.is_reply and (channel_id, message.thread_ts) in self._by_ts:
            message = self._by_ts[(channel_id, message.thread_ts)]
        thread = [message, *self._replies.get((channel_id, message.ts), [])]
        return self._timeline(thread, params, default_limit=1000, newest_first=False)

    def _api_conversations_open(self, params: dict) -> dict:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if len(users) != 1 or users[0] not in self._users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self._conversation_for(users[0], open_dm=True)}}

    def _api_conversations_list(self, params: dict) -> dict:
        channels = [c for c in self._channels.values() if not c["is_im"]]
        return self._page(channels, params, "channels")

    def _api_users_list(self, params: dict) -> dict:
        return self._page(list(self._users.values()), params, "members")

    def _api_users_info(self, params: dict) -> dict:
        user_id = str(params.get("user") or "")
        if user_id == BOT_USER_ID:
            return {"ok": True, "user": {"id": BOT_USER_ID, "name": "tenken", "deleted": False, "is_bot": True,
                                         "profile": {"display_name": "tenken", "bot_id": BOT_ID}}}
        user = self._users.get(user_id)
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _api_users_lookupByEmail(self, params: dict) -> dict:
        user = self._user_by("email", str(params.get("email") or ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}

    def _api_files_info(self, params: dict) -> dict:
        file_id = str(params.get("file") or "")
        if file_id in self._deleted_files:
            return {"ok": False, "error": "file_deleted"}
        uploaded_file = self._files.get(file_id)
        if uploaded_file is None or uploaded_file.content is None:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": self._file_json(uploaded_file)}

    def _api_files_getUploadURLExternal(self, params: dict) -> dict:
        if not params.get("filename") or not str(params.get("length") or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._new_id("F")
        self._files[file_id] = UploadedFile(id=file_id, filename=params["filename"], length=int(params["length"]),
                                            user=BOT_USER_ID, created=int(time.time()))
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.root_url}/upload/{file_id}"}

    def _api_files_completeUploadExternal(self, params: dict) -> dict:
        entries = params.get("files")
        if isinstance(entries, str):
            entries = json.loads(entries)
        if not entries:
            return {"ok": False, "error": "invalid_arguments"}
        uploaded = [self._files.get(entry.get("id")) for entry in entries]
        if any(f is None or f.content is None for f in uploaded):
            return {"ok": False, "error": "file_not_found"}
        targets = [params["channel_id"]] if params.get("channel_id") else \
            [c for c in str(params.get("channels") or "").split(",") if c]
        if any(c not in self._channels for c in targets):
            return {"ok": False, "error": "channel_not_found"}
        for entry, uploaded_file in zip(entries, uploaded):
            uploaded_file.title = entry.get("title") or uploaded_file.filename
            uploaded_file.channels.extend(targets)
        for channel_id in targets:
            self._add_message(Message(
                channel=channel_id, conversation=self._conversation_label(channel_id), ts=self._ts(),
                text=params.get("initial_comment") or "", files=tuple(f.id for f in uploaded),
                thread_ts=params.get("thread_ts") or None, user=BOT_USER_ID, bot_id=BOT_ID))
        return {"ok": True, "files": [self._file_json(f) for f in uploaded]}

    # -- the file URLs -----------------------------------------------------------------------

    def _receive_upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            uploaded_file = self._files.get(file_id)
            if uploaded_file is None:
                return 404, "no such upload"
            uploaded_file.content = body
            return 200, f"OK - {len(body)}"

    def _serve_download(self, request: RecordedRequest) -> tuple[int, str, bytes, dict[str, str]]:
        """Slack answers a missing or wrong token with its sign-in page, not with an error status."""
        with self._lock:
            if self._bearer(request.headers) != self.token:
                return 200, "text/html; charset=utf-8", _SIGN_IN_PAGE, {}
            uploaded_file = self._files.get(request.params.get("file") or "")
            if uploaded_file is None or uploaded_file.content is None:
                return 404, "text/plain; charset=utf-8", b"file not found", {}
            self._downloads.append(request)
            disposition = f"attachment; filename*=UTF-8''{quote(uploaded_file.filename, safe='')}"
            return 200, uploaded_file.mimetype, uploaded_file.content, {"Content-Disposition": disposition}


def _true(value: Any) -> bool:
    return str(value if value is not None else "").lower() in ("1", "true")


def _download_file_id(path: str) -> str:
    """/files-pri/T00000001-F00000007[/download]/name -> F00000007 ("" when the path is not one)."""
    team_and_file = path.removeprefix("/files-pri/").split("/", 1)[0]
    return team_and_file.removeprefix(f"{TEAM_ID}-") if team_and_file.startswith(f"{TEAM_ID}-") else ""


def _params(url_query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(url_query).items()}
    content_type = headers.get("Content-Type") or ""
    if content_type.startswith("application/json"):
        params.update(json.loads(body or b"{}"))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()})
    return params


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            url = urlsplit(self.path)
            headers = dict(self.headers.items())
            if url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
                params = _params(url.query, headers, body)
            elif url.path.startswith("/upload/"):
                method, params = UPLOAD, {}
            elif url.path.startswith("/files-pri/"):
                method = DOWNLOAD
                params = {**_params(url.query, {}, b""), "file": _download_file_id(url.path)}
            elif url.path.startswith(CONTROL):
                self._json(*standin._control(url.path.removeprefix(CONTROL), body))
                return
            else:
                self._reply(404, "text/plain", b"not found")
                return
            fault = standin._next_fault(method)
            if delay := standin._delays.get(method):
                time.sleep(delay)
            record = RecordedRequest(method, params, headers, body, time.time(), fault.kind if fault else None)
            with standin._lock:
                standin._requests.append(record)
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return
            if fault is not None:
                extra = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
                error = "ratelimited" if fault.status == 429 else "internal_error"
                self._json(fault.status, {"ok": False, "error": error}, extra)
            elif method == UPLOAD:
                status, text = standin._receive_upload(url.path.removeprefix("/upload/"), body)
                self._reply(status, "text/plain; charset=utf-8", text.encode("utf-8"))
            elif method == DOWNLOAD:
                self._reply(*standin._serve_download(record))
            else:
                self._json(200, standin._dispatch(method, record.params, headers))

        do_GET = do_POST

        def _json(self, status: int, payload: dict, extra_headers: Mapping[str, str] | None = None) -> None:
            self._reply(status, "application/json; charset=utf-8",
                        json.dumps(payload, ensure_ascii=False).encode("utf-8"), extra_headers)

        def _reply(self, status: int, content_type: str, data: bytes,
                   extra_headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the recorded requests are the log."""

    return Handler


def workspace_for(*config_dirs: str | Path) -> SlackStandIn:
    """A stand-in workspace with every channel and person the plan folders name (departments.yaml and
    cycle.yaml), and one clerk per department (`<key>-clerk`, see clerk_of) who answers its requests.
    Several plan folders: one workspace for plans sharing a server (a department key two plans share has
    one clerk, who posts in either plan's channel)."""
    from tenken.config import load_cycle_settings, load_directory

    channels, users = set(), {}
    for config_dir in config_dirs:
        directory, settings = load_directory(Path(config_dir)), load_cycle_settings(Path(config_dir))
        recipients = [*directory.departments.values(), *directory.escalations.values(), *settings.review.reviewers,
                      settings.review.channel, settings.announce_channel, settings.office]
        for target in filter(None, (r.slack for r in recipients if r is not None)):
            if target.startswith("#"):
                channels.add(target[1:])
            elif target.startswith("@"):
                users.setdefault(target[1:], {"name": target[1:], "email": f"{target[1:]}@example.jp",
                                              "display_name": target[1:]})
        for key in directory.departments:
            users.setdefault(clerk_of(key), {"name": clerk_of(key), "email": f"{clerk_of(key)}@example.jp",
                                             "display_name": clerk_of(key)})
    return SlackStandIn(channels=sorted(channels), users=list(users.values()))


def clerk_of(department: str) -> str:
    """The stand-in workspace's person who submits for a department."""
    return f"{department}-clerk"


def main(argv: list[str] | None = None) -> None:
    """Serve a stand-in workspace for plan folders until stopped (scripts/stack.sh runs it for the demo)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tenken_demo.slack_standin", description=main.__doc__)
    parser.add_argument("--config", action="append", help="plan folder (channels and people come from it; default: "
                        "the bundled example); repeat it for several plans on one server")
    parser.add_argument("--port", type=int, default=4300)
    parser.add_argument("--token", default="xoxb-standin-token")
    options = parser.parse_args(argv)
    from tenken.resources import EXAMPLE_CONFIG

    workspace = workspace_for(*(options.config or [EXAMPLE_CONFIG]))
    workspace.token = options.token
    workspace.start(port=options.port)
    print(f"Slack stand-in (not Slack): {workspace.base_url} — SLACK_BOT_TOKEN={options.token}", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    workspace.stop()


if __name__ == "__main__":
    main()
