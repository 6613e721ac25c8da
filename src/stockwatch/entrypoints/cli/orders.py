"""CLI for purchase orders: ``orders [list] | place | receive | cancel``.

An order placed from a replenishment task marks the task ordered; receiving everything closes
it. Orders imported from 1688 by the daemon show up here too.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Engine

from stockwatch.config.settings import Config
from stockwatch.core.audit import AuditAction, cli_actor
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import LINKED, PurchaseOrder, UnmatchedLine, arrival_at
from stockwatch.entrypoints.cli.common import ConfigOpt, DbOpt, FormatOpt, LangOpt, fail, out, setup
from stockwatch.service.purchasing import OrderError, PurchaseOrders, order_view
from stockwatch.wiring.accounts import os_user, record_cli_action
from stockwatch.wiring.compose import open_database
from stockwatch.wiring.purchasing import purchase_orders
from stockwatch.wiring.stores import database_exists

orders_app = typer.Typer(help="Purchase orders (on order = part of the stock position).")


_COLS = {
    "zh-CN": ("编号", "商品", "供应商", "数量", "已收", "状态", "下单", "预计到货", "延迟天数"),
    "en": ("id", "item", "supplier", "qty", "received", "status", "ordered", "due", "days late"),
}

_UNMATCHED_COLS = {
    "zh-CN": ("1688 单号:行", "offer", "规格", "数量", "供应商", "1688 状态", "原因", "首次发现"),
    "en": ("1688 order:line", "offer", "spec", "qty", "supplier", "1688 status", "why", "seen"),
}

# A purchase order's status in the table and messages (the JSON keeps the names).
_STATUS = {
    "zh-CN": {
        "ordered": "已下单",
        "partial": "部分到货",
        "received": "已全部收货",
        "cancelled": "已取消",
    },
    "en": {
        "ordered": "ordered",
        "partial": "partly received",
        "received": "received",
        "cancelled": "cancelled",
    },
}

_T: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "采购单",
        "unmatched_title": "未匹配商品的 1688 采购行（未计入任何商品的在途）",
        "unmatched_hint": (
            "另有 {n} 条 1688 采购行未匹配到商品，未计入在途：stockwatch orders unmatched"
        ),
        "no_unmatched": "没有未匹配的 1688 采购行",
        "no_item": "商品文件中没有商品对应此 offer/规格",
        "several": "多个商品对应此 offer/规格：{items}",
        "linked": "已关联到 1688 导入的采购单 #{id}（{ref}），在途只计一次",
        "placed": "已记录采购单 #{id}：{item} × {qty}，供应商 {supplier}，预计 {due} 到货",
        "acked": "{item} 的预警已确认：到货前不再提醒；到货后仍不足会再提醒",
        "received": "采购单 #{id}：已收货 {got}/{qty}（{status}）",
        "cancelled": "采购单 #{id} 已取消",
        "bad_date": "--expected {value!r}：请用 YYYY-MM-DD 或 ISO 时间",
        "db": "无法打开数据库：{error}",
    },
    "en": {
        "title": "purchase orders",
        "unmatched_title": "1688 purchase lines matched to no item (on order nowhere)",
        "unmatched_hint": (
            "{n} more 1688 purchase line(s) match no item and count as on order nowhere: "
            "stockwatch orders unmatched"
        ),
        "no_unmatched": "no unmatched 1688 purchase lines",
        "no_item": "no item in the items file lists this offer/spec",
        "several": "several items list this offer/spec: {items}",
        "linked": "linked to the imported 1688 order #{id} ({ref}): on order once",
        "placed": "recorded purchase order #{id}: {item} × {qty} from {supplier}, due {due}",
        "acked": (
            "{item}'s alert is acknowledged: no reminders while the goods come, "
            "one if they come in and it is still short"
        ),
        "received": "purchase order #{id}: received {got}/{qty} ({status})",
        "cancelled": "purchase order #{id} cancelled",
        "bad_date": "--expected {value!r}: use YYYY-MM-DD or an ISO time",
        "db": "cannot open the database: {error}",
    },
}


# OrderError.code → the mistake in the command's terms (its options), in each language.
ERROR_TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "no_task": "--task：补货任务 #{task} 不存在或不是待处理状态",
        "task_item": "--task：补货任务 #{task} 是 {task_item} 的，不是 {item}",
        "no_target": "请用 --item 指定商品（SKU），或用 --task 指定补货任务",
        "unknown_item": "--item：未知商品 {item}（商品目录中没有）",
        "which_warehouse": "--item：{item} 在多个仓库中：{items}。请指定其中一个（SKU@仓库）",
        "no_quantity": "--qty：请给出数量（从补货任务下单时可省略）",
        "quantity": "--qty：数量必须是大于 0 的整数，收到 {quantity}",
        "expected_past": "--expected：预计到货时间早于下单时间",
        "expected_far": "--expected：预计到货时间在下单十年之后",
        "key_used": "请求键 {key!r} 已用于采购单 #{order}（{item} × {quantity}）",
        "received_quantity": "--qty：收货数量必须大于 0，收到 {quantity}",
        "over_received": (
            "--qty：{quantity} 超过采购单 #{order} 未收的 {open} 件；最多收 {open} 件"
            "（超出订单的货会自己出现在库存里）"
        ),
        "no_order": "采购单 #{order} 不存在",
        "closed": "采购单 #{order} {status}，不能再{action}",
        "before_order": "采购单 #{order}：收货时间早于下单时间（{ordered}）",
    },
    "en": {
        "no_task": "--task: task #{task} does not exist or is not open",
        "task_item": "--task: task #{task} is for {task_item}, not {item}",
        "no_target": "name the item (--item SKU) or the replenishment task (--task ID)",
        "unknown_item": "--item: unknown item {item} (not in the item catalogue)",
        "which_warehouse": (
            "--item: {item} is stocked in several warehouses: {items}. "
            "Name one of them (SKU@WAREHOUSE)"
        ),
        "no_quantity": "--qty: give the quantity (it defaults only for an order from a task)",
        "quantity": "--qty: the quantity must be a whole number > 0, got {quantity}",
        "expected_past": "--expected: the expected arrival is before the order is placed",
        "expected_far": "--expected: the expected arrival is more than ten years after the order",
        "key_used": "request key {key!r} was used for order #{order} ({item} × {quantity})",
        "received_quantity": "--qty: the received quantity must be > 0, got {quantity}",
        "over_received": (
            "--qty: {quantity} is more than the {open} still open on order #{order}; receive "
            "at most {open} (goods beyond the order show in the stock by themselves)"
        ),
        "no_order": "purchase order #{order} does not exist",
        "closed": "purchase order #{order} is {status}: it cannot be {action}",
        "before_order": (
            "purchase order #{order}: goods cannot arrive before it was placed ({ordered})"
        ),
    },
}
_ACTIONS = {"zh-CN": {"received": "收货", "cancelled": "取消"}, "en": {}}


def _order_error(exc: OrderError, lang: str) -> str:
    """The mistake worded for the command line, in ``lang``, naming the option to fix."""
    params = dict(exc.params)
    if "status" in params:
        params["status"] = _STATUS[lang].get(str(params["status"]), str(params["status"]))
    if "action" in params:
        params["action"] = _ACTIONS[lang].get(str(params["action"]), str(params["action"]))
    return ERROR_TEXTS[lang][exc.code].format(**params)


def _open(cfg: Config, db: str | None, lang: str) -> tuple[Engine, PurchaseOrders]:
    try:
        engine = open_database(cfg, db)
    except Exception as exc:  # an unreachable or bad database is bad input for the CLI
        raise fail(_T[lang]["db"].format(error=exc)) from None
    return engine, purchase_orders(engine)


def _when(value: str | None, lang: str, shop: tzinfo) -> datetime | None:
    """Parse --expected: a day (the end of that business day) or an ISO time (the shop's time
    without an offset), as the API reads ``expected_at`` (``core.purchasing.arrival_at``)."""
    if value is None:
        return None
    text = value.strip()
    try:
        given = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise fail(_T[lang]["bad_date"].format(value=value)) from None
    return arrival_at(given, shop)


def _day(at: datetime | None, shop: tzinfo) -> str:
    return at.astimezone(shop).strftime("%Y-%m-%d %H:%M") if at else ""


@orders_app.callback(invoke_without_command=True)
def orders_default(ctx: typer.Context, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List open purchase orders (the default)."""
    if ctx.invoked_subcommand is None:
        orders_list(config=config, db=db, show_all=False, fmt="table", sku=None, lang=None)


@orders_app.command("list")
def orders_list(
    config: ConfigOpt = None,
    db: DbOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="received and cancelled too")] = False,
    fmt: FormatOpt = "table",
    sku: Annotated[
        str | None, typer.Option("--item", help="one item: SKU or SKU@WAREHOUSE")
    ] = None,
    lang: LangOpt = None,
) -> None:
    """List purchase orders: item, supplier, quantity received, expected arrival, days late."""
    cfg, language = setup(config, lang)
    shop = ZoneInfo(cfg.model.general.timezone)  # times as the shop reads them
    rows: list[PurchaseOrder] = []
    unmatched: list[UnmatchedLine] = []
    if database_exists(cfg, db):  # looking must not create a database nor the data folder
        engine, orders = _open(cfg, db, language)
        try:
            key = ItemKey.parse(sku) if sku else None
            named = orders.find_named(key, not show_all) if key is not None else None
            rows = named if named is not None else orders.find(None, open_only=not show_all)
            unmatched = orders.unmatched()
        except ValueError as exc:  # an OrderError (unknown item, …) or a malformed key
            message = _order_error(exc, language) if isinstance(exc, OrderError) else str(exc)
            raise fail(message) from None
        finally:
            engine.dispose()
    now = datetime.now(UTC)
    views = [order_view(o, now) for o in rows]
    if fmt == "json":
        typer.echo(json.dumps(views, ensure_ascii=False, indent=2))
        return
    t = _T[language]
    table = Table(title=t["title"], title_justify="left")
    for col in _COLS[language]:
        table.add_column(col)
    for o, v in zip(rows, views, strict=True):
        table.add_row(
            str(o.id),
            str(o.key),
            o.supplier,
            str(o.quantity),
            str(o.received_qty),
            _STATUS[language].get(o.status.value, o.status.value),
            _day(o.ordered_at, shop),
            _day(o.expected_at, shop),
            f"{v['days_late']:g}" if v["days_late"] else "",
        )
    out.print(table)
    if unmatched and sku is None:
        out.print(t["unmatched_hint"].format(n=len(unmatched)), style="yellow", highlight=False)


def unmatched_reason(line: UnmatchedLine, lang: str) -> str:
    """Return why a 1688 line matched no single item, for people."""
    t = _T[lang]
    if line.reason == "several":
        return t["several"].format(items=", ".join(line.candidates))
    return t["no_item"]


@orders_app.command("unmatched")
def orders_unmatched(
    config: ConfigOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = "table",
    lang: LangOpt = None,
) -> None:
    """List 1688 purchase lines that match no single item (they count as on order nowhere)."""
    cfg, language = setup(config, lang)
    shop = ZoneInfo(cfg.model.general.timezone)  # times as the shop reads them
    lines: list[UnmatchedLine] = []
    if database_exists(cfg, db):  # looking must not create a database nor the data folder
        engine, orders = _open(cfg, db, language)
        try:
            lines = orders.unmatched()
        finally:
            engine.dispose()
    if fmt == "json":
        views = [
            {
                "ref": x.ref,
                "offer_id": x.offer_id,
                "spec": x.spec,
                "quantity": x.quantity,
                "supplier": x.supplier,
                "status": x.status,
                "reason": x.reason,
                "candidates": list(x.candidates),
                "first_seen": x.first_seen.isoformat() if x.first_seen else None,
                "last_seen": x.last_seen.isoformat() if x.last_seen else None,
            }
            for x in lines
        ]
        typer.echo(json.dumps(views, ensure_ascii=False, indent=2))
        return
    t = _T[language]
    if not lines:
        out.print(t["no_unmatched"], highlight=False)
        return
    table = Table(title=t["unmatched_title"], title_justify="left")
    for col in _UNMATCHED_COLS[language]:
        table.add_column(col)
    for x in lines:
        table.add_row(
            x.ref.removeprefix("1688:"),
            x.offer_id,
            x.spec,
            str(x.quantity),
            x.supplier,
            x.status,
            unmatched_reason(x, language),
            _day(x.first_seen, shop),
        )
    out.print(table)


@orders_app.command("place")
def orders_place(
    task: Annotated[
        int | None, typer.Option("--task", help="the replenishment task ordered")
    ] = None,
    sku: Annotated[str | None, typer.Option("--item", help="SKU or SKU@WAREHOUSE")] = None,
    qty: Annotated[int | None, typer.Option("--qty", help="default: the task's quantity")] = None,
    supplier: Annotated[
        str | None, typer.Option("--supplier", help="the supplier (default: the task's)")
    ] = None,
    expected: Annotated[
        str | None,
        typer.Option("--expected", help="arrival day or time (default: now + lead time)"),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Record that goods were ordered (from a task, or for an item)."""
    cfg, language = setup(config, lang)
    shop = ZoneInfo(cfg.model.general.timezone)  # times as the shop reads them
    due = _when(expected, language, shop)
    try:
        key = ItemKey.parse(sku) if sku else None
    except ValueError as exc:
        raise fail(str(exc)) from None
    engine, orders = _open(cfg, db, language)
    try:
        placed = orders.place(
            datetime.now(UTC),
            task_id=task,
            key=key,
            quantity=qty,
            supplier=supplier.strip() or None if supplier is not None else None,  # "": default
            expected_at=due,
            actor=cli_actor(os_user()),
        )
        order = placed.order
        task_note = f" task #{order.task_id}" if order.task_id is not None else ""
        detail = f"quantity={order.quantity} supplier={order.supplier or '-'}{task_note}"
        record_cli_action(
            engine, AuditAction.ORDER_PLACED, f"order #{order.id} {order.key}", detail
        )
    except OrderError as exc:
        raise fail(_order_error(exc, language)) from None
    finally:
        engine.dispose()
    if order.source == LINKED:
        ref = order.external_ref or "-"
        out.print(_T[language]["linked"].format(id=order.id, ref=ref), highlight=False)
    else:
        out.print(
            _T[language]["placed"].format(
                id=order.id,
                item=order.key,
                qty=order.quantity,
                supplier=order.supplier or "-",
                due=_day(order.expected_at, shop),
            ),
            highlight=False,
        )
    if placed.alert_acknowledged:
        out.print(_T[language]["acked"].format(item=order.key), highlight=False)


@orders_app.command("receive")
def orders_receive(
    order_id: Annotated[
        int, typer.Argument(metavar="ID", help="purchase order number (see stockwatch orders)")
    ],
    qty: Annotated[int | None, typer.Option("--qty", help="default: everything still open")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Record goods received; the whole quantity closes the order and its task."""
    cfg, language = setup(config, lang)
    engine, orders = _open(cfg, db, language)
    try:
        order = orders.receive(order_id, datetime.now(UTC), qty)
        got = f"quantity={qty}" if qty is not None else "all open"
        record_cli_action(engine, AuditAction.ORDER_RECEIVED, f"order #{order.id} {order.key}", got)
    except OrderError as exc:
        raise fail(_order_error(exc, language)) from None
    finally:
        engine.dispose()
    out.print(
        _T[language]["received"].format(
            id=order.id,
            got=order.received_qty,
            qty=order.quantity,
            status=_STATUS[language].get(order.status.value, order.status.value),
        ),
        highlight=False,
    )


@orders_app.command("cancel")
def orders_cancel(
    order_id: Annotated[
        int, typer.Argument(metavar="ID", help="purchase order number (see stockwatch orders)")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Cancel an open order: its quantity leaves the position."""
    cfg, language = setup(config, lang)
    engine, orders = _open(cfg, db, language)
    try:
        order = orders.cancel(order_id, datetime.now(UTC))
        record_cli_action(engine, AuditAction.ORDER_CANCELLED, f"order #{order.id} {order.key}")
    except OrderError as exc:
        raise fail(_order_error(exc, language)) from None
    finally:
        engine.dispose()
    out.print(_T[language]["cancelled"].format(id=order.id), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(orders_app, name="orders")
