"""``stockwatch sales import`` and ``stockwatch thresholds recompute|review`` (Typer + Rich)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, make_url

from stockwatch.adapters.files import FileFormatError, read_items
from stockwatch.adapters.recompute_schedule import next_recompute_at
from stockwatch.config.settings import Config
from stockwatch.core.audit import AuditAction
from stockwatch.core.leadtime import LearnedLeadTime
from stockwatch.core.model import Item, ItemKey
from stockwatch.core.note_text import note_text
from stockwatch.core.row_text import file_problem_text, row_place_text, row_problem_text
from stockwatch.entrypoints.cli.common import (
    ConfigOpt,
    DbOpt,
    LangOpt,
    err,
    fail_with,
    out,
    shown_lang,
)
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import setup as _setup
from stockwatch.entrypoints.cli.texts import t
from stockwatch.ports import StoredThreshold
from stockwatch.service.recompute import NoSalesHistory, describe_change
from stockwatch.wiring.accounts import record_cli_action
from stockwatch.wiring.compose import open_database, policy_resolver
from stockwatch.wiring.purchasing import learned_lead_times
from stockwatch.wiring.sales_levels import recompute_levels, sales_levels_computer
from stockwatch.wiring.stores import (
    SoldLine,
    SqlOrderSales,
    SqlThresholdStore,
    configured_url,
    database_exists,
    import_record,
    last_computed_at,
    sales_store,
)

SHOWN_PROBLEMS = 20

sales_app = typer.Typer(help="Sales history commands.", no_args_is_help=True)
thresholds_app = typer.Typer(help="Threshold recompute and review.", no_args_is_help=True)


ItemsOpt = Annotated[Path | None, typer.Option("--items", help="item catalogue CSV")]

_TEXTS: dict[str, tuple[str, str]] = {
    "already": (
        "{path} 已于 {at} 导入过（内容相同），未做任何更改。",
        "{path} was already imported on {at} (same content); nothing changed.",
    ),
    "imported": (
        "已导入 {path}：读取 {read} 行，{days} 个商品日汇总，跳过 {skipped} 行。",
        "Imported {path}: {read} rows read, {days} SKU-day totals, {skipped} rows skipped.",
    ),
    "problems": ("跳过的行（有效行已导入）：", "Rows skipped (the valid rows were imported):"),
    "more": ("……另有 {count} 行", "… and {count} more"),
    "recomputing": ("重新计算预警线", "Recomputing thresholds"),
    "recomputed": (
        "已计算 {computed} 个商品：{activated} 个生效，{flagged} 个待审核，{unchanged} 个未变，"
        "{errors} 个出错。",
        "Computed {computed} items: {activated} applied, {flagged} waiting for review, "
        "{unchanged} unchanged, {errors} failed.",
    ),
    "no_items": (
        "没有商品：请在配置 [catalog] items 中指定商品目录，或先导入销售数据。",
        "No items: set [catalog] items in the configuration or import sales first.",
    ),
    "orders_imported": (
        "已从 1688 读取 {orders} 个订单（{lines} 行）：新计入 {added} 行，"
        "因关闭退回 {reversed} 行，已计入过 {unchanged} 行，"
        "未付款 {unpaid} 行，无对应商品 {unmapped} 行。",
        "Read {orders} 1688 orders ({lines} lines): {added} lines counted, {reversed} taken back "
        "(closed), {unchanged} already counted, {unpaid} unpaid, {unmapped} not in the catalogue.",
    ),
    "unmapped": (
        "无对应商品的 1688 商品：{offers}",
        "1688 offers/specs with no item in the catalogue: {offers}",
    ),
    "next_due": ("下次计划重算：{at}", "Next scheduled recompute: {at}"),
    "no_sales": (
        "尚未导入任何销售数据：现在重算会用新品规则替换所有商品的预警线（并关闭未解决的预警）。"
        "请先运行 `stockwatch sales import`；确需如此请加 --allow-no-sales。",
        "No sales have been imported: recomputing now would replace every item's levels by the "
        "new-item rule (and resolve open alerts). Run `stockwatch sales import` first, or pass "
        "--allow-no-sales if that is really what you want.",
    ),
    "already_active": (
        "{key} 第 {version} 版已生效。",
        "{key} version {version} is already active.",
    ),
    "review_title": ("待审核预警线", "Waiting for review"),
    "col_item": ("商品", "item"),
    "col_version": ("版本", "version"),
    "col_now": ("当前 T1/T2/T3", "now T1/T2/T3"),
    "col_new": ("新 T1/T2/T3", "new T1/T2/T3"),
    "col_reason": ("原因", "reason"),
    "none_pending": ("没有待审核的预警线。", "No thresholds are waiting for review."),
    "approved": ("{key} 第 {version} 版已生效。", "{key} version {version} is now active."),
    "rejected": ("{key} 第 {version} 版已驳回。", "{key} version {version} was rejected."),
    "not_pending": (
        "{key} 没有待审核的第 {version} 版。",
        "{key} has no version {version} waiting for review.",
    ),
    "nothing_pending": ("{key} 没有待审核的预警线。", "{key} has nothing waiting for review."),
    # a stored version's status (ports.ThresholdStatus), as the dashboard words it
    "st_active": ("生效中", "active"),
    "st_review": ("待审核", "review"),
    "st_superseded": ("已替换", "superseded"),
    "off": ("已停用（阈值为 0）", "disabled"),
}


def _t(text_id: str, lang: str, **kw: object) -> str:
    zh, en = _TEXTS[text_id]
    return (en if lang == "en" else zh).format(**kw)


def open_engine(cfg: Config, url: str | None) -> Engine:
    """Open the shared database (see ``wiring.open_database``); failures are bad input."""
    try:
        return open_database(cfg, url)
    except Exception as exc:  # any driver/URL problem is bad input for the CLI
        raise fail_with("no_database", error=exc) from None


def existing_engine(cfg: Config, url: str | None) -> Engine | None:
    """Return the engine only if the database already exists (explain must not create one)."""
    configured = configured_url(cfg, url)
    parsed = make_url(configured)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return None
    return open_engine(cfg, url)


def _catalogue(cfg: Config, items_path: Path | None, language: str) -> dict[ItemKey, Item] | None:
    path = items_path or (cfg.resolve(cfg.model.catalog.items) if cfg.model.catalog.items else None)
    if path is None:
        return None
    try:
        loaded = read_items(path)
    except FileFormatError as exc:
        raise _fail(file_problem_text(str(exc), shown_lang())) from None
    for problem in loaded.problems:
        why = row_problem_text(problem.message, language)
        err.print(f"  {path}:{problem.line}: {why}", highlight=False)
    return {item.key: item for item in loaded.rows}


@sales_app.command("import")
def sales_import(
    file: Annotated[
        Path, typer.Argument(help="sales CSV or Parquet (date, sku, quantity[, order_id])")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
    items: ItemsOpt = None,
    lang: LangOpt = None,
) -> None:
    """Import daily sales; bad rows are listed with their line, the rest imported once."""
    # numpy/pyarrow load only for the commands that need them: `stockwatch --help` stays quick
    from stockwatch.adapters.sales_import import read_sales_file

    cfg, language = _setup(config, lang)
    catalogue = _catalogue(cfg, items, language)
    known = (
        {key.sku for key in catalogue} | {str(key) for key in catalogue}
        if catalogue is not None
        else None
    )
    engine = open_engine(cfg, db)
    store = sales_store(engine)
    try:
        parsed = read_sales_file(file, known, ZoneInfo(cfg.model.general.timezone))
    except FileFormatError as exc:
        raise _fail(file_problem_text(str(exc), shown_lang())) from None
    for column in parsed.unknown_columns:
        err.print(escape(t("unknown_column", language, path=file, column=column)), highlight=False)
    earlier = store.imported(parsed.sha256)
    if earlier is not None:
        out.print(_t("already", language, path=file, at=earlier.imported_at.isoformat()))
        engine.dispose()
        return
    record = import_record(
        parsed.sha256, str(file), datetime.now(UTC), parsed.rows_read, len(parsed.problems)
    )
    added = store.add_import(record, parsed.totals)
    engine.dispose()
    if parsed.problems:
        err.print(_t("problems", language), highlight=False)
        for problem in parsed.problems[:SHOWN_PROBLEMS]:
            where = row_place_text(problem.unit, problem.line, language)
            why = row_problem_text(problem.message, language)
            err.print(f"  {file}: {where}: {why}", highlight=False)
        if len(parsed.problems) > SHOWN_PROBLEMS:
            err.print(_t("more", language, count=len(parsed.problems) - SHOWN_PROBLEMS))
    if not added:  # a concurrent import of the same file won the race
        out.print(_t("already", language, path=file, at="-"))
        return
    out.print(
        _t(
            "imported",
            language,
            path=file,
            read=parsed.rows_read,
            days=len(parsed.totals),
            skipped=len(parsed.problems),
        ),
        highlight=False,
    )


@sales_app.command("import-orders")
def sales_import_orders(
    since: Annotated[
        str | None,
        typer.Option("--since", help="first order day, YYYY-MM-DD (default: 30 days ago)"),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="last order day, YYYY-MM-DD (default: today)"),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    items: ItemsOpt = None,
    lang: LangOpt = None,
) -> None:
    """Count paid 1688 seller orders into daily sales per SKU (each order line once)."""
    import asyncio

    from stockwatch.adapters.alibaba1688.errors import GatewayError
    from stockwatch.adapters.alibaba1688.orders import (
        OrderLine,
        seller_order_lines,
        sku_index,
        sku_of,
    )
    from stockwatch.wiring.scale import gateway_session

    cfg, language = _setup(config, lang)
    tz = ZoneInfo(cfg.model.general.timezone)
    catalogue = _catalogue(cfg, items, language)
    if not catalogue:
        raise _fail(_t("no_items", language))
    now = datetime.now(UTC)
    today = now.astimezone(tz).date()
    first = _day_option("--since", since, date.fromordinal(today.toordinal() - 30))
    last = _day_option("--until", until, today)
    if last < first:
        raise fail_with("until_before_since", last=last, first=first)
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(date.fromordinal(last.toordinal() + 1), datetime.min.time(), tzinfo=tz)
    engine = open_engine(cfg, db)

    async def fetch() -> list[OrderLine]:
        session = gateway_session(cfg, engine)  # the shared 1688 budget when Redis is set
        async with session:
            return await seller_order_lines(session.client, start, end)

    try:
        lines = asyncio.run(fetch())
    except (GatewayError, ValueError) as exc:
        engine.dispose()
        hint = getattr(exc, "hint", "")
        raise _fail(f"1688: {exc}" + (f" ({hint})" if hint else "")) from None
    index = sku_index(catalogue.values())
    sold: list[SoldLine] = []
    unpaid = 0
    unmapped: set[str] = set()
    for line in lines:
        sku = sku_of(line, index)
        if sku is None:
            unmapped.add(f"{line.offer_id}/{line.spec_id or line.sku_id or '-'}")
            continue
        if line.unpaid:
            unpaid += 1
            continue
        sold.append(SoldLine(line.order_id, line.line, sku, line.day(tz), line.sold, line.closed))
    result = SqlOrderSales(engine).add(sold, now)
    engine.dispose()
    orders = len({line.order_id for line in lines})
    out.print(
        _t(
            "orders_imported",
            language,
            orders=orders,
            lines=len(lines),
            added=result.added,
            reversed=result.reversed,
            unchanged=result.unchanged,
            unpaid=unpaid,
            unmapped=len(lines) - len(sold) - unpaid,
        ),
        highlight=False,
    )
    if unmapped:
        err.print(_t("unmapped", language, offers=", ".join(sorted(unmapped)[:20])))


def _day_option(name: str, text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail_with("bad_date", option=name, value=text) from None


def _as_of(cfg: Config, text: str | None) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise fail_with("bad_date", option="--as-of", value=text) from None
    return datetime.now(ZoneInfo(cfg.model.general.timezone)).date()


@thresholds_app.command("recompute")
def thresholds_recompute(
    config: ConfigOpt = None,
    db: DbOpt = None,
    items: ItemsOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="business day to compute for (default: today)")
    ] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="items per batch")] = 50_000,
    allow_no_sales: Annotated[
        bool,
        typer.Option(
            "--allow-no-sales",
            help="compute even though no sales were imported (every item gets the new-item rule)",
        ),
    ] = False,
    lang: LangOpt = None,
) -> None:
    """Recompute every item's thresholds from the imported sales history."""
    cfg, language = _setup(config, lang)
    day = _as_of(cfg, as_of)
    catalogue = _catalogue(cfg, items, language) or {}
    engine = open_engine(cfg, db)
    sales = sales_store(engine)
    keys = sorted({str(k) for k in catalogue} or set(sales.skus()))
    if not keys:
        engine.dispose()
        raise _fail(_t("no_items", language))
    has_sales = bool(sales.skus())
    computer = sales_levels_computer(cfg, catalogue, engine, sales)
    store = SqlThresholdStore(engine)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=not err.is_terminal,
    ) as bar:
        task = bar.add_task(_t("recomputing", language), total=len(keys))
        try:
            report = recompute_levels(
                keys,
                day,
                computer,
                store,
                datetime.now(UTC),
                review_factor=cfg.model.thresholds.review_factor,
                chunk=chunk,
                progress=lambda done: bar.advance(task, done),
                has_sales=has_sales,
                allow_no_sales=allow_no_sales,
            )
        except NoSalesHistory:
            engine.dispose()
            raise _fail(_t("no_sales", language)) from None
    last = last_computed_at(engine)
    engine.dispose()
    for key, message in report.errors[:SHOWN_PROBLEMS]:
        err.print(f"  {key}: {message}", highlight=False)
    out.print(
        _t(
            "recomputed",
            language,
            computed=report.computed,
            activated=report.activated,
            flagged=report.flagged,
            unchanged=report.unchanged,
            errors=len(report.errors),
        ),
        highlight=False,
    )
    spec = cfg.model.thresholds.recompute
    if last is not None:
        due = next_recompute_at(spec, last, datetime.now(UTC))
        tz = ZoneInfo(cfg.model.general.timezone)
        out.print(_t("next_due", language, at=due.astimezone(tz).strftime("%Y-%m-%d %H:%M")))


def _key_version(text: str) -> tuple[str, int | None]:
    key, sep, version = text.rpartition(":")
    if sep and version.isdigit():
        return key, int(version)
    return text, None


@thresholds_app.command("review")
def thresholds_review(
    config: ConfigOpt = None,
    db: DbOpt = None,
    approve: Annotated[
        list[str] | None, typer.Option("--approve", help="ITEM or ITEM:VERSION to apply")
    ] = None,
    reject: Annotated[
        list[str] | None, typer.Option("--reject", help="ITEM or ITEM:VERSION to drop")
    ] = None,
    approve_all: Annotated[
        bool, typer.Option("--approve-all", help="apply every version waiting for review")
    ] = False,
    lang: LangOpt = None,
) -> None:
    """List thresholds a recompute flagged for review, or approve/reject them.

    Exit 1 when an item named by --approve/--reject has no such version waiting.
    """
    cfg, language = _setup(config, lang)
    if not (approve or reject or approve_all) and not database_exists(cfg, db):
        out.print(_t("none_pending", language))  # looking must not create a database
        return
    engine = open_engine(cfg, db)
    store = SqlThresholdStore(engine)
    pending = {p.key: p for p in store.in_review()}
    approvals = [f"{k}:{p.version}" for k, p in pending.items()] if approve_all else []
    acted, failed = approve_all, False
    for text, ok_key, action in (
        [(a, "approved", store.approve) for a in approvals]
        + [(a, "approved", store.approve) for a in approve or []]
        + [(r, "rejected", store.reject) for r in reject or []]
    ):
        acted = True
        key, version = _key_version(text)
        if version is None:
            version = pending[key].version if key in pending else 0
        if action(key, version):
            named = AuditAction.APPROVE if ok_key == "approved" else AuditAction.REJECT
            record_cli_action(engine, named, key, f"version={version}")
            out.print(_t(ok_key, language, key=key, version=version), highlight=False)
        elif ok_key == "approved" and _is_active(store, key, version):
            out.print(_t("already_active", language, key=key, version=version), highlight=False)
        else:
            failed = True
            # No version named and none pending: there is no version number to show.
            text_id = "not_pending" if version else "nothing_pending"
            err.print(_t(text_id, language, key=key, version=version), highlight=False)
    if approve_all and not pending:
        out.print(_t("none_pending", language))
    if not acted:
        _print_pending(list(pending.values()), store, language)
    engine.dispose()
    if failed:
        raise typer.Exit(1)


def _is_active(store: SqlThresholdStore, key: str, version: int) -> bool:
    current = store.current([key]).get(key)
    return current is not None and current.active is not None and current.active.version == version


def _print_pending(pending: list[StoredThreshold], store: SqlThresholdStore, lang: str) -> None:
    if not pending:
        out.print(_t("none_pending", lang))
        return
    table = Table(title=_t("review_title", lang), title_justify="left")
    for col in ("col_item", "col_version", "col_now", "col_new", "col_reason"):
        table.add_column(_t(col, lang))
    current = store.current([p.key for p in pending])
    for p in pending:
        active = current.get(p.key)
        now = active.active.levels if active and active.active else None
        table.add_row(
            p.key,
            str(p.version),
            f"{now.t1} / {now.t2} / {now.t3}" if now else "-",
            f"{p.levels.t1} / {p.levels.t2} / {p.levels.t3}",
            note_text(p.review_reason, lang) if p.review_reason else "",
        )
    out.print(table)


def print_versions(key: str, versions: list[StoredThreshold], lang: str) -> None:
    """Show an item's newest stored version and what changed since the one before (explain)."""
    if not versions:
        return
    newest = versions[0]
    older = versions[1] if len(versions) > 1 else None
    when = newest.computed_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    lv = newest.levels
    levels = _t("off", lang) if lv.disabled else f"T1 {lv.t1} / T2 {lv.t2} / T3 {lv.t3}"
    status = _t(f"st_{newest.status.value}", lang)
    head = (
        f"Stored version {newest.version} ({status}, {when}): {levels}"
        if lang == "en"
        else f"已保存第 {newest.version} 版（{status}，{when}）：{levels}"
    )
    out.print(f"[bold]{head}[/]", highlight=False)
    if older is not None:
        since = (
            f"Since version {older.version}:" if lang == "en" else f"与第 {older.version} 版相比："
        )
        out.print(since, highlight=False)
    for line in describe_change(older, newest, lang):
        out.print(f"  • {line}", highlight=False)


def stored_lead_times(
    cfg: Config, url: str | None, items: Mapping[ItemKey, Item]
) -> dict[ItemKey, LearnedLeadTime]:
    """Return the lead times learned from received purchase orders; none without a database."""
    engine = existing_engine(cfg, url)
    if engine is None:
        return {}
    try:
        return learned_lead_times(engine, items, policy_resolver(cfg))
    finally:
        engine.dispose()


def stored_versions(cfg: Config, url: str | None, key: str) -> list[StoredThreshold]:
    """Return an item's stored versions, newest first; none without a database."""
    engine = existing_engine(cfg, url)
    if engine is None:
        return []
    try:
        return SqlThresholdStore(engine).versions(key, limit=2)
    finally:
        engine.dispose()


def versions_json(versions: list[StoredThreshold]) -> dict[str, object]:
    newest = versions[0]
    older = versions[1] if len(versions) > 1 else None
    return {
        "version": newest.version,
        "status": newest.status.value,
        "computed_at": newest.computed_at.isoformat(),
        "levels": {"T1": newest.levels.t1, "T2": newest.levels.t2, "T3": newest.levels.t3},
        "review_reason": newest.review_reason,
        "changes": describe_change(older, newest),
    }
