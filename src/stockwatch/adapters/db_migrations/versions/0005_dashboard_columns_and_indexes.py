"""dashboard at 100k items: alert state copies (tier rank, available, failed reads) and indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 21:40:00.000000

The overview sorts "worst first" and filters by tier, category, supplier, warehouse and
staleness in SQL; the tier, available position and failed reads live inside the state's JSON,
so they get plain columns (filled here from the JSON, then kept in step on every save). The
start-up catch-up looks for readings received in the last two days: an index on received_at
turns its full scan of the readings into a range scan.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ix_items_category", "items", ("category", "key")),
    ("ix_items_supplier", "items", ("supplier", "key")),
    ("ix_items_warehouse", "items", ("warehouse", "key")),
    ("ix_readings_received_at", "readings", ("received_at",)),
    ("ix_thresholds_by_status", "thresholds", ("status", "item_key")),
    ("ix_alert_states_rank", "alert_states", ("tier_rank", "item_key")),
    ("ix_replenishment_tasks_status", "replenishment_tasks", ("status", "item_key")),
)


def upgrade() -> None:
    bind = op.get_bind()
    existing = {c["name"] for c in sa.inspect(bind).get_columns("alert_states")}
    # A schema made by create_all (older CLIs) may have the columns already.
    with op.batch_alter_table("alert_states") as batch:
        if "tier_rank" not in existing:
            batch.add_column(
                sa.Column("tier_rank", sa.Integer(), nullable=False, server_default="0")
            )
        if "available" not in existing:
            batch.add_column(sa.Column("available", sa.Integer(), nullable=True))
        if "failed_reads" not in existing:
            batch.add_column(
                sa.Column("failed_reads", sa.Integer(), nullable=False, server_default="0")
            )
    if bind.dialect.name == "postgresql":
        available = "CAST(state->>'last_available' AS INTEGER)"
        failed = "COALESCE(CAST(state->>'failed_reads' AS INTEGER), 0)"
    else:
        available = "json_extract(state, '$.last_available')"
        failed = "COALESCE(json_extract(state, '$.failed_reads'), 0)"
    op.execute(
        "UPDATE alert_states SET"
        " tier_rank = CASE tier WHEN 'T1' THEN 1 WHEN 'T2' THEN 2 WHEN 'T3' THEN 3"
        " WHEN 'OUT' THEN 4 ELSE 0 END,"
        f" available = {available}, failed_reads = {failed}"
    )
    present = {ix["name"] for table in {t for _, t, _ in _INDEXES} for ix in _indexes(bind, table)}
    for name, table, columns in _INDEXES:
        if name not in present:
            op.create_index(name, table, list(columns))


def _indexes(bind: sa.engine.Connection, table: str) -> list[sa.engine.interfaces.ReflectedIndex]:
    return sa.inspect(bind).get_indexes(table)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("alert_states") as batch:
        batch.drop_column("failed_reads")
        batch.drop_column("available")
        batch.drop_column("tier_rank")
