"""channel status (channels disabled after a permanent delivery error), 1688 order lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 11:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The CLI's open_engine() runs create_all, so a database still at 0003 may hold these
    # tables already (empty and identical): create only what is missing.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "channel_status" not in existing:
        _channel_status()
    if "sales_order_lines" not in existing:
        _sales_order_lines()


def _channel_status() -> None:
    op.create_table(
        "channel_status",
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_status")),
    )


def _sales_order_lines() -> None:
    op.create_table(
        "sales_order_lines",
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line", name=op.f("pk_sales_order_lines")),
    )


def downgrade() -> None:
    op.drop_table("sales_order_lines")
    op.drop_table("channel_status")
