"""What the web entry point uses from the SQL adapters, handed over by the composition root.

Entry points must not import ``stockwatch.adapters.db`` themselves (an import-linter contract
checks it): the dashboard's read models and row types come through here.
"""

from __future__ import annotations

from stockwatch.adapters.db.attention import Attention, SqlAttention
from stockwatch.adapters.db.channel_status import SqlChannelStatus
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.overview import OverviewFilter, OverviewItem, SqlOverview
from stockwatch.adapters.db.sales import SqlSalesStore
from stockwatch.adapters.db.tasks import (
    OPEN,
    ORDERED,
    ReplenishmentTask,
    SqlTaskStore,
    export_purchase_list,
    purchase_list,
)
from stockwatch.adapters.db.threshold_store import SqlThresholdStore

__all__ = [
    "OPEN",
    "ORDERED",
    "Attention",
    "OverviewFilter",
    "OverviewItem",
    "ReplenishmentTask",
    "SqlAttention",
    "SqlChannelStatus",
    "SqlOutbox",
    "SqlOverview",
    "SqlSalesStore",
    "SqlTaskStore",
    "SqlThresholdStore",
    "export_purchase_list",
    "purchase_list",
]
