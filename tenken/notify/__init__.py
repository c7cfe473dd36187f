"""Notifications: Slack through slack-sdk, or the outbox under var/ when there is no token; `mailto:`
targets by mail (SMTP) when a mail server is configured, else to the outbox too.

    notifier = settings.notifier()          # tenken.settings: Slack with a token, else the outbox
    text = render("reminder", plan=..., fiscal_year=2020, department=..., deadline=..., stage="overdue_2")
    receipt = notifier.post("#tenken-tourism", text, key="2020/tourism/reminder/overdue_2", kind="reminder")

See docs/notifications.md for the environment variables, the outbox format and the message kinds.
"""

from __future__ import annotations

import functools
from pathlib import Path

from tenken.notify.base import NotificationError, Notifier, Receipt, parse_target
from tenken.notify.messages import KINDS, MessageError, escape_mrkdwn, render
from tenken.notify.outbox import OutboxNotifier, read_outbox
from tenken.notify.recipient import Directory, Recipient

__all__ = [
    "KINDS", "Directory", "MessageError", "NotificationError", "Notifier", "OutboxNotifier", "Receipt", "Recipient",
    "escape_mrkdwn", "notifier_for", "parse_target", "read_outbox", "render",
]


def notifier_for(token: str | None, base_url: str, var_dir: Path, mail=None) -> Notifier:
    """Slack with a token, the outbox under var_dir without one; `mailto:` targets by mail with `mail`
    (tenken.notify.mail_settings.MailSettings), else to the outbox.

    The same token and base URL give the same SlackNotifier, so channel and user lookups are made
    once per process rather than once per task.
    """
    from tenken.notify.routing import RoutingNotifier

    chat = _slack_notifier(token, base_url) if token else OutboxNotifier(var_dir)
    return RoutingNotifier(chat, _mail_notifier(mail) if mail is not None else OutboxNotifier(var_dir))


@functools.lru_cache(maxsize=8)
def _mail_notifier(settings):
    from tenken.notify.mail import MailNotifier

    return MailNotifier(settings)


@functools.lru_cache(maxsize=8)
def _slack_notifier(token: str, base_url: str):
    from tenken.notify.slack import SlackNotifier  # slack-sdk only where Slack is used

    return SlackNotifier(token, base_url=base_url)


def __getattr__(name: str):
    if name == "SlackNotifier":
        from tenken.notify.slack import SlackNotifier

        return SlackNotifier
    raise AttributeError(name)
