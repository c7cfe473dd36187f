"""The ledger's batch methods (issue 14): many claims, marks, releases, arrivals in one transaction each, with
the same rows and the same at-most-once guarantee as the one-at-a-time methods. Runs on SQLite, and on
PostgreSQL too when TENKEN_TEST_POSTGRES_URL is set (see conftest.py)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tenken.ledger import Ledger, NewSubmission, Origin
from tenken.ledger.models import Notice, Reminder, Request
from tenken.ledger.repository import LedgerError

from .conftest import YEAR

DEPARTMENTS = [f"department-{n:03}" for n in range(12)]


@pytest.fixture
def any_ledger(ledger_url):
    with Ledger.open(ledger_url) as opened:
        opened.open_cycle(YEAR, "計画")
        yield opened


def rows(ledger: Ledger, model) -> list:
    """Every row of an outbound table, as the columns that say what was claimed and sent."""
    with ledger.engine.connect() as connection:
        found = connection.execute(select(model.__table__).order_by(model.id)).mappings().all()
    return [{k: v for k, v in row.items() if k not in ("id", "cycle_id", "claimed_at", "sent_at")} for row in found]


def test_claiming_many_requests_makes_a_claimed_row_for_each_in_order(any_ledger):
    wanted = [(d, f"#{d}", f"{n:064x}") for n, d in enumerate(DEPARTMENTS)]

    claimed = any_ledger.claim_requests(YEAR, wanted)

    assert claimed == DEPARTMENTS, "all claimed, in the order given"
    assert [(r.department, r.status, r.recipient, r.sent_at, r.message_ref) for r in any_ledger.requests(YEAR)] == [
        (d, "claimed", f"#{d}", None, None) for d in DEPARTMENTS]
    assert [r["file_sha256"] for r in rows(any_ledger, Request)] == [sha for _, _, sha in wanted]
    assert all(r.claimed_at.tzinfo is not None for r in any_ledger.requests(YEAR))


def test_a_request_claimed_or_sent_before_is_not_claimed_again_and_one_given_twice_is_claimed_once(any_ledger):
    assert any_ledger.claim_request(YEAR, DEPARTMENTS[0], "#zero")
    any_ledger.claim_requests(YEAR, [(DEPARTMENTS[1], "#one", None)])
    any_ledger.mark_requests_sent(YEAR, [(DEPARTMENTS[1], "C1/1.0")])

    claimed = any_ledger.claim_requests(YEAR, [(d, "#again", None) for d in DEPARTMENTS[:4]]
                                        + [(DEPARTMENTS[3], "#twice", None)])

    assert claimed == DEPARTMENTS[2:4]
    assert not any_ledger.claim_request(YEAR, DEPARTMENTS[3]), "the one-at-a-time claim sees the batch's"
    assert [(r.department, r.status, r.recipient) for r in any_ledger.requests(YEAR)] == [
        (DEPARTMENTS[0], "claimed", "#zero"), (DEPARTMENTS[1], "sent", "#one"),
        (DEPARTMENTS[2], "claimed", "#again"), (DEPARTMENTS[3], "claimed", "#again")]


def test_marking_requests_sent_records_each_reference_and_a_request_never_claimed_cannot_be_marked(any_ledger):
    any_ledger.claim_requests(YEAR, [(d, f"#{d}", None) for d in DEPARTMENTS[:3]])

    any_ledger.mark_requests_sent(YEAR, [(DEPARTMENTS[0], "C1/1.0"), (DEPARTMENTS[2], None)])
    any_ledger.mark_request_sent(YEAR, DEPARTMENTS[1], "C1/2.0")

    assert [(r.status, r.message_ref, r.sent_at is not None) for r in any_ledger.requests(YEAR)] == [
        ("sent", "C1/1.0", True), ("sent", "C1/2.0", True), ("sent", None, True)]
    with pytest.raises(LedgerError):
        any_ledger.mark_request_sent(YEAR, DEPARTMENTS[5], "C1/3.0")
    with pytest.raises(LedgerError):
        any_ledger.mark_requests_sent(YEAR + 1, [(DEPARTMENTS[0], "C1/1.0")])


def test_releasing_requests_gives_back_only_claims_not_marked_sent(any_ledger):
    any_ledger.claim_requests(YEAR, [(d, f"#{d}", None) for d in DEPARTMENTS[:4]])
    any_ledger.mark_request_sent(YEAR, DEPARTMENTS[0], "C1/1.0")

    any_ledger.release_requests(YEAR, DEPARTMENTS[:3] + [DEPARTMENTS[9]])

    assert [(r.department, r.status) for r in any_ledger.requests(YEAR)] == [
        (DEPARTMENTS[0], "sent"), (DEPARTMENTS[3], "claimed")]
    assert any_ledger.claim_requests(YEAR, [(d, "#", None) for d in DEPARTMENTS[:3]]) == DEPARTMENTS[1:3]


def test_notices_are_claimed_marked_and_released_by_kind_and_key(any_ledger):
    assert any_ledger.claim_notice(YEAR, "accepted", "a" * 64, "#x")
    wanted = [("accepted", "a" * 64, "#y"), ("rejection", "a" * 64, "#y"), ("accepted", "b" * 64, "#z"),
              ("rejection", "a" * 64, "#again")]

    claimed = any_ledger.claim_notices(YEAR, wanted)

    assert claimed == [("rejection", "a" * 64), ("accepted", "b" * 64)]
    any_ledger.mark_notices_sent(YEAR, [("rejection", "a" * 64, "C1/1.0")])
    any_ledger.release_notices(YEAR, [("rejection", "a" * 64), ("accepted", "b" * 64), ("accepted", "a" * 64)])
    assert [(r.stage, r.status, r.recipient, r.message_ref) for r in any_ledger.notices(YEAR)] == [
        (f"rejection:{'a' * 64}", "sent", "#y", "C1/1.0")]
    assert not any_ledger.claim_notice(YEAR, "rejection", "a" * 64)
    assert any_ledger.claim_notice(YEAR, "accepted", "b" * 64)


def test_reminders_are_claimed_marked_and_released_by_department_and_stage(any_ledger):
    assert any_ledger.claim_reminder(YEAR, DEPARTMENTS[0], "due_today", "#zero")
    wanted = [(DEPARTMENTS[0], "due_today", "#zero", False), (DEPARTMENTS[0], "overdue_2", "#zero", True),
              (DEPARTMENTS[1], "due_today", "#one", False)]

    claimed = any_ledger.claim_reminders(YEAR, wanted)

    assert claimed == [(DEPARTMENTS[0], "overdue_2"), (DEPARTMENTS[1], "due_today")]
    assert [(r["department"], r["stage"], r["escalated"], r["status"]) for r in rows(any_ledger, Reminder)] == [
        (DEPARTMENTS[0], "due_today", False, "claimed"), (DEPARTMENTS[0], "overdue_2", True, "claimed"),
        (DEPARTMENTS[1], "due_today", False, "claimed")]
    any_ledger.mark_reminders_sent(YEAR, [(DEPARTMENTS[0], "overdue_2", "C1/1.0")])
    any_ledger.release_reminders(YEAR, [(DEPARTMENTS[0], "overdue_2"), (DEPARTMENTS[1], "due_today")])
    assert [(r.department, r.stage, r.status) for r in any_ledger.reminders(YEAR)] == [
        (DEPARTMENTS[0], "due_today", "claimed"), (DEPARTMENTS[0], "overdue_2", "sent")]


def test_two_runs_claiming_overlapping_chunks_at_once_claim_each_item_exactly_once(ledger_url):
    with Ledger.open(ledger_url) as first:
        first.open_cycle(YEAR, "計画")
    won: dict[str, list[str]] = {"a": [], "b": []}
    errors = []

    def claim(name: str, order: list[str]) -> None:
        try:
            with Ledger.open(ledger_url) as ledger:
                for start in range(0, len(order), 3):
                    won[name] += ledger.claim_requests(YEAR, [(d, f"#{name}", None) for d in order[start:start + 3]])
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    runs = [threading.Thread(target=claim, args=("a", DEPARTMENTS)),
            threading.Thread(target=claim, args=("b", DEPARTMENTS[::-1]))]
    for run in runs:
        run.start()
    for run in runs:
        run.join()

    assert errors == []
    assert sorted(won["a"] + won["b"]) == DEPARTMENTS
    with Ledger.open(ledger_url) as ledger:
        assert sorted(r.department for r in ledger.requests(YEAR)) == DEPARTMENTS


def test_marking_many_arrivals_taken_leaves_one_taken_before_as_it_was(any_ledger):
    stored = any_ledger.store_submission(NewSubmission(
        fiscal_year=YEAR, sha256="a" * 64, size=1, content=b"a", file_name="a.xlsx", source="a.xlsx", channel="inbox",
        file_format="xlsx", department=DEPARTMENTS[0], accepted=True))
    for n, department in enumerate(DEPARTMENTS[:3]):
        any_ledger.claim_arrival(YEAR, "inbox", f"{'a' * 64}:{department}", file_name=f"{n}.xlsx", recorded_by="test",
                                 department=department, origin=Origin(user="bridge"))
    any_ledger.mark_arrival_taken(YEAR, "inbox", f"{'a' * 64}:{DEPARTMENTS[0]}", stored.id)
    before = any_ledger.arrival(YEAR, "inbox", f"{'a' * 64}:{DEPARTMENTS[0]}")

    any_ledger.mark_arrivals_taken(YEAR, "inbox", [(f"{'a' * 64}:{d}", stored.id) for d in DEPARTMENTS[:2]])

    arrivals = {a.department: a for a in any_ledger.arrivals(YEAR, "inbox")}
    assert arrivals[DEPARTMENTS[0]] == before, "taken before: unchanged"
    assert (arrivals[DEPARTMENTS[1]].status, arrivals[DEPARTMENTS[1]].submission_id) == ("taken", stored.id)
    assert arrivals[DEPARTMENTS[1]].taken_at is not None
    assert (arrivals[DEPARTMENTS[2]].status, arrivals[DEPARTMENTS[2]].taken_at) == ("claimed", None)
    rows_of_digest = any_ledger.inbox_arrivals(YEAR, "inbox", "a" * 64)
    assert [a.department for a in rows_of_digest] == DEPARTMENTS[:3]
    assert any_ledger.pick_inbox_arrival(rows_of_digest) == any_ledger.inbox_arrival(YEAR, "inbox", "a" * 64)
    assert any_ledger.inbox_arrival(YEAR, "inbox", "a" * 64).department == DEPARTMENTS[2], "the oldest not taken"


def test_submitted_digests_are_what_find_submission_finds_for_the_cycle(any_ledger):
    def store(sha: str, department: str | None, year: int = YEAR) -> None:
        any_ledger.store_submission(NewSubmission(
            fiscal_year=year, sha256=sha * 64, size=1, content=sha.encode(), file_name="f.xlsx", source="f.xlsx",
            channel="inbox", file_format="xlsx", department=department, accepted=False))

    store("a", DEPARTMENTS[0])
    store("a", DEPARTMENTS[1])
    store("b", None)
    store("c", DEPARTMENTS[0], YEAR + 1)

    digests = any_ledger.submitted_digests(YEAR)

    assert digests == {("a" * 64, DEPARTMENTS[0]), ("a" * 64, DEPARTMENTS[1]), ("b" * 64, None)}
    for sha, department in digests:
        assert any_ledger.find_submission(YEAR, sha, department) is not None
    assert any_ledger.find_submission(YEAR, "c" * 64) is None


def test_the_batch_methods_of_a_year_without_a_cycle_claim_it_or_refuse(ledger_url):
    with Ledger.open(ledger_url) as ledger:
        assert ledger.claim_notices(YEAR, [("review", "round-1", "#r")]) == [("review", "round-1")]
        assert ledger.cycle(YEAR) is not None, "claiming records the cycle, as claim_notice does"
        with pytest.raises(LedgerError):
            ledger.mark_arrivals_taken(YEAR + 5, "inbox", [("x", 1)])
        ledger.release_notices(YEAR + 5, [("review", "round-1")])  # nothing to give back
        assert [(n.stage, n.status) for n in ledger.notices(YEAR)] == [("review:round-1", "claimed")]
        assert rows(ledger, Notice)[0]["recipient"] == "#r"
