"""Initial schema: cycles, files, submissions and their results and problems, rating snapshots,
requests, reminders, notices, review decisions, publications.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

def _cycle_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f(f"fk_{table}_cycle_id_cycles"))


def _outbound_columns() -> list[sa.Column]:
    return [
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("message_ref", sa.String(200), nullable=True),
    ]


def _create(table: str, *columns_and_constraints, index_on: str | None = "cycle_id") -> None:
    op.create_table(table, *columns_and_constraints)
    if index_on:
        op.create_index(op.f(f"ix_{table}_{index_on}"), table, [index_on])


def upgrade() -> None:
    _create(
        "cycles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("plan_name", sa.String(200), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycles")),
        sa.UniqueConstraint("fiscal_year", name=op.f("uq_cycles_fiscal_year")),
        index_on=None,
    )
    _create(
        "files",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_files")),
        index_on=None,
    )
    _create(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("sender", sa.String(200), nullable=True),
        sa.Column("file_format", sa.String(16), nullable=False),
        _cycle_fk("submissions"),
        sa.ForeignKeyConstraint(["sha256"], ["files.sha256"], name=op.f("fk_submissions_sha256_files")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("cycle_id", "department", "version",
                            name=op.f("uq_submissions_cycle_id_department_version")),
        sa.UniqueConstraint("cycle_id", "sha256", name=op.f("uq_submissions_cycle_id_sha256")),
    )
    _create(
        "submitted_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(100), nullable=False),
        sa.Column("actual", sa.JSON(), nullable=False),
        sa.Column("self_rating", sa.String(4), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cause", sa.String(100), nullable=True),
        sa.Column("highlight", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_submitted_results_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submitted_results")),
        sa.UniqueConstraint("submission_id", "measure", name=op.f("uq_submitted_results_submission_id_measure")),
        index_on="submission_id",
    )
    _create(
        "validation_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("sheet", sa.String(100), nullable=True),
        sa.Column("cell", sa.String(100), nullable=True),
        sa.Column("measure", sa.String(100), nullable=True),
        sa.Column("field", sa.String(32), nullable=True),
        sa.Column("part", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"],
                                name=op.f("fk_validation_problems_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_problems")),
        index_on="submission_id",
    )
    _create(
        "rating_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(100), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("rule_rating", sa.String(4), nullable=False),
        sa.Column("self_rating", sa.String(4), nullable=True),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("adjustment_justification", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(200), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        _cycle_fk("rating_snapshots"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_snapshots")),
        sa.UniqueConstraint("cycle_id", "round", "measure", name=op.f("uq_rating_snapshots_cycle_id_round_measure")),
    )
    _create(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        *_outbound_columns(),
        _cycle_fk("requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("cycle_id", "department", name=op.f("uq_requests_cycle_id_department")),
    )
    _create(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("stage", sa.String(50), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        *_outbound_columns(),
        _cycle_fk("reminders"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("cycle_id", "department", "stage", name=op.f("uq_reminders_cycle_id_department_stage")),
    )
    _create(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        *_outbound_columns(),
        _cycle_fk("notices"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("cycle_id", "kind", "key", name=op.f("uq_notices_cycle_id_kind_key")),
    )
    _create(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        _cycle_fk("review_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
        sa.UniqueConstraint("cycle_id", "round", name=op.f("uq_review_decisions_cycle_id_round")),
    )
    _create(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("review_round", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        _cycle_fk("publications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("cycle_id", "version", name=op.f("uq_publications_cycle_id_version")),
    )


def downgrade() -> None:
    for table in ("publications", "review_decisions", "notices", "reminders", "requests", "rating_snapshots",
                  "validation_problems", "submitted_results", "submissions", "files", "cycles"):
        op.drop_table(table)
