"""Stage 2, collect: take in what departments sent, store every version, answer each sender (once)."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import shutil
import stat
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tenken.core.errors import DomainError
from tenken.files import printable, shown_name, stored_name
from tenken.identity import NOT_REGISTERED, NOT_REGISTERED_MAIL
from tenken.intake import CSV_SUFFIXES, WORKBOOK_SUFFIXES, Intake, IntakeOutcome, collect_paths
from tenken.ledger import ArrivalRecord, Origin
from tenken.notify import NotificationError, render
from tenken.services.cycle import Cycle
from tenken.notify.mail import mail_address, message_id
from tenken.notify.routing import is_mail
from tenken.services.dispatch import Outgoing, message_key, to_recipient
from tenken.workbook.layout import measures_on_form
from tenken.workbook.reader import DEFAULT_READER, read_csv, read_workbook
from tenken.workbook.safety import OLE_MAGIC, ZIP_MAGIC

log = logging.getLogger(__name__)
SLACK = "slack"
INBOX = "inbox"
MAIL = "mail"
SUBMISSION_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".ods")  # what a reply attaches that may be a form


@dataclass
class IntakeReport:
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # left in the inbox: taken in again by the next run


def intake_for(cycle: Cycle, answers_dir: Path, channel: str, reader: str = DEFAULT_READER) -> Intake:
    """The one way intake is wired: the cycle's plan and ledger, the office's adjustments, and the
    cycle's signer, so every file counts only for the sender its channel names and only with that
    department's submission token."""
    return Intake(cycle.plan, cycle.fiscal_year, cycle.ledger, answers_dir=answers_dir, channel=channel,
                  reader=reader, adjustments=cycle.adjustments, signer=cycle.signer)


def intake_files(cycle: Cycle, paths: Iterable[Path], answers_dir: Path, sender: str | None,
                 reader: str = DEFAULT_READER, on_file: Callable[[IntakeOutcome], None] | None = None,
                 handed_over_by: str | None = None) -> list[IntakeOutcome]:
    """Files the office hands over for a department (`tenken intake --from`): stored and answered in
    answers_dir, not sent. Without a sender every file is refused (nothing is inferred from the file)."""
    origin = Origin(user=handed_over_by or _who(), channel="cli")
    return intake_for(cycle, answers_dir, "cli", reader).run(paths, sender=sender, on_file=on_file, origin=origin)


def collect(cycle: Cycle) -> IntakeReport:
    """The collect stage: every new file in the departments' Slack conversations (when Slack is the
    channel), every reply with a form attached in the office's mailbox (when IMAP is configured), then
    whatever was delivered to the inbox."""
    report = IntakeReport()
    collect_slack(cycle, report)
    collect_mail(cycle, report)
    take_in(cycle, report)
    return report


INBOX_CHUNK = 100  # inbox files taken in before their arrivals are marked and their answers sent together


def take_in(cycle: Cycle, report: IntakeReport | None = None) -> IntakeReport:
    """Take in every entry of the inbox, move it to received/, and answer its sender (once).

    A file counts for the department whoever delivered it recorded (`deliver`, a mail bridge); one
    that arrived with no record is refused, never attributed from its contents. Each file on its
    own: whatever one file does (or whatever fails while taking it in), the others are taken in and
    answered; a file that could not be taken in stays in the inbox, is reported in `failed` and is
    tried again by the next run.

    Files go INBOX_CHUNK at a time: each is stored in its own transaction, then the chunk's deliveries
    are marked taken in one transaction and its answers claimed in one (Dispatcher.notices_claimed); each
    answer is marked sent as soon as it is, and each file leaves the inbox only once its answer went out.
    The delivery records and which bytes the cycle holds are read once per run, not once per file; the
    forms of the files ahead are read by worker processes meanwhile (Intake.reading_ahead).
    """
    inbox, received = cycle.folder("inbox"), cycle.folder("received")
    report = report if report is not None else IntakeReport()
    entries = collect_paths([inbox])
    if not entries:
        return report
    intake = intake_for(cycle, cycle.folder("answers"), INBOX)
    intake.remember_recorded()
    deliveries = _Deliveries.read(cycle)
    with intake.reading_ahead(entries):  # worker processes read the next files' forms (workbook.ahead)
        for start in range(0, len(entries), INBOX_CHUNK):
            _take_in_chunk(cycle, intake, deliveries, entries[start:start + INBOX_CHUNK], received, report)
    return report


def _take_in_chunk(cycle: Cycle, intake: Intake, deliveries: _Deliveries, paths: list[Path], received: Path,
                   report: IntakeReport) -> None:
    year = cycle.fiscal_year
    taken: list[tuple[Path, ArrivalRecord | None, IntakeOutcome]] = []
    for path in paths:
        try:
            delivered = deliveries.of(path)
            sender = delivered.department if delivered else None
            origin = delivered.origin if delivered else Origin(channel=INBOX)
            outcome = intake.submit_file(path, sender=sender, origin=origin)
        except Exception as exc:  # noqa: BLE001 — one file must never stop the others
            _inbox_failed(report, path, exc)
            continue
        if delivered is not None:
            deliveries.taken(delivered)  # the next copy of the same bytes is the next delivery
        taken.append((path, delivered, outcome))
    marks = [(delivered.ref, outcome.record.id) for _, delivered, outcome in taken if delivered is not None]
    try:
        cycle.ledger.mark_arrivals_taken(year, INBOX, marks)
    except Exception:  # noqa: BLE001 — then each on its own, so that one file's failure stays its own
        log.warning("marking %d inbox deliveries taken at once failed; marking each", len(marks), exc_info=True)
        kept = []
        for path, delivered, outcome in taken:
            try:
                if delivered is not None:
                    cycle.ledger.mark_arrival_taken(year, INBOX, delivered.ref, outcome.record.id)
            except Exception as exc:  # noqa: BLE001
                _inbox_failed(report, path, exc)
                continue
            kept.append((path, delivered, outcome))
        taken = kept
    # The chunk's answers claimed in one transaction, each then sent by _answer (which finds its claim made).
    with _answers_claimed(cycle, [target for _, _, outcome in taken
                                  if (target := _claimable_answer(cycle, outcome)) is not None]):
        for path, delivered, outcome in taken:
            _finish_inbox_file(cycle, path, delivered, outcome, received, report)


def _claimable_answer(cycle: Cycle, outcome: IntakeOutcome) -> tuple[str, str, str, str | None] | None:
    """_answer_target, or None when it fails: that file's answer then fails on its own (_finish_inbox_file),
    not the chunk's."""
    try:
        return _answer_target(cycle, outcome)
    except Exception:  # noqa: BLE001 — one file must never stop the others
        return None


def _answers_claimed(cycle: Cycle, targets: list[tuple[str, str, str, str | None]]):
    """The answers to many files claimed ahead, in one transaction (Dispatcher.notices_claimed)."""
    if not targets or cycle.notifier is None:
        return nullcontext()
    return cycle.dispatcher.notices_claimed([(kind, ref, address) for kind, ref, address, _ in targets])


def _finish_inbox_file(cycle: Cycle, path: Path, delivered: ArrivalRecord | None, outcome: IntakeOutcome,
                       received: Path, report: IntakeReport) -> None:
    """Answer a file taken in, tell the office of a refusal for its sender, move it out of the inbox."""
    try:
        # Answered before it leaves the inbox: if the answer cannot go out now, the next run finds the
        # file again, recognises it (same bytes) and answers it then; nothing is sent twice.
        _answer(cycle, outcome)
        if outcome.identity_refused:
            _tell_office(cycle, outcome, f"inbox-{outcome.record.id}",
                         delivered.origin.user if delivered else "受信フォルダ（送信者の記録なし）", None)
        shutil.move(str(path), str(received / f"{outcome.record.sha256[:12]}-{stored_name(path.name)}"))
    except Exception as exc:  # noqa: BLE001 — one file must never stop the others
        _inbox_failed(report, path, exc)
        return
    _report(report, outcome)


def _inbox_failed(report: IntakeReport, path: Path, exc: Exception) -> None:
    log.error("taking in %r failed; it stays in the inbox for the next run", path.name, exc_info=exc)
    report.failed.append({"file": shown_name(path.name), "error": printable(str(exc))[:500]})


@dataclass
class _Deliveries:
    """The inbox's delivery records, read once per run (ledger.inbox_arrival, without a query per file):
    by the SHA-256 of the bytes delivered, oldest first, with the deliveries this run took in marked taken."""

    cycle: Cycle
    by_digest: dict[str, list[ArrivalRecord]]
    mine: dict[str, ArrivalRecord] = field(default_factory=dict)  # ref -> as taken by this run

    @classmethod
    def read(cls, cycle: Cycle) -> _Deliveries:
        by_digest: dict[str, list[ArrivalRecord]] = {}
        for arrival in cycle.ledger.arrivals(cycle.fiscal_year, INBOX):
            digest, sep, _ = arrival.ref.partition(":")
            if sep:
                by_digest.setdefault(digest, []).append(arrival)
        return cls(cycle, by_digest)

    def of(self, path: Path) -> ArrivalRecord | None:
        """The delivery record of an inbox file (by its bytes), if whoever put it there made one: what
        ledger.inbox_arrival says of them. When the records read at the start hold no delivery of these
        bytes waiting to be taken in, they are read again: one may have been recorded since."""
        digest = _regular_file_sha256(path)
        if digest is None:
            return None
        pick = self.cycle.ledger.pick_inbox_arrival
        found = pick(self.by_digest.get(digest, []))
        if found is None or found.status == "taken":
            fresh = self.cycle.ledger.inbox_arrivals(self.cycle.fiscal_year, INBOX, digest)
            self.by_digest[digest] = [self.mine.get(a.ref, a) for a in fresh]
            found = pick(self.by_digest[digest])
        return found

    def taken(self, arrival: ArrivalRecord) -> None:
        """The delivery is being taken in: from now on it counts as taken (and the latest taken)."""
        digest = arrival.ref.partition(":")[0]
        self.mine[arrival.ref] = replace(arrival, status="taken", taken_at=datetime.now(UTC))
        self.by_digest[digest] = [self.mine.get(a.ref, a) for a in self.by_digest.get(digest, [])]


def _report(report: IntakeReport, outcome: IntakeOutcome, via: str = INBOX) -> None:
    record = outcome.record
    entry = {"file": outcome.shown, "department": record.department, "version": record.version, "via": via,
             "problems": [p.message for p in record.problems]}
    (report.accepted if outcome.accepted else report.rejected).append(entry)


def _regular_file_sha256(path: Path) -> str | None:
    """SHA-256 of a regular file, read without following links or blocking on pipes (None otherwise)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        digest = hashlib.sha256()
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _who() -> str:
    try:
        return f"office:{getpass.getuser()}"
    except (KeyError, OSError):
        return "office"


# ----------------------------------------------------------------------------------- mail


def collect_mail(cycle: Cycle, report: IntakeReport | None = None) -> IntakeReport:
    """Take in every form attached to the replies in the office's mailbox, once per attachment, and
    answer each by mail in the same conversation (In-Reply-To the department's mail).

    Identity comes from the sender's address: a form counts for the department that registered it
    (departments.yaml `email`, or an address among its `submitters`), and must carry that department's
    submission token, as on Slack. A mail from an unregistered address is refused (stored under that
    address, the office told) and not answered: tenken does not write to addresses it does not know. A
    mail with no form (a question, an auto-reply) is left in the inbox for a person; a mail whose
    forms are all recorded is moved to the taken folder. The ledger's claim (Message-ID and attachment
    index) is what makes each form count once, across reruns, crashes and dropped connections.

    The office's one mailbox serves every plan of the ledger (see _MailThreads): a mail that is another
    plan's (it answers that plan's request and none of this plan's, or comes from an address this plan
    did not register but another plan asked) is left in the INBOX as it came: not moved, not flagged,
    not answered, nobody told. A mail from an address both know that answers neither plan's request
    counts here only for the forms carrying a submission token of this plan; with none, it is left so.
    """
    report = report if report is not None else IntakeReport()
    mailbox = cycle.settings.mailbox()
    if mailbox is None:
        return report
    intake = intake_for(cycle, cycle.folder("answers"), MAIL)
    threads = _MailThreads.of(cycle, mailbox.settings.domain)
    with mailbox:
        try:
            for mail in mailbox.messages():
                try:
                    _take_mail(cycle, intake, mailbox, mail, report, threads)
                except Exception as exc:  # noqa: BLE001 — one mail must never stop the others
                    log.exception("taking in mail %s failed (the next run tries again)", mail.message_id)
                    report.failed.append({"file": f"mail {printable(mail.subject)[:80]}",
                                          "error": printable(str(exc))[:500]})
        except NotificationError as exc:
            log.error("reading the mailbox failed: %s", exc)
            report.failed.append({"file": "mailbox", "error": printable(str(exc))[:500]})
    return report


def _forms(mail) -> list:
    return [a for a in mail.attachments if a.filename.lower().endswith(SUBMISSION_SUFFIXES)]


MINE, THEIRS, SHARED = "mine", "theirs", "shared"


@dataclass(frozen=True)
class _MailThreads:
    """Whose conversations the office's mailbox holds, for a mailbox several plans read: the Message-IDs
    of this plan's requests, reminders and answers sent by mail, those of the other plans' requests, and
    the addresses other plans asked by mail (all lowercase)."""

    mine: frozenset[str]
    theirs: frozenset[str]
    their_addresses: frozenset[str]

    @classmethod
    def of(cls, cycle: Cycle, domain: str) -> _MailThreads:
        year, ledger = cycle.fiscal_year, cycle.ledger
        mine: set[str] = set()
        for record in [*ledger.requests(year), *ledger.reminders(year), *ledger.notices(year)]:
            mine.update(_mail_ref(record.message_ref)[1:])
        mine.update(_request_mail_id(cycle.plan.id, year, r.department, domain) for r in ledger.requests(year)
                    if r.department and any(is_mail(t) for t in cycle.directory.department(r.department).targets))
        theirs: set[str] = set()
        addresses: set[str] = set()
        for their_plan, their_year, record in ledger.other_plans_requests():
            address, *sent = _mail_ref(record.message_ref) or (None,)
            theirs.update(sent)
            if record.department:
                theirs.add(_request_mail_id(their_plan, their_year, record.department, domain))
            if is_mail(record.recipient):
                address = address or _address_of(record.recipient)
            if address:
                addresses.add(address)
        return cls(frozenset(mine), frozenset(theirs), frozenset(addresses))

    def whose(self, cycle: Cycle, mail) -> str:
        """MINE (taken, refused and answered as ever), THEIRS (left as it came) or SHARED (this plan's only
        for forms carrying its token). The conversation a reply names comes first, then its sender."""
        named = {i.lower() for i in (getattr(mail, "replied_to", ()) or
                                     ((mail.in_reply_to,) if mail.in_reply_to else ()) + tuple(mail.references))}
        ours, theirs = bool(named & self.mine), bool(named & self.theirs)
        if ours != theirs:
            return MINE if ours else THEIRS
        if ours:  # both: the same Message-ID in two plans' records
            return SHARED
        if (mail.sender or "").lower() not in self.their_addresses:
            return MINE
        return SHARED if cycle.directory.departments_of_sender(mail.sender) else THEIRS


def _mail_ref(message_ref: str | None) -> tuple[str, str] | tuple[()]:
    """(address, Message-ID) of a record sent by mail ('address/<id>', lowercase), else ()."""
    address, sep, rest = (message_ref or "").partition("/<")
    if not sep or "@" not in address:
        return ()
    return address.strip().lower(), f"<{rest}".strip().lower()


def _request_mail_id(plan_id: str, year: int, department: str, domain: str) -> str:
    """The Message-ID of a department's request mail (opening.send_requests keys it '<year>/request/<key>/mail',
    sent under the plan's message key), which the ledger does not record when the department is reached on
    Slack too."""
    return message_id(message_key(plan_id, f"{year}/request/{department}/mail"), domain).lower()


def _address_of(target: str) -> str | None:
    try:
        return mail_address(target).lower()
    except NotificationError:
        return None


def _take_mail(cycle: Cycle, intake: Intake, mailbox, mail, report: IntakeReport,
               threads: _MailThreads | None = None) -> None:
    whose = threads.whose(cycle, mail) if threads is not None else MINE
    if whose == THEIRS:
        log.info("mail %s is another plan's (its conversation or its sender): left in the inbox for it",
                 mail.message_id)
        return
    forms = _forms(mail)
    if not forms or mail.auto_submitted:
        mailbox.leave(mail)  # not a submission: for a person to read
        return
    every = len(forms)
    if whose == SHARED:  # an address several plans asked, in no one plan's conversation: the token decides
        forms = [form for form in forms if _carries_token(cycle, intake, form.content, form.filename)]
        if not forms:
            log.info("mail %s carries no form of this plan: left in the inbox for the other plans", mail.message_id)
            return
    year = cycle.fiscal_year
    departments = cycle.directory.departments_of_sender(mail.sender)
    department = departments[0] if len(departments) == 1 else None
    origin = Origin(user=mail.sender or "（送信元不明）", channel=MAIL, message_ts=mail.message_id)
    for form in forms:
        ref = f"{mail.message_id}/{form.index}"[:200]
        arrival = cycle.ledger.claim_arrival(year, MAIL, ref, file_name=printable(form.filename)[:500],
                                             recorded_by="collect", department=department, origin=origin)
        if arrival.status == "taken":
            continue
        data = form.content if form.content is not None else b""
        outcome = intake.submit_bytes(data, form.filename, f"mail {mail.message_id}", sender=arrival.department,
                                      origin=origin, size=form.size, no_sender=NOT_REGISTERED_MAIL)
        cycle.ledger.mark_arrival_taken(year, MAIL, ref, outcome.record.id)
        if departments:  # a registered address: answered in the conversation it started
            _answer(cycle, outcome, reply_to=(f"mailto:{mail.sender}", mail.message_id), ref=ref)
        if outcome.identity_refused:
            _tell_office(cycle, outcome, ref, mail.sender or "（送信元不明）", None)
        _report(report, outcome, MAIL)
    if len(forms) == every:
        mailbox.mark_taken(mail)
    # else: the mail's other forms are not this plan's; it stays, as it came, for the plan they belong to


# ---------------------------------------------------------------------------------- Slack


FETCHERS = 8  # Slack calls in flight at once (listing, files.info, download, permalink)
AHEAD = 16  # files fetched ahead of the one being taken in (bounds the bytes held: 16 × the size limit)


def collect_slack(cycle: Cycle, report: IntakeReport | None = None) -> IntakeReport:
    """Take in every file people posted in the departments' request conversations since each request
    (top-level messages and every thread), once per Slack file, and answer in the file's thread.

    Identity comes from the conversation: a file counts for the department whose request went to that
    conversation (a conversation several departments share: for the one that lists the poster among
    its `submitters`). The file must also carry that department's submission token.

    Several plans may ask in one conversation (a department in two plans keeps its channel). A file in
    the thread of another plan's request is that plan's: skipped, unclaimed and unanswered. Any other
    file of such a conversation that is not in this plan's request thread (a top-level post, a reply
    elsewhere) is taken only when it carries a submission token of this plan; otherwise it is left, with
    no refusal and no answer, for the other plan's run. In a conversation only this plan asked in,
    every file is taken, refused and answered as always.

    Slack is read by a few threads at once (listing every conversation, then fetching files a little
    ahead of intake); claims, intake, the ledger and the answers happen in this thread, in order.
    """
    report = report if report is not None else IntakeReport()
    slack = cycle.notifier
    if not hasattr(slack, "posted_files"):
        return report  # no Slack: departments' files come through the inbox
    conversations = _request_conversations(cycle, slack, report)
    if not conversations:
        return report
    year = cycle.fiscal_year
    intake = intake_for(cycle, cycle.folder("answers"), SLACK)
    known = {a.ref: a for a in cycle.ledger.arrivals(year, SLACK)}
    others = _other_plans_threads(cycle, slack, set(conversations))
    with ThreadPoolExecutor(FETCHERS, thread_name_prefix="slack-read") as pool:
        listings = {channel: pool.submit(slack.posted_files, channel, min(ts for _, ts in asked))
                    for channel, asked in conversations.items()}
        claimed = []  # (file, its claim, or None: to be claimed only if it carries this plan's token, who was asked)
        for channel, asked in conversations.items():
            try:
                posted = listings[channel].result()
            except NotificationError as exc:
                log.error("listing Slack conversation %s failed: %s", channel, exc)
                report.failed.append({"file": f"Slack {channel}", "error": printable(str(exc))[:500]})
                continue
            departments, threads, theirs = [d for d, _ in asked], {ts for _, ts in asked}, others.get(channel)
            for posted_file in posted:
                earlier = known.get(posted_file.id)
                if earlier is not None and earlier.status == "taken":
                    continue
                if earlier is None and theirs is not None and posted_file.thread_ts not in threads:
                    if posted_file.thread_ts in theirs:
                        log.debug("Slack file %s is in another plan's request thread: left to it", posted_file.id)
                    else:  # a conversation another plan asked in too: this plan's only with its token
                        claimed.append((posted_file, None, departments))
                    continue
                try:
                    arrival = _claim(cycle, posted_file, departments)
                except Exception as exc:  # noqa: BLE001 — one file must never stop the others
                    _failed(report, posted_file, exc)
                    continue
                if arrival.status != "taken":
                    claimed.append((posted_file, arrival, departments))
        limit = intake.limits.max_file_bytes + 1
        fetching = deque()
        for index, (posted_file, arrival, departments) in enumerate(claimed):
            while len(fetching) <= AHEAD and index + len(fetching) < len(claimed):
                ahead = claimed[index + len(fetching)][0]
                fetching.append(pool.submit(_fetch, slack, ahead, limit))
            fetched = fetching.popleft()
            try:
                if arrival is None:
                    arrival = _claim_if_ours(cycle, intake, posted_file, departments, fetched.result())
                    if arrival is None or arrival.status == "taken":
                        continue
                outcome = _take_slack_file(cycle, intake, posted_file, arrival, fetched.result())
            except Exception as exc:  # noqa: BLE001 — one file must never stop the others
                _failed(report, posted_file, exc)
                continue
            _report(report, outcome, SLACK)
    return report


def _other_plans_threads(cycle: Cycle, slack, mine: set[str]) -> dict[str, set[str]]:
    """Conversation ID -> the ts of the requests other plans in this ledger sent there, for the
    conversations this plan asked in too (a request whose thread is unknown, e.g. one claimed by a run
    that stopped, still marks the conversation as shared)."""
    shared: dict[str, set[str]] = {}
    for _plan, _year, record in cycle.ledger.other_plans_requests():
        if is_mail(record.recipient):
            continue
        channel, _, ts = (record.message_ref or "").partition("/")
        if "@" in channel:
            continue  # a mail (address/Message-ID): collect_mail's business
        if not ts:  # not posted as a thread (an upload only, or no mark): its conversation only
            try:
                channel, ts = slack.channel_for(record.recipient), ""
            except NotificationError as exc:
                log.warning("the conversation of another plan's request to %s is unknown: %s", record.recipient, exc)
                continue
        if channel in mine:
            shared.setdefault(channel, set()).update({ts} if ts else set())
    return shared


def _claim_if_ours(cycle: Cycle, intake: Intake, posted_file, departments: list[str],
                   fetched: tuple[dict, bytes, str | None]) -> ArrivalRecord | None:
    """The claim of a file from a conversation several plans asked in, made only if the file carries a
    submission token of this plan (None: another plan's, or nobody's: left unanswered for its run)."""
    info, data, _ = fetched
    if not _carries_token(cycle, intake, data, str(info.get("name") or posted_file.name)):
        log.info("Slack file %s in %s carries no submission token of this plan: left for the other plans",
                 posted_file.id, posted_file.channel)
        return None
    return _claim(cycle, posted_file, departments)


def _carries_token(cycle: Cycle, intake: Intake, data: bytes | None, name: str) -> bool:
    """Whether a file is a form of this plan and year: it reads as a form and carries the submission token
    of one of the plan's departments (who may submit it is still intake's decision). Read only to tell
    whose a file is where several plans share a conversation or an address; never raises."""
    if not data or len(data) > intake.limits.max_file_bytes:
        return False
    lowered = name.lower()
    try:
        if data.startswith((ZIP_MAGIC, OLE_MAGIC)) or lowered.endswith(WORKBOOK_SUFFIXES):
            form = read_workbook(data, intake.limits, intake.reader, cycle.plan.measure_label)
        elif lowered.endswith(CSV_SUFFIXES):
            form = read_csv(data, intake.limits, cycle.plan.measure_label)
        else:
            return False
    except Exception:  # noqa: BLE001 — unreadable: not shown to be this plan's
        return False
    token = form.token or ""
    return bool(token.strip()) and any(cycle.signer.verify(cycle.fiscal_year, department, form.request_version, token)
                                       for department in cycle.plan.departments_by_key)


def _failed(report: IntakeReport, posted_file, exc: Exception) -> None:
    log.error("taking in Slack file %s failed (the next run tries again): %s", posted_file.id, exc,
              exc_info=not isinstance(exc, NotificationError))
    report.failed.append({"file": shown_name(posted_file.name), "error": printable(str(exc))[:500]})


def _request_conversations(cycle: Cycle, slack, report: IntakeReport) -> dict[str, list[tuple[str, str]]]:
    """Conversation ID -> [(department, ts of its request)] for every request sent."""
    conversations: dict[str, list[tuple[str, str]]] = {}
    for record in cycle.ledger.requests(cycle.fiscal_year):
        if record.status != "sent" or record.department is None:
            continue
        channel, _, ts = (record.message_ref or "").partition("/")
        if "@" in channel or is_mail(record.recipient):
            continue  # asked by mail: its replies come through the mailbox (collect_mail)
        if not ts:  # sent as an upload only (before requests started threads): since the claim
            try:
                channel, ts = slack.channel_for(record.recipient), f"{record.claimed_at.timestamp():.6f}"
            except NotificationError as exc:
                report.failed.append({"file": f"Slack {printable(record.recipient)}", "error": printable(str(exc))[:500]})
                continue
        conversations.setdefault(channel, []).append((record.department, ts))
    return conversations


def _department_of(cycle: Cycle, posted_file, asked: list[str]) -> str | None:
    """Who a file posted in a conversation counts for, by the conversation and the poster, never by
    anything in the file: the department the conversation is for, unless it registered its submitters
    and the poster is not one; in a conversation departments share, the one that registered the poster."""
    registered = cycle.directory.submitters
    if len(asked) == 1:
        only = asked[0]
        return only if not registered.get(only) or posted_file.user in registered[only] else None
    mine = [d for d in asked if posted_file.user in registered.get(d, ())]
    return mine[0] if len(mine) == 1 else None


def _claim(cycle: Cycle, posted_file, asked: list[str]) -> ArrivalRecord:
    """The file's claim in the ledger (made now, or found: the first claim's word on the sender counts)."""
    return cycle.ledger.claim_arrival(
        cycle.fiscal_year, SLACK, posted_file.id, file_name=printable(posted_file.name)[:500], recorded_by="collect",
        department=_department_of(cycle, posted_file, asked),
        origin=Origin(posted_file.user, posted_file.channel, posted_file.ts), thread_ts=posted_file.thread)


def _fetch(slack, posted_file, max_bytes: int) -> tuple[dict, bytes, str | None]:
    """files.info, the bytes (at most max_bytes of them) and the message's permalink."""
    info = slack.file_info(posted_file.id)
    url = info.get("url_private_download") or info.get("url_private")
    data = slack.download(url, max_bytes) if url else b""
    return info, data, slack.permalink(posted_file.channel, posted_file.ts)


def _take_slack_file(cycle: Cycle, intake: Intake, posted_file, arrival: ArrivalRecord,
                     fetched: tuple[dict, bytes, str | None]) -> IntakeOutcome:
    """Take in, record and answer one claimed file. A claim without "taken" may be a run that stopped
    before recording: the ledger knows the bytes (per sender), so taking it in again makes no version."""
    info, data, permalink = fetched
    origin = Origin(posted_file.user, posted_file.channel, posted_file.ts, permalink)
    outcome = intake.submit_bytes(data, str(info.get("name") or posted_file.name),
                                  permalink or info.get("url_private") or posted_file.id, sender=arrival.department,
                                  origin=origin, size=int(info.get("size") or len(data)), no_sender=NOT_REGISTERED)
    cycle.ledger.mark_arrival_taken(cycle.fiscal_year, SLACK, posted_file.id, outcome.record.id)
    _answer(cycle, outcome, reply_to=(posted_file.channel, posted_file.thread), ref=posted_file.id)
    if outcome.identity_refused:
        _tell_office(cycle, outcome, posted_file.id, posted_file.user, permalink)
    return outcome


def _tell_office(cycle: Cycle, outcome: IntakeOutcome, ref: str, sender: str, link: str | None) -> None:
    office = cycle.config.office_recipient
    if office is None or office.address is None:
        log.warning("a file was refused for who sent it, and cycle.yaml names no office channel to tell")
        return
    plan, record = cycle.plan, outcome.record
    department = plan.departments_by_key.get(record.department or "")
    text = render("sender_refused", plan=plan.name, fiscal_year=cycle.fiscal_year,
                  department=department.name if department else None, filename=outcome.shown, sender=sender,
                  reasons=[p.message for p in record.problems], link=link, received_at=record.received_at)
    cycle.dispatcher.notice("sender-refused", ref,
                            to_recipient(office, text, f"{cycle.fiscal_year}/sender-refused/{ref}", "sender_refused"))


def _answer(cycle: Cycle, outcome: IntakeOutcome, reply_to: tuple[str, str] | None = None,
            ref: str | None = None) -> None:
    """A receipt or the problems (once per file): in the thread the file was posted in, or else to the
    department the file counts for."""
    message = _answer_message(cycle, outcome, reply_to, ref)
    if message is not None:
        cycle.dispatcher.notice(*message)


def _answer_target(cycle: Cycle, outcome: IntakeOutcome, reply_to: tuple[str, str] | None = None,
                   ref: str | None = None) -> tuple[str, str, str, str | None] | None:
    """Which notice answers a file and where: (kind, key, address, thread); None when nobody is to be told."""
    department = cycle.plan.departments_by_key.get(outcome.record.department or "")
    if reply_to is not None:
        address, thread = reply_to
    else:
        address, thread = (cycle.directory.department(department.key).address if department else None), None
    if address is None:
        return None  # unidentified sender: the letter waits in answers/ for the office
    return "accepted" if outcome.accepted else "rejection", ref or outcome.record.sha256, address, thread


def _answer_message(cycle: Cycle, outcome: IntakeOutcome, reply_to: tuple[str, str] | None = None,
                    ref: str | None = None) -> tuple[str, str, list[Outgoing]] | None:
    """The notice (kind, key, messages) that answers a file (see _answer); None when nobody is to be told."""
    target = _answer_target(cycle, outcome, reply_to, ref)
    if target is None:
        return None
    _, ref, address, thread = target
    plan, year, record = cycle.plan, cycle.fiscal_year, outcome.record
    department = plan.departments_by_key.get(record.department or "")
    name = department.name if department else None
    if outcome.accepted:
        text = render("accepted", plan=plan.name, fiscal_year=year, department=name,
                      filename=outcome.shown, received_at=record.received_at,
                      measure_count=len(measures_on_form(plan, year, department.key)), version=record.version,
                      measure_label=plan.measure_label, again=record.duplicate, by_mail=is_mail(address))
        return "accepted", ref, [Outgoing(address, text, f"{year}/accepted/{ref}", "accepted", thread_ts=thread)]
    text = render("rejection", plan=plan.name, fiscal_year=year, department=name,
                  filename=outcome.shown, problems=list(record.problems), deadline=cycle.deadline,
                  marked_copy=outcome.marked_copy.name if outcome.marked_copy else None,
                  measure_label=plan.measure_label, again=record.duplicate, by_mail=is_mail(address))
    return "rejection", ref, [Outgoing(address, text, f"{year}/rejection/{ref}", "rejection", outcome.marked_copy,
                                       title="確認結果", thread_ts=thread)]


def record_delivery(cycle: Cycle, path: Path, department: str, delivered_by: str,
                    origin: Origin | None = None) -> bool:
    """Record who sent a file that is (or is about to be) in the inbox: what the collect stage trusts,
    never the file. False for what is not a regular file (nothing to record: it is refused unread)."""
    if department not in cycle.plan.departments_by_key:
        raise DomainError(f"所属コード「{department}」は所属の一覧にありません。")
    digest = _regular_file_sha256(Path(path))
    if digest is None:
        return False
    cycle.ledger.claim_arrival(
        cycle.fiscal_year, INBOX, f"{digest}:{department}", file_name=printable(Path(path).name)[:500],
        recorded_by=delivered_by, department=department, origin=origin or Origin(user=delivered_by, channel=INBOX))
    return True


def deliver(cycle: Cycle, paths: Iterable[str | Path], department: str, delivered_by: str,
            origin: Origin | None = None) -> int:
    """Put files into the cycle's inbox for a department, as a mail bridge or the office would, and
    record who sent them (see record_delivery)."""
    inbox = cycle.folder("inbox")
    count = 0
    for path in map(Path, paths):
        record_delivery(cycle, path, department, delivered_by, origin)
        # A link is delivered as a link (intake refuses it), never as a copy of what it points at.
        shutil.copy2(path, inbox / path.name, follow_symlinks=False)
        count += 1
    return count
