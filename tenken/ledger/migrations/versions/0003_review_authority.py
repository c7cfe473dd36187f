"""Review with authority: one decision per reviewer and round (not one per round), the reviewers'
one-time confirmation codes (digests only), every answer to a paused review, and the office's rating
adjustments entered with `tenken adjust`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_constraint("uq_review_decisions_cycle_id_round", type_="unique")
        batch.create_unique_constraint(op.f("uq_review_decisions_cycle_id_round_reviewer"),
                                       ["cycle_id", "round", "reviewer"])
    op.create_table(
        "review_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("message_ref", sa.String(200), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_review_codes_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_codes")),
        sa.UniqueConstraint("cycle_id", "round", "reviewer", name=op.f("uq_review_codes_cycle_id_round_reviewer")),
    )
    op.create_index(op.f("ix_review_codes_cycle_id"), "review_codes", ["cycle_id"])
    op.create_index(op.f("ix_review_codes_digest"), "review_codes", ["digest"])
    op.create_table(
        "review_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_review_attempts_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_attempts")),
    )
    op.create_index(op.f("ix_review_attempts_cycle_id"), "review_attempts", ["cycle_id"])
    op.create_table(
        "rating_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(100), nullable=False),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("adjusted_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_rating_adjustments_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_adjustments")),
    )
    op.create_index(op.f("ix_rating_adjustments_cycle_id"), "rating_adjustments", ["cycle_id"])


def downgrade() -> None:
    for table in ("rating_adjustments", "review_attempts", "review_codes"):
        op.drop_index(op.f(f"ix_{table}_cycle_id"), table_name=table)
        if table == "review_codes":
            op.drop_index(op.f("ix_review_codes_digest"), table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("review_decisions") as batch:
        batch.drop_constraint("uq_review_decisions_cycle_id_round_reviewer", type_="unique")
        batch.create_unique_constraint("uq_review_decisions_cycle_id_round", ["cycle_id", "round"])
