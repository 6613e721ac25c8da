"""promotions entered through the API; cursors of incremental syncs (1688 seller orders)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 22:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "promotions" not in existing:
        op.create_table(
            "promotions",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("start_day", sa.Date(), nullable=False),
            sa.Column("end_day", sa.Date(), nullable=False),
            sa.Column("multiplier", sa.Float(), nullable=False),
            sa.Column("target", sa.String(length=16), nullable=False),
            sa.Column("skus", sa.JSON(), nullable=False),
            sa.Column("categories", sa.JSON(), nullable=False),
            sa.Column("tags", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        )
    if "sync_cursors" not in existing:
        op.create_table(
            "sync_cursors",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("position", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_cursors")),
        )


def downgrade() -> None:
    op.drop_table("sync_cursors")
    op.drop_table("promotions")
