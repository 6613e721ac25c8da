"""The item page (chart, sales, explanation, history) and its in-place actions.

Every action is a plain POST form that redirects back, so the page works without JavaScript;
``dashboard.js`` sends the same forms with fetch and swaps the page's live parts in place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from stockwatch.core.audit import AuditAction
from stockwatch.core.model import Item, ItemKey, Phase
from stockwatch.entrypoints.web.api_json import iso, item_event_json, row_json
from stockwatch.entrypoints.web.dashboard_texts import text
from stockwatch.entrypoints.web.item_chart import chart_data
from stockwatch.entrypoints.web.item_rows import ItemRow, RowsPage
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.web_common import (
    DashboardDeps,
    PageRenderer,
    actor_name,
    audited,
    need,
    parse_key,
    request_lang,
    snooze_length,
)
from stockwatch.ports import StoredThreshold
from stockwatch.service.alerts import AlertNotFound, acknowledge_alert, snooze_alert
from stockwatch.service.hand_levels import clear_hand_level, is_hand_set, set_hand_level
from stockwatch.service.recompute import describe_change
from stockwatch.wiring.web import OverviewFilter

READINGS_SHOWN = 1000  # the chart's newest readings
SALES_DAYS = 90
CHART_LABELS = ("available", "alerts", "sales_qty", "chart_levels_note")

PageOf = Callable[[OverviewFilter, int, int, ItemKey | None], RowsPage]


def item_routes(router: APIRouter, d: DashboardDeps, page: PageRenderer, rows: PageOf) -> None:
    """Add the item page, its actions and ``/api/items/{key}`` to ``router``."""

    def back(key: ItemKey) -> RedirectResponse:
        return RedirectResponse(f"/items/{key}", status_code=303)

    @router.get("/items/{key:path}", response_class=HTMLResponse, include_in_schema=False)
    def item_page(request: Request, key: str) -> HTMLResponse:
        lang = request_lang(request, d.lang)
        detail = _detail(parse_key(key), lang)
        labels = {name: text(name, lang) for name in CHART_LABELS}
        detail["chart"]["labels"] = labels
        return page(request, "item.html", "item", **detail)

    # {key:path}: a SKU may hold "/" (TEE/XL), sent as is or as %2F.
    @router.post("/items/{key:path}/ack", include_in_schema=False)
    def item_ack(request: Request, key: str) -> RedirectResponse:
        item = parse_key(key)
        try:
            acknowledge_alert(d.store, item, actor_name(request), d.clock())
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        audited(request, AuditAction.ACKNOWLEDGE, item)
        return back(item)

    @router.post("/items/{key:path}/snooze", include_in_schema=False)
    def item_snooze(
        request: Request, key: str, hours: Annotated[float, Form(gt=0, le=24 * 30)] = 4.0
    ) -> RedirectResponse:
        item = parse_key(key)
        now = d.clock()
        try:
            snooze_alert(d.store, item, now + snooze_length(hours), actor_name(request), now)
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        audited(request, AuditAction.SNOOZE, item, f"hours={hours:g}")
        return back(item)

    @router.post("/items/{key:path}/level", include_in_schema=False)
    def item_level(
        request: Request,
        key: str,
        t2: Annotated[int, Form(ge=0, le=10**9)],
        t1: Annotated[int | None, Form(ge=1, le=10**9)] = None,
        t3: Annotated[int | None, Form(ge=1, le=10**9)] = None,
    ) -> RedirectResponse:
        item = _known(parse_key(key))
        try:
            set_hand_level(
                need(d.sources.thresholds), str(item), t2, actor_name(request), d.clock(), t1, t3
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        shown = "/".join("-" if v is None else str(v) for v in (t1, t2, t3))
        audited(request, AuditAction.SET_LEVEL, item, f"T1/T2/T3={shown}")
        return back(item)

    @router.post("/items/{key:path}/level/clear", include_in_schema=False)
    def item_level_clear(request: Request, key: str) -> RedirectResponse:
        item = _known(parse_key(key))
        if not clear_hand_level(need(d.sources.thresholds), str(item), d.clock()):
            raise HTTPException(409, f"{item}: no hand-set level to clear")
        audited(request, AuditAction.CLEAR_LEVEL, item)
        return back(item)

    @router.get(
        "/api/items/{key:path}",
        responses=errors({400: "a malformed item key", 404: "no such item"}),
    )
    def api_item(key: str, lang: str = "en") -> dict[str, Any]:
        detail = _detail(parse_key(key), lang)
        return {
            **row_json(detail["row"]),
            "readings": [
                {
                    "observed_at": r.reading.observed_at.isoformat(),
                    "source": r.reading.source.value,
                    "on_hand": r.reading.on_hand,
                    "available": r.reading.available,
                    "error": r.reading.error,
                }
                for r in detail["all_readings"]
            ],
            "events": [item_event_json(e) for e in detail["events"]],
            "threshold_versions": [
                {
                    "version": v.version,
                    "status": v.status.value,
                    "computed_at": iso(v.computed_at),
                    "levels": {"T1": v.levels.t1, "T2": v.levels.t2, "T3": v.levels.t3},
                    "velocity": v.levels.velocity,
                    "strategy": v.levels.basis.strategy,
                    "change": change,
                }
                for v, change in detail["versions"]
            ],
            "chart": detail["chart"],
        }

    def _promotions(row: ItemRow) -> list[tuple[str, datetime, datetime]]:
        """The configured promotion windows that name this item, as UTC times."""
        if d.promotions is None:
            return []
        item = Item(row.key.sku, category=row.category, tags=frozenset(row.tags))
        tz = ZoneInfo(d.timezone)
        return [
            (
                p.name,
                datetime.combine(p.start, time(), tz).astimezone(UTC),
                datetime.combine(p.end + timedelta(days=1), time(), tz).astimezone(UTC),
            )
            for p in d.promotions()
            if p.applies_to(item)
        ]

    def _known(key: ItemKey) -> ItemKey:
        if not rows(OverviewFilter(), 0, 1, key).rows:
            raise HTTPException(404, f"{key}: no such item")
        return key

    def _detail(key: ItemKey, lang: str) -> dict[str, Any]:
        found = rows(OverviewFilter(), 0, 1, key).rows
        if not found:
            raise HTTPException(404, f"{key}: no such item")
        row = found[0]
        now = d.clock()
        newest_first = d.store.readings(key, limit=READINGS_SHOWN)
        readings = list(reversed(newest_first))
        stored: list[StoredThreshold] = []
        versions: list[tuple[StoredThreshold, list[str]]] = []
        if d.sources.thresholds is not None:
            stored = d.sources.thresholds.versions(str(key), 50)
            for i, version in enumerate(stored[:10]):
                older = stored[i + 1] if i + 1 < len(stored) else None
                versions.append((version, describe_change(older, version, lang)))
        active = next((v for v in stored if v.status.value == "active"), None)
        explained = active.levels if active else None
        if explained is None and d.levels_for is not None:
            explained = d.levels_for(key, None)
        task = None
        if row.task_id is not None and d.sources.tasks is not None:
            task = d.sources.tasks.get(row.task_id)
        events = d.store.events(key, limit=200)
        orders = d.sources.orders.find(key) if d.sources.orders is not None else []
        sales: list[tuple[Any, int]] = []
        if d.sources.sales is not None:
            end = now.date()
            daily = d.sources.sales.daily([key.sku], end, SALES_DAYS).get(key.sku, [])
            sales = [(end - timedelta(days=len(daily) - 1 - i), q) for i, q in enumerate(daily)]
        return {
            "row": row,
            "readings": newest_first[:50],
            "all_readings": readings,
            "chart": chart_data(
                readings,
                stored,
                events,
                row.levels,
                now,
                sales,
                promotions=_promotions(row),
                orders=orders,
            ),
            "orders": [o for o in orders if o.is_open],
            "on_order": sum(o.open_quantity for o in orders),
            "due": min((o.expected_at for o in orders if o.open_quantity > 0), default=None),
            "events": events,
            "versions": versions,
            "explained": explained,
            "hand_set": is_hand_set(active.levels if active else None),
            "task": task,
            "open_alert": row.phase is not Phase.OK,
            "announced": row.phase.announced,  # only a sent alert can be acknowledged
            "sales_total": sum(q for _, q in sales),
        }
