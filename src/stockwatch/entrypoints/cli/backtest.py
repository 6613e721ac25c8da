"""``stockwatch backtest``: replay the shop's history under a candidate policy (or a grid of them)
beside the policy in force; ``--sweep`` shows the trade-off frontier, ``--apply`` adopts one."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from stockwatch.config.settings import Config
from stockwatch.core.replay_text import replay_problem_text
from stockwatch.core.thresholds import TierSpec
from stockwatch.core.tuning import Candidate, parse_setting
from stockwatch.entrypoints.cli.common import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    LangOpt,
    choices,
    err,
    fail,
    fail_with,
    out,
    setup,
)
from stockwatch.entrypoints.web.backtest_report import (
    METRIC_KEYS,
    chart_items,
    metrics_row,
    render_html,
    report_json,
    text,
)

IN_FORCE = {"zh-CN": "现行策略", "en": "in force"}
MAX_GRID = 500

_T: dict[str, tuple[str, str]] = {
    "single_only": (
        "{opt} 给了多个值：要比较多个取值请加 --sweep",
        "{opt} has several values: add --sweep to compare them",
    ),
    "total": ("合计", "Total"),
    "grid_too_big": (
        "网格有 {n} 个策略，超过上限 {max}",
        "the grid has {n} policies, more than {max}",
    ),
    "frontier_title": (
        "取舍前沿（★：没有别的策略在三项上都更好）",
        "Trade-off frontier (★: no other policy is better on all three)",
    ),
    "html_written": ("已写入 {path}", "written to {path}"),
    "unknown_policy": (
        "没有名为 {name!r} 的策略；可选：{names}",
        "no policy named {name!r}; choose one of {names}",
    ),
    "errors": ("{n} 个商品无法回测：", "{n} item(s) could not be replayed:"),
}


def _t(key: str, lang: str, **kw: object) -> str:
    zh, en = _T[key]
    return (en if lang == "en" else zh).format(**kw)


def _split(text_value: str | None) -> list[str]:
    return [] if not text_value else [v.strip() for v in text_value.split(",") if v.strip()]


def in_force_candidate(config: Config, lang: str) -> Candidate:
    from stockwatch.wiring.backtest import in_force_candidate as from_config

    return from_config(config, IN_FORCE.get(lang, "in force"))


def build_candidates(
    base: Candidate, options: dict[str, list[str]], sweep: bool, lang: str
) -> list[Candidate]:
    """Return the policy in force first, then the candidate (or the grid's candidates)."""
    for opt, values in options.items():
        if len(values) > 1 and not sweep:
            raise fail(_t("single_only", lang, opt=opt))
    axes = [(opt, values) for opt, values in options.items() if values]
    combos = list(itertools.product(*(values for _, values in axes)))
    if len(combos) > MAX_GRID:
        raise fail(_t("grid_too_big", lang, n=len(combos), max=MAX_GRID))
    out_list = [base]
    if not axes:
        return out_list
    width = len(str(len(combos)))
    for number, combo in enumerate(combos, start=1):
        settings: list[tuple[str, Any]] = []
        tiers: list[tuple[str, TierSpec]] = []
        extra: dict[str, Any] = {
            "debounce_t1": base.debounce_t1,
            "debounce_t2": base.debounce_t2,
            "dedupe_days": base.dedupe_days,
        }
        try:
            for (opt, _), value in zip(axes, combo, strict=True):
                key = opt.removeprefix("--").replace("-", "_")
                if key in ("t1", "t2", "t3"):
                    tiers.append((key.upper(), TierSpec.parse(value)))
                elif key == "fill_rate":
                    extra["fill_rate"] = float(value)
                elif key == "lead_model":
                    extra["lead_model"] = value
                elif key == "debounce":
                    extra["debounce_t1"] = extra["debounce_t2"] = int(value)
                elif key == "dedupe":
                    extra["dedupe_days"] = int(value)
                else:
                    name = "intermittent_method" if key == "intermittent" else key
                    settings.append((name, parse_setting(name, value)))
            name = f"P{number:0{width}d}" if sweep else ("candidate" if lang == "en" else "候选")
            out_list.append(Candidate(name, tuple(settings), tuple(tiers), **extra))
        except ValueError as exc:
            raise fail(replay_problem_text(str(exc), lang)) from None
    return out_list


Opt = Annotated[str | None, typer.Option()]


def backtest(
    config: ConfigOpt = None,
    db: DbOpt = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="first replayed day YYYY-MM-DD (default: the last --days of sales)"
        ),
    ] = None,
    days: Annotated[int | None, typer.Option("--days", help="days to replay (default 60)")] = None,
    item: Annotated[
        list[str] | None, typer.Option("--item", help="only this SKU (repeatable)")
    ] = None,
    category: Annotated[str | None, typer.Option("--category", help="only this category")] = None,
    item_class: Annotated[
        str | None, typer.Option("--class", help="only this class (A/B/C)")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="CSV sku,unit_price for stock value")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help="reorder_point, safety_stock, days_of_cover, combined (comma list with --sweep)",
        ),
    ] = None,
    service_level: Annotated[
        str | None, typer.Option("--service-level", help="cycle service level α, e.g. 0.95")
    ] = None,
    fill_rate: Annotated[
        str | None, typer.Option("--fill-rate", help="fill-rate target β instead of α, e.g. 0.98")
    ] = None,
    buffer_days: Annotated[
        str | None, typer.Option("--buffer-days", help="buffer k in days of demand")
    ] = None,
    velocity_days: Annotated[
        str | None, typer.Option("--velocity-days", help="velocity window (days)")
    ] = None,
    window_days: Annotated[
        str | None, typer.Option("--window-days", help="history window for σ (days)")
    ] = None,
    intermittent: Annotated[
        str | None, typer.Option("--intermittent", help="empirical or normal")
    ] = None,
    lead_model: Annotated[
        str | None,
        typer.Option("--lead-model", help="declared or learned (from received purchase orders)"),
    ] = None,
    t1: Annotated[str | None, typer.Option("--t1", help="T1 level: 120, 1.5x, 3d, lead+2d")] = None,
    t2: Annotated[str | None, typer.Option("--t2", help="T2 level")] = None,
    t3: Annotated[str | None, typer.Option("--t3", help="T3 level")] = None,
    debounce: Annotated[
        str | None, typer.Option("--debounce", help="days a T1/T2 breach must last")
    ] = None,
    dedupe: Annotated[
        str | None, typer.Option("--dedupe", help="days between notices of one tier")
    ] = None,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="run every combination of the values given")
    ] = False,
    apply: Annotated[
        str | None,
        typer.Option(
            "--apply", help="write this policy to the config layer of --class/--category/--item"
        ),
    ] = None,
    sampled_leads: Annotated[
        bool,
        typer.Option(
            "--sampled-leads", help="draw each order's lead time from the supplier's distribution"
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="seed for sampled lead times")] = 0,
    recompute: Annotated[
        str | None,
        typer.Option(
            "--recompute",
            help="when levels are recomputed during the replay: weekly, monthly, a cron "
            "expression or never (default: [thresholds] recompute)",
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="also write the report as one self-contained HTML page"),
    ] = None,
    fmt: FormatOpt = "table",
    lang: LangOpt = None,
) -> None:
    """Replay the shop's history under a candidate policy beside the policy in force."""
    from stockwatch.bulk.sweep import run_sweep
    from stockwatch.wiring.backtest import (
        HistoryError,
        NoSalesToReplay,
        load_replay,
        policy_groups,
        schedule,
    )
    from stockwatch.wiring.compose import open_database
    from stockwatch.wiring.stores import database_exists

    if fmt not in ("table", "json"):
        raise fail_with(
            "bad_choice", option="--format", value=fmt, choices=choices("table", "json")
        )
    cfg, language = setup(config, lang)
    options = {
        "--strategy": _split(strategy),
        "--service-level": _split(service_level),
        "--fill-rate": _split(fill_rate),
        "--buffer-days": _split(buffer_days),
        "--velocity-days": _split(velocity_days),
        "--window-days": _split(window_days),
        "--intermittent": _split(intermittent),
        "--lead-model": _split(lead_model),
        "--t1": _split(t1),
        "--t2": _split(t2),
        "--t3": _split(t3),
        "--debounce": _split(debounce),
        "--dedupe": _split(dedupe),
    }
    candidates = build_candidates(in_force_candidate(cfg, language), options, sweep, language)
    try:
        first_day = date.fromisoformat(start) if start else None
    except ValueError:
        raise fail_with("bad_date", option="--from", value=start) from None
    engine = None  # no database yet: the configured sales file alone (looking creates none)
    if database_exists(cfg, db):
        try:
            engine = open_database(cfg, db)
        except Exception as exc:  # an unreachable database is bad input for a CLI command
            raise fail_with("no_database", error=exc) from None
    try:
        data, period = load_replay(
            cfg,
            engine,
            start=first_day,
            days=days,
            select_items=item,
            category=category,
            item_class=item_class,
            prices_path=prices,
        )
        probe = run_sweep(data, candidates[:1], cfg.threshold_policy, group_of=policy_groups(cfg))
        wanted = [data.skus.index(s) for s in (item or []) if s in data.skus]
        traced = chart_items(data.days, probe.results[0].outcome.stockout_days.tolist(), wanted)
        result = run_sweep(
            data,
            candidates,
            cfg.threshold_policy,
            group_of=policy_groups(cfg),
            sampled_leads=sampled_leads,
            seed=seed,
            trace_items=traced,
            recompute_days=schedule(cfg, period, recompute),
        )
    except NoSalesToReplay:
        raise fail_with("no_sales_history") from None
    except HistoryError as exc:
        raise fail(replay_problem_text(str(exc), language)) from None
    except OSError as exc:
        raise fail(str(exc)) from None
    finally:
        if engine is not None:
            engine.dispose()
    report = report_json(result, period.start, language)
    if html is not None:
        try:
            html.write_text(render_html(report, language, inline=True), encoding="utf-8")
        except OSError as exc:
            raise fail(f"--html {html}: {exc}") from None
        err.print(_t("html_written", language, path=html), highlight=False)
    if apply is not None:
        from stockwatch.entrypoints.cli.backtest_apply import apply_policy

        names = [c.name for c in candidates[1:]]
        chosen = next((c for c in candidates[1:] if c.name == apply), None)
        if chosen is None:
            raise fail(_t("unknown_policy", language, name=apply, names=", ".join(names) or "-"))
        apply_policy(
            cfg,
            db,
            chosen,
            candidates[0],
            item=item,
            category=category,
            item_class=item_class,
            lang=language,
            result=result.by_name(chosen.name),
            data=data,
        )
    if fmt == "json":
        out.print_json(json.dumps(report, ensure_ascii=False))
        return
    print_report(result, report, language)


def print_report(result: Any, report: dict[str, Any], lang: str) -> None:
    period = report["period"]
    out.print(
        text(
            "period",
            lang,
            start=period["start"],
            end=period["end"],
            days=period["days"],
            items=report["items"],
        ),
        style="bold",
        highlight=False,
    )
    totals = result.totals()
    table = Table(title=_t("frontier_title", lang) if len(totals) > 2 else None)
    for col in ("policy", "settings", *METRIC_KEYS, "frontier"):
        table.add_column(
            text(col, lang), justify="left" if col in ("policy", "settings") else "right"
        )
    on_frontier = set(report["frontier"])
    for p in report["policies"]:
        m = totals[p["name"]]
        cells = metrics_row(m)
        change = p["vs_in_force"]["stockout_days_change"]
        if p["name"] != report["in_force"] and change is not None:
            cells[0] += f" ({change:+.0%})"
        table.add_row(p["name"], p["settings"], *cells, "★" if p["name"] in on_frontier else "")
    out.print(table)
    if len(report["policies"]) == 2:
        items = Table(title=text("per_item", lang))
        for col in (
            "item",
            "stockout_days",
            "lost",
            "fill_rate",
            "notices",
            "stock_days",
            "orders",
        ):
            items.add_column(text(col, lang), justify="left" if col == "item" else "right")
        for row in report["per_item"][:30]:
            a, b = row["in_force"], row["candidate"]

            def pair(key: str, a: dict[str, Any] = a, b: dict[str, Any] = b) -> str:
                x, y = a[key], b[key]
                if isinstance(x, float) or isinstance(y, float):
                    fx = "—" if x is None else (f"{x:.0%}" if key == "fill_rate" else f"{x:.1f}")
                    fy = "—" if y is None else (f"{y:.0%}" if key == "fill_rate" else f"{y:.1f}")
                    return f"{fx} → {fy}"
                return f"{'—' if x is None else x} → {'—' if y is None else y}"

            items.add_row(
                row["sku"],
                pair("stockout_days"),
                pair("lost_units"),
                pair("fill_rate"),
                pair("notices"),
                pair("stock_days"),
                pair("orders"),
            )
        out.print(items)
    if report["errors"]:
        err.print(_t("errors", lang, n=len(report["errors"])), highlight=False)
        for e in report["errors"][:10]:
            why = replay_problem_text(e["error"], lang)
            err.print(f"  {e['sku']}{': ' if lang == 'en' else '：'}{why}", highlight=False)
