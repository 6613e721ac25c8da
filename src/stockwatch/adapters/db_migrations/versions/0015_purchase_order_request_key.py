"""purchase_orders.request_key: a client's Idempotency-Key for the order it placed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 21:00:00.000000

A client that retries `POST /api/orders` after a timeout (or a double click) recorded the
order twice, and the position counted the goods on order twice. The key it sends is kept with
the order; a request with a key already used returns that order instead of a second one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("purchase_orders")}
    if "request_key" in columns:  # a database an old CLI filled with create_all
        return
    with op.batch_alter_table("purchase_orders") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=200), nullable=True))
        batch.create_unique_constraint(op.f("uq_purchase_orders_request_key"), ["request_key"])


def downgrade() -> None:
    with op.batch_alter_table("purchase_orders") as batch:
        batch.drop_constraint(op.f("uq_purchase_orders_request_key"), type_="unique")
        batch.drop_column("request_key")
