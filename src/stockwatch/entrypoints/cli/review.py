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
from stockwatch.core.messages import check_lang, tier_label
from stockwatch.core.review import AlertReview
from stockwatch.entrypoints.cli.texts import t
from stockwatch.entrypoints.web.api_json import review_json
from stockwatch.service.alert_review import load_review
from stockwatch.wiring.compose import open_store
from stockwatch.wiring.stores import configured_url, database_exists

EXIT_INPUT = 1
DEFAULT_DAYS = 30
out = Console(soft_wrap=True, width=None if Console().is_terminal else 160)
err = Console(stderr=True, soft_wrap=True)

_T: dict[str, tuple[str, str]] = {
    "title": ("预警复盘（自 {since}）", "Alert review (since {since})"),
    "episodes": ("预警次数", "Episodes"),
    "stockouts": ("断货次数", "Stockouts"),
    "in_time": ("提前足够（≥ 交期）", "Warned in time (≥ lead time)"),
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
    "v_late": ("太晚", "late"),
    "v_missed": ("漏报", "missed"),
    "none": ("这段时间没有预警。", "No alerts in this period."),
    "per_item": ("每个商品的通知数", "Notices per item"),
}


def _t(name: str, lang: str, **values: object) -> str:
    zh, en = _T[name]
    return (en if lang == "en" else zh).format(**values)


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(EXIT_INPUT)


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
        raise _fail(f"--since {text!r}: not a date (use YYYY-MM-DD)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)  # a date: local midnight


def print_review(result: AlertReview, since: datetime, lang: str, tz: tzinfo) -> None:
    out.print(_t("title", lang, since=_when(since, tz)), style="bold", highlight=False)
    summary = Table(show_header=False)
    summary.add_column()
    summary.add_column(justify="right")
    for key, value in (
        ("episodes", len(result.episodes)),
        ("stockouts", result.stockouts),
        ("in_time", result.warned_in_time),
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
        raise _fail(f"--format {fmt!r}: use table or json")
    try:
        cfg = load_config(find_config(config))
        language = check_lang(lang) if lang else cfg.lang
    except (ConfigError, ValueError) as exc:
        raise _fail(str(exc)) from None
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
        raise _fail(f"cannot open the database: {exc}") from None
    try:
        result = load_review(store, start)
    finally:
        store.engine.dispose()
    if fmt == "json":
        data = {"since": start.isoformat()} | review_json(result)
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    print_review(result, start, language, tz)
