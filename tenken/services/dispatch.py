"""Send each outbound message of a cycle at most once, with the ledger as the record.

Before sending, the run claims the item in the ledger (a unique row per request, per
(department, stage) reminder, per notice). A run that finds the item already sent does nothing.
A run that finds a claim with no "sent" mark knows an earlier run stopped between sending and
recording: it asks the channel for each message by its idempotency key and sends only what is
not there. The sending deployments run one flow run at a time (concurrency limit 1), so a claim
without a mark is never another run still sending. (compile-and-review has no limit, see
deployments.yaml; its notices are keyed by review round.)

Each message carries an idempotency key that names its plan (`<plan id>/<year>/...`, `message_key`):
plans sharing a Slack conversation or the office's mailbox never take each other's messages for their
own when looking one up.

Limit: Slack file uploads carry no metadata, so after a crash in exactly that window a request's
workbook may be uploaded twice; its message is never duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tenken.ledger import Ledger, OutboundRecord
from tenken.notify import Notifier, Receipt, Recipient
from tenken.notify.routing import is_mail


@dataclass(frozen=True)
class Outgoing:
    target: str
    text: str
    key: str
    kind: str
    attachment: Path | None = None
    title: str | None = None
    thread_ts: str | None = None  # a reply in this thread (of the target's conversation)
    in_thread: bool = False  # a reply in the thread the first message of the same item starts


def to_recipient(recipient: Recipient | None, text: str, key: str, kind: str, mail_text: str | None = None,
                 **options) -> list[Outgoing]:
    """One message per place the recipient is reached (cycle.yaml / departments.yaml `via`): the chat
    target keeps `key`, a mail copy beside it gets `key/mail` (its own idempotency key) and, when given,
    `mail_text` (the wording for mail: "reply to this mail" rather than "in this thread")."""
    targets = recipient.targets if recipient is not None else ()
    chat = any(not is_mail(t) for t in targets)
    return [Outgoing(t, (mail_text or text) if is_mail(t) else text, f"{key}/mail" if chat and is_mail(t) else key,
                     kind, **options) for t in targets]


def message_key(plan_id: str, key: str) -> str:
    """The idempotency key a message travels with (Slack metadata, the mail's Message-ID): the plan's id
    before the cycle's own key, so that two plans' messages of the same year and department differ."""
    return f"{plan_id}/{key}" if plan_id else key


class Dispatcher:
    def __init__(self, ledger: Ledger, notifier: Notifier, fiscal_year: int, plan_id: str = ""):
        self.ledger = ledger
        self.notifier = notifier
        self.fiscal_year = fiscal_year
        self.plan_id = plan_id

    def request(self, department: str, messages: Sequence[Outgoing], file_sha256: str | None = None) -> bool:
        year = self.fiscal_year
        return self._deliver(
            lambda: self.ledger.claim_request(year, department, messages[0].target, file_sha256),
            lambda: [r for r in self.ledger.requests(year) if r.department == department],
            lambda ref: self.ledger.mark_request_sent(year, department, ref),
            messages)

    def reminder(self, department: str, stage: str, escalated: bool, messages: Sequence[Outgoing]) -> bool:
        year = self.fiscal_year
        return self._deliver(
            lambda: self.ledger.claim_reminder(year, department, stage, messages[0].target, escalated),
            lambda: [r for r in self.ledger.reminders(year) if r.department == department and r.stage == stage],
            lambda ref: self.ledger.mark_reminder_sent(year, department, stage, ref),
            messages)

    def notice(self, kind: str, key: str, messages: Sequence[Outgoing]) -> bool:
        year = self.fiscal_year
        return self._deliver(
            lambda: self.ledger.claim_notice(year, kind, key, messages[0].target),
            lambda: [r for r in self.ledger.notices(year) if r.stage == f"{kind}:{key}"],
            lambda ref: self.ledger.mark_notice_sent(year, kind, key, ref),
            messages)

    def _deliver(self, claim: Callable[[], bool], records: Callable[[], list[OutboundRecord]],
                 mark: Callable[[str | None], None], messages: Sequence[Outgoing]) -> bool:
        """True when this call sent (or completed) the item; False when it had been sent before."""
        if claim():
            again = False
        elif any(r.status == "sent" for r in records()):
            return False
        else:
            again = True
        receipts: list[Receipt] = []
        started: dict[str, Receipt] = {}  # each target's first message: the thread its later ones go in
        for message in messages:
            first_here = started.get(message.target)
            if message.in_thread and first_here is not None and first_here.ts:
                message = replace(message, thread_ts=first_here.ts, in_thread=False)
            message = replace(message, key=message_key(self.plan_id, message.key))
            found = self.notifier.find(message.target, message.key, thread_ts=message.thread_ts) if again else None
            receipt = found or self._send(message)
            started.setdefault(message.target, receipt)
            receipts.append(receipt)
        # The record points at the chat message when there is one (the Slack thread a department answers in).
        first = next((r for r in receipts if r.via != "mail"), receipts[0])
        mark(f"{first.channel}/{first.ts}" if first.ts else first.file_id)
        return True

    def _send(self, message: Outgoing) -> Receipt:
        if message.attachment is not None:
            return self.notifier.upload(message.target, message.attachment, key=message.key, title=message.title,
                                        initial_comment=message.text, kind=message.kind, thread_ts=message.thread_ts)
        return self.notifier.post(message.target, message.text, key=message.key, kind=message.kind,
                                  thread_ts=message.thread_ts)
