"""The task channel: alerts open or refresh the item's task, recoveries close it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.tasks import SqlTaskStore
from stockwatch.adapters.notify.task import TaskChannel
from stockwatch.core.model import ItemKey, NoticeKind, Tier
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from tests.contract.channel_helpers import send
from tests.notify_factories import T0, item, notice

DAY = timedelta(days=1)
TABLE = RouteTable(RouterSettings((Route("r", ("tasks",)),)))


def test_an_alert_opens_a_task_with_link_quantity_and_order_by_date(
    sqlite_engine: Engine,
) -> None:
    store = SqlTaskStore(sqlite_engine)
    [(_, message)] = TABLE.route(notice(tier=Tier.T2, available=12), item())
    answer = send(TaskChannel("tasks", "task://", store=store, clock=lambda: T0), message)
    assert "tasks open/updated [1]" in answer
    [task] = store.list()
    assert task.offer_url == "https://detail.1688.com/offer/610947572360.html"
    assert task.suggested_qty == 70 and task.supplier == "义乌杯业"
    assert task.due_date is not None and task.due_date.isoformat() == "2026-11-24"


def test_a_recovery_notice_closes_the_open_task(sqlite_engine: Engine) -> None:
    store = SqlTaskStore(sqlite_engine)
    channel = TaskChannel("tasks", "task://", store=store, clock=lambda: T0)
    [(_, alert)] = TABLE.route(notice(tier=Tier.T3, available=4), item())
    send(channel, alert)
    resolved = notice(tier=Tier.OK, kind=NoticeKind.RESOLVED, previous=Tier.T3, available=90, seq=2)
    [(_, recovery)] = TABLE.route(resolved, item())
    channel = TaskChannel("tasks", "task://", store=store, clock=lambda: T0)
    assert "closed 1" in send(channel, recovery)
    assert store.list() == []


def test_the_fallback_broadcast_router_feeds_the_task_channel_too(sqlite_engine: Engine) -> None:
    # Without [[routes]] the daemon broadcasts; the task channel must understand that payload.
    from stockwatch.service.broadcast import BroadcastRouter

    store = SqlTaskStore(sqlite_engine)
    [(_, message)] = BroadcastRouter(("tasks",)).route(notice(tier=Tier.T2, available=12), item())
    send(TaskChannel("tasks", "task://", store=store, clock=lambda: T0), message)
    [task] = store.list()
    assert task.suggested_qty == 70 and task.supplier == "义乌杯业"


def test_a_notice_raised_before_the_goods_were_received_opens_no_new_task(
    sqlite_engine: Engine,
) -> None:
    # Delivery can lag the alert: an OUT raised while the order was on the way, delivered after
    # the receipt closed the task, opened a fresh task for an item just restocked.
    store = SqlTaskStore(sqlite_engine)
    channel = TaskChannel("tasks", "task://", store=store, clock=lambda: T0 + timedelta(hours=2))
    [(_, first)] = TABLE.route(notice(tier=Tier.T2, available=12), item())
    send(channel, first)
    assert store.close_for_item("BW-500-BK", T0 + timedelta(hours=1), "received") == 1
    stale = notice(tier=Tier.OUT, kind=NoticeKind.WORSENED, previous=Tier.T2, available=0, seq=2)
    [(_, late)] = TABLE.route(stale, item())
    send(channel, late)
    assert store.list() == []
    # A breach raised after the receipt is a new need: it opens a task.
    fresh = notice(tier=Tier.T2, available=10, seq=3, at=T0 + timedelta(hours=3))
    [(_, again)] = TABLE.route(fresh, item())
    send(channel, again)
    assert len(store.list()) == 1


def test_an_empty_shelf_with_enough_on_order_opens_no_second_task(sqlite_engine: Engine) -> None:
    # The order took the item's task; the shelf then ran empty before the goods came. The OUT
    # notice says when they are due: a fresh task would be a duplicate order.
    store = SqlTaskStore(sqlite_engine)
    channel = TaskChannel("tasks", "task://", store=store, clock=lambda: T0)
    waiting = replace(
        notice(tier=Tier.OUT, kind=NoticeKind.RAISED, available=90), shelf=0, on_order=90
    )
    [(_, out)] = TABLE.route(waiting, item())
    assert "tasks open/updated []" in send(channel, out)
    assert store.list() == []
    # Too little on order (the position is still at T1 or below): ordering more is the need.
    short = replace(
        notice(tier=Tier.OUT, kind=NoticeKind.RAISED, available=40, seq=2), shelf=0, on_order=40
    )
    [(_, again)] = TABLE.route(short, item())
    send(channel, again)
    assert len(store.list()) == 1


def test_a_notice_that_reaches_the_tasks_after_the_merchant_ordered_opens_no_task(
    sqlite_engine: Engine,
) -> None:
    # Found by the suite under load: the alert's delivery to the task channel lagged; the
    # merchant had ordered from the alert meanwhile (the order had no task to take over), and
    # the late delivery then opened a task asking for the same goods.
    store = SqlTaskStore(sqlite_engine)
    channel = TaskChannel("tasks", "task://", store=store, clock=lambda: T0 + timedelta(hours=1))
    key = ItemKey("BW-500-BK")
    orders = SqlPurchaseOrderStore(sqlite_engine)
    po, _ = orders.add(PurchaseOrder(key, "", 70, T0 + timedelta(minutes=5), T0 + DAY), T0)
    [(_, late)] = TABLE.route(notice(tier=Tier.T2, available=12), item())  # raised at T0
    assert "tasks open/updated []" in send(channel, late)
    assert store.list() == []
    # A cancelled order did not act on it: the need stands.
    orders.cancel(po.id or 0, T0 + timedelta(minutes=10))
    [(_, again)] = TABLE.route(notice(tier=Tier.T2, available=12, seq=2), item())
    send(channel, again)
    assert len(store.list()) == 1
