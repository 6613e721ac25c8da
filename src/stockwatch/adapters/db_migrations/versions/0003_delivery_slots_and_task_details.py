"""delivery channel slots, delivery batch keys, replenishment task details

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 11:31:47.539464

Columns added to tables that may hold rows carry a server default, so the upgrade works on a
database in use.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_slots",
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "slot", name=op.f("pk_channel_slots")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("stale_releases", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("batch_key", sa.String(length=64), nullable=True))
    with op.batch_alter_table("replenishment_tasks") as batch:
        batch.add_column(sa.Column("sku", sa.String(length=128), nullable=False, server_default=""))
        batch.add_column(sa.Column("title", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("tier", sa.String(length=8), nullable=False, server_default=""))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("replenishment_tasks") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("tier")
        batch.drop_column("title")
        batch.drop_column("sku")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("batch_key")
        batch.drop_column("stale_releases")
    op.drop_table("channel_slots")
