"""The ledger's use-facing API: record and read a cycle's history. Returns plain records, never
ORM objects, so callers hold no session.

Every write is one transaction: a submission is stored with all its results or problems, or not
at all. Writers of one cycle are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock on
the cycle), so version numbers follow the order in which submissions were stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Self

from sqlalchemy import Engine, bindparam, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tenken.core.assessment import Assessment
from tenken.core.errors import CellProblem, DomainError
from tenken.core.results import MeasureResult

from . import engine as _engine
from .models import (
    Arrival,
    Cycle,
    Notice,
    Publication,
    RatingAdjustment,
    RatingSnapshot,
    Reminder,
    Request,
    ReviewAttempt,
    ReviewCode,
    ReviewDecision,
    StoredFile,
    Submission,
    SubmittedResult,
    ValidationProblem,
    utcnow,
)

ACCEPTED = "accepted"
REJECTED = "rejected"
_RETRIES = 5


class LedgerError(DomainError):
    """The ledger cannot be opened (bad URL, unreachable server, unwritable file)."""


@dataclass(frozen=True)
class CycleRecord:
    fiscal_year: int
    plan_name: str
    deadline: date | None
    opened_at: datetime
    plan_id: str = ""


def _cycle_record(cycle: Cycle) -> CycleRecord:
    return CycleRecord(cycle.fiscal_year, cycle.plan_name, cycle.deadline, cycle.opened_at, cycle.plan_id)


@dataclass(frozen=True)
class Origin:
    """Who sent a file and where, as the channel says (never the file): a Slack user in a conversation,
    a mailbox, or whoever handed it over at the office."""

    user: str | None = None  # Slack user ID, e-mail address, or the office login that delivered it
    channel: str | None = None  # Slack conversation ID, 'inbox', 'cli'
    message_ts: str | None = None
    permalink: str | None = None


ANY_DEPARTMENT = object()  # find_submission: the same bytes from any department (forms read without a sender)


@dataclass(frozen=True)
class NewSubmission:
    """A received file and what intake made of it, to be stored in one go."""

    fiscal_year: int
    sha256: str
    size: int
    content: bytes | None  # None when refused before reading (over the size limit)
    file_name: str
    source: str
    channel: str
    file_format: str
    department: str | None
    accepted: bool
    results: tuple[MeasureResult, ...] = ()
    problems: tuple[CellProblem, ...] = ()
    sender: str | None = None
    origin: Origin | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    id: int
    fiscal_year: int
    department: str | None
    status: str
    version: int | None
    sha256: str
    received_at: datetime
    file_name: str
    source: str
    channel: str
    sender: str | None
    file_format: str
    problems: tuple[CellProblem, ...] = ()
    duplicate: bool = False  # the same bytes had already been recorded for this cycle (and sender)
    origin: Origin = Origin()

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED


@dataclass(frozen=True)
class ArrivalRecord:
    channel: str
    ref: str
    department: str | None
    file_name: str
    recorded_by: str
    status: str  # claimed | taken
    origin: Origin
    thread_ts: str | None
    submission_id: int | None
    claimed_at: datetime
    taken_at: datetime | None
    new: bool = False  # this call made the claim


@dataclass(frozen=True)
class DepartmentStatus:
    department: str
    latest: SubmissionRecord | None  # the accepted version that counts
    versions: int
    rejected: int
    last_received_at: datetime | None  # of any file, accepted or not


@dataclass(frozen=True)
class OutboundRecord:
    department: str | None
    stage: str | None  # reminders: the stage; notices: 'kind:key'
    status: str
    recipient: str
    claimed_at: datetime
    sent_at: datetime | None
    message_ref: str | None


@dataclass(frozen=True)
class ReviewRecord:
    round: int
    decision: str
    reviewer: str
    comments: str
    decided_at: datetime


@dataclass(frozen=True)
class ReviewCodeRecord:
    """A reviewer's confirmation code of a round, as the ledger keeps it (never the code itself)."""

    round: int
    reviewer: str
    contact: str
    issued_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    used_at: datetime | None
    message_ref: str | None


@dataclass(frozen=True)
class ReviewAttemptRecord:
    round: int
    outcome: str  # accepted | wrong | stale | reused | expired | locked
    reviewer: str | None
    decision: str
    attempted_at: datetime


@dataclass(frozen=True)
class ReviewVerdict:
    """What became of one answer to a paused review."""

    outcome: str  # as ReviewAttemptRecord.outcome
    reviewer: str | None  # whose code it was (accepted, reused, expired, stale)
    failures: int  # refused answers in the round so far, this one included
    locked: bool  # the round takes no more answers
    decision: ReviewRecord | None = None  # recorded when accepted

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


@dataclass(frozen=True)
class AdjustmentRecord:
    measure: str
    rating: str
    justification: str
    by: str
    recorded_at: datetime


@dataclass(frozen=True)
class PublicationRecord:
    version: int
    target: str
    files: dict = field(default_factory=dict)
    review_round: int | None = None
    published_at: datetime | None = None


def _submission_record(row: Submission, fiscal_year: int, problems=(), duplicate: bool = False) -> SubmissionRecord:
    return SubmissionRecord(
        id=row.id, fiscal_year=fiscal_year, department=row.department, status=row.status, version=row.version,
        sha256=row.sha256, received_at=row.received_at, file_name=row.file_name, source=row.source,
        channel=row.channel, sender=row.sender, file_format=row.file_format, problems=tuple(problems),
        duplicate=duplicate, origin=Origin(row.sender_user, row.sender_channel, row.message_ts, row.permalink))


def _arrival_record(row: Arrival, new: bool = False) -> ArrivalRecord:
    return ArrivalRecord(channel=row.channel, ref=row.ref, department=row.department, file_name=row.file_name,
                         recorded_by=row.recorded_by, status=row.status,
                         origin=Origin(row.sender_user, row.sender_channel, row.message_ts, row.permalink),
                         thread_ts=row.thread_ts, submission_id=row.submission_id, claimed_at=row.claimed_at,
                         taken_at=row.taken_at, new=new)


def _problem_record(row: ValidationProblem) -> CellProblem:
    return CellProblem(message=row.message, sheet=row.sheet, cell=row.cell, measure=row.measure, field=row.field,
                         part=row.part)


def _measure_result(row: SubmittedResult, department: str | None) -> MeasureResult:
    return MeasureResult(measure=row.measure, actual=tuple(row.actual), self_rating=row.self_rating,
                         reason=row.reason, cause=row.cause, highlight=tuple(row.highlight), department=department)


def _outbound_record(row, department: str | None, stage: str | None) -> OutboundRecord:
    return OutboundRecord(department=department, stage=stage, status=row.status, recipient=row.recipient,
                          claimed_at=row.claimed_at, sent_at=row.sent_at, message_ref=row.message_ref)


def _same_department(department: str | None):
    return Submission.department.is_(None) if department is None else Submission.department == department


class Ledger:
    """The record of every cycle. Open with `Ledger.open(url)`; the schema is migrated on open."""

    def __init__(self, engine: Engine, plan_id: str | None = None, plan_name: str = ""):
        self.engine = engine
        self._writer = engine.execution_options(**{_engine.WRITE: True})
        self._plan_id = plan_id
        self._plan_name = plan_name
        self._cycle_ids: dict[tuple[str, int], int] = {}  # (plan id, year) -> cycles.id, once seen (never changes)
        if plan_id is not None:
            self._adopt_unkeyed(plan_id, plan_name)

    @classmethod
    def open(cls, url: str, plan_id: str | None = None, plan_name: str = "") -> Ledger:
        """The ledger at `url`, for one plan's cycles (`plan_id`, as in plan.yaml). Without a plan id the
        ledger serves the one plan it holds, and refuses to guess when it holds several."""
        try:
            engine = _engine.make_engine(url)
            _engine.upgrade(engine)
        except (ArgumentError, OperationalError, OSError) as exc:
            shown = make_url(url).render_as_string(hide_password=True) if not isinstance(exc, ArgumentError) else url
            raise LedgerError(f"台帳（データベース {shown}）を開けません: {exc}") from None
        return cls(engine, plan_id, plan_name)

    @property
    def plan_id(self) -> str | None:
        return self._plan_id

    def bind(self, plan_id: str, plan_name: str = "") -> Self:
        """Serve only this plan's cycles from now on. A ledger already bound to another plan is refused:
        one Ledger object never mixes two plans."""
        if self._plan_id is not None and self._plan_id != plan_id:
            raise LedgerError(f"この台帳は計画「{self._plan_id}」のものとして開かれています（計画「{plan_id}」には使えません）")
        if self._plan_id is None:
            self._plan_id, self._plan_name = plan_id, plan_name
            self._adopt_unkeyed(plan_id, plan_name)
        return self

    def _adopt_unkeyed(self, plan_id: str, plan_name: str) -> None:
        """Cycles recorded before plans had ids (plan_id '', migration 0004) belong to the plan of the
        same name: until then a ledger held one plan. Claimed by the first process that opens it."""
        if not plan_name or not plan_id:
            return
        with self._read() as session:
            found = session.scalar(select(func.count()).select_from(Cycle).where(
                Cycle.plan_id == "", Cycle.plan_name == plan_name))
        if not found:
            return

        def work(session: Session) -> None:
            taken = set(session.scalars(select(Cycle.fiscal_year).where(Cycle.plan_id == plan_id)))
            for cycle in session.scalars(select(Cycle).where(Cycle.plan_id == "", Cycle.plan_name == plan_name)):
                if cycle.fiscal_year not in taken:
                    cycle.plan_id = plan_id

        self._retrying(work)

    def plans(self) -> dict[str, list[int]]:
        """Every plan id on record with its fiscal years (oldest first)."""
        with self._read() as session:
            rows = session.execute(select(Cycle.plan_id, Cycle.fiscal_year).order_by(Cycle.plan_id, Cycle.fiscal_year))
            out: dict[str, list[int]] = {}
            for plan_id, year in rows:
                out.setdefault(plan_id, []).append(year)
            return out

    def cycles(self) -> list[CycleRecord]:
        """This plan's cycles on record, oldest first."""
        with self._read() as session:
            plan_id = self._scope(session)
            rows = session.scalars(select(Cycle).where(Cycle.plan_id == plan_id).order_by(Cycle.fiscal_year))
            return [_cycle_record(c) for c in rows]

    def _scope(self, session: Session) -> str:
        """The plan whose cycles this ledger serves: the bound one, else the only one on record."""
        if self._plan_id is not None:
            return self._plan_id
        ids = list(session.scalars(select(Cycle.plan_id).distinct().order_by(Cycle.plan_id)))
        if len(ids) > 1:
            raise LedgerError(f"この台帳には複数の計画（{'、'.join(i or '（ID なし）' for i in ids)}）の記録があります。"
                              f"--config で計画を指定してください。")
        return ids[0] if ids else ""

    def _of_year(self, session: Session, fiscal_year: int) -> tuple:
        """Conditions on Cycle selecting this plan's cycle of the year (for joins)."""
        return Cycle.fiscal_year == fiscal_year, Cycle.plan_id == self._scope(session)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def _retrying(self, work):
        """Run a write; a unique constraint hit by a concurrent writer (PostgreSQL) means: look again."""
        for attempt in range(_RETRIES):
            try:
                with self._write() as session:
                    return work(session)
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise

    def _cycle(self, session: Session, fiscal_year: int, lock: bool = False) -> Cycle | None:
        query = select(Cycle).where(*self._of_year(session, fiscal_year))
        return session.scalars(query.with_for_update() if lock else query).one_or_none()

    def _cycle_id(self, session: Session, fiscal_year: int) -> int | None:
        """The id of this plan's cycle of the year (no lock), remembered once found: a cycle row is never
        deleted nor given another id, so the batch methods spare a query per transaction."""
        plan_id = self._scope(session)
        found = self._cycle_ids.get((plan_id, fiscal_year))
        if found is None:
            found = session.execute(select(Cycle.id).where(Cycle.fiscal_year == fiscal_year,
                                                           Cycle.plan_id == plan_id)).scalar_one_or_none()
            if found is not None:
                self._cycle_ids[(plan_id, fiscal_year)] = found
        return found

    def _cycle_for_write(self, session: Session, fiscal_year: int) -> Cycle:
        cycle = self._cycle(session, fiscal_year, lock=True)
        if cycle is None:
            cycle = Cycle(plan_id=self._scope(session), fiscal_year=fiscal_year, plan_name=self._plan_name,
                          opened_at=utcnow())
            session.add(cycle)
            session.flush()
        return cycle

    # ------------------------------------------------------------------ cycles

    def open_cycle(self, fiscal_year: int, plan_name: str = "", deadline: date | None = None) -> CycleRecord:
        """Record the cycle (once); a deadline or plan name given again replaces the recorded one."""

        def work(session: Session) -> CycleRecord:
            cycle = self._cycle_for_write(session, fiscal_year)
            if plan_name:
                cycle.plan_name = plan_name
            if deadline is not None:
                cycle.deadline = deadline
            return _cycle_record(cycle)

        return self._retrying(work)

    def cycle(self, fiscal_year: int) -> CycleRecord | None:
        with self._read() as session:
            cycle = self._cycle(session, fiscal_year)
            return None if cycle is None else _cycle_record(cycle)

    # ------------------------------------------------------------- submissions

    def store_submission(self, new: NewSubmission) -> SubmissionRecord:
        """Store a received file and its outcome, all or nothing. The same bytes already recorded for
        the cycle from the same department are not stored again: the earlier record comes back with
        `duplicate` set."""

        def work(session: Session) -> SubmissionRecord:
            # Core statements, not ORM objects: the same rows, a fraction of the time (a run takes in thousands).
            connection = session.connection()
            if connection.dialect.name == "sqlite":  # writers are serialised by BEGIN IMMEDIATE already
                cycle_id = self._cycle_id(session, new.fiscal_year)
            else:  # the row lock that serialises the cycle's writers (PostgreSQL)
                cycle_id = session.execute(select(Cycle.id).where(*self._of_year(session, new.fiscal_year))
                                           .with_for_update()).scalar_one_or_none()
            if cycle_id is None:
                cycle_id = self._cycle_for_write(session, new.fiscal_year).id
            earlier_id = session.execute(select(Submission.id).where(
                Submission.cycle_id == cycle_id, Submission.sha256 == new.sha256,
                _same_department(new.department)).order_by(Submission.id).limit(1)).scalar()
            if earlier_id is not None:
                earlier = session.get(Submission, earlier_id)
                return _submission_record(earlier, new.fiscal_year, self._problems(session, earlier.id), True)
            if session.execute(select(StoredFile.sha256).where(StoredFile.sha256 == new.sha256)).first() is None:
                connection.execute(insert(StoredFile.__table__).values(
                    sha256=new.sha256, size=new.size, content=new.content, stored_at=utcnow()))
            origin = new.origin or Origin()
            version = None
            if new.accepted:
                version = 1 + (session.scalar(select(func.max(Submission.version)).where(
                    Submission.cycle_id == cycle_id, Submission.department == new.department)) or 0)
            status, received_at = ACCEPTED if new.accepted else REJECTED, utcnow()
            submission_id = connection.execute(insert(Submission.__table__).values(
                cycle_id=cycle_id, sha256=new.sha256, department=new.department, status=status, version=version,
                received_at=received_at, file_name=new.file_name, source=new.source, channel=new.channel,
                sender=new.sender, file_format=new.file_format, sender_user=origin.user,
                sender_channel=origin.channel, message_ts=origin.message_ts,
                permalink=origin.permalink)).inserted_primary_key[0]
            if new.accepted and new.results:
                connection.execute(insert(SubmittedResult.__table__), [
                    {"submission_id": submission_id, "measure": r.measure, "actual": list(r.actual),
                     "self_rating": r.self_rating.value if r.self_rating else None, "reason": r.reason,
                     "cause": r.cause, "highlight": list(r.highlight)} for r in new.results])
            elif not new.accepted and new.problems:
                # One executemany: a hostile file can carry 20,000 problems.
                connection.execute(insert(ValidationProblem.__table__), [
                    {"submission_id": submission_id, "seq": i, "message": p.message, "sheet": p.sheet, "cell": p.cell,
                     "measure": p.measure, "field": p.field, "part": p.part} for i, p in enumerate(new.problems, 1)])
            return SubmissionRecord(
                id=submission_id, fiscal_year=new.fiscal_year, department=new.department, status=status,
                version=version, sha256=new.sha256, received_at=received_at, file_name=new.file_name,
                source=new.source, channel=new.channel, sender=new.sender, file_format=new.file_format,
                problems=tuple(new.problems) if not new.accepted else (),
                origin=Origin(origin.user, origin.channel, origin.message_ts, origin.permalink))

        return self._retrying(work)

    @staticmethod
    def _problems(session: Session, submission_id: int) -> list[CellProblem]:
        rows = session.scalars(select(ValidationProblem).where(ValidationProblem.submission_id == submission_id)
                               .order_by(ValidationProblem.seq))
        return [_problem_record(r) for r in rows]

    def find_submission(self, fiscal_year: int, sha256: str, department=ANY_DEPARTMENT) -> SubmissionRecord | None:
        """The record of these bytes in this cycle from this department (None: from no known department;
        ANY_DEPARTMENT: from anyone), if they were received before."""
        with self._read() as session:
            query = select(Submission).join(Cycle).where(*self._of_year(session, fiscal_year), Submission.sha256 == sha256)
            if department is not ANY_DEPARTMENT:
                query = query.where(_same_department(department))
            row = session.scalars(query.order_by(Submission.id)).first()
            if row is None:
                return None
            return _submission_record(row, fiscal_year, self._problems(session, row.id), duplicate=True)

    def submitted_digests(self, fiscal_year: int) -> set[tuple[str, str | None]]:
        """(SHA-256, department) of every file recorded for the cycle: what find_submission would find, read
        once for a run that takes in many files (bytes not among them need no look-up)."""
        with self._read() as session:
            return {(sha256, department) for sha256, department in session.execute(
                select(Submission.sha256, Submission.department).join(Cycle).where(*self._of_year(session, fiscal_year)))}

    def submissions(self, fiscal_year: int, department: str | None = None) -> list[SubmissionRecord]:
        """Every file received for the cycle, oldest first (with its problems when rejected)."""
        with self._read() as session:
            query = select(Submission).join(Cycle).where(*self._of_year(session, fiscal_year))
            if department is not None:
                query = query.where(Submission.department == department)
            rows = list(session.scalars(query.order_by(Submission.id)))
            problems: dict[int, list[CellProblem]] = {}
            rejected = [r.id for r in rows if r.status == REJECTED]
            if rejected:
                for p in session.scalars(select(ValidationProblem).where(
                        ValidationProblem.submission_id.in_(rejected)).order_by(ValidationProblem.seq)):
                    problems.setdefault(p.submission_id, []).append(_problem_record(p))
            return [_submission_record(r, fiscal_year, problems.get(r.id, ())) for r in rows]

    # ---------------------------------------------------------------- arrivals

    def claim_arrival(self, fiscal_year: int, channel: str, ref: str, *, file_name: str, recorded_by: str,
                      department: str | None, origin: Origin | None = None,
                      thread_ts: str | None = None) -> ArrivalRecord:
        """Record a file a channel delivered (once per channel and ref); returns the record, `new` when
        this call made it. An existing claim is returned unchanged, whatever this call says."""
        origin = origin or Origin()

        def work(session: Session) -> ArrivalRecord:
            cycle = self._cycle_for_write(session, fiscal_year)
            row = session.scalars(select(Arrival).filter_by(cycle_id=cycle.id, channel=channel, ref=ref)).one_or_none()
            if row is not None:
                return _arrival_record(row)
            row = Arrival(cycle_id=cycle.id, channel=channel, ref=ref, department=department,
                          sender_user=origin.user, sender_channel=origin.channel, message_ts=origin.message_ts,
                          thread_ts=thread_ts, permalink=origin.permalink, file_name=file_name[:500],
                          recorded_by=recorded_by[:200], status="claimed", claimed_at=utcnow())
            session.add(row)
            session.flush()
            return _arrival_record(row, new=True)

        return self._retrying(work)

    def arrival(self, fiscal_year: int, channel: str, ref: str) -> ArrivalRecord | None:
        with self._read() as session:
            row = session.scalars(select(Arrival).join(Cycle).where(
                *self._of_year(session, fiscal_year), Arrival.channel == channel, Arrival.ref == ref)).one_or_none()
            return None if row is None else _arrival_record(row)

    def inbox_arrival(self, fiscal_year: int, channel: str, sha256: str) -> ArrivalRecord | None:
        """The delivery a file with these bytes in a folder inbox stands for (deliveries are keyed
        '<sha256>:<department>'): the oldest not yet taken in, else the last one taken in. Copies of the
        same bytes delivered for two departments are told apart by order, since they cannot be by content."""
        return self.pick_inbox_arrival(self.inbox_arrivals(fiscal_year, channel, sha256))

    def inbox_arrivals(self, fiscal_year: int, channel: str, sha256: str) -> list[ArrivalRecord]:
        """Every delivery of a file with these bytes to a folder inbox, oldest first."""
        with self._read() as session:
            return [_arrival_record(r) for r in session.scalars(select(Arrival).join(Cycle).where(
                *self._of_year(session, fiscal_year), Arrival.channel == channel,
                Arrival.ref.startswith(f"{sha256}:", autoescape=True)).order_by(Arrival.id))]

    @staticmethod
    def pick_inbox_arrival(rows: Sequence[ArrivalRecord]) -> ArrivalRecord | None:
        """Of the deliveries of one file's bytes (oldest first), the one inbox_arrival names: the oldest not
        yet taken in, else the last one taken in."""
        pending = [r for r in rows if r.status != "taken"]
        if pending:
            return pending[0]
        return max(rows, key=lambda r: r.taken_at) if rows else None

    def mark_arrival_taken(self, fiscal_year: int, channel: str, ref: str, submission_id: int) -> None:
        with self._write() as session:
            row = session.scalars(select(Arrival).join(Cycle).where(
                *self._of_year(session, fiscal_year), Arrival.channel == channel, Arrival.ref == ref)).one()
            if row.status != "taken":
                row.status, row.submission_id, row.taken_at = "taken", submission_id, utcnow()

    def mark_arrivals_taken(self, fiscal_year: int, channel: str, taken: Iterable[tuple[str, int]]) -> None:
        """mark_arrival_taken for many arrivals of a channel, (ref, submission id) each, in one transaction."""
        taken = list(taken)
        if not taken:
            return
        table = Arrival.__table__
        statement = table.update().where(
            table.c.cycle_id == bindparam("b_cycle"), table.c.channel == bindparam("b_channel"),
            table.c.ref == bindparam("b_ref"), table.c.status != "taken").values(
            status="taken", submission_id=bindparam("b_submission", type_=table.c.submission_id.type),
            taken_at=bindparam("b_taken_at", type_=table.c.taken_at.type))
        with self._write() as session:
            cycle_id = self._cycle_id(session, fiscal_year)
            if cycle_id is None:
                raise LedgerError(f"{fiscal_year}年度の点検は台帳にありません")
            now = utcnow()
            session.connection().execute(statement, [
                {"b_cycle": cycle_id, "b_channel": channel, "b_ref": ref, "b_submission": submission_id,
                 "b_taken_at": now} for ref, submission_id in taken])

    def arrivals(self, fiscal_year: int, channel: str | None = None) -> list[ArrivalRecord]:
        with self._read() as session:
            query = select(Arrival).join(Cycle).where(*self._of_year(session, fiscal_year))
            if channel is not None:
                query = query.where(Arrival.channel == channel)
            return [_arrival_record(r) for r in session.scalars(query.order_by(Arrival.id))]

    def latest_versions(self, fiscal_year: int) -> dict[str, SubmissionRecord]:
        """Per department, the accepted version that counts (the highest)."""
        latest: dict[str, SubmissionRecord] = {}
        for record in self.submissions(fiscal_year):
            if record.accepted and (record.department not in latest
                                    or record.version > latest[record.department].version):
                latest[record.department] = record
        return latest

    def has_accepted(self, fiscal_year: int) -> bool:
        with self._read() as session:
            return session.scalar(select(func.count()).select_from(Submission).join(Cycle).where(
                *self._of_year(session, fiscal_year), Submission.status == ACCEPTED)) > 0

    def results_of(self, submission_id: int) -> list[MeasureResult]:
        with self._read() as session:
            submission = session.get(Submission, submission_id)
            rows = session.scalars(select(SubmittedResult).where(SubmittedResult.submission_id == submission_id)
                                   .order_by(SubmittedResult.id))
            return [_measure_result(r, submission.department) for r in rows]

    def latest_results(self, fiscal_year: int) -> list[MeasureResult]:
        """What the cycle's departments say now: the rows of every department's latest version."""
        latest = self.latest_versions(fiscal_year)
        if not latest:
            return []
        department_of = {record.id: department for department, record in latest.items()}
        with self._read() as session:
            rows = session.scalars(select(SubmittedResult).where(
                SubmittedResult.submission_id.in_(department_of)).order_by(SubmittedResult.id))
            return [_measure_result(r, department_of[r.submission_id]) for r in rows]

    def file_content(self, sha256: str) -> bytes | None:
        with self._read() as session:
            stored = session.get(StoredFile, sha256)
            return None if stored is None else stored.content

    def department_status(self, fiscal_year: int) -> dict[str, DepartmentStatus]:
        """Per department that sent anything identifiable: its latest version and its attempts."""
        records = [r for r in self.submissions(fiscal_year) if r.department is not None]
        status: dict[str, DepartmentStatus] = {}
        for department in dict.fromkeys(r.department for r in records):
            mine = [r for r in records if r.department == department]
            accepted = [r for r in mine if r.accepted]
            status[department] = DepartmentStatus(
                department=department,
                latest=max(accepted, key=lambda r: r.version) if accepted else None,
                versions=len(accepted),
                rejected=len(mine) - len(accepted),
                last_received_at=max(r.received_at for r in mine))
        return status

    # ---------------------------------------------------------------- outbound

    # ------------------------------------------------- outbound, many items in one transaction
    # A run that sends to every department (the requests; the answers to the files it took in) claims a chunk
    # of items in one transaction before sending any of them, and marks each one sent as soon as it is: the
    # same rows and the same guarantee as one item at a time (each claim recorded before its message is
    # sent; a crash leaves claimed rows), without a transaction and its ORM round trips per claim. The
    # one-item methods (claim_request, mark_request_sent, release_request, …) are these with one item.

    def _claim_many(self, model, fiscal_year: int, keys: tuple[str, ...], items: Iterable[dict]) -> list[dict]:
        """Claim every item (its `keys` columns, recipient and other columns) that nobody claimed yet, in one
        transaction; returns the items this call claimed, in order (an item given twice is claimed once)."""
        items = list(items)
        if not items:
            return []

        def work(session: Session) -> list[dict]:
            cycle = self._cycle_for_write(session, fiscal_year)
            last = keys[-1]
            taken = {tuple(row) for row in session.execute(
                select(*(getattr(model, k) for k in keys)).where(
                    model.cycle_id == cycle.id, getattr(model, last).in_(list(dict.fromkeys(item[last] for item in items)))))}
            now, claimed = utcnow(), []
            for item in items:
                ident = tuple(item[k] for k in keys)
                if ident not in taken:
                    taken.add(ident)
                    claimed.append(item)
            if claimed:
                session.execute(insert(model), [{**item, "cycle_id": cycle.id, "status": "claimed", "claimed_at": now}
                                                for item in claimed])
            return claimed

        return self._retrying(work)  # a unique constraint hit: a concurrent claim won some; look again

    def _mark_many_sent(self, model, fiscal_year: int, keys: tuple[str, ...],
                        sent: Iterable[tuple[tuple, str | None]]) -> None:
        """Mark each claimed item (its `keys` values) sent with its message reference, in one transaction."""
        sent = list(sent)
        if not sent:
            return
        table = model.__table__
        statement = table.update().where(
            table.c.cycle_id == bindparam("b_cycle"), *(table.c[k] == bindparam(f"b_{k}") for k in keys)).values(
            status="sent", sent_at=bindparam("b_sent_at", type_=table.c.sent_at.type),
            message_ref=bindparam("b_ref", type_=table.c.message_ref.type))
        with self._write() as session:
            cycle_id = self._cycle_id(session, fiscal_year)
            if cycle_id is None:
                raise LedgerError(f"{fiscal_year}年度の点検は台帳にありません（送信の記録ができません）")
            now = utcnow()
            connection = session.connection()
            result = connection.execute(statement, [
                {"b_cycle": cycle_id, **{f"b_{k}": v for k, v in zip(keys, ident, strict=True)}, "b_sent_at": now,
                 "b_ref": ref} for ident, ref in sent])
            if (len(sent) == 1 or connection.dialect.supports_sane_multi_rowcount) and 0 <= result.rowcount < len(sent):
                raise LedgerError(f"送信の記録に対応する予約（{model.__tablename__}）が台帳にありません")

    def _release_many(self, model, fiscal_year: int, keys: tuple[str, ...], idents: Iterable[tuple]) -> None:
        """Give back the claims (not those marked sent) of these items, in one transaction."""
        idents = list(idents)
        if not idents:
            return
        table = model.__table__
        statement = table.delete().where(
            table.c.cycle_id == bindparam("b_cycle"), table.c.status == "claimed",
            *(table.c[k] == bindparam(f"b_{k}") for k in keys))
        with self._write() as session:
            cycle_id = self._cycle_id(session, fiscal_year)
            if cycle_id is not None:
                session.connection().execute(statement, [
                    {"b_cycle": cycle_id, **{f"b_{k}": v for k, v in zip(keys, ident, strict=True)}} for ident in idents])

    def claim_requests(self, fiscal_year: int, wanted: Iterable[tuple[str, str, str | None]]) -> list[str]:
        """claim_request for many departments at once, (department, recipient, file_sha256) each, in one
        transaction: the departments this call claimed (it alone may send them their request now)."""
        claimed = self._claim_many(Request, fiscal_year, ("department",), (
            {"department": department, "recipient": recipient, "file_sha256": sha256}
            for department, recipient, sha256 in wanted))
        return [item["department"] for item in claimed]

    def mark_requests_sent(self, fiscal_year: int, sent: Iterable[tuple[str, str | None]]) -> None:
        """mark_request_sent for many departments, (department, message_ref) each, in one transaction."""
        self._mark_many_sent(Request, fiscal_year, ("department",), (((d,), ref) for d, ref in sent))

    def release_requests(self, fiscal_year: int, departments: Iterable[str]) -> None:
        """release_request for many departments, in one transaction."""
        self._release_many(Request, fiscal_year, ("department",), ((d,) for d in departments))

    def claim_reminders(self, fiscal_year: int,
                        wanted: Iterable[tuple[str, str, str, bool]]) -> list[tuple[str, str]]:
        """claim_reminder for many reminders at once, (department, stage, recipient, escalated) each, in one
        transaction: the (department, stage) this call claimed."""
        claimed = self._claim_many(Reminder, fiscal_year, ("department", "stage"), (
            {"department": department, "stage": stage, "recipient": recipient, "escalated": escalated}
            for department, stage, recipient, escalated in wanted))
        return [(item["department"], item["stage"]) for item in claimed]

    def mark_reminders_sent(self, fiscal_year: int, sent: Iterable[tuple[str, str, str | None]]) -> None:
        """mark_reminder_sent for many reminders, (department, stage, message_ref) each, in one transaction."""
        self._mark_many_sent(Reminder, fiscal_year, ("department", "stage"),
                             (((department, stage), ref) for department, stage, ref in sent))

    def release_reminders(self, fiscal_year: int, reminders: Iterable[tuple[str, str]]) -> None:
        """release_reminder for many reminders, (department, stage) each, in one transaction."""
        self._release_many(Reminder, fiscal_year, ("department", "stage"), reminders)

    def claim_notices(self, fiscal_year: int, wanted: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
        """claim_notice for many notices at once, (kind, key, recipient) each, in one transaction: the
        (kind, key) this call claimed."""
        claimed = self._claim_many(Notice, fiscal_year, ("kind", "key"), (
            {"kind": kind, "key": key, "recipient": recipient} for kind, key, recipient in wanted))
        return [(item["kind"], item["key"]) for item in claimed]

    def mark_notices_sent(self, fiscal_year: int, sent: Iterable[tuple[str, str, str | None]]) -> None:
        """mark_notice_sent for many notices, (kind, key, message_ref) each, in one transaction."""
        self._mark_many_sent(Notice, fiscal_year, ("kind", "key"), (((kind, key), ref) for kind, key, ref in sent))

    def release_notices(self, fiscal_year: int, notices: Iterable[tuple[str, str]]) -> None:
        """release_notice for many notices, (kind, key) each, in one transaction."""
        self._release_many(Notice, fiscal_year, ("kind", "key"), notices)

    def claim_request(self, fiscal_year: int, department: str, recipient: str = "",
                      file_sha256: str | None = None) -> bool:
        """True: the caller may send this department's request now, and is the only one who may.
        False: it was sent, or claimed by a run that may have sent it; do not send."""
        return bool(self.claim_requests(fiscal_year, [(department, recipient, file_sha256)]))

    def mark_request_sent(self, fiscal_year: int, department: str, message_ref: str | None = None) -> None:
        self.mark_requests_sent(fiscal_year, [(department, message_ref)])

    def release_request(self, fiscal_year: int, department: str) -> None:
        """Give a claim back when sending certainly failed (nothing left), so a rerun may send."""
        self.release_requests(fiscal_year, [department])

    def requests(self, fiscal_year: int) -> list[OutboundRecord]:
        with self._read() as session:
            rows = session.scalars(select(Request).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(Request.id))
            return [_outbound_record(r, r.department, None) for r in rows]

    def other_plans_requests(self) -> list[tuple[str, int, OutboundRecord]]:
        """The requests every other plan in this ledger sent, as (plan id, fiscal year, request): where
        several plans share a Slack conversation or the office's mailbox, a reply to one of these
        belongs to that plan, and this plan's collection leaves it alone."""
        with self._read() as session:
            plan_id = self._scope(session)
            rows = session.execute(select(Cycle.plan_id, Cycle.fiscal_year, Request).join(Cycle)
                                   .where(Cycle.plan_id != plan_id).order_by(Request.id))
            return [(pid, year, _outbound_record(r, r.department, None)) for pid, year, r in rows]

    def claim_reminder(self, fiscal_year: int, department: str, stage: str, recipient: str = "",
                       escalated: bool = False) -> bool:
        """At most one reminder per (cycle, department, stage); see claim_request."""
        return bool(self.claim_reminders(fiscal_year, [(department, stage, recipient, escalated)]))

    def mark_reminder_sent(self, fiscal_year: int, department: str, stage: str,
                           message_ref: str | None = None) -> None:
        self.mark_reminders_sent(fiscal_year, [(department, stage, message_ref)])

    def release_reminder(self, fiscal_year: int, department: str, stage: str) -> None:
        self.release_reminders(fiscal_year, [(department, stage)])

    def reminders(self, fiscal_year: int) -> list[OutboundRecord]:
        with self._read() as session:
            rows = session.scalars(select(Reminder).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(Reminder.id))
            return [_outbound_record(r, r.department, r.stage) for r in rows]

    def claim_notice(self, fiscal_year: int, kind: str, key: str, recipient: str = "") -> bool:
        """At most one notice per (cycle, kind, key), e.g. ('review', 'round-1'); see claim_request."""
        return bool(self.claim_notices(fiscal_year, [(kind, key, recipient)]))

    def mark_notice_sent(self, fiscal_year: int, kind: str, key: str, message_ref: str | None = None) -> None:
        self.mark_notices_sent(fiscal_year, [(kind, key, message_ref)])

    def release_notice(self, fiscal_year: int, kind: str, key: str) -> None:
        self.release_notices(fiscal_year, [(kind, key)])

    def notices(self, fiscal_year: int) -> list[OutboundRecord]:
        with self._read() as session:
            rows = session.scalars(select(Notice).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(Notice.id))
            return [_outbound_record(r, None, f"{r.kind}:{r.key}") for r in rows]

    # ------------------------------------------------------ review and publish

    def record_ratings(self, assessment: Assessment, round: int) -> int:
        """Snapshot the ratings and adjustments a compile used; once per (cycle, round). Returns rows stored."""
        frame = assessment.measures
        rated = frame[frame["status"] == "rated"]

        def work(session: Session) -> int:
            cycle = self._cycle_for_write(session, assessment.fiscal_year)
            if session.scalars(select(RatingSnapshot).filter_by(cycle_id=cycle.id, round=round)).first():
                return 0
            taken_at = utcnow()
            session.add_all(RatingSnapshot(
                cycle_id=cycle.id, round=round, measure=row.key, department=row.department,
                rule_rating=row.rule_rating, self_rating=row.self_rating or None, rating=row.rating,
                adjustment_justification=row.adjustment_reason, adjusted_by=row.adjusted_by, taken_at=taken_at)
                for row in rated.itertuples())
            return len(rated)

        return self._retrying(work)

    def snapshot_rounds(self, fiscal_year: int) -> list[int]:
        """The review rounds whose ratings were recorded, in order."""
        with self._read() as session:
            return list(session.scalars(select(RatingSnapshot.round).join(Cycle).where(
                *self._of_year(session, fiscal_year)).distinct().order_by(RatingSnapshot.round)))

    def rating_snapshot(self, fiscal_year: int, round: int) -> list[dict]:
        with self._read() as session:
            rows = session.scalars(select(RatingSnapshot).join(Cycle).where(
                *self._of_year(session, fiscal_year), RatingSnapshot.round == round).order_by(RatingSnapshot.id))
            return [{"measure": r.measure, "department": r.department, "rule_rating": r.rule_rating,
                     "self_rating": r.self_rating, "rating": r.rating,
                     "adjustment_justification": r.adjustment_justification, "adjusted_by": r.adjusted_by}
                    for r in rows]

    def record_review_decision(self, fiscal_year: int, round: int, decision: str, reviewer: str,
                               comments: str = "") -> ReviewRecord:
        """A reviewer's decision on a review round; recording it again returns the first one unchanged."""

        def work(session: Session) -> ReviewRecord:
            cycle = self._cycle_for_write(session, fiscal_year)
            row = session.scalars(select(ReviewDecision).filter_by(
                cycle_id=cycle.id, round=round, reviewer=reviewer)).one_or_none()
            if row is None:
                row = ReviewDecision(cycle_id=cycle.id, round=round, decision=decision, reviewer=reviewer,
                                     comments=comments, decided_at=utcnow())
                session.add(row)
            return ReviewRecord(row.round, row.decision, row.reviewer, row.comments, row.decided_at)

        return self._retrying(work)

    def review_decisions(self, fiscal_year: int) -> list[ReviewRecord]:
        with self._read() as session:
            rows = session.scalars(select(ReviewDecision).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(ReviewDecision.round, ReviewDecision.id))
            return [ReviewRecord(r.round, r.decision, r.reviewer, r.comments, r.decided_at) for r in rows]

    def store_review_code(self, fiscal_year: int, round: int, reviewer: str, contact: str, digest: str,
                          expires_at: datetime) -> bool:
        """Keep the digest of a reviewer's new code for the round. False (nothing changed) when the
        reviewer's code of the round was already sent; a code stored but never sent is replaced."""

        def work(session: Session) -> bool:
            cycle = self._cycle_for_write(session, fiscal_year)
            row = session.scalars(select(ReviewCode).filter_by(
                cycle_id=cycle.id, round=round, reviewer=reviewer)).one_or_none()
            if row is not None and row.sent_at is not None:
                return False
            if row is None:
                row = ReviewCode(cycle_id=cycle.id, round=round, reviewer=reviewer)
                session.add(row)
            row.contact, row.digest, row.issued_at, row.expires_at = contact, digest, utcnow(), expires_at
            return True

        return self._retrying(work)

    def mark_review_code_sent(self, fiscal_year: int, round: int, reviewer: str, message_ref: str | None) -> None:
        with self._write() as session:
            cycle = self._cycle_for_write(session, fiscal_year)
            row = session.scalars(select(ReviewCode).filter_by(
                cycle_id=cycle.id, round=round, reviewer=reviewer)).one()
            row.sent_at, row.message_ref = utcnow(), message_ref

    def review_codes(self, fiscal_year: int, round: int | None = None) -> list[ReviewCodeRecord]:
        with self._read() as session:
            query = select(ReviewCode).join(Cycle).where(*self._of_year(session, fiscal_year))
            if round is not None:
                query = query.where(ReviewCode.round == round)
            return [ReviewCodeRecord(r.round, r.reviewer, r.contact, r.issued_at, r.expires_at, r.sent_at, r.used_at,
                                     r.message_ref)
                    for r in session.scalars(query.order_by(ReviewCode.round, ReviewCode.id))]

    def answer_review(self, fiscal_year: int, round: int, digest: str, decision: str, comments: str,
                      now: datetime, lock_after: int = 5) -> ReviewVerdict:
        """One answer to round `round`, with the digest of the code it came with, in one transaction:
        the code must be a sent code of this round, unused and unexpired, and the round not locked;
        then the code is spent and the decision recorded under the code's reviewer. Every answer is
        kept (review_attempts); `lock_after` refused answers lock the round."""

        def work(session: Session) -> ReviewVerdict:
            cycle = self._cycle_for_write(session, fiscal_year)
            failures = session.scalar(select(func.count()).select_from(ReviewAttempt).where(
                ReviewAttempt.cycle_id == cycle.id, ReviewAttempt.round == round,
                ReviewAttempt.outcome != "accepted")) or 0
            row = session.scalars(select(ReviewCode).where(ReviewCode.cycle_id == cycle.id,
                                                           ReviewCode.digest == digest)).first()
            if failures >= lock_after:
                outcome = "locked"
            elif row is None or row.sent_at is None:
                outcome = "wrong"
            elif row.round != round:
                outcome = "stale"
            elif row.used_at is not None:
                outcome = "reused"
            elif now > row.expires_at:
                outcome = "expired"
            else:
                outcome = "accepted"
            reviewer = row.reviewer if row is not None and outcome != "wrong" else None
            session.add(ReviewAttempt(cycle_id=cycle.id, round=round, outcome=outcome, reviewer=reviewer,
                                      decision=decision, attempted_at=now))
            if outcome != "accepted":
                failures += outcome != "locked"
                return ReviewVerdict(outcome, reviewer, failures, failures >= lock_after)
            row.used_at = now
            recorded = ReviewDecision(cycle_id=cycle.id, round=round, decision=decision, reviewer=row.reviewer,
                                      comments=comments, decided_at=now)
            session.add(recorded)
            return ReviewVerdict(outcome, reviewer, failures, False,
                                 ReviewRecord(round, decision, row.reviewer, comments, now))

        return self._retrying(work)

    def review_attempts(self, fiscal_year: int) -> list[ReviewAttemptRecord]:
        with self._read() as session:
            rows = session.scalars(select(ReviewAttempt).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(ReviewAttempt.id))
            return [ReviewAttemptRecord(r.round, r.outcome, r.reviewer, r.decision, r.attempted_at) for r in rows]

    def record_adjustment(self, fiscal_year: int, measure: str, rating: str, justification: str,
                          by: str) -> AdjustmentRecord:
        """The office's adjusted rating of a measure; entered again, the latest one counts."""

        def work(session: Session) -> AdjustmentRecord:
            cycle = self._cycle_for_write(session, fiscal_year)
            row = RatingAdjustment(cycle_id=cycle.id, measure=measure, rating=rating, justification=justification,
                                   adjusted_by=by, recorded_at=utcnow())
            session.add(row)
            return AdjustmentRecord(measure, rating, justification, by, row.recorded_at)

        return self._retrying(work)

    def adjustments(self, fiscal_year: int) -> list[AdjustmentRecord]:
        """Every adjustment entered for the cycle, oldest first (the latest of a measure counts)."""
        with self._read() as session:
            rows = session.scalars(select(RatingAdjustment).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(RatingAdjustment.id))
            return [AdjustmentRecord(r.measure, r.rating, r.justification, r.adjusted_by, r.recorded_at) for r in rows]

    def record_publication(self, fiscal_year: int, target: str, files: dict[str, str],
                           review_round: int | None = None) -> PublicationRecord:
        """A publication of the cycle (file name -> sha256); each one is a new version."""

        def work(session: Session) -> PublicationRecord:
            cycle = self._cycle_for_write(session, fiscal_year)
            version = 1 + (session.scalar(select(func.max(Publication.version)).where(
                Publication.cycle_id == cycle.id)) or 0)
            row = Publication(cycle_id=cycle.id, version=version, target=target, files=dict(files),
                              review_round=review_round, published_at=utcnow())
            session.add(row)
            return PublicationRecord(version, target, dict(files), review_round, row.published_at)

        return self._retrying(work)

    def publications(self, fiscal_year: int) -> list[PublicationRecord]:
        with self._read() as session:
            rows = session.scalars(select(Publication).join(Cycle).where(*self._of_year(session, fiscal_year))
                                   .order_by(Publication.version))
            return [PublicationRecord(r.version, r.target, dict(r.files), r.review_round, r.published_at)
                    for r in rows]
