"""The tasks board: open (the draft purchase list per supplier), ordered, received.

Open tasks are what to buy, grouped by supplier with the CSV/JSON export; "mark ordered"
records a purchase order and moves the task to the ordered column; receiving the goods closes
the task, which then shows under "received" for ``received_days`` (7 by default). Every button
is a plain form (it works without JavaScript); ``dashboard.js`` sends the ``data-inplace``
ones with fetch and swaps the three columns (``data-live``) without a reload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from stockwatch.core.purchasing import PurchaseOrder, UnmatchedLine
from stockwatch.entrypoints.web.item_rows import ALL_TASKS
from stockwatch.entrypoints.web.web_common import DashboardDeps, PageRenderer
from stockwatch.wiring.web import OPEN, ORDERED, ReplenishmentTask, purchase_list

RECEIVED_DAYS = 7
MAX_RECEIVED_DAYS = 90
RECEIVED_SHOWN = 200


@dataclass(frozen=True)
class OnOrder:
    """One open purchase order on the board, with its task when a task was ordered."""

    order: PurchaseOrder
    task: ReplenishmentTask | None
    days_late: float


@dataclass(frozen=True)
class Board:
    groups: list[dict[str, Any]] | None  # None: no task store
    on_order: list[OnOrder] | None  # None: no order store
    received: list[ReplenishmentTask]
    received_days: int
    ordered_without_order: list[ReplenishmentTask]  # ordered elsewhere (e.g. imported)
    # 1688 purchase lines that match no single item: on order nowhere until the items file says
    unmatched: list[UnmatchedLine]


def build_board(d: DashboardDeps, now: datetime, received_days: int) -> Board:
    tasks, orders = d.sources.tasks, d.sources.orders
    groups = purchase_list(tasks.list(OPEN, ALL_TASKS)) if tasks is not None else None
    ordered = tasks.list(ORDERED, ALL_TASKS) if tasks is not None else []
    by_id = {t.id: t for t in ordered}
    on_order: list[OnOrder] | None = None
    if orders is not None:
        on_order = [
            OnOrder(o, by_id.get(o.task_id), _days_late(o, now))
            for o in orders.find(open_only=True)
        ]
        on_order.sort(key=lambda e: (e.order.expected_at, e.order.id or 0))
    with_order = {e.order.task_id for e in on_order or []}
    received = (
        tasks.closed_since(now - timedelta(days=received_days), limit=RECEIVED_SHOWN)
        if tasks is not None
        else []
    )
    return Board(
        groups,
        on_order,
        received,
        received_days,
        [t for t in ordered if t.id not in with_order],
        orders.unmatched() if orders is not None else [],
    )


def _days_late(order: PurchaseOrder, now: datetime) -> float:
    return round(max((now - order.expected_at) / timedelta(days=1), 0.0), 1)


def tasks_routes(router: APIRouter, d: DashboardDeps, page: PageRenderer) -> None:
    """Add ``/tasks`` (the board) to ``router``; its actions live in ``orders`` and
    ``dashboard`` (mark ordered, receive, close)."""

    @router.get("/tasks", response_class=HTMLResponse, include_in_schema=False)
    def tasks_page(
        request: Request,
        received_days: Annotated[int, Query(ge=1, le=MAX_RECEIVED_DAYS)] = RECEIVED_DAYS,
    ) -> HTMLResponse:
        board = build_board(d, d.clock(), received_days)
        return page(request, "tasks.html", "tasks", board=board)
