"""initial schema: every stockwatch table

Revision ID: 0001
Revises:
Create Date: 2026-11-24 10:51:10.003205
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "alert_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("previous_tier", sa.String(length=8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("on_hand", sa.Integer(), nullable=True),
        sa.Column("t1", sa.Integer(), nullable=True),
        sa.Column("t2", sa.Integer(), nullable=True),
        sa.Column("t3", sa.Integer(), nullable=True),
        sa.Column("velocity", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_alert_events_idempotency_key")),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_events_item_key"), ["item_key"], unique=False)

    op.create_table(
        "alert_states",
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recheck_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reading_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("item_key", name=op.f("pk_alert_states")),
    )
    op.create_table(
        "items",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("warehouse", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=True),
        sa.Column("spec_id", sa.String(length=64), nullable=True),
        sa.Column("sku_id", sa.String(length=32), nullable=True),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=False),
        sa.Column("item_class", sa.String(length=1), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("lead_time_days", sa.Float(), nullable=True),
        sa.Column("lead_time_sd_days", sa.Float(), nullable=True),
        sa.Column("min_order_qty", sa.Integer(), nullable=False),
        sa.Column("order_multiple", sa.Integer(), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=True),
        sa.Column("poll_group", sa.String(length=64), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_items")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_next_poll_at"), ["next_poll_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "oauth_tokens",
        sa.Column("app_key", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=True),
        sa.Column("ali_id", sa.String(length=64), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_key", name=op.f("pk_oauth_tokens")),
    )
    op.create_table(
        "poll_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_name", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_runs")),
    )
    op.create_table(
        "push_messages",
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("gmt_born", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_push_messages")),
    )
    op.create_table(
        "readings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=True),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.Column("in_transit", sa.Integer(), nullable=False),
        sa.Column("offer_status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_readings")),
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_index("ix_readings_item_time", ["item_key", "observed_at"], unique=False)

    op.create_table(
        "replenishment_tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("offer_id", sa.String(length=32), nullable=True),
        sa.Column("offer_url", sa.Text(), nullable=True),
        sa.Column("suggested_qty", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replenishment_tasks")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_replenishment_tasks_idempotency_key")),
    )
    with op.batch_alter_table("replenishment_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_replenishment_tasks_item_key"), ["item_key"], unique=False
        )

    op.create_table(
        "sales_days",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("promo", sa.Boolean(), nullable=False),
        sa.Column("stockout", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sku", "day", name=op.f("pk_sales_days")),
    )
    op.create_table(
        "sales_imports",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_sales_imports")),
    )
    op.create_table(
        "thresholds",
        sa.Column("item_key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("t1", sa.Integer(), nullable=False),
        sa.Column("t2", sa.Integer(), nullable=False),
        sa.Column("t3", sa.Integer(), nullable=False),
        sa.Column("velocity", sa.Float(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("item_key", "version", name=op.f("pk_thresholds")),
    )
    with op.batch_alter_table("thresholds", schema=None) as batch_op:
        batch_op.create_index("ix_thresholds_status", ["item_key", "status"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("provider_answer", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["alert_events.id"], name=op.f("fk_deliveries_event_id_alert_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_due")

    op.drop_table("deliveries")
    with op.batch_alter_table("thresholds", schema=None) as batch_op:
        batch_op.drop_index("ix_thresholds_status")

    op.drop_table("thresholds")
    op.drop_table("sales_imports")
    op.drop_table("sales_days")
    with op.batch_alter_table("replenishment_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replenishment_tasks_item_key"))

    op.drop_table("replenishment_tasks")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_item_time")

    op.drop_table("readings")
    op.drop_table("push_messages")
    op.drop_table("poll_runs")
    op.drop_table("oauth_tokens")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_offer_id"))
        batch_op.drop_index(batch_op.f("ix_items_next_poll_at"))

    op.drop_table("items")
    op.drop_table("alert_states")
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_events_item_key"))
        batch_op.drop_index(batch_op.f("ix_alert_events_at"))

    op.drop_table("alert_events")
