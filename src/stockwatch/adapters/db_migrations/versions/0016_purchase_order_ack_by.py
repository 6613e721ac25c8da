"""purchase_orders.ack_by: an order's acknowledgement of its item's alert, until it is done

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 23:00:00.000000

An order is stored in one transaction and acts on its item's alert in the next. A process
killed between the two (the CLI, the API, or the daemon importing a 1688 purchase) left the
order without its acknowledgement for good: the next 1688 pull sees the order unchanged, and
the reminders went on while the goods came. The order now carries who placed it until the
acknowledgement's own transaction clears it; the daemon finishes what is left.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("purchase_orders")}
    if "ack_by" in columns:  # a database an old CLI filled with create_all
        return
    op.add_column("purchase_orders", sa.Column("ack_by", sa.String(length=128), nullable=True))
    op.create_index(op.f("ix_purchase_orders_ack_by"), "purchase_orders", ["ack_by"])


def downgrade() -> None:
    op.drop_index(op.f("ix_purchase_orders_ack_by"), table_name="purchase_orders")
    with op.batch_alter_table("purchase_orders") as batch:
        batch.drop_column("ack_by")
