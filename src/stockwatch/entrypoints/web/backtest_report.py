"""The backtest report in every shape: JSON, the texts (zh-CN/en) and one HTML page with charts.

The same page is served at /backtest and written by ``stockwatch backtest --html FILE``; the
file inlines Apache ECharts (vendored in static/) so it opens anywhere without a network.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from stockwatch.core.replay_text import replay_problem_text
from stockwatch.core.tuning import Metrics
from stockwatch.entrypoints.web.dashboard_texts import text as dashboard_text

if TYPE_CHECKING:  # the sweep (numpy) is loaded when a backtest runs, not when the app starts
    from stockwatch.bulk.sweep import SweepResult

MAX_ITEM_ROWS = 200
CHART_ITEMS = 5


def text(key: str, lang: str, **values: object) -> str:
    """The backtest's texts live with the dashboard's, under ``bt_``."""
    return dashboard_text("bt_" + key, lang, **values)


def _pct(new: float, old: float) -> float | None:
    return None if old == 0 else (new - old) / old


def report_json(result: SweepResult, start: date, lang: str = "zh-CN") -> dict[str, Any]:
    """Return the whole report: totals per policy with deltas, frontier, items, chart data."""
    data = result.data
    totals = result.totals()
    names = list(totals)
    base = totals[names[0]]
    on_frontier = set(result.frontier())
    policies = []
    for r in result.results:
        m = totals[r.candidate.name]
        policies.append(
            {
                "name": r.candidate.name,
                "settings": r.candidate.describe(),
                "total": m.as_dict(),
                "frontier": r.candidate.name in on_frontier,
                "vs_in_force": {
                    "stockout_days_change": _pct(m.stockout_days, base.stockout_days),
                    "stock_days_change": None
                    if m.stock_days is None or base.stock_days is None
                    else m.stock_days - base.stock_days,
                    "notices_change": _pct(m.notices, base.notices),
                    "lost_units_change": _pct(m.lost, base.lost),
                },
            }
        )
    compare = result.results[1] if len(result.results) > 1 else result.results[0]
    first = result.results[0]
    prices = data.prices
    order = sorted(
        range(len(data.skus)),
        key=lambda i: (-int(first.outcome.stockout_days[i]), -int(first.outcome.notices[i]), i),
    )
    errors = {i: msg for r in result.results for i, msg in r.errors.items()}
    items = []
    for i in order[:MAX_ITEM_ROWS]:
        if i in errors:
            continue
        price = None if prices is None or prices[i] != prices[i] else float(prices[i])
        item = data.items[i]
        items.append(
            {
                "sku": data.names[i],
                "title": item.title if item else "",
                "in_force": first.item_metrics(i, price).as_dict(),
                "candidate": compare.item_metrics(i, price).as_dict(),
                "levels_in_force": [int(first.t1[i]), int(first.t2[i]), int(first.t3[i])],
                "levels_candidate": [int(compare.t1[i]), int(compare.t2[i]), int(compare.t3[i])],
            }
        )
    days = [(start + timedelta(days=d)).isoformat() for d in range(data.days)]
    charts = []
    for i in sorted(first.outcome.on_hand):
        actual = None
        if data.actual_on_hand is not None:
            row = data.actual_on_hand[i].tolist()
            actual = [None if v < 0 else v for v in row]
        charts.append(
            {
                "sku": data.names[i],
                "actual": actual if actual and any(v is not None for v in actual) else None,
                "series": {
                    r.candidate.name: r.outcome.on_hand[i].tolist()
                    for r in (first, compare)
                    if i in r.outcome.on_hand
                },
                "levels": {
                    r.candidate.name: [int(r.t1[i]), int(r.t2[i]), int(r.t3[i])]
                    for r in (first, compare)
                },
            }
        )
    return {
        "period": {
            "start": start.isoformat(),
            "end": (start + timedelta(days=data.days - 1)).isoformat(),
            "days": data.days,
        },
        "items": len(data.skus),
        "in_force": names[0],
        "compared": compare.candidate.name,
        "policies": policies,
        "frontier": [n for n in names if n in on_frontier],
        "per_item": items,
        "days": days,
        "charts": charts,
        "errors": [{"sku": data.names[i], "error": msg} for i, msg in sorted(errors.items())],
    }


def chart_items(result_days: int, first_stockouts: list[int], wanted: list[int]) -> list[int]:
    """Which items get a chart: those asked for, else the ones that ran out most."""
    if wanted:
        return wanted[:CHART_ITEMS]
    ranked = sorted(range(len(first_stockouts)), key=lambda i: (-first_stockouts[i], i))
    return ranked[:CHART_ITEMS]


_ENV = Environment(
    loader=PackageLoader("stockwatch.entrypoints.web", "templates"),
    autoescape=select_autoescape(["html"]),
)


def echarts_source() -> str:
    return (
        resources.files("stockwatch.entrypoints.web")
        .joinpath("static/echarts.min.js")
        .read_text(encoding="utf-8")
    )


def render_html(report: dict[str, Any], lang: str, *, inline: bool) -> str:
    """Render the report page; ``inline`` embeds ECharts (a file that works offline)."""
    template = _ENV.get_template("backtest.html")
    return template.render(
        report=report,
        lang=lang,
        t=lambda key, **kw: dashboard_text(key, lang, **kw),
        echarts_js=echarts_source() if inline else None,
        fmt=_fmt,
        pct=_fmt_pct,
        problem=lambda message: replay_problem_text(message, lang),
    )


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _fmt_pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.0%}"


def metrics_row(m: Metrics) -> list[str]:
    """The columns every table shows for a policy's totals (CLI and page alike)."""
    return [
        _fmt(m.stockout_days),
        _fmt(m.lost),
        f"{m.fill_rate:.1%}",
        _fmt(m.notices_per_item_month, 2),
        _fmt(m.stock_days),
        _fmt(m.stock_value, 0),
        _fmt(m.orders),
    ]


METRIC_KEYS = (
    "stockout_days",
    "lost",
    "fill_rate",
    "notices_month",
    "stock_days",
    "stock_value",
    "orders",
)
