"""unmatched_purchase_lines: 1688 purchase lines that match no single item

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 05:30:00.000000

The purchase import left a line it could not match to an item (no item lists its offer/spec,
or several do) only in the log, so the merchant never saw that goods were coming that count
nowhere. Each such line is kept here until a later pull matches it (`orders unmatched`, /tasks).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "unmatched_purchase_lines" in set(sa.inspect(op.get_bind()).get_table_names()):
        return  # create_all made it already (see 0004)
    op.create_table(
        "unmatched_purchase_lines",
        sa.Column("ref", sa.String(length=120), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("spec", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_unmatched_purchase_lines")),
    )


def downgrade() -> None:
    op.drop_table("unmatched_purchase_lines")
