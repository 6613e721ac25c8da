"""Every table of stockwatch, on one MetaData; Alembic migrations are generated from it.

Timestamps are stored in UTC and come back timezone-aware on SQLite and PostgreSQL alike.
Item keys are the text form of ``ItemKey`` ("SKU" or "SKU@WAREHOUSE").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    literal_column,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite has no 64-bit autoincrement BIGINT; INTEGER PRIMARY KEY is 64-bit there anyway.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: stockwatch stores aware timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


items = Table(
    "items",
    metadata,
    Column("key", String(200), primary_key=True),  # ItemKey text
    Column("sku", String(128), nullable=False),
    Column("warehouse", String(64), nullable=True),
    Column("title", Text, nullable=False, default=""),
    Column("offer_id", String(32), nullable=True, index=True),
    Column("spec_id", String(64), nullable=True),
    Column("sku_id", String(32), nullable=True),
    Column("supplier", String(200), nullable=False, default=""),
    Column("category", String(200), nullable=False, default=""),
    Column("item_class", String(1), nullable=False, default="B"),
    Column("tags", JSON, nullable=False, default=list),
    Column("lead_time_days", Float, nullable=True),
    Column("lead_time_sd_days", Float, nullable=True),
    Column("min_order_qty", Integer, nullable=False, default=1),
    Column("order_multiple", Integer, nullable=False, default=1),
    Column("listed_on", Date, nullable=True),
    Column("stock_share", Float, nullable=True),  # share of the offer's stock (0010)
    Column("poll_group", String(64), nullable=False, default="default"),
    Column("next_poll_at", UTCDateTime, nullable=True, index=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # The dashboard's filters (migration 0005): one ordered index per filterable column.
    Index("ix_items_category", "category", "key"),
    Index("ix_items_supplier", "supplier", "key"),
    Index("ix_items_warehouse", "warehouse", "key"),
    # The active items' keys alone (migration 0011): the overview joins the few items of a
    # tier to it without reading the wide item rows (PostgreSQL scanned all 100,000).
    Index(
        "ix_items_active_key",
        "key",
        postgresql_where=text("active"),
        sqlite_where=text("active"),
    ),
)

readings = Table(
    "readings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_key", String(200), nullable=False),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", String(16), nullable=False),
    Column("on_hand", Integer, nullable=True),  # NULL: a failed read
    Column("committed", Integer, nullable=False, default=0),
    Column("in_transit", Integer, nullable=False, default=0),
    Column("offer_status", String(16), nullable=False, default="active"),
    Column("error", Text, nullable=True),
    Index("ix_readings_item_time", "item_key", "observed_at"),
    # Start-up catch-up looks for readings received in the last two days (migration 0005).
    Index("ix_readings_received_at", "received_at"),
)

sales_days = Table(
    "sales_days",
    metadata,
    Column("sku", String(128), primary_key=True),
    Column("day", Date, primary_key=True),  # business day in Asia/Shanghai
    Column("quantity", Integer, nullable=False),  # gross units, never negative
    Column("returns", Integer, nullable=False, default=0),
    Column("promo", Boolean, nullable=False, default=False),
    Column("stockout", Boolean, nullable=False, default=False),
)

# Order lines already counted into sales_days (1688 orders): re-reading an order adds nothing,
# and an order closed after it was counted takes its units back once.
sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    Column("order_id", String(40), primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("sku", String(128), nullable=False),
    Column("day", Date, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("imported_at", UTCDateTime, nullable=False),
)

# Promotions entered through the JSON API (the config file and a CSV file are the others).
promotions = Table(
    "promotions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("start_day", Date, nullable=False),
    Column("end_day", Date, nullable=False),
    Column("multiplier", Float, nullable=False),
    Column("target", String(16), nullable=False, default="demand"),
    Column("skus", JSON, nullable=False, default=list),
    Column("categories", JSON, nullable=False, default=list),
    Column("tags", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
)

# Where an incremental sync stopped (e.g. 1688 seller orders by modification time): survives a
# restart, so the next pull asks only for what changed since.
sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

sales_imports = Table(
    "sales_imports",
    metadata,
    Column("sha256", String(64), primary_key=True),  # re-importing the same file is a no-op
    Column("path", Text, nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_skipped", Integer, nullable=False),
)

thresholds = Table(
    "thresholds",
    metadata,
    Column("item_key", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="active"),  # active|review|superseded
    Column("t1", Integer, nullable=False),
    Column("t2", Integer, nullable=False),
    Column("t3", Integer, nullable=False),
    Column("velocity", Float, nullable=False),
    Column("strategy", String(32), nullable=False),
    # The basis that explains the levels (migration 0013), in one of three forms: the usual
    # computed basis as ``numbers`` (16 little-endian float64, codec.BASIS_NUMBERS) and
    # ``notes`` (a JSON list, NULL when none); a basis without inputs (disabled) as ``notes``
    # alone; anything else as the full JSON ``basis``. The JSON form cost ~600 bytes per row
    # and dominated writing a million versions.
    Column("basis", JSON, nullable=True),
    Column("numbers", LargeBinary, nullable=True),
    Column("notes", Text, nullable=True),
    Column("review_reason", Text, nullable=True),
    # Only the rows readers look up by status are indexed (at most one active and one pending
    # per item), not every superseded version: the primary key serves the history per item.
    # Queries must spell the status as a literal (``status_is``) for SQLite to use them.
    Index(
        "ix_thresholds_active",
        "item_key",
        postgresql_where=text("status = 'active'"),
        sqlite_where=text("status = 'active'"),
    ),
    Index(
        "ix_thresholds_review",
        "item_key",
        postgresql_where=text("status = 'review'"),
        sqlite_where=text("status = 'review'"),
    ),
)


def status_is(status: str) -> Any:
    """``thresholds.status = '<status>'`` with the value inlined, so that the planner (SQLite's
    above all) can match the partial index on that status; a bound parameter cannot."""
    if status not in ("active", "review", "superseded"):
        raise ValueError(f"unknown threshold status {status!r}")
    return thresholds.c.status == literal_column(f"'{status}'")


alert_states = Table(
    "alert_states",
    metadata,
    Column("item_key", String(200), primary_key=True),
    Column("phase", String(16), nullable=False),
    Column("tier", String(8), nullable=False),
    Column("state", JSON, nullable=False),  # the full core AlertState
    Column("version", Integer, nullable=False),  # optimistic concurrency
    Column("recheck_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    # The newest reading evaluated; readings after it are still to evaluate (crash catch-up).
    Column("last_reading_at", UTCDateTime, nullable=True),
    # Copies of the state's tier (as a number, worse is larger) and available position, kept in
    # step by save_alert_state so that the dashboard sorts and filters 100k items in SQL.
    Column("tier_rank", Integer, nullable=False, server_default="0"),
    Column("available", Integer, nullable=True),
    Column("failed_reads", Integer, nullable=False, server_default="0"),
    Index("ix_alert_states_rank", "tier_rank", "item_key"),
)

# Active items per tier as (tier_rank, ±1) rows the triggers of migration 0011 insert
# (adapters/db/tier_counts.py); their sum per rank is the overview's count.
tier_counts = Table(
    "tier_counts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tier_rank", Integer, nullable=False),
    Column("delta", Integer, nullable=False),
)


def _install_tier_counts(target: MetaData, connection: Any, **kw: Any) -> None:
    """A fresh ``create_all`` schema (tests, older CLIs) gets the triggers too. Tables that
    existed before (an older schema) are left to migration 0011, which installs them."""
    if {items, alert_states, tier_counts} <= set(kw.get("tables", ())):
        from stockwatch.adapters.db.tier_counts import install

        install(connection)


event.listen(metadata, "after_create", _install_tier_counts)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("item_key", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # NoticeKind, or breach/ack/snooze
    Column("tier", String(8), nullable=False),
    Column("previous_tier", String(8), nullable=False),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("episode", Integer, nullable=False),
    Column("available", Integer, nullable=True),
    Column("on_hand", Integer, nullable=True),
    Column("t1", Integer, nullable=True),
    Column("t2", Integer, nullable=True),
    Column("t3", Integer, nullable=True),
    Column("velocity", Float, nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("actor", String(128), nullable=True),  # who acknowledged or snoozed
    Column("payload", JSON, nullable=False),  # the notice with all its inputs
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(400), nullable=False, unique=True),  # notice key + channel
    Column("event_id", Id, ForeignKey("alert_events.id"), nullable=True),
    Column("channel", String(128), nullable=False),
    Column("message", JSON, nullable=False),  # OutgoingMessage fields
    Column("status", String(16), nullable=False),  # OutboxStatus
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claim_token", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("provider_answer", Text, nullable=False, default=""),
    Column("stale_releases", Integer, nullable=False, default=0),  # taken back from dead workers
    Column("batch_key", String(64), nullable=True),  # the message (maybe a digest) that carried it
    Column("parts_sent", Integer, nullable=False, default=0),  # a split digest's parts delivered
    Column("failing_since", UTCDateTime, nullable=True),  # the retry window starts here
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

# Per-channel send permits: ``limit`` slots per channel; a slot is reusable once its last use is
# older than the window, so no channel ever gets more than ``limit`` sends in any window, across
# workers and restarts. Claimed with compare-and-swap on ``used_at``.
channel_slots = Table(
    "channel_slots",
    metadata,
    Column("channel", String(128), primary_key=True),
    Column("slot", Integer, primary_key=True),
    Column("used_at", UTCDateTime, nullable=False),
)

# A channel switched off after a permanent delivery error (bad token, signature, keyword):
# later rows go straight to dead letter until ``notify test``/``notify enable`` turns it back on.
channel_status = Table(
    "channel_status",
    metadata,
    Column("channel", String(128), primary_key=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

replenishment_tasks = Table(
    "replenishment_tasks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(400), nullable=False, unique=True),
    Column("item_key", String(200), nullable=False, index=True),
    Column("supplier", String(200), nullable=False, default=""),
    Column("offer_id", String(32), nullable=True),
    Column("offer_url", Text, nullable=True),
    Column("suggested_qty", Integer, nullable=False),
    Column("due_date", Date, nullable=True),
    Column("status", String(16), nullable=False),  # open|closed
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("close_reason", Text, nullable=True),
    Column("payload", JSON, nullable=False),
    Column("sku", String(128), nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("tier", String(8), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=True),
    Index("ix_replenishment_tasks_status", "status", "item_key"),  # open tasks (0005)
)

# One row per purchase-order line. Imported 1688 lines carry external_ref "1688:<orderId>:<n>"
# (unique, so re-importing changes the row instead of adding one); receipts lists each part
# received as {"at": ISO time, "quantity": n}.
purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_key", String(200), nullable=False),
    Column("supplier", String(200), nullable=False, default=""),
    Column("quantity", Integer, nullable=False),
    Column("received_qty", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # ordered|partial|received|cancelled
    Column("ordered_at", UTCDateTime, nullable=False),
    Column("expected_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=True),
    Column("task_id", Id, nullable=True),
    Column("external_ref", String(120), nullable=True, unique=True),
    Column("source", String(16), nullable=False, default="manual"),
    Column("receipts", JSON, nullable=False, default=list),
    Column("updated_at", UTCDateTime, nullable=False),
    # A client's Idempotency-Key (migration 0015): a retried request returns this order.
    Column("request_key", String(200), nullable=True, unique=True),
    # Who placed the order while acting on its item's alert is still due (migration 0016):
    # set with the order, cleared in the transaction that acknowledges the alert (or finds
    # nothing to acknowledge), so a crash between the two leaves it for the daemon to finish.
    Column("ack_by", String(128), nullable=True),  # as long as alert_events.actor
    # The evaluator reads an item's open orders on every evaluation.
    Index("ix_purchase_orders_item_status", "item_key", "status"),
    # The daemon looks for acknowledgements left due every minute (almost every row NULL).
    Index("ix_purchase_orders_ack_by", "ack_by"),
)

# 1688 purchase lines the import could not match to one item (migration 0012): shown to the
# merchant (`orders unmatched`, /tasks) until a later pull matches them. reason: "no_item" or
# "several" (candidates lists the items, comma-separated).
unmatched_purchase_lines = Table(
    "unmatched_purchase_lines",
    metadata,
    Column("ref", String(120), primary_key=True),  # "1688:<orderId>:<line>"
    Column("offer_id", String(64), nullable=False),
    Column("spec", String(128), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("supplier", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("candidates", Text, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("app_key", String(64), primary_key=True),
    Column("member_id", String(128), nullable=True),
    Column("ali_id", String(64), nullable=True),
    Column("access_token", Text, nullable=False),
    Column("access_expires_at", UTCDateTime, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("refresh_expires_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

push_messages = Table(
    "push_messages",
    metadata,
    Column("msg_id", String(64), primary_key=True),  # duplicates are ignored by this key
    Column("topic", String(128), nullable=False),
    Column("gmt_born", UTCDateTime, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # received|processed|stale|ignored
    Column("processed_at", UTCDateTime, nullable=True),
    # The push processor looks for "received" ones several times a second.
    Index("ix_push_messages_status", "status", "gmt_born"),
)

poll_runs = Table(
    "poll_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("group_name", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("items", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
)

# -- accounts (issue #14): users, sessions, API tokens, the audit trail, the health probe --------

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", Text, nullable=False),  # argon2id, with its own salt and cost
    Column("role", String(16), nullable=False),  # viewer|operator|admin
    Column("created_at", UTCDateTime, nullable=False),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # sha256 of the cookie value: a database dump does not hand out live sessions.
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(64), nullable=True),  # None: the open single-user mode
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_web_sessions_user", "user_name"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scope", String(8), nullable=False),  # read|write
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(96), nullable=False),  # user name, "token:NAME" or "local"
    Column("action", String(128), nullable=False),  # e.g. "POST /items/{key}/ack"
    Column("target", Text, nullable=False),  # the concrete path or object
    Column("detail", Text, nullable=False, default=""),
    Index("ix_audit_log_at", "at"),
)

health_probe = Table(
    "health_probe",
    metadata,
    Column("id", Integer, primary_key=True),  # one row: /healthz writes it to prove writability
    Column("at", UTCDateTime, nullable=False),
)
