"""A local stand-in of the Slack Web API, for tests that run the real slack-sdk over real HTTP.

    with SlackStandIn(channels=["tenken-tourism"], users=[{"name": "tourism-head", "email": "t@example.jp"}]) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
        monkeypatch.setenv("TENKEN_SLACK_BASE_URL", slack.base_url)
        ...                                    # code under test sends
        assert [m.key for m in slack.messages_to("#tenken-tourism")] == [...]

It serves the methods tenken uses: auth.test, chat.postMessage, conversations.open,
conversations.list, users.list, users.lookupByEmail, files.getUploadURLExternal, the upload URL
it hands out (/upload/<file_id>) and files.completeUploadExternal. Every request is recorded,
faulted or not. Faults are scripted per method and consumed in order, e.g.

    slack.rate_limit("chat.postMessage", times=1, retry_after=0)   # next call: 429 Retry-After 0
    slack.server_error("chat.postMessage", times=None, after=3)    # 3 calls succeed, then 500 forever
    slack.drop_connection("upload")                                 # close the socket, no response

A dropped request is read in full and recorded but has no effect: nothing is posted or stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

UPLOAD = "upload"


@dataclass(frozen=True)
class RecordedRequest:
    method: str  # the API method ("chat.postMessage"), or "upload" for the upload URL
    params: dict[str, Any]  # query string, form fields and JSON body merged
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

    @property
    def key(self) -> str | None:
        """The idempotency key tenken puts in the message metadata."""
        return ((self.metadata or {}).get("event_payload") or {}).get("key")


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)


@dataclass
class _Fault:
    kind: str  # "pass" lets calls through
    remaining: int | None  # None: forever
    status: int = 0
    retry_after: int = 0


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
        self._channels: dict[str, dict] = {}
        self._users: dict[str, dict] = {}
        self._messages: list[Message] = []
        self._files: dict[str, UploadedFile] = {}
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for name in channels:
            self.add_channel(name)
        for user in users:
            self.add_user(**user)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
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

    # -- the workspace -----------------------------------------------------------------------

    def add_channel(self, name: str) -> str:
        with self._lock:
            channel_id = self._new_id("C")
            self._channels[channel_id] = {"id": channel_id, "name": name.lstrip("#"), "is_channel": True,
                                          "is_im": False, "is_private": False, "is_archived": False}
            return channel_id

    def add_user(self, name: str, email: str | None = None, display_name: str | None = None) -> str:
        with self._lock:
            user_id = self._new_id("U")
            self._users[user_id] = {"id": user_id, "name": name.lstrip("@"), "deleted": False, "is_bot": False,
                                    "profile": {"display_name": display_name or "", "email": email}}
            return user_id

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

    @property
    def messages(self) -> list[Message]:
        """Every message delivered (posted, or shared with a completed upload), oldest first."""
        with self._lock:
            return list(self._messages)

    def messages_to(self, target: str) -> list[Message]:
        """Messages in one conversation: '#name', '@name', an e-mail, or a channel/user ID."""
        with self._lock:
            channel_id = self._conversation_for(target, open_dm=False)
            return [m for m in self._messages if channel_id is not None and m.channel == channel_id]

    @property
    def files(self) -> dict[str, UploadedFile]:
        with self._lock:
            return dict(self._files)

    # -- the API -----------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:08d}"

    def _ts(self) -> str:
        self._serial += 1
        return f"{int(time.time())}.{self._serial:06d}"

    def _user_by(self, field_name: str, value: str) -> dict | None:
        for user in self._users.values():
            if field_name == "email" and user["profile"]["email"] == value:
                return user
            if field_name == "handle" and value in (user["name"], user["profile"]["display_name"]):
                return user
        return None

    def _conversation_for(self, target: str, *, open_dm: bool) -> str | None:
        if target in self._channels:
            return target
        if target.startswith("#"):
            return next((c["id"] for c in self._channels.values() if not c["is_im"] and c["name"] == target[1:]),
                        None)
        if target.startswith("@"):
            user = self._user_by("handle", target[1:])
        elif "@" in target:
            user = self._user_by("email", target)
        else:
            user = self._users.get(target)
        if user is None:
            return None
        dm = next((c["id"] for c in self._channels.values() if c["is_im"] and c["user"] == user["id"]), None)
        if dm is None and open_dm:
            dm = self._new_id("D")
            self._channels[dm] = {"id": dm, "is_im": True, "user": user["id"]}
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
        bearer = (headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        token = bearer or params.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            return handler(params)

    def _api_auth_test(self, params: dict) -> dict:
        return {"ok": True, "url": f"{self.root_url}/", "team": "tenken-standin", "user": "tenken",
                "team_id": "T00000001", "user_id": "U00000000", "bot_id": "B00000001"}

    def _api_chat_postMessage(self, params: dict) -> dict:
        channel_id = self._conversation_for(str(params.get("channel") or ""), open_dm=True)
        if channel_id is None:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        message = Message(channel=channel_id, conversation=self._conversation_label(channel_id), ts=self._ts(),
                          text=params.get("text") or "", metadata=metadata, thread_ts=params.get("thread_ts"))
        self._messages.append(message)
        return {"ok": True, "channel": channel_id, "ts": message.ts,
                "message": {"type": "message", "text": message.text, "ts": message.ts, "metadata": metadata}}

    def _api_conversations_history(self, params: dict) -> dict:
        """Newest first, like Slack; metadata only with include_all_metadata."""
        channel_id = str(params.get("channel") or "")
        if channel_id not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        items = [{"type": "message", "ts": m.ts, "text": m.text,
                  **({"metadata": m.metadata} if with_metadata and m.metadata else {})}
                 for m in reversed(self._messages) if m.channel == channel_id]
        page = self._page(items, params, "messages")
        page["has_more"] = bool(page["response_metadata"]["next_cursor"])
        return page

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

    def _api_users_lookupByEmail(self, params: dict) -> dict:
        user = self._user_by("email", str(params.get("email") or ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}

    def _api_files_getUploadURLExternal(self, params: dict) -> dict:
        if not params.get("filename") or not str(params.get("length") or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._new_id("F")
        self._files[file_id] = UploadedFile(id=file_id, filename=params["filename"], length=int(params["length"]))
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
        channel_id = params.get("channel_id")
        if channel_id and channel_id not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        for entry, uploaded_file in zip(entries, uploaded):
            uploaded_file.title = entry.get("title") or uploaded_file.filename
            if channel_id:
                uploaded_file.channels.append(channel_id)
        if channel_id:
            self._messages.append(Message(
                channel=channel_id, conversation=self._conversation_label(channel_id), ts=self._ts(),
                text=params.get("initial_comment") or "", files=tuple(f.id for f in uploaded),
                thread_ts=params.get("thread_ts")))
        return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title, "size": len(f.content or b"")}
                                      for f in uploaded]}

    def _receive_upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            uploaded_file = self._files.get(file_id)
            if uploaded_file is None:
                return 404, "no such upload"
            uploaded_file.content = body
            return 200, f"OK - {len(body)}"


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
            if url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
            elif url.path.startswith("/upload/"):
                method = UPLOAD
            else:
                self._reply(404, "text/plain", b"not found")
                return
            headers = dict(self.headers.items())
            params = _params(url.query, headers, body) if method != UPLOAD else {}
            fault = standin._next_fault(method)
            with standin._lock:
                standin._requests.append(RecordedRequest(method, params, headers, body, time.time(),
                                                         fault.kind if fault else None))
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
            else:
                self._json(200, standin._dispatch(method, params, headers))

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
