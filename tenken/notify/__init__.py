"""Notifications: Slack through slack-sdk, or the outbox under var/ when there is no token.

    notifier = notifier_from_env()
    text = render("reminder", plan=..., fiscal_year=2020, department=..., deadline=..., stage="overdue_2")
    receipt = notifier.post("#tenken-tourism", text, key="2020/tourism/reminder/overdue_2", kind="reminder")

See docs/notifications.md for the environment variables, the outbox format and the message kinds.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from tenken.notify.base import NotificationError, Notifier, Receipt, parse_target
from tenken.notify.messages import KINDS, MessageError, escape_mrkdwn, render
from tenken.notify.outbox import OutboxNotifier, read_outbox
from tenken.notify.slack import DEFAULT_BASE_URL, SlackNotifier

ENV_TOKEN = "SLACK_BOT_TOKEN"
ENV_SECRET_BLOCK = "TENKEN_SLACK_SECRET_BLOCK"
ENV_BASE_URL = "TENKEN_SLACK_BASE_URL"
ENV_VAR_DIR = "TENKEN_VAR_DIR"
DEFAULT_SECRET_BLOCK = "tenken-slack-bot-token"

__all__ = [
    "DEFAULT_SECRET_BLOCK", "ENV_BASE_URL", "ENV_SECRET_BLOCK", "ENV_TOKEN", "ENV_VAR_DIR", "KINDS", "MessageError",
    "NotificationError", "Notifier", "OutboxNotifier", "Receipt", "SlackNotifier",
    "escape_mrkdwn", "notifier_from_env", "parse_target", "read_outbox", "render",
]


def notifier_from_env() -> Notifier:
    """Slack when a token is found (SLACK_BOT_TOKEN, else the Prefect Secret block), the outbox otherwise.

    The same token and base URL give the same SlackNotifier, so channel and user lookups are made
    once per process rather than once per task.
    """
    token = os.environ.get(ENV_TOKEN) or _token_from_secret_block(
        os.environ.get(ENV_SECRET_BLOCK, DEFAULT_SECRET_BLOCK))
    if token:
        return _slack_notifier(token, os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
    return OutboxNotifier(Path(os.environ.get(ENV_VAR_DIR) or "var"))


@functools.lru_cache(maxsize=8)
def _slack_notifier(token: str, base_url: str) -> SlackNotifier:
    return SlackNotifier(token, base_url=base_url)


def _token_from_secret_block(name: str) -> str | None:
    if not name:
        return None
    # Imported here so that the outbox and plain Slack use never need Prefect or its API.
    from prefect.blocks.system import Secret

    try:
        secret = Secret.load(name)
    except ValueError:
        return None
    return secret.get() or None
