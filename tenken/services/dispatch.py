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

A run with many items (the requests to every department, the reminders, the answers to every file taken
in) uses `requests()` / `reminders()` / `notices()`: the same claims and marks, a chunk of claims in one
transaction before any of the chunk's messages is sent, each item marked sent as soon as it is, and the
claims of items not tried yet given back when a failure stops the run.

Limit: Slack file uploads carry no metadata, so after a crash in exactly that window a request's
workbook may be uploaded twice; its message is never duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tenken.ledger import Ledger
from tenken.notify import Notifier, Receipt, Recipient
from tenken.notify.routing import is_mail


log = logging.getLogger(__name__)
CHUNK = 100  # items claimed in one transaction by Dispatcher.requests, .reminders and .notices


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + size]


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
        self._ahead: set[tuple[str, str]] = set()  # notices claimed ahead (notices_claimed), not tried yet

    def request(self, department: str, messages: Sequence[Outgoing], file_sha256: str | None = None) -> bool:
        """True when this call sent (or completed) the department's request; False when it had been sent."""
        return bool(self.requests([(department, messages, file_sha256)]))

    def reminder(self, department: str, stage: str, escalated: bool, messages: Sequence[Outgoing]) -> bool:
        """True when this call sent (or completed) the reminder; False when it had been sent before."""
        return bool(self.reminders([(department, stage, escalated, messages)]))

    def notice(self, kind: str, key: str, messages: Sequence[Outgoing]) -> bool:
        """True when this call sent (or completed) the notice; False when it had been sent before."""
        [outcome] = self.notices([(kind, key, messages)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def requests(self, wanted: Sequence[tuple[str, Sequence[Outgoing], str | None]],
                 chunk: int = CHUNK) -> list[str]:
        """request() for many departments, (department, its messages, its workbook's SHA-256) each, in order;
        returns the departments this call sent to (or completed). Like a loop of request(), the first failure
        stops the run and is raised (see _send_many for what becomes of the claims)."""
        year = self.fiscal_year
        recipients = {department: (messages[0].target, sha256) for department, messages, sha256 in wanted}
        outcomes = self._send_many(
            [((department,), messages) for department, messages, _ in wanted], chunk,
            claim=lambda idents: {(d,) for d in self.ledger.claim_requests(
                year, [(d, *recipients[d]) for (d,) in idents])},
            sent_before=lambda: {(r.department,) for r in self.ledger.requests(year) if r.status == "sent"},
            mark=lambda ident, ref: self.ledger.mark_request_sent(year, ident[0], ref),
            release=lambda idents: self.ledger.release_requests(year, [d for (d,) in idents]),
            keep_going=False)
        return [department for (department, _, _), outcome in zip(wanted, outcomes) if outcome is True]

    def reminders(self, wanted: Sequence[tuple[str, str, bool, Sequence[Outgoing]]],
                  chunk: int = CHUNK) -> list[tuple[str, str]]:
        """reminder() for many departments, (department, stage, escalated, messages) each, in order; returns
        the (department, stage) this call sent (or completed). The first failure stops the run and is raised,
        as requests()."""
        year = self.fiscal_year
        recipients = {(department, stage): (messages[0].target, escalated)
                      for department, stage, escalated, messages in wanted}
        outcomes = self._send_many(
            [((department, stage), messages) for department, stage, _, messages in wanted], chunk,
            claim=lambda idents: set(self.ledger.claim_reminders(
                year, [(d, s, *recipients[(d, s)]) for d, s in idents])),
            sent_before=lambda: {(r.department, r.stage) for r in self.ledger.reminders(year) if r.status == "sent"},
            mark=lambda ident, ref: self.ledger.mark_reminder_sent(year, *ident, ref),
            release=lambda idents: self.ledger.release_reminders(year, idents),
            keep_going=False)
        return [(department, stage) for (department, stage, _, _), outcome in zip(wanted, outcomes)
                if outcome is True]

    def notices(self, wanted: Sequence[tuple[str, str, Sequence[Outgoing]]],
                chunk: int = CHUNK) -> list[bool | Exception]:
        """notice() for many notices, (kind, key, messages) each, in order. Per notice: True (this call sent
        it, or completed it), False (sent before), or the exception that stopped it: as after a failed
        notice(), its claim stays; the other notices go on. Notices claimed ahead (notices_claimed) are sent
        on those claims."""
        year = self.fiscal_year
        recipients = {(kind, key): messages[0].target for kind, key, messages in wanted}

        def claim(idents: list[tuple[str, str]]) -> set[tuple[str, str]]:
            ahead = set(idents) & self._ahead
            fresh = self.ledger.claim_notices(
                year, [(kind, key, recipients[(kind, key)]) for kind, key in idents if (kind, key) not in ahead])
            self._ahead -= ahead  # this call tries them from now on, or gives them back
            return ahead | set(fresh)

        return self._send_many(
            [((kind, key), messages) for kind, key, messages in wanted], chunk, claim=claim,
            sent_before=lambda: {tuple(r.stage.split(":", 1)) for r in self.ledger.notices(year) if r.status == "sent"},
            mark=lambda ident, ref: self.ledger.mark_notice_sent(year, *ident, ref),
            release=lambda idents: self.ledger.release_notices(year, idents),
            keep_going=True)

    @contextmanager
    def notices_claimed(self, wanted: Sequence[tuple[str, str, str]]) -> Iterator[None]:
        """Claim these notices, (kind, key, recipient) each, in one transaction ahead of notice() sending
        them one by one (it finds its claim made). Claims of notices not tried by the end are given back
        (nothing of theirs was sent). If the claims cannot be made at once, each notice makes its own."""
        year = self.fiscal_year
        try:
            claimed = set(self.ledger.claim_notices(year, wanted))
        except Exception:  # noqa: BLE001 — then notice() claims each, and fails on its own if it must
            log.warning("claiming %d notices at once failed; each is claimed when it is sent", len(wanted),
                        exc_info=True)
            claimed = set()
        self._ahead |= claimed
        try:
            yield
        finally:
            untried = claimed & self._ahead
            self._ahead -= claimed
            if untried:
                self._give_back(lambda items: self.ledger.release_notices(year, items), sorted(untried))

    def _send_many(self, items: Sequence[tuple[tuple, Sequence[Outgoing]]], chunk: int, *,
                   claim: Callable[[list[tuple]], set[tuple]], sent_before: Callable[[], set[tuple]],
                   mark: Callable[[tuple, str | None], None], release: Callable[[list[tuple]], None],
                   keep_going: bool) -> list[bool | Exception]:
        """Send items, (ident, messages) each, in order, with the guarantees of one claim per item: `chunk` items
        are claimed in one transaction before any of them is sent, then each is sent and marked sent at once.
        An item claimed by an earlier run and never marked sent is completed (only the messages the channel
        does not have are sent); one marked sent is skipped. Per item: True (sent or completed), False (sent
        before) or, with `keep_going`, the exception that stopped it (else it is raised and nothing after it
        is tried). A failed item keeps its claim (its message may have left: the next run asks the channel);
        the claims of items not tried yet are given back, whatever stops the run (short of the process dying:
        then they are completed as above by the next run)."""
        outcomes: list[bool | Exception] = []
        for part in _chunks(items, chunk):
            untried = claim(list(dict.fromkeys(ident for ident, _ in part)))
            earlier: set[tuple] | None = None  # items recorded as sent, read once a chunk when needed
            try:
                for ident, messages in part:
                    if ident in untried:
                        untried.discard(ident)
                        again = False
                    else:
                        if earlier is None:
                            earlier = sent_before()
                        if ident in earlier:
                            outcomes.append(False)
                            continue
                        again = True
                    try:
                        mark(ident, self._send_all(messages, again))
                    except Exception as exc:
                        if not keep_going:
                            raise
                        outcomes.append(exc)  # one notice must never stop the others
                        continue
                    if earlier is not None:
                        earlier.add(ident)
                    outcomes.append(True)
            finally:
                if untried:
                    self._give_back(release, sorted(untried))
        return outcomes

    @staticmethod
    def _give_back(release: Callable[[list[tuple]], None], items: list[tuple]) -> None:
        """Give back the claims of items whose messages were never tried (often while an error is on its way up)."""
        try:
            release(items)
        except Exception:  # noqa: BLE001 — the error that stopped the run is the one to report
            log.exception("claims of messages never sent could not be given back (they show as claimed)")

    def _send_all(self, messages: Sequence[Outgoing], again: bool) -> str | None:
        """Send an item's messages (after a claim without a mark: only those the channel does not have);
        returns the reference its record keeps."""
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
        return f"{first.channel}/{first.ts}" if first.ts else first.file_id

    def _send(self, message: Outgoing) -> Receipt:
        if message.attachment is not None:
            return self.notifier.upload(message.target, message.attachment, key=message.key, title=message.title,
                                        initial_comment=message.text, kind=message.kind, thread_ts=message.thread_ts)
        return self.notifier.post(message.target, message.text, key=message.key, kind=message.kind,
                                  thread_ts=message.thread_ts)
