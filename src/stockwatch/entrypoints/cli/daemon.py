"""CLI of the watch daemon: run, db upgrade, alerts list|ack|snooze, events, status, the demo."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from stockwatch.adapters.files import FileFormatError
from stockwatch.config.settings import Config, ConfigError, parse_duration
from stockwatch.core.audit import AuditAction, cli_actor
from stockwatch.core.messages import event_detail, tier_label
from stockwatch.core.model import EVENT_KINDS, Item, ItemKey, Phase
from stockwatch.entrypoints.cli.common import (
    ConfigOpt,
    FormatOpt,
    LangOpt,
    fail_with,
    local_time,
    out,
    parse_since,
)
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import lang_of as _lang
from stockwatch.entrypoints.cli.common import load as _load
from stockwatch.entrypoints.cli.texts import event_word
from stockwatch.entrypoints.cli.texts import t as _tt
from stockwatch.entrypoints.daemon import ListenError, run_daemon
from stockwatch.entrypoints.web.app import event_json, state_json, status_json
from stockwatch.service.alerts import (
    AlertNotAnnounced,
    AlertNotFound,
    acknowledge_alert,
    snooze_alert,
)
from stockwatch.service.status import Status, status_report
from stockwatch.wiring.accounts import os_user, record_cli_action
from stockwatch.wiring.compose import OpenExposure, build_daemon, open_store
from stockwatch.wiring.logs import configure_logging
from stockwatch.wiring.purchasing import catalogue_item
from stockwatch.wiring.stores import SqlStore, configured_url, database_exists, upgrade_schema

db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
alerts_app = typer.Typer(help="Open alerts: list, acknowledge, snooze.", no_args_is_help=True)

_T: dict[str, tuple[str, str]] = {
    "upgraded": ("数据库已升级：{before} → {after}", "Database upgraded: {before} → {after}"),
    "no_alerts": ("没有未解决的预警。", "No open alerts."),
    "acked": ("已确认 {key}：不再提醒（升级仍会通知）。", "Acknowledged {key}: no more reminders."),
    "snoozed": ("已暂停 {key} 的提醒，直到 {until}。", "Snoozed {key} until {until}."),
    "snooze_past": ("--for {value!r}：暂停时长必须大于 0", "snooze end must be in the future"),
    "no_events": ("没有事件。", "No events."),
    "backlog": (
        "待发送 {pending}，发送中 {sending}，失败 {failed}",
        "Outbox: {pending} pending, {sending} sending, {failed} failed",
    ),
    "stale": ("数据过期的商品：{items}", "Stale items: {items}"),
    "daemon_url": ("守护进程运行中：{url}", "Daemon running at {url}"),
    "no_daemon": ("守护进程未运行。", "Daemon not running."),
    "listen": (
        "无法监听 {host}:{port}（{reason}）：可能已有 stockwatch 在运行；请先停止它，"
        "或用 --port / [daemon.http] port 换一个端口（0 表示任意空闲端口）。",
        "cannot listen on {host}:{port} ({reason}): another stockwatch may be running; stop it "
        "or choose another port with --port or [daemon.http] port (0: any free port).",
    ),
    "col_item": ("商品", "item"),
    "col_tier": ("级别", "tier"),
    "col_phase": ("状态", "phase"),
    "col_available": ("可用库存", "available"),
    "col_shelf": ("货架库存", "shelf"),
    "col_last_notice": ("最近通知/开始", "last notice / since"),
    "col_acked": ("已确认", "acked"),
    "col_snoozed": ("暂停至", "snoozed until"),
    "col_at": ("时间", "at"),
    "col_kind": ("事件", "kind"),
    "col_levels": ("预警线", "levels"),
    "col_detail": ("说明", "detail"),
    "col_group": ("轮询组", "group"),
    "col_last_poll": ("上次轮询", "last poll"),
    "col_items": ("商品数", "items"),
    "col_failed": ("失败", "failed"),
    "col_next_poll": ("下次轮询", "next poll"),
}


def _t(name: str, lang: str, **values: object) -> str:
    zh, en = _T[name]
    return (zh if lang == "zh-CN" else en).format(**values)


def _read_store(cfg: Config, lang: str) -> SqlStore | None:
    """The store for a read-only command; None (and a note) when there is no database yet:
    looking must not create one, nor the data folder."""
    if not database_exists(cfg):
        out.print(_tt("no_db", lang, url=configured_url(cfg)), highlight=False)
        return None
    return _store(cfg)


def _store(cfg: Config) -> SqlStore:
    try:
        return open_store(cfg)
    except Exception as exc:  # an unreachable database is bad input for a CLI command
        raise fail_with("no_database", error=exc) from None


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs each request's full URL at INFO, and robot tokens travel in the URL.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def run(
    config: ConfigOpt = None,
    max_cycles: Annotated[
        int | None, typer.Option("--max-cycles", help="stop after N group polls")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (0: any free)")] = None,
) -> None:
    """Run the watch daemon: poll, receive 1688 pushes, deliver alerts (stop: Ctrl+C/SIGTERM)."""
    cfg = _load(config)
    _logging()
    configure_logging(cfg)  # [logging] level/format; configured secrets masked in every line
    try:
        parts = build_daemon(
            cfg, max_cycles=max_cycles, http_port=-1 if port is None else port, lazy=True
        )
    except (FileFormatError, OpenExposure, ConfigError) as exc:
        raise _fail(str(exc)) from None
    try:
        run_daemon(parts)
    except (FileFormatError, ConfigError) as exc:  # the catalogue is read once HTTP is up
        raise _fail(str(exc)) from None
    except ListenError as exc:
        raise _fail(
            _t("listen", _lang(cfg, None), host=exc.host, port=exc.port, reason=exc.reason)
        ) from None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Create or migrate the database schema to the newest version."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    store = open_store(cfg, upgrade=False)
    before, after = upgrade_schema(store.engine)
    out.print(_t("upgraded", language, before=before or "∅", after=after), highlight=False)
    store.engine.dispose()


@alerts_app.command("list")
def alerts_list(
    config: ConfigOpt = None,
    lang: LangOpt = None,
    fmt: FormatOpt = "table",
    show_all: Annotated[bool, typer.Option("--all", help="also items that are OK")] = False,
) -> None:
    """List open alerts, worst first."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    store = _read_store(cfg, language)
    if store is None:
        return
    states = sorted(store.alert_states().items(), key=lambda p: (-int(p[1].tier), str(p[0])))
    shown = [(k, s) for k, s in states if show_all or s.phase is not Phase.OK]
    if fmt == "json":
        out.print_json(json.dumps([state_json(k, s) for k, s in shown], ensure_ascii=False))
        return
    if not shown:
        out.print(_t("no_alerts", language))
        return
    table = Table()
    cols = ("item", "tier", "phase", "available", "shelf", "last_notice", "acked", "snoozed")
    for col in cols:
        table.add_column(_t("col_" + col, language))
    # Both numbers, as the notices give them: the position (goods on order counted) and the
    # shelf a customer sees (on hand − committed of the good reading the state last judged):
    # one indexed look-up per alert shown, not a scan of every item's readings.
    with store.transaction() as tx:
        judged = {
            key: tx.last_good_reading(key, s.last_reading_at)
            for key, s in shown
            if s.last_reading_at is not None
        }
    for key, s in shown:
        last = judged.get(key)
        shelf = last.shelf if last is not None else None
        table.add_row(
            str(key),
            tier_label(s.tier, language),
            event_word(s.phase.value, language),
            "" if s.last_available is None else str(s.last_available),
            "" if shelf is None else str(shelf),
            local_time(cfg, s.last_notice_at or s.since or s.last_reading_at or datetime.now(UTC)),
            "✓" if s.acked else "",
            local_time(cfg, s.snoozed_until),
        )
    out.print(table)


def _key(text: str) -> ItemKey:
    try:
        return ItemKey.parse(text)
    except ValueError as exc:
        raise _fail(str(exc)) from None


@alerts_app.command("ack")
def alerts_ack(
    item: Annotated[str, typer.Argument(help="SKU or SKU@WAREHOUSE")],
    config: ConfigOpt = None,
    lang: LangOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="who acknowledges (default: cli:<OS user>)")
    ] = None,
) -> None:
    """Acknowledge an alert: no more reminders this episode; escalations still notify."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    store = _store(cfg)
    key = _alert_key(store, _key(item))
    by = by or cli_actor(os_user())
    try:
        acknowledge_alert(store, key, by, datetime.now(UTC))
    except AlertNotAnnounced:
        raise fail_with("not_announced", key=key) from None
    except AlertNotFound:
        raise _no_alert(store, key) from None
    record_cli_action(store.engine, AuditAction.ACKNOWLEDGE, key, f"by={by}")
    out.print(_t("acked", language, key=key), highlight=False)


def _no_alert(store: SqlStore, key: ItemKey) -> typer.Exit:
    """An item the catalogue lacks is unknown (a typo), not an item without an alert."""
    known = isinstance(catalogue_item(store, key), Item)
    return fail_with("no_open_alert" if known else "unknown_item", key=key)


def _alert_key(store: SqlStore, key: ItemKey) -> ItemKey:
    """The item a typed key means: a bare SKU kept in one warehouse is that warehouse's item
    (as for ``orders place``); kept in several, the merchant is asked to name one."""
    if key.warehouse is not None:
        return key
    found = catalogue_item(store, key)
    if isinstance(found, Item):
        return found.key
    if len(found) > 1:
        raise fail_with("which_warehouse", key=key, keys=", ".join(map(str, found)))
    return key


@alerts_app.command("snooze")
def alerts_snooze(
    item: Annotated[str, typer.Argument(help="SKU or SKU@WAREHOUSE")],
    for_: Annotated[str, typer.Option("--for", help="how long, e.g. 4h, 1d")] = "4h",
    config: ConfigOpt = None,
    lang: LangOpt = None,
    by: Annotated[
        str | None, typer.Option("--by", help="who snoozes (default: cli:<OS user>)")
    ] = None,
) -> None:
    """Snooze an alert: no raises or reminders until then; escalations still notify."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    key = _key(item)
    try:
        span = parse_duration(for_)
    except ValueError as exc:
        raise fail_with("bad_for", value=for_, error=exc) from None
    now = datetime.now(UTC)
    store = _store(cfg)
    key = _alert_key(store, key)
    by = by or cli_actor(os_user())
    try:
        snooze_alert(store, key, now + span, by, now)
    except AlertNotFound:
        raise _no_alert(store, key) from None
    except ValueError:  # the only one: an end not after now (--for 0s)
        raise _fail(_t("snooze_past", language, value=for_)) from None
    record_cli_action(store.engine, AuditAction.SNOOZE, key, f"for={for_} by={by}")
    out.print(_t("snoozed", language, key=key, until=local_time(cfg, now + span)))


def events(
    config: ConfigOpt = None,
    lang: LangOpt = None,
    fmt: FormatOpt = "table",
    item: Annotated[str | None, typer.Option("--item", help="only this SKU")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="raised, worsened, resolved, ack, ...")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO time or a span back, e.g. 24h")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="how many rows to show")] = 50,
) -> None:
    """Show the alert event log, newest first (filter by item, kind, time)."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    unknown = sorted(set(kind or ()) - set(EVENT_KINDS))
    if unknown:  # a typo found nothing, silently, before
        raise fail_with("unknown_kind", kinds=", ".join(unknown), known=", ".join(EVENT_KINDS))
    start = parse_since(cfg, since)
    store = _read_store(cfg, language)
    if store is None:
        return
    rows = store.events(_key(item) if item else None, kind or (), start, limit)
    if fmt == "json":
        out.print_json(json.dumps([event_json(e) for e in rows], ensure_ascii=False))
        return
    if not rows:
        out.print(_t("no_events", language))
        return

    def shop_time(at: datetime) -> str:
        return local_time(cfg, at)

    table = Table()
    for col in ("at", "item", "kind", "tier", "available", "levels", "detail"):
        table.add_column(_t("col_" + col, language))
    for e in rows:
        table.add_row(
            local_time(cfg, e.at, seconds=True),
            str(e.item_key),
            event_word(e.kind, language),
            f"{e.previous_tier} → {e.tier}" if e.previous_tier != e.tier else e.tier,
            "" if e.available is None else str(e.available),
            "" if e.levels is None else "/".join(str(v) for v in e.levels[:3]),
            " · ".join(filter(None, (event_detail(e.detail, language, shop_time), e.actor))),
        )
    out.print(table)


def _daemon_url(cfg: Config) -> str | None:
    """The running daemon's URL from its daemon.json; None when there is none, or when its
    process is gone (killed with -9 or by a crash, it could not remove the file)."""
    path = cfg.data_dir / "daemon.json"
    try:
        run = json.loads(path.read_text())
        url, pid = str(run["url"]), run.get("pid")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(pid, int) and not _alive(pid):
        return None
    return url


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (signal 0 checks, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return False
    return True


def collect_status(cfg: Config, store: SqlStore, now: datetime) -> Status:
    runs = store.last_poll_runs()
    nxt: dict[str, datetime | None] = {}
    for group in cfg.model.daemon.groups:
        last = runs.get(group.name)
        nxt[group.name] = group.next_after(last.started_at) if last else None
    return status_report(store, nxt, now, cfg.alert_policy().stale_after)


def status(config: ConfigOpt = None, lang: LangOpt = None, fmt: FormatOpt = "table") -> None:
    """Show the last and next poll per group, stale items and the outbox backlog."""
    cfg = _load(config)
    language = _lang(cfg, lang)
    store = _read_store(cfg, language)
    if store is None:
        return
    report = collect_status(cfg, store, datetime.now(UTC))
    url = _daemon_url(cfg)
    if fmt == "json":
        out.print_json(json.dumps(status_json(report) | {"daemon_url": url}, ensure_ascii=False))
        return
    out.print(
        _t("daemon_url", language, url=url) if url else _t("no_daemon", language), highlight=False
    )
    table = Table()
    for col in ("group", "last_poll", "items", "failed", "next_poll"):
        table.add_column(_t("col_" + col, language))
    for g in report.groups:
        table.add_row(
            g.name,
            local_time(cfg, g.last.started_at, seconds=True) if g.last else "—",
            str(g.last.items) if g.last else "",
            str(g.last.failed) if g.last else "",
            local_time(cfg, g.next_at, seconds=True) if g.next_at else "—",
        )
    out.print(table)
    if report.stale:
        out.print(
            _t("stale", language, items=", ".join(str(s.key) for s in report.stale)),
            highlight=False,
        )
    b = report.backlog
    out.print(_t("backlog", language, pending=b.pending, sending=b.sending, failed=b.failed))


def register(app: typer.Typer) -> None:
    """Add the daemon's commands to the main CLI."""
    app.command("run")(run)
    app.command("events")(events)
    app.command("status")(status)
    app.add_typer(db_app, name="db")
    app.add_typer(alerts_app, name="alerts")
