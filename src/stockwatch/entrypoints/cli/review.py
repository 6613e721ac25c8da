"""``stockwatch review``: how well did the alerts work (warned in time, late, missed, noise)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from stockwatch.config.settings import ConfigError, find_config, load_config
from stockwatch.core.messages import tier_label
from stockwatch.core.review import AlertReview
from stockwatch.core.review_advice import describe
from stockwatch.entrypoints.cli.common import (
    bounded_since_option,
    choices,
    config_failure,
    fail,
    fail_with,
    lang_of,
)
from stockwatch.entrypoints.cli.texts import t
from stockwatch.entrypoints.web.api_json import advice_json, review_json
from stockwatch.service.alert_review import ALL_ORDERS, load_review
from stockwatch.wiring.compose import open_store
from stockwatch.wiring.purchasing import purchase_orders
from stockwatch.wiring.review import ReviewAdvice, review_advice
from stockwatch.wiring.stores import configured_url, database_exists

EXIT_INPUT = 1
DEFAULT_DAYS = 30
out = Console(soft_wrap=True, width=None if Console().is_terminal else 160)
err = Console(stderr=True, soft_wrap=True)

_T: dict[str, tuple[str, str]] = {
    "title": ("预警复盘（自 {since}）", "Alert review (since {since})"),
    "episodes": ("预警次数", "Episodes"),
    "stockouts": ("断货次数", "Stockouts"),
    "in_time": ("提前足够（≥ 交期，或下单后未断货）", "Warned in time (≥ lead time, or prevented)"),
    "prevented": ("其中下单避免了断货", "of which prevented by an order"),
    "late": ("提醒太晚", "Warned late"),
    "missed": ("漏报（首次通知即断货）", "Missed (first notice was OUT)"),
    "noise": ("可能的误报", "Likely noise"),
    "median": ("提前量中位数", "Median warning"),
    "item": ("商品", "Item"),
    "started": ("开始", "Started"),
    "worst": ("最严重", "Worst"),
    "notices": ("通知数", "Notices"),
    "out_at": ("断货时间", "Out at"),
    "warning": ("提前量", "Warning"),
    "lead": ("交期", "Lead time"),
    "verdict": ("结论", "Verdict"),
    "v_in_time": ("及时", "in time"),
    "v_prevented": ("已下单，未断货", "ordered, never ran out"),
    "v_late": ("太晚", "late"),
    "v_missed": ("漏报", "missed"),
    "none": ("这段时间没有预警。", "No alerts in this period."),
    "per_item": ("每个商品的通知数", "Notices per item"),
    "tiers": ("各级预警", "Per tier"),
    "tier": ("级别", "Tier"),
    "median_warn": ("提前量中位数", "Warning (median)"),
    "worst_warn": ("最短提前量", "Warning (worst)"),
    "ack": ("确认用时中位数", "Time to ack (median)"),
    "detected": ("从读数和销量发现的断货", "Stockouts found in readings and sales"),
    "from": ("起", "From"),
    "to": ("止", "To"),
    "days": ("天数", "Days"),
    "why": ("依据", "Evidence"),
    "stock 0": ("库存为 0", "stock 0"),
    "sales stopped": ("该卖却没卖", "sales stopped"),
    "suggest": ("建议（按预期效果排序）", "Suggestions (most useful first)"),
    "no_suggest": (
        "暂无建议：回测看不出更好的设置。",
        "No suggestion: a backtest finds nothing better.",
    ),
    "default_lead": (
        "{n} 个商品没有交期，按默认交期 {days:g} 天评判：{items}",
        "{n} item(s) have no lead time and were judged with the default {days:g} days: {items}",
    ),
}


def _t(name: str, lang: str, **values: object) -> str:
    zh, en = _T[name]
    return (en if lang == "en" else zh).format(**values)


def _fail(message: str) -> typer.Exit:
    return fail(message)  # "错误：" or "error: " in this command line's language


def _span(value: timedelta | None) -> str:
    if value is None:
        return "-"
    hours = value.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if abs(hours) >= 48 else f"{hours:.1f} h"


def _when(value: datetime | None, tz: tzinfo) -> str:
    return "-" if value is None else f"{value.astimezone(tz):%Y-%m-%d %H:%M}"


def _since(text: str | None, now: datetime, tz: tzinfo) -> datetime:
    if not text:
        return now - timedelta(days=DEFAULT_DAYS)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail_with("bad_date", option="--since", value=text) from None
    # a date: local midnight
    return bounded_since_option(moment if moment.tzinfo else moment.replace(tzinfo=tz), text)


def print_review(result: AlertReview, since: datetime, lang: str, tz: tzinfo) -> None:
    out.print(_t("title", lang, since=_when(since, tz)), style="bold", highlight=False)
    summary = Table(show_header=False)
    summary.add_column()
    summary.add_column(justify="right")
    for key, value in (
        ("episodes", len(result.episodes)),
        ("stockouts", result.stockouts),
        ("in_time", result.warned_in_time),
        ("prevented", result.prevented),
        ("late", result.warned_late),
        ("missed", result.missed),
        ("noise", result.likely_noise),
        ("median", _span(result.median_warning)),
    ):
        summary.add_row(_t(key, lang), str(value))
    out.print(summary)
    if not result.episodes:
        out.print(_t("none", lang))
        return
    table = Table()
    for col in ("item", "started", "worst", "notices", "out_at", "warning", "lead", "verdict"):
        table.add_column(_t(col, lang))
    for e in result.episodes:
        if e.missed:
            verdict = _t("v_missed", lang)
        elif e.prevented:
            verdict = _t("v_prevented", lang)
        elif e.early_enough is None:
            verdict = "-"
        else:
            verdict = _t("v_in_time" if e.early_enough else "v_late", lang)
        table.add_row(
            str(e.key),
            _when(e.started, tz),
            tier_label(e.worst_tier, lang),
            str(e.notices),
            _when(e.stockout_at, tz),
            _span(e.warning),
            _span(e.lead_time),
            verdict,
        )
    out.print(table)
    per_item = Table(title=_t("per_item", lang))
    per_item.add_column(_t("item", lang))
    per_item.add_column(_t("notices", lang), justify="right")
    for item_key, n in sorted(result.notices_per_item.items(), key=lambda p: (-p[1], str(p[0]))):
        per_item.add_row(str(item_key), str(n))
    out.print(per_item)


def review(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="stockwatch.toml (default: ./stockwatch.toml)"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help=f"start date YYYY-MM-DD (default: {DEFAULT_DAYS} days ago)"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
    lang: Annotated[str | None, typer.Option("--lang", help="zh-CN (default) or en")] = None,
) -> None:
    """Review the alerts of a period: stockouts, warned in time or late, misses, noise."""
    if fmt not in ("table", "json"):
        raise fail_with(
            "bad_choice", option="--format", value=fmt, choices=choices("table", "json")
        )
    try:
        cfg = load_config(find_config(config))
    except ConfigError as exc:
        raise config_failure(exc) from None
    language = lang_of(cfg, lang)
    try:
        tz = ZoneInfo(cfg.model.general.timezone)
    except (ValueError, KeyError) as exc:
        raise _fail(f"[general] timezone: {exc}") from None
    start = _since(since, datetime.now(UTC), tz)
    if not database_exists(cfg):  # looking must not create a database nor the data folder
        out.print(t("no_db", language, url=configured_url(cfg)), highlight=False)
        return
    try:
        store = open_store(cfg)
    except Exception as exc:  # an unreachable database is bad input for a CLI command
        raise fail_with("no_database", error=exc) from None
    default_lead = cfg.threshold_policy(None).lead_time_days
    now = datetime.now(UTC)
    try:
        orders = purchase_orders(store.engine).find(limit=ALL_ORDERS)
        result = load_review(store, start, default_lead=default_lead, orders=orders)
        advice = review_advice(cfg, store.engine, store, result, start, now)
    finally:
        store.engine.dispose()
    if fmt == "json":
        data = {"since": start.isoformat()} | review_json(result) | advice_json(advice, language)
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    print_review(result, start, language, tz)
    print_advice(advice, language, default_lead)


def print_advice(advice: ReviewAdvice, lang: str, default_lead: float) -> None:
    tiers = Table(title=_t("tiers", lang))
    for col in ("tier", "notices", "median_warn", "worst_warn", "ack"):
        tiers.add_column(_t(col, lang), justify="left" if col == "tier" else "right")
    for s in advice.tiers:
        tiers.add_row(
            tier_label(s.tier, lang),
            str(s.notices),
            _span(s.median_warning),
            _span(s.worst_warning),
            _span(s.median_ack),
        )
    out.print(tiers)
    if advice.stockouts:
        found = Table(title=_t("detected", lang))
        for col in ("item", "from", "to", "days", "why"):
            found.add_column(_t(col, lang))
        for d in advice.stockouts:
            found.add_row(d.item, str(d.first), str(d.last), str(d.days), _t(d.reason, lang))
        out.print(found)
    if advice.default_lead:
        shown = ", ".join(advice.default_lead[:10]) + ("…" if len(advice.default_lead) > 10 else "")
        out.print(
            _t("default_lead", lang, n=len(advice.default_lead), days=default_lead, items=shown),
            highlight=False,
        )
    out.print(_t("suggest", lang), style="bold")
    if not advice.suggestions:
        out.print(_t("no_suggest", lang))
    for number, suggestion in enumerate(advice.suggestions, start=1):
        out.print(f"{number}. {describe(suggestion, lang)}", highlight=False, markup=False)
    if advice.note:
        out.print(advice.note, style="dim", highlight=False, markup=False)
