"""The database stores the command line works with, built by the composition root.

Entry points never import ``stockwatch.adapters.db`` (an import-linter contract keeps it so):
they ask here for a store over an engine from ``wiring.compose.open_database``. The sales store
loads numpy, so it is imported only when a command needs it (``stockwatch --help`` stays quick).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.channel_status import SqlChannelStatus
from stockwatch.adapters.db.engine import database_url
from stockwatch.adapters.db.order_sales import SoldLine, SqlOrderSales
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import SqlTaskStore, export_purchase_list
from stockwatch.adapters.db.threshold_store import SqlThresholdStore, last_computed_at
from stockwatch.config.settings import Config

if TYPE_CHECKING:
    from stockwatch.adapters.db.sales import ImportRecord, SqlSalesStore

__all__ = [
    "SoldLine",
    "SqlChannelStatus",
    "SqlOrderSales",
    "SqlOutbox",
    "SqlStore",
    "SqlTaskStore",
    "SqlThresholdStore",
    "configured_url",
    "database_exists",
    "export_purchase_list",
    "import_record",
    "last_computed_at",
    "sales_store",
    "upgrade_schema",
]


def configured_url(config: Config, url: str | None = None) -> str:
    """Return the database URL a command uses: ``url``, else the configured one."""
    return url or database_url(config.model.database.url, config.data_dir)


def upgrade_schema(engine: Engine) -> tuple[str | None, str | None]:
    """Run the Alembic migrations; return the revisions before and after."""
    return migrate.upgrade(engine)


def sales_store(engine: Engine) -> SqlSalesStore:
    from stockwatch.adapters.db.sales import SqlSalesStore

    return SqlSalesStore(engine)


def import_record(
    sha256: str, path: str, at: datetime, rows_read: int, rows_skipped: int
) -> ImportRecord:
    from stockwatch.adapters.db.sales import ImportRecord

    return ImportRecord(sha256, path, at, rows_read, rows_skipped)


def database_exists(config: Config, url: str | None = None) -> bool:
    """Whether the database is there already: read-only commands must not create one (nor
    the data folder) just by looking. Only a SQLite file can be missing; a server is asked.
    A URL that does not parse counts as there: opening it then says what is wrong with it."""
    try:
        parsed = make_url(configured_url(config, url))
    except ArgumentError:
        return True
    if parsed.get_backend_name() != "sqlite":
        return True
    name = parsed.database or ""
    return name in ("", ":memory:") or Path(name).expanduser().exists()
