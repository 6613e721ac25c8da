"""CLI for delivery: ``notify test``, ``outbox list/retry/work`` and ``tasks list/close/export``."""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from stockwatch.config.settings import Config
from stockwatch.core.audit import AuditAction
from stockwatch.entrypoints.cli.common import (
    EXIT_INPUT,
    ConfigOpt,
    DbOpt,
    LangOpt,
    choices,
    err,
    fail_with,
    out,
)
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import lang_of as _lang
from stockwatch.entrypoints.cli.common import load as _load
from stockwatch.ports import DeliveryError, OutboxStatus, OutgoingMessage
from stockwatch.wiring.accounts import record_cli_action
from stockwatch.wiring.compose import open_database
from stockwatch.wiring.notify import (
    build_channels,
    build_worker,
    close_channels,
    delivery_settings,
)
from stockwatch.wiring.stores import (
    SqlChannelStatus,
    SqlOutbox,
    SqlTaskStore,
    database_exists,
    export_purchase_list,
)

notify_app = typer.Typer(help="Delivery channels.", no_args_is_help=True)
outbox_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)
tasks_app = typer.Typer(help="Replenishment tasks (suggestions; nothing is ever ordered).")


_T = {
    "zh-CN": {
        "test_title": "【库存预警】测试消息",
        "test_body": "这是一条来自 stockwatch 的测试消息，渠道：{name}。",
        "answer": "服务商回复",
        "failed": "发送失败",
        "no_channel": "未知渠道 {name!r}；已配置：{names}",
        "requeued": "已重新排队 #{id}",
        "not_failed": "#{id} 不存在或不是失败/已发送状态",
        "closed": "已关闭任务 #{id}",
        "by_hand": "手动关闭",
        "not_open": "任务 #{id} 不存在或已关闭",
        "none": "（无）",
        "enabled": "渠道 {name} 已重新启用",
        "was_enabled": "渠道 {name} 本来就是启用状态",
    },
    "en": {
        "test_title": "[Low stock] Test message",
        "test_body": "This is a test message from stockwatch, channel: {name}.",
        "answer": "Provider answer",
        "failed": "Delivery failed",
        "no_channel": "unknown channel {name!r}; configured: {names}",
        "requeued": "Requeued #{id}",
        "not_failed": "#{id} does not exist or is neither failed nor sent",
        "closed": "Closed task #{id}",
        "by_hand": "closed by hand",
        "not_open": "Task #{id} does not exist or is closed already",
        "none": "(none)",
        "enabled": "Channel {name} re-enabled",
        "was_enabled": "Channel {name} was not disabled",
    },
}


_HEADS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "channel": "渠道",
        "status": "状态",
        "reason": "原因",
        "id": "编号",
        "tries": "尝试次数",
        "tier": "级别",
        "title": "标题",
        "error": "错误 / 服务商回复",
        "outbox": "发送队列",
        "failed": "（失败）",
        "tasks": "补货任务",
        "sku": "商品",
        "supplier": "供应商",
        "qty": "建议数量",
        "order_by": "下单截止",
        "1688": "1688 链接",
        "pending": "待发送",
        "sending": "发送中",
        "sent": "已发送",
        "open": "待处理",
        "ordered": "已下单",
        "closed": "已关闭",
    },
    "en": {
        "channel": "channel",
        "status": "status",
        "reason": "reason",
        "id": "id",
        "tries": "tries",
        "tier": "tier",
        "title": "title",
        "error": "error / answer",
        "outbox": "outbox",
        "failed": " (failed)",
        "tasks": "replenishment tasks",
        "sku": "sku",
        "supplier": "supplier",
        "qty": "qty",
        "order_by": "order by",
        "1688": "1688",
        "pending": "pending",
        "sending": "sending",
        "sent": "sent",
        "open": "open",
        "ordered": "ordered",
        "closed": "closed",
    },
}


def _h(word: str, lang: str) -> str:
    return _HEADS[lang].get(word, word)


# An outbox row's status, the built-in console channel's name and the answers the built-in
# deliverers record (a provider's own answer is shown verbatim).
_OUTBOX_WORDS: dict[str, dict[str, str]] = {
    "status": {
        "pending": "待发送",
        "sending": "发送中",
        "sent": "已发送",
        "failed": "发送失败",
    },
    "channel": {"console": "控制台"},
    "answer": {"logged": "已写入日志", "printed": "已打印到控制台"},
}


def _outbox_word(kind: str, word: str, lang: str) -> str:
    return word if lang == "en" else _OUTBOX_WORDS[kind].get(word, word)


def _read_engine(config: Config, db: str | None) -> Engine | None:
    """The engine for a read-only command; None when there is no database yet (looking must
    not create one, nor the data folder): the lists are then empty."""
    return _engine(config, db) if database_exists(config, db) else None


def _engine(config: Config, db: str | None) -> Engine:
    try:
        return open_database(config, db)
    except Exception as exc:  # an unreachable or bad database is bad input for the CLI
        raise fail_with("no_database", error=exc) from None


# -- notify --------------------------------------------------------------------------------------


@notify_app.command("test")
def notify_test(
    channel: Annotated[str, typer.Argument(help="channel name from [[channels]]")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Send a test message through CHANNEL and print the provider's answer verbatim."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    t = _T[language]
    names = [c.name for c in cfg.model.channels]
    if channel not in names:
        raise _fail(t["no_channel"].format(name=channel, names=", ".join(names) or t["none"]))
    engine = _engine(cfg, db)
    channels = build_channels(cfg, engine)
    if channel not in channels:
        raise fail_with("channel_disabled", channel=channel)
    now = datetime.now(UTC)
    body = t["test_body"].format(name=channel)
    message = OutgoingMessage(
        title=t["test_title"],
        text=f"{t['test_title']}\n{body}",
        markdown=f"### {t['test_title']}\n{body}",
        idempotency_key=f"test|{channel}|{now.isoformat()}",
        tier="T1",
        kind="test",
        payload={"kind": "test", "lang": language, "at": now.isoformat()},
    )

    async def send() -> str:
        try:
            return await channels[channel].send(message)
        finally:
            await close_channels(channels)

    try:
        answer = asyncio.run(send())
        # It works now: a channel a permanent error had disabled takes messages again.
        reenabled = SqlChannelStatus(engine).enable(channel, datetime.now(UTC))
        if reenabled:
            record_cli_action(engine, AuditAction.CHANNEL_ENABLED, channel, "test message sent")
    except DeliveryError as exc:
        err.print(f"[bold red]{t['failed']}:[/] {exc}", highlight=False)
        kind = "permanent" if exc.permanent else "transient"
        err.print(f"({kind}) {t['answer']}: {exc.answer}", highlight=False, markup=False)
        raise typer.Exit(EXIT_INPUT) from None
    finally:
        engine.dispose()
    out.print(f"{channels[channel].describe()}", highlight=False, markup=False)
    out.print(f"{t['answer']}: {answer}", highlight=False, markup=False)
    if reenabled:
        out.print(t["enabled"].format(name=channel), highlight=False, markup=False)


@notify_app.command("status")
def notify_status(config: ConfigOpt = None, db: DbOpt = None, lang: LangOpt = None) -> None:
    """List the configured channels and which ones a permanent error disabled, and why."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    engine = _read_engine(cfg, db)
    disabled: dict[str, str] = {}
    if engine is not None:
        try:
            disabled = SqlChannelStatus(engine).disabled()
        finally:
            engine.dispose()
    table = Table()
    for col in ("channel", "status", "reason"):
        table.add_column(_h(col, language))
    for channel in cfg.model.channels:
        if channel.name in disabled:
            state = "已停用" if language == "zh-CN" else "disabled"
            table.add_row(escape(channel.name), f"[red]{state}[/]", escape(disabled[channel.name]))
        elif not channel.enabled:
            table.add_row(channel.name, "off (config)" if language == "en" else "配置关闭", "")
        else:
            table.add_row(channel.name, "ok" if language == "en" else "正常", "")
    out.print(table)


@notify_app.command("enable")
def notify_enable(
    channel: Annotated[str, typer.Argument(help="channel name from [[channels]]")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Re-enable CHANNEL after a permanent delivery error disabled it (no test message)."""
    cfg = _load(config)
    t = _T[_lang(cfg, lang)]
    names = [c.name for c in cfg.model.channels]
    if channel not in names:
        raise _fail(t["no_channel"].format(name=channel, names=", ".join(names) or t["none"]))
    engine = _engine(cfg, db)
    try:
        was = SqlChannelStatus(engine).enable(channel, datetime.now(UTC))
        if was:
            record_cli_action(engine, AuditAction.CHANNEL_ENABLED, channel)
    finally:
        engine.dispose()
    out.print(t["enabled" if was else "was_enabled"].format(name=channel), highlight=False)


# -- outbox --------------------------------------------------------------------------------------


@outbox_app.command("list")
def outbox_list(
    config: ConfigOpt = None,
    db: DbOpt = None,
    failed: Annotated[bool, typer.Option("--failed", help="only dead letters")] = False,
    status: Annotated[str | None, typer.Option("--status", help="pending/sending/sent")] = None,
    limit: Annotated[int, typer.Option("--limit", help="how many rows to show")] = 50,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    lang: LangOpt = None,
) -> None:
    """List outbox rows, newest first; --failed shows dead letters with the provider's error."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    if failed:
        wanted: OutboxStatus | None = OutboxStatus.FAILED
    elif status:
        try:
            wanted = OutboxStatus(status)
        except ValueError:
            raise fail_with(
                "bad_choice",
                option="--status",
                value=status,
                choices=choices("pending", "sending", "sent", "failed"),
            ) from None
    else:
        wanted = None
    engine = _read_engine(cfg, db)
    entries = []
    if engine is not None:
        try:
            entries = SqlOutbox(engine).list(wanted, limit)
        finally:
            engine.dispose()
    if fmt == "json":
        rows: list[dict[str, Any]] = [
            {
                "id": e.id,
                "channel": e.channel,
                "status": e.status.value,
                "attempts": e.attempts,
                "tier": e.message.tier,
                "title": e.message.title,
                "idempotency_key": e.idempotency_key,
                "next_attempt_at": e.next_attempt_at.isoformat(),
                "last_error": e.last_error,
                "provider_answer": e.provider_answer,
            }
            for e in entries
        ]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    title = _h("outbox", language) + (_h("failed", language) if failed else "")
    table = Table(title=title, title_justify="left")
    for col in ("id", "channel", "status", "tries", "tier", "title", "error"):
        table.add_column(_h(col, language))
    for e in entries:
        answer = e.provider_answer and _outbox_word("answer", e.provider_answer, language)
        detail = e.last_error or answer
        if e.last_error and answer:
            detail = f"{e.last_error}\n{answer}"
        table.add_row(
            str(e.id),
            escape(_outbox_word("channel", e.channel, language)),
            _outbox_word("status", e.status.value, language),
            str(e.attempts),
            e.message.tier,
            escape(e.message.title),  # titles come from 1688: never markup
            escape(detail or ""),
        )
    out.print(table)


@outbox_app.command("retry")
def outbox_retry(
    entry_id: Annotated[
        int, typer.Argument(metavar="ID", help="outbox row number (see stockwatch outbox list)")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
    lang: LangOpt = None,
) -> None:
    """Put a failed (or sent) notification back in the queue; the worker re-sends it."""
    cfg = _load(config)
    t = _T[_lang(cfg, lang)]
    engine = _engine(cfg, db)
    try:
        ok = SqlOutbox(engine).requeue(entry_id, datetime.now(UTC))
        if ok:
            record_cli_action(engine, AuditAction.OUTBOX_RETRY, f"outbox #{entry_id}")
    finally:
        engine.dispose()
    if not ok:
        raise _fail(t["not_failed"].format(id=entry_id))
    out.print(t["requeued"].format(id=entry_id))


@outbox_app.command("work")
def outbox_work(
    config: ConfigOpt = None,
    db: DbOpt = None,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="stop when nothing is due")
    ] = False,
    lease: Annotated[float, typer.Option("--lease", help="seconds before a claim is stale")] = 60,
    retry_hours: Annotated[
        float | None,
        typer.Option(
            "--retry-hours",
            help="retry a transient failure this long, then dead letter "
            "(default: [daemon.delivery] retry_window, 24h)",
            min=0.001,
        ),
    ] = None,
    backoff: Annotated[float, typer.Option("--backoff", help="first retry delay, seconds")] = 2,
    batch: Annotated[int, typer.Option("--batch", help="rows claimed per pass")] = 500,
    idle: Annotated[float, typer.Option("--idle", help="pause when idle, seconds")] = 0.5,
) -> None:
    """Deliver the outbox until interrupted (SIGINT/SIGTERM finish the current pass)."""
    cfg = _load(config)
    engine = _engine(cfg, db)
    channels = build_channels(cfg, engine)
    settings = replace(
        delivery_settings(cfg, retry_hours),
        batch_size=batch,
        lease_seconds=lease,
        backoff_base_seconds=backoff,
        idle_seconds=idle,
    )
    worker = build_worker(engine, channels, settings=settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            total = await worker.run(stop, until_idle=until_idle)
        finally:
            await close_channels(channels)
        err.print(
            f"delivered {total.sent_rows} notification(s) in {total.messages} message(s) "
            f"({total.digests} digest(s)); retried {total.retried}, failed {total.failed}",
            highlight=False,
        )

    try:
        asyncio.run(main())
    finally:
        engine.dispose()


# -- tasks ---------------------------------------------------------------------------------------


@tasks_app.callback(invoke_without_command=True)
def tasks_default(ctx: typer.Context, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """List open replenishment tasks (the default)."""
    if ctx.invoked_subcommand is None:
        tasks_list(config=config, db=db, show_all=False, lang=None)


@tasks_app.command("list")
def tasks_list(
    config: ConfigOpt = None,
    db: DbOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="closed tasks too")] = False,
    lang: LangOpt = None,
) -> None:
    """List replenishment tasks: item, supplier, 1688 link, quantity, order-by date."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    engine = _read_engine(cfg, db)
    tasks = []
    if engine is not None:
        try:
            tasks = SqlTaskStore(engine).list(None if show_all else "open")
        finally:
            engine.dispose()
    table = Table(title=_h("tasks", language), title_justify="left")
    for col in ("id", "status", "tier", "sku", "title", "supplier", "qty", "order_by", "1688"):
        table.add_column(_h(col, language))
    for task in tasks:
        table.add_row(
            str(task.id),
            _h(task.status, language),
            task.tier,
            escape(task.item_key),  # SKU@WAREHOUSE: a SKU kept in several is one per warehouse
            escape(task.title),
            escape(task.supplier),
            str(task.suggested_qty),
            task.due_date.isoformat() if task.due_date else "",
            task.offer_url or "",
        )
    out.print(table)


@tasks_app.command("close")
def tasks_close(
    task_id: Annotated[
        int, typer.Argument(metavar="ID", help="task number (see stockwatch tasks)")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="why the task is closed (default: closed by hand)"),
    ] = None,
    lang: LangOpt = None,
) -> None:
    """Close a task by hand (ordered elsewhere, or not needed)."""
    cfg = _load(config)
    t = _T[_lang(cfg, lang)]
    reason = reason or t["by_hand"]
    engine = _engine(cfg, db)
    try:
        ok = SqlTaskStore(engine).close(task_id, datetime.now(UTC), reason)
        if ok:
            record_cli_action(engine, AuditAction.TASK_CLOSED, f"task #{task_id}", reason)
    finally:
        engine.dispose()
    if not ok:
        raise _fail(t["not_open"].format(id=task_id))
    out.print(t["closed"].format(id=task_id))


@tasks_app.command("export")
def tasks_export(
    config: ConfigOpt = None,
    db: DbOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv or json")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write to this file (default: standard output)"),
    ] = None,
) -> None:
    """Export open tasks grouped by supplier as a draft purchase list (never an order)."""
    cfg = _load(config)
    if fmt not in ("csv", "json"):
        raise fail_with("bad_choice", option="--format", value=fmt, choices=choices("csv", "json"))
    engine = _read_engine(cfg, db)
    if engine is None:
        text = export_purchase_list([], fmt)
    else:
        try:
            text = export_purchase_list(SqlTaskStore(engine).list("open"), fmt)
        finally:
            engine.dispose()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
    app.add_typer(outbox_app, name="outbox")
    app.add_typer(tasks_app, name="tasks")
