"""purchase orders (the on-order part of the position, the source of learned lead times)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 21:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database that an old CLI filled with create_all may hold the table already (empty and
    # identical, see 0004): create it only when missing.
    if "purchase_orders" in set(sa.inspect(op.get_bind()).get_table_names()):
        return
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received_qty", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("external_ref", sa.String(length=120), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("receipts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_purchase_orders_external_ref")),
    )
    op.create_index(
        "ix_purchase_orders_item_status", "purchase_orders", ["item_key", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_purchase_orders_item_status", table_name="purchase_orders")
    op.drop_table("purchase_orders")
