"""tier_counts: active items per tier, kept by triggers; an index of the active items' keys

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:40:00.000000

The overview's counts per tier were a scan of every item and a join on each page view (~200 ms
on PostgreSQL at 100,000 items). Triggers now insert ``(tier_rank, ±1)`` whenever an active
item enters or leaves a tier; the counts are a sum over a few rows (adapters/db/tier_counts.py).
``ix_items_active_key`` lets the overview join a tier's items by key alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from stockwatch.adapters.db import tier_counts

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("tier_counts"):  # create_all may have made it already
        op.create_table(
            "tier_counts",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("tier_rank", sa.Integer(), nullable=False),
            sa.Column("delta", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_counts")),
        )
    tier_counts.uninstall(bind)  # idempotent: a create_all schema has them already
    tier_counts.install(bind)
    if "ix_items_active_key" not in {i["name"] for i in sa.inspect(bind).get_indexes("items")}:
        op.create_index(
            "ix_items_active_key",
            "items",
            ["key"],
            postgresql_where=sa.text("active"),
            sqlite_where=sa.text("active"),
        )


def downgrade() -> None:
    op.drop_index("ix_items_active_key", table_name="items")
    tier_counts.uninstall(op.get_bind())
    op.drop_table("tier_counts")
