"""The ledger's tables. Rows are only ever added (and outbound claims marked sent or released):
no department submission is updated in place or deleted.

Schema changes go through a new Alembic revision in tenken/ledger/migrations/versions/; a test
checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite keeps no zone), always handed back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Cycle(Base):
    """One plan's inspection of one fiscal year."""

    __tablename__ = "cycles"
    __table_args__ = (UniqueConstraint("plan_id", "fiscal_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64), default="", server_default="")  # '': recorded before plan ids
    fiscal_year: Mapped[int] = mapped_column(Integer)
    plan_name: Mapped[str] = mapped_column(String(200), default="")
    deadline: Mapped[date | None] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoredFile(Base):
    """Every byte a department sent, addressed by its SHA-256, so no version depends on the inbox."""

    __tablename__ = "files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None: refused before reading (over the size limit)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Submission(Base):
    """One file received for a cycle, accepted or rejected. Accepted ones are numbered versions per
    department; the highest version is the one that counts, the earlier ones stay.

    `department` is who the file counts for, which the channel establishes (the sender), never the file:
    the same bytes from two departments are two submissions (one of them refused)."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("cycle_id", "department", "sha256"),
        UniqueConstraint("cycle_id", "department", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("files.sha256"))
    department: Mapped[str | None] = mapped_column(String(100))  # None: the file could not be identified
    status: Mapped[str] = mapped_column(String(16))  # accepted | rejected
    version: Mapped[int | None] = mapped_column(Integer)  # accepted only
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    file_name: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)  # path or URL as received
    channel: Mapped[str] = mapped_column(String(50))  # inbox, cli, slack, …
    sender: Mapped[str | None] = mapped_column(String(200))  # who sent it, when the channel knows
    file_format: Mapped[str] = mapped_column(String(16))  # xlsx | csv | "" (unreadable)
    sender_user: Mapped[str | None] = mapped_column(String(200))  # Slack user ID, e-mail, or who handed it over
    sender_channel: Mapped[str | None] = mapped_column(String(200))  # Slack conversation ID, mailbox, inbox
    message_ts: Mapped[str | None] = mapped_column(String(50))  # the Slack message the file came with
    permalink: Mapped[str | None] = mapped_column(Text)


class Arrival(Base):
    """A file a channel delivered, claimed before it is taken in: a Slack file ID, or an inbox delivery
    (by its SHA-256) with the sender whoever put it there recorded. Claimed once; 'taken' once its
    submission is stored, so reruns, retries and a crash in between take it in exactly once."""

    __tablename__ = "arrivals"
    __table_args__ = (UniqueConstraint("cycle_id", "channel", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    channel: Mapped[str] = mapped_column(String(50))  # slack | inbox
    ref: Mapped[str] = mapped_column(String(200))  # Slack file ID; inbox: the file's SHA-256
    department: Mapped[str | None] = mapped_column(String(100))  # as the channel says
    sender_user: Mapped[str | None] = mapped_column(String(200))
    sender_channel: Mapped[str | None] = mapped_column(String(200))
    message_ts: Mapped[str | None] = mapped_column(String(50))
    thread_ts: Mapped[str | None] = mapped_column(String(50))
    permalink: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(200))  # the collect stage, or who delivered it by hand
    status: Mapped[str] = mapped_column(String(16))  # claimed | taken
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SubmittedResult(Base):
    """What an accepted version says about one measure, as the department wrote it (text only)."""

    __tablename__ = "submitted_results"
    __table_args__ = (UniqueConstraint("submission_id", "measure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    measure: Mapped[str] = mapped_column(String(100))
    actual: Mapped[list] = mapped_column(JSON)
    self_rating: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str | None] = mapped_column(String(100))
    highlight: Mapped[list] = mapped_column(JSON)


class ValidationProblem(Base):
    """Why a submission was rejected, cell by cell."""

    __tablename__ = "validation_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    sheet: Mapped[str | None] = mapped_column(String(100))
    cell: Mapped[str | None] = mapped_column(String(100))
    measure: Mapped[str | None] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(32))
    part: Mapped[int | None] = mapped_column(Integer)


class RatingSnapshot(Base):
    """The ratings and adjustments a compile used (one row per measure per round)."""

    __tablename__ = "rating_snapshots"
    __table_args__ = (UniqueConstraint("cycle_id", "round", "measure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    rule_rating: Mapped[str] = mapped_column(String(4))
    self_rating: Mapped[str | None] = mapped_column(String(4))
    rating: Mapped[str] = mapped_column(String(4))
    adjustment_justification: Mapped[str] = mapped_column(Text, default="")
    adjusted_by: Mapped[str] = mapped_column(String(200), default="")
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class _Outbound:
    """A message that must go out at most once: claimed before sending, marked sent after.

    A claim that never became 'sent' means the sender crashed in between; it is not sent again
    automatically (the message may or may not have left), and shows as such in the ledger.
    """

    status: Mapped[str] = mapped_column(String(16), default="claimed")  # claimed | sent
    recipient: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_ref: Mapped[str | None] = mapped_column(String(200))  # e.g. the Slack channel and ts


class Request(_Outbound, Base):
    """The request workbook sent to a department."""

    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("cycle_id", "department"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    department: Mapped[str] = mapped_column(String(100))
    file_sha256: Mapped[str | None] = mapped_column(String(64))


class Reminder(_Outbound, Base):
    """A reminder to a department at one stage of the reminder policy (e.g. 'before-7', 'overdue-2')."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("cycle_id", "department", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    department: Mapped[str] = mapped_column(String(100))
    stage: Mapped[str] = mapped_column(String(50))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)


class Notice(_Outbound, Base):
    """Any other one-off message of a cycle (review notice of a round, publication announcement)."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("cycle_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(100))


class ReviewDecision(Base):
    """A reviewer's decision on one review round (one per reviewer and round; the reviewer is the one
    whose confirmation code came with the decision)."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("cycle_id", "round", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(32))  # approve | request_changes
    reviewer: Mapped[str] = mapped_column(String(200))
    comments: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewCode(Base):
    """A reviewer's one-time confirmation code of one round: only its keyed digest is kept.

    Sent to the reviewer's own channel; the decision that comes with it is that reviewer's. A row
    not yet sent may be replaced by a new code (the old one never reached anyone)."""

    __tablename__ = "review_codes"
    __table_args__ = (UniqueConstraint("cycle_id", "round", "reviewer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    reviewer: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_ref: Mapped[str | None] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewAttempt(Base):
    """Every answer to a paused review, accepted or refused (wrong, reused, expired code; locked round)."""

    __tablename__ = "review_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str | None] = mapped_column(String(200))  # whose code it was, when it was one
    decision: Mapped[str] = mapped_column(String(32))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RatingAdjustment(Base):
    """The office's adjusted rating of a measure (`tenken adjust`); the latest row of a measure counts."""

    __tablename__ = "rating_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    measure: Mapped[str] = mapped_column(String(100))
    rating: Mapped[str] = mapped_column(String(4))
    justification: Mapped[str] = mapped_column(Text)
    adjusted_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Publication(Base):
    """The final report published for a cycle: where, when, and the checksum of every file."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("cycle_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(Text)
    files: Mapped[dict] = mapped_column(JSON)  # file name -> sha256
    review_round: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
