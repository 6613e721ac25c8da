"""items.stock_share: an item's share of a 1688 offer's stock kept in several warehouses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("items")}
    if "stock_share" in columns:  # a database an old CLI filled with create_all
        return
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("stock_share", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("stock_share")
