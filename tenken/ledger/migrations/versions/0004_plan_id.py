"""Several plans in one ledger: a cycle is one plan's fiscal year, keyed by (plan_id, fiscal_year).

Everything else of a cycle (submissions, arrivals, requests, reminders, notices, ratings, reviews,
adjustments, publications) hangs off the cycle, so it follows. Cycles recorded before plans had ids
get plan_id '' here; the first process that opens the ledger for a plan of the same name adopts
them (tenken.ledger.repository.Ledger.bind), since until now one ledger held one plan.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("plan_id", sa.String(64), nullable=False, server_default=""))
        batch.drop_constraint("uq_cycles_fiscal_year", type_="unique")
        batch.create_unique_constraint(op.f("uq_cycles_plan_id_fiscal_year"), ["plan_id", "fiscal_year"])


def downgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.drop_constraint("uq_cycles_plan_id_fiscal_year", type_="unique")
        batch.create_unique_constraint(op.f("uq_cycles_fiscal_year"), ["fiscal_year"])
        batch.drop_column("plan_id")
