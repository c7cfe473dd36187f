"""Who sent each file, as the channel says: the sender's details on every submission, the same bytes
counted once per sending department (not once per cycle), and the arrivals table that claims each
file a channel delivered (a Slack file ID, an inbox delivery) so that it is taken in once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table (it cannot drop a constraint in place); PostgreSQL alters it.
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("sender_user", sa.String(200), nullable=True))
        batch.add_column(sa.Column("sender_channel", sa.String(200), nullable=True))
        batch.add_column(sa.Column("message_ts", sa.String(50), nullable=True))
        batch.add_column(sa.Column("permalink", sa.Text(), nullable=True))
        batch.drop_constraint("uq_submissions_cycle_id_sha256", type_="unique")
        batch.create_unique_constraint(op.f("uq_submissions_cycle_id_department_sha256"),
                                       ["cycle_id", "department", "sha256"])
    op.create_table(
        "arrivals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("ref", sa.String(200), nullable=False),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("sender_user", sa.String(200), nullable=True),
        sa.Column("sender_channel", sa.String(200), nullable=True),
        sa.Column("message_ts", sa.String(50), nullable=True),
        sa.Column("thread_ts", sa.String(50), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("file_name", sa.String(500), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_arrivals_cycle_id_cycles")),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], name=op.f("fk_arrivals_submission_id_submissions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrivals")),
        sa.UniqueConstraint("cycle_id", "channel", "ref", name=op.f("uq_arrivals_cycle_id_channel_ref")),
    )
    op.create_index(op.f("ix_arrivals_cycle_id"), "arrivals", ["cycle_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_arrivals_cycle_id"), table_name="arrivals")
    op.drop_table("arrivals")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submissions_cycle_id_department_sha256", type_="unique")
        batch.create_unique_constraint("uq_submissions_cycle_id_sha256", ["cycle_id", "sha256"])
        for column in ("permalink", "message_ts", "sender_channel", "sender_user"):
            batch.drop_column(column)
