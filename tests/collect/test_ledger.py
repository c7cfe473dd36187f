"""The ledger on its own: schema and migrations, versions, at-most-once claims, reviews, publications.
Runs on SQLite, and on PostgreSQL too when TENKEN_TEST_POSTGRES_URL is set (see conftest.py)."""

from __future__ import annotations

import io

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from tenken.core.results import MeasureResult
from tenken.core.errors import CellProblem
from tenken.ledger import Ledger, NewSubmission
from tenken.ledger.engine import MIGRATIONS
from tenken.ledger.models import Base

from .conftest import YEAR


@pytest.fixture
def any_ledger(ledger_url):
    with Ledger.open(ledger_url) as opened:
        yield opened


def submission(sha: str, department: str = "tourism", accepted: bool = True, actual: str = "1件",
               **fields) -> NewSubmission:
    return NewSubmission(
        fiscal_year=YEAR, sha256=sha * 64 if len(sha) == 1 else sha, size=3, content=sha.encode(),
        file_name="f.xlsx", source="/inbox/f.xlsx", channel="test", file_format="xlsx", department=department,
        accepted=accepted,
        results=(MeasureResult(measure="I-1-イ-2", actual=(actual,), reason="理由", cause="covid"),)
        if accepted else (),
        problems=() if accepted else (CellProblem("誤り", "実績入力", "H9", "I-1-イ-2", "actual", None),),
        **fields)


def test_the_migrations_build_exactly_the_tables_of_the_models(any_ledger):
    with any_ledger.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_the_migrations_render_as_postgresql_sql_without_a_server():
    buffer = io.StringIO()
    config = Config(output_buffer=buffer)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", "postgresql://tenken@localhost/tenken")
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE submissions" in sql
    assert "UNIQUE (cycle_id, department, stage)" in sql


def test_opening_an_upgraded_ledger_again_changes_nothing(ledger_url):
    Ledger.open(ledger_url).close()
    with Ledger.open(ledger_url) as again, again.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0004"


def test_versions_are_numbered_per_department_and_rejections_take_no_number(any_ledger):
    first = any_ledger.store_submission(submission("a"))
    refused = any_ledger.store_submission(submission("b", accepted=False))
    second = any_ledger.store_submission(submission("c", actual="2件"))
    other = any_ledger.store_submission(submission("d", department="agriculture-policy"))
    assert (first.version, refused.version, second.version, other.version) == (1, None, 2, 1)
    assert any_ledger.latest_versions(YEAR)["tourism"].id == second.id
    assert [r.actual for r in any_ledger.results_of(first.id)] == [("1件",)]
    assert {(r.department, r.actual) for r in any_ledger.latest_results(YEAR)} == {
        ("tourism", ("2件",)), ("agriculture-policy", ("1件",))}
    assert any_ledger.submissions(YEAR)[1].problems[0].cell == "H9"


def test_the_same_bytes_are_recorded_once_per_cycle(any_ledger):
    first = any_ledger.store_submission(submission("a"))
    again = any_ledger.store_submission(submission("a"))
    assert again.duplicate and again.id == first.id
    assert len(any_ledger.submissions(YEAR)) == 1
    assert any_ledger.find_submission(YEAR, "a" * 64).id == first.id


def test_department_status_counts_versions_and_refusals(any_ledger):
    any_ledger.store_submission(submission("a"))
    any_ledger.store_submission(submission("b", accepted=False))
    any_ledger.store_submission(submission("c", department="agriculture-policy", accepted=False))
    status = any_ledger.department_status(YEAR)
    assert (status["tourism"].versions, status["tourism"].rejected, status["tourism"].latest.version) == (1, 1, 1)
    assert status["agriculture-policy"].latest is None


def test_a_reminder_stage_is_claimed_at_most_once(any_ledger):
    assert any_ledger.claim_reminder(YEAR, "tourism", "before-7", "#tenken-tourism")
    assert not any_ledger.claim_reminder(YEAR, "tourism", "before-7", "#tenken-tourism")
    assert any_ledger.claim_reminder(YEAR, "tourism", "before-1", "#tenken-tourism")
    any_ledger.mark_reminder_sent(YEAR, "tourism", "before-7", "C1/1700000000.0001")
    sent = {r.stage: r for r in any_ledger.reminders(YEAR)}
    assert (sent["before-7"].status, sent["before-7"].message_ref) == ("sent", "C1/1700000000.0001")
    assert sent["before-1"].status == "claimed"


def test_a_claim_released_after_a_certain_failure_can_be_claimed_again(any_ledger):
    assert any_ledger.claim_request(YEAR, "tourism", "#tenken-tourism", "e" * 64)
    any_ledger.release_request(YEAR, "tourism")
    assert any_ledger.claim_request(YEAR, "tourism", "#tenken-tourism")
    any_ledger.mark_request_sent(YEAR, "tourism")
    any_ledger.release_request(YEAR, "tourism")  # a sent message is never released
    assert not any_ledger.claim_request(YEAR, "tourism")
    assert [r.status for r in any_ledger.requests(YEAR)] == ["sent"]


def test_notices_are_claimed_once_per_kind_and_key(any_ledger):
    assert any_ledger.claim_notice(YEAR, "review", "round-1", "#tenken-review")
    assert not any_ledger.claim_notice(YEAR, "review", "round-1", "#tenken-review")
    assert any_ledger.claim_notice(YEAR, "review", "round-2", "#tenken-review")
    any_ledger.mark_notice_sent(YEAR, "review", "round-1", "ts")
    assert [n.stage for n in any_ledger.notices(YEAR)] == ["review:round-1", "review:round-2"]


def test_a_review_round_keeps_its_first_decision(any_ledger):
    any_ledger.record_review_decision(YEAR, 1, "request_changes", "審査 太郎", "表2の数値を確認")
    again = any_ledger.record_review_decision(YEAR, 1, "approve", "審査 太郎")
    any_ledger.record_review_decision(YEAR, 2, "approve", "審査 花子")
    assert again.decision == "request_changes"
    assert [(d.round, d.decision) for d in any_ledger.review_decisions(YEAR)] == [(1, "request_changes"),
                                                                                   (2, "approve")]


def test_publications_are_versions_with_checksums(any_ledger):
    any_ledger.record_publication(YEAR, "file:///site", {"report.pdf": "1" * 64}, review_round=2)
    any_ledger.record_publication(YEAR, "file:///site", {"report.pdf": "2" * 64}, review_round=3)
    assert [(p.version, p.files["report.pdf"][0]) for p in any_ledger.publications(YEAR)] == [(1, "1"), (2, "2")]


def test_a_rating_snapshot_is_taken_once_per_round(any_ledger):
    from tenken.config import DEFAULT_CONFIG, load_plan, load_results
    from tenken.core.assessment import assess

    assessment = assess(load_plan(DEFAULT_CONFIG), load_results(DEFAULT_CONFIG, YEAR))
    assert any_ledger.record_ratings(assessment, round=1) == 63
    assert any_ledger.record_ratings(assessment, round=1) == 0
    adjusted = {r["measure"]: r for r in any_ledger.rating_snapshot(YEAR, 1)}["I-1-カ-1"]
    assert (adjusted["rule_rating"], adjusted["rating"]) == ("△", "○")
    assert adjusted["adjusted_by"]


def test_the_cycle_keeps_its_deadline(any_ledger):
    from datetime import date

    any_ledger.open_cycle(YEAR, "計画", date(2021, 4, 30))
    any_ledger.open_cycle(YEAR)
    assert any_ledger.cycle(YEAR).deadline == date(2021, 4, 30)
    assert any_ledger.cycle(2021) is None


def ledger_at(ledger_url: str, revision: str, *rows: tuple[str, dict]) -> None:
    """A ledger migrated only up to `revision`, with a cycle and the given rows (SQL, parameters) in it."""
    from alembic import command as alembic_command
    from sqlalchemy import text

    from tenken.ledger import engine as ledger_engine

    engine = ledger_engine.make_engine(ledger_url)
    with engine.connect().execution_options(**{ledger_engine.WRITE: True}) as connection, connection.begin():
        config = ledger_engine._config()
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, revision)
        connection.execute(text("INSERT INTO cycles (id, fiscal_year, plan_name, opened_at) "
                                "VALUES (1, :y, 'p', '2021-04-15 00:00:00')"), {"y": YEAR})
        for statement, parameters in rows:
            connection.execute(text(statement), parameters)
    engine.dispose()


def test_a_ledger_of_revision_0001_is_upgraded_on_open_with_its_rows_kept(ledger_url):
    ledger_at(ledger_url, "0001", *[
        ("INSERT INTO files (sha256, size, content, stored_at) "
         "VALUES (:s, 1, :c, '2021-05-20 00:00:00')", {"s": "a" * 64, "c": b"x"}),
        ("INSERT INTO submissions (id, cycle_id, sha256, department, status, version, received_at, file_name, "
         "source, channel, sender, file_format) VALUES (1, 1, :s, 'tourism', 'accepted', 1, "
         "'2021-05-20 00:00:00', 'f.xlsx', '/inbox/f.xlsx', 'inbox', NULL, 'xlsx')", {"s": "a" * 64})])

    with Ledger.open(ledger_url) as upgraded:
        with upgraded.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0004"
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        [kept] = upgraded.submissions(YEAR)
        assert (kept.department, kept.version, kept.origin.user) == ("tourism", 1, None)
        # What 0002 is for: the same bytes from another department are a record of their own (refused).
        other = upgraded.store_submission(submission("a", department="agriculture-policy", accepted=False))
        assert not other.duplicate and other.id != kept.id


def test_a_ledger_of_revision_0002_keeps_its_review_decisions_and_takes_one_per_reviewer_after_0003(ledger_url):
    ledger_at(ledger_url, "0002", ("INSERT INTO review_decisions (cycle_id, round, decision, reviewer, comments, "
                                   "decided_at) VALUES (1, 1, 'request_changes', '審査 一郎', '直して', "
                                   "'2021-07-01 00:00:00')", {}))

    with Ledger.open(ledger_url) as upgraded:
        with upgraded.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0004"
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert [(d.round, d.decision, d.reviewer) for d in upgraded.review_decisions(YEAR)] == [
            (1, "request_changes", "審査 一郎")]
        # What 0003 is for: a second reviewer's decision on the same round is a row of its own.
        upgraded.record_review_decision(YEAR, 2, "approve", "審査 花子")
        upgraded.record_review_decision(YEAR, 2, "approve", "審査 一郎")
        assert [d.reviewer for d in upgraded.review_decisions(YEAR) if d.round == 2] == ["審査 花子", "審査 一郎"]
        upgraded.record_adjustment(YEAR, "1-1-1", "○", "理由", "事務局")
        assert [a.rating for a in upgraded.adjustments(YEAR)] == ["○"]


def test_a_populated_ledger_of_revision_0003_is_carried_over_to_plans_and_adopted_by_its_plan(ledger_url):
    """0004 keys cycles by (plan, year): the rows of a 0003 ledger (one plan, as every ledger was) come
    through, belong to the plan of the same name once it opens the ledger, and a second plan beside it
    sees none of them and may use the same year."""
    sha = "b" * 64
    ledger_at(ledger_url, "0003", *[
        ("UPDATE cycles SET plan_name = 'かながわICT・データ利活用推進計画' WHERE id = 1", {}),
        ("INSERT INTO cycles (id, fiscal_year, plan_name, opened_at) VALUES (2, :y, 'かながわICT・データ利活用推進計画', "
         "'2020-04-15 00:00:00')", {"y": YEAR - 1}),
        ("INSERT INTO files (sha256, size, content, stored_at) VALUES (:s, 1, :c, '2021-05-20 00:00:00')",
         {"s": sha, "c": b"x"}),
        ("INSERT INTO submissions (id, cycle_id, sha256, department, status, version, received_at, file_name, "
         "source, channel, sender, file_format) VALUES (1, 1, :s, 'tourism', 'accepted', 1, "
         "'2021-05-20 00:00:00', 'f.xlsx', '/inbox/f.xlsx', 'inbox', NULL, 'xlsx')", {"s": sha}),
        ("INSERT INTO submitted_results (submission_id, measure, actual, self_rating, reason, cause, highlight) "
         "VALUES (1, 'I-1-ア-1', '[\"3件\"]', '○', '理由', NULL, '[]')", {}),
        ("INSERT INTO requests (cycle_id, department, file_sha256, status, recipient, claimed_at, sent_at, "
         "message_ref) VALUES (1, 'tourism', NULL, 'sent', '#tenken-tourism', '2021-04-15 00:00:00', "
         "'2021-04-15 00:00:01', 'C1/1.0')", {}),
        ("INSERT INTO review_decisions (cycle_id, round, decision, reviewer, comments, decided_at) "
         "VALUES (1, 1, 'approve', '審査 一郎', '', '2021-07-01 00:00:00')", {}),
        ("INSERT INTO publications (cycle_id, version, target, files, review_round, published_at) "
         "VALUES (1, 1, '/site/2020', '{}', 1, '2021-07-02 00:00:00')", {}),
    ])

    with Ledger.open(ledger_url) as unbound:  # before any plan opens it: the one plan it holds, as before
        with unbound.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0004"
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert unbound.plans() == {"": [YEAR - 1, YEAR]}
        assert [s.department for s in unbound.submissions(YEAR)] == ["tourism"]

    with Ledger.open(ledger_url, "minato", "みなと市デジタル推進計画") as other:  # another plan: nothing of Kanagawa's
        assert other.cycle(YEAR) is None and other.submissions(YEAR) == [] and other.requests(YEAR) == []
        other.open_cycle(YEAR, "みなと市デジタル推進計画")  # the same year is a cycle of its own
    with Ledger.open(ledger_url, "kanagawa", "かながわICT・データ利活用推進計画") as kanagawa:
        assert kanagawa.plans() == {"kanagawa": [YEAR - 1, YEAR], "minato": [YEAR]}
        [kept] = kanagawa.submissions(YEAR)
        assert (kept.department, kept.version) == ("tourism", 1)
        assert [r.measure for r in kanagawa.latest_results(YEAR)] == ["I-1-ア-1"]
        assert [r.message_ref for r in kanagawa.requests(YEAR)] == ["C1/1.0"]
        assert [d.reviewer for d in kanagawa.review_decisions(YEAR)] == ["審査 一郎"]
        assert [p.review_round for p in kanagawa.publications(YEAR)] == [1]
        assert [c.fiscal_year for c in kanagawa.cycles()] == [YEAR - 1, YEAR]
        assert [(plan, year) for plan, year, _ in kanagawa.other_plans_requests()] == []
    with Ledger.open(ledger_url) as unbound:  # two plans now: an unbound ledger refuses to guess
        from tenken.ledger.repository import LedgerError

        with pytest.raises(LedgerError, match="複数の計画"):
            unbound.submissions(YEAR)
    with Ledger.open(ledger_url, "minato", "みなと市デジタル推進計画") as other:
        assert other.cycle(YEAR).plan_id == "minato" and other.submissions(YEAR) == []


def test_a_ledger_bound_to_one_plan_is_never_used_for_another(any_ledger):
    from tenken.ledger.repository import LedgerError

    any_ledger.bind("kanagawa", "計画")
    any_ledger.bind("kanagawa", "計画")  # again, the same plan: fine
    with pytest.raises(LedgerError, match="minato"):
        any_ledger.bind("minato", "別の計画")
