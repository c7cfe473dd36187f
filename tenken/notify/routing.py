"""One notifier for the use cases, two channels under it: `mailto:` targets go by mail, every other
target to the chat notifier (Slack, or the outbox without a token).

Without a mail server configured, mail goes to the outbox (a person reads it there), as Slack messages
do without a token. Slack's own reading calls (posted files, downloads, permalinks) pass through to
the chat notifier, so the collect stage sees Slack exactly when Slack is configured.
"""

from __future__ import annotations

from pathlib import Path

from tenken.notify.base import MAILTO, Notifier, Receipt


def is_mail(target: str | None) -> bool:
    return bool(target) and target.strip().lower().startswith(MAILTO)


class RoutingNotifier:
    def __init__(self, chat: Notifier, mail: Notifier):
        self.chat = chat
        self.mail = mail

    def _for(self, target: str) -> Notifier:
        return self.mail if is_mail(target) else self.chat

    def check(self) -> str:
        chat, mail = self.chat.check(), self.mail.check()
        return chat if mail == chat else f"{chat}／{mail}"

    def post(self, target: str, text: str, *, key: str, kind: str = "message",
             thread_ts: str | None = None) -> Receipt:
        return self._for(target).post(target, text, key=key, kind=kind, thread_ts=thread_ts)

    def upload(self, target: str, path: str | Path, *, key: str, title: str | None = None,
               initial_comment: str | None = None, kind: str = "file", thread_ts: str | None = None) -> Receipt:
        return self._for(target).upload(target, path, key=key, title=title, initial_comment=initial_comment,
                                        kind=kind, thread_ts=thread_ts)

    def find(self, target: str, key: str, *, thread_ts: str | None = None) -> Receipt | None:
        return self._for(target).find(target, key, thread_ts=thread_ts)

    def permalink(self, channel: str, ts: str) -> str | None:
        return None if "@" in (channel or "") else self.chat.permalink(channel, ts)

    def __getattr__(self, name: str):
        # Slack's reading side (posted_files, file_info, download, bot_user_id, channel_for): only when the
        # chat notifier has it, so `hasattr(notifier, "posted_files")` still says whether Slack is there.
        if name in ("chat", "mail"):
            raise AttributeError(name)
        return getattr(self.chat, name)
