"""What every notifier shares: the receipt, the error, and how a target string is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

TargetKind = Literal["channel_id", "channel_name", "user_id", "user_name", "email", "mail"]
MAILTO = "mailto:"  # a target sent by e-mail (a bare address is a Slack user looked up by e-mail)

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class NotificationError(RuntimeError):
    """A message could not be delivered; raised so that the flow run fails and says why."""

    def __init__(self, message: str, *, target: str | None = None, api_method: str | None = None):
        super().__init__(message)
        self.target = target
        self.api_method = api_method


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    value: str


def parse_target(text: str) -> Target:
    """Read a configured destination: '#name' or 'C…' (channel), 'U…' (user), '@name' (user handle), e-mail.

    The outbox parses targets too, so a mistyped destination fails in the demo as it would on Slack.
    """
    text = text.strip()
    if text.lower().startswith(MAILTO) and _EMAIL.match(text[len(MAILTO):]):
        return Target("mail", text[len(MAILTO):])
    if text.startswith("#") and len(text) > 1:
        return Target("channel_name", text[1:])
    if text.startswith("@") and len(text) > 1:
        return Target("user_name", text[1:])
    if _CHANNEL_ID.match(text):
        return Target("channel_id", text)
    if _USER_ID.match(text):
        return Target("user_id", text)
    if _EMAIL.match(text):
        return Target("email", text)
    raise NotificationError(
        f"送信先 {text!r} を解釈できません"
        "（#チャンネル名、C…/U… の ID、@ユーザー名、メールアドレス、mailto:メールアドレスのいずれかで指定してください）",
        target=text,
    )


@dataclass(frozen=True)
class Receipt:
    """Proof of one send, for the ledger: the caller's key and where the message landed.

    `ts` is the Slack message timestamp (for files Slack shares asynchronously, so it is None), or a
    mail's Message-ID; `file_id` is set for uploads. In the outbox, `channel` is the target as given;
    for mail, the address.
    """

    key: str
    target: str
    channel: str
    ts: str | None
    file_id: str | None = None
    via: Literal["slack", "outbox", "mail"] = "slack"


class Notifier(Protocol):
    def check(self) -> str:
        """Say where messages go (and, for Slack, verify the token); raise NotificationError if unusable."""

    def post(self, target: str, text: str, *, key: str, kind: str = "message",
             thread_ts: str | None = None) -> Receipt: ...

    def find(self, target: str, key: str, *, thread_ts: str | None = None) -> Receipt | None:
        """A message already sent to target (in a thread) with this key (to resolve a send whose record was lost)."""

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link a person can open to a message (None where the channel has none)."""

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
    ) -> Receipt: ...
