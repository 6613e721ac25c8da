"""The merchant dashboard (server-rendered Jinja2, zh-CN/en) and the JSON API behind it.

Pages work without JavaScript: every action is a POST form that redirects back. Titles come
from 1688 and are hostile input, so templates autoescape everything. Login, roles, CSRF and
security headers are the SecurityMiddleware's (security.py): every form carries
``csrf_token`` and routes read who acts from ``request.state.principal``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from stockwatch.core.accounts import Via
from stockwatch.core.audit import AuditAction
from stockwatch.core.messages import event_detail, event_word, tier_label
from stockwatch.core.model import EVENT_KINDS, ItemKey, Tier
from stockwatch.core.note_text import input_text, note_text, step_text, strategy_text
from stockwatch.core.review import AlertReview
from stockwatch.core.review_advice import describe
from stockwatch.core.since import bounded_since
from stockwatch.entrypoints.web.api_json import (
    iso,
    outbox_json,
    review_json,
    row_json,
    task_json,
)
from stockwatch.entrypoints.web.dashboard_texts import text
from stockwatch.entrypoints.web.item_pages import item_routes
from stockwatch.entrypoints.web.item_rows import ALL_TASKS, RowsPage, rows_page
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.ops_pages import BannerCache, ops_routes
from stockwatch.entrypoints.web.tasks_board import tasks_routes
from stockwatch.entrypoints.web.web_common import (
    LANG_COOKIE,
    DashboardDeps,
    PageRenderer,
    actor_of,
    audited,
    need,
    parse_key,
    request_lang,
)
from stockwatch.ports import AlertEvent, OutboxEntry, OutboxStatus
from stockwatch.service.alert_review import ALL_ORDERS, load_review
from stockwatch.wiring.web import OPEN, OverviewFilter, export_purchase_list

MAX_ID = 2**63 - 1  # ids are 64-bit in the database; a longer one cannot exist (4xx, not 500)
REVIEW_DAYS = (7, 30, 90, 365)
PER_PAGE = 50
_T = TypeVar("_T")
_TIERS = ("T1", "T2", "T3")


# -- language, login, same-origin -----------------------------------------------------------


def _filter(
    q: str = "",
    tier: str = "",
    category: str = "",
    supplier: str = "",
    tag: str = "",
    warehouse: str = "",
    stale: bool = False,
    open_task: Annotated[bool, Query(alias="open")] = False,
    ordered: bool = False,
) -> OverviewFilter:
    """The overview's filter from the query string (the form and the API share it)."""
    if len(q) > 200:
        raise HTTPException(400, "q: at most 200 characters")
    return OverviewFilter(q, tier, category, supplier, tag, warehouse, stale, open_task, ordered)


def _with(query: dict[str, str], **values: object) -> str:
    return "/?" + urlencode({**query, **{k: str(v) for k, v in values.items()}})


# -- the router -----------------------------------------------------------------------------


def _env(tz: tzinfo) -> Environment:
    env = Environment(
        loader=PackageLoader("stockwatch.entrypoints.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda v: (
        "-" if v is None else v.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    )
    env.filters["cover"] = lambda v: "∞" if v is None else f"{v:.1f}"
    env.filters["hours"] = _fmt_hours
    env.filters["http_url"] = _http_url
    return env


def _http_url(value: str | None) -> str:
    """Only http(s) links: an offer URL is data, and javascript: must not become a link."""
    return value if value and urlsplit(value).scheme in ("http", "https") else "#"


def _fmt_hours(value: timedelta | None) -> str:
    if value is None:
        return "-"
    hours = value.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if abs(hours) >= 48 else f"{hours:.1f} h"


def _since(value: str | None, days: int | None, now: datetime, tz: tzinfo = UTC) -> datetime | None:
    """A date or time without a zone is local time (a date picker gives local midnight)."""
    if value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(400, f"since: not a date or time: {value!r}") from None
        aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
        try:
            return bounded_since(aware)
        except ValueError:
            raise HTTPException(400, f"since: out of range: {value!r}") from None
    return None if days is None else now - timedelta(days=days)


def page_renderer(d: DashboardDeps, banners: BannerCache | None = None) -> PageRenderer:
    """Return ``page(request, template, title_key, **context)`` for every HTML page."""
    env = _env(ZoneInfo(d.timezone))

    def page(request: Request, name: str, title_key: str, **ctx: Any) -> HTMLResponse:
        lang = request_lang(request, d.lang)
        who = actor_of(request)
        signed_in = who is not None and who.via is Via.SESSION
        other = "en" if lang == "zh-CN" else "zh-CN"
        query = dict(request.query_params) | {"lang": other}
        html = env.get_template(name).render(
            lang=lang,
            t=lambda key, **kw: text(key, lang, **kw),
            note=lambda stored: note_text(stored, lang),  # a threshold's stored explanation
            event_word=lambda kind: event_word(kind, lang),  # raised → 预警
            event_detail=lambda detail: event_detail(detail, lang, env.filters["when"]),
            step=lambda stored: step_text(stored, lang),
            strategy=lambda stored: strategy_text(stored, lang),  # reorder_point → 再订货点
            input_name=lambda stored: input_text(stored, lang),  # d_order → 补货用日均销量…
            page_title=text(title_key, lang),
            switch_url=f"{request.url.path}?{urlencode(query)}",
            path=request.url.path,
            login=signed_in,
            who_name=who.name if who is not None and signed_in else None,
            csrf_token=getattr(request.state, "csrf_token", None),
            timezone=d.timezone,
            refresh_seconds=d.refresh_seconds,
            # Banners only for someone let in (never on the login page of a locked dashboard).
            banners=[]
            if name.startswith("_") or banners is None or who is None
            else banners.banners(lang),
            **ctx,
        )
        response = HTMLResponse(html)
        if request.query_params.get("lang") and lang != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return response

    return page


def dashboard_router(d: DashboardDeps) -> APIRouter:
    """Pages and the JSON API; ``create_app`` includes it."""
    local = ZoneInfo(d.timezone)
    router = APIRouter()  # the SecurityMiddleware guards every route (login, roles, CSRF)
    banners = BannerCache(d)
    page = page_renderer(d, banners)

    def back(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    # -- pages ------------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(
        request: Request,
        flt: Annotated[OverviewFilter, Depends(_filter)],
        page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
        per: Annotated[int, Query(ge=1, le=500)] = PER_PAGE,
        partial: bool = False,
    ) -> HTMLResponse:
        found = _page(flt, (page_no - 1) * per, per)
        pages = max(1, -(-found.total // per))
        query = {k: v for k, v in request.query_params.items() if k not in ("page", "partial")}
        ctx: dict[str, Any] = {
            "rows": found.rows,
            "counts": found.counts,
            "total": found.total,
            "page_no": page_no,
            "pages": pages,
            "prev_url": _with(query, page=page_no - 1) if page_no > 1 else None,
            "next_url": _with(query, page=page_no + 1) if page_no < pages else None,
            "f": flt,
            "filtered": flt.active(),
            "refresh_url": _with(query, page=page_no, partial=1),
            # In the self-refreshing part: a task opened or closed meanwhile shows up.
            "open_tasks": d.sources.overview.open_tasks() if d.sources.overview else 0,
        }
        if partial:  # the self-refresh asks for the live part only
            return page(request, "_overview_live.html", "overview", **ctx)
        summary = d.summary()
        choices = d.sources.overview.choices() if d.sources.overview else {}
        return page(
            request,
            "overview.html",
            "overview",
            status=summary,
            choices=choices,
            tiers=[t.name for t in Tier],
            **ctx,
        )

    @router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(
        request: Request,
        item: str | None = None,
        kind: str | None = None,
        tier: str | None = None,
        since: str | None = None,
    ) -> HTMLResponse:
        rows = _events(
            item or None, kind or None, tier or None, _since(since, None, d.clock(), local)
        )
        return page(
            request,
            "alerts.html",
            "nav_alerts",
            events=rows,
            kinds=EVENT_KINDS,
            tiers=[t.name for t in Tier],
            f={"item": item or "", "kind": kind or "", "tier": tier or "", "since": since or ""},
        )

    @router.get("/outbox", response_class=HTMLResponse, include_in_schema=False)
    def outbox_page(request: Request) -> HTMLResponse:
        entries = d.sources.outbox.list(OutboxStatus.FAILED, 500) if d.sources.outbox else None
        return page(request, "outbox.html", "outbox", entries=entries)

    @router.post("/outbox/{entry_id}/retry", include_in_schema=False)
    def outbox_retry(
        request: Request, entry_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> RedirectResponse:
        _retry(entry_id)
        audited(request, AuditAction.OUTBOX_RETRY, f"outbox #{entry_id}")
        return back("/outbox")

    tasks_routes(router, d, page)  # the board (open / ordered / received)

    @router.post("/tasks/{task_id}/close", include_in_schema=False)
    def task_close(
        request: Request, task_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> RedirectResponse:
        _close(task_id)
        audited(request, AuditAction.TASK_CLOSED, f"task #{task_id}")
        return back("/tasks")

    @router.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(
        request: Request, days: Annotated[int, Query(ge=1, le=3650)] = 30, since: str | None = None
    ) -> HTMLResponse:
        start = _since(since, days, d.clock(), local)
        result = _review(start)
        advice = None
        if d.review_advice is not None and start is not None:
            advice = d.review_advice(result, start, d.clock())
        lang = request_lang(request, d.lang)
        return page(
            request,
            "review.html",
            "review",
            r=result,
            advice=advice,
            describe=lambda s: describe(s, lang),
            tier_name=lambda tier: tier_label(tier, lang),
            days=days,
            since=since or "",
            choices=REVIEW_DAYS,
            per_item=sorted(result.notices_per_item.items(), key=lambda p: (-p[1], str(p[0]))),
        )

    # -- JSON -------------------------------------------------------------------------------

    @router.get(
        "/api/items",
        response_model=list[dict[str, Any]],
        responses=errors({400: "q longer than 200 characters"}),
    )
    def api_items(
        flt: Annotated[OverviewFilter, Depends(_filter)],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> Response:
        """Items worst first, ``limit`` at a time; ``X-Total-Count`` has the number matching."""
        found = _page(flt, offset, limit)
        # Serialised here: the rows are plain JSON already, and FastAPI would first validate
        # every value of up to 1,000 rows against the declared model (a third of the time).
        return JSONResponse(
            [row_json(r) for r in found.rows], headers={"X-Total-Count": str(found.total)}
        )

    @router.get(
        "/api/outbox",
        responses=errors({400: "an unknown status", 404: "no outbox with this store"}),
    )
    def api_outbox(
        status: str = "failed", limit: int = Query(100, ge=1, le=1000)
    ) -> list[dict[str, Any]]:
        try:
            wanted = OutboxStatus(status)
        except ValueError:
            raise HTTPException(400, f"unknown status {status!r}") from None
        return [outbox_json(e) for e in need(d.sources.outbox).list(wanted, limit)]

    @router.post(
        "/api/outbox/{entry_id}/retry",
        responses=errors({404: "no such outbox entry", 409: "bad state: the entry is not failed"}),
    )
    def api_retry(
        request: Request, entry_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> dict[str, Any]:
        entry = _retry(entry_id)
        audited(request, AuditAction.OUTBOX_RETRY, f"outbox #{entry_id}")
        return outbox_json(entry)

    @router.get("/api/tasks", responses=errors({404: "no tasks with this store"}))
    def api_tasks(
        status: str | None = OPEN, limit: int = Query(1000, ge=1, le=100_000)
    ) -> list[dict[str, Any]]:
        return [task_json(t) for t in need(d.sources.tasks).list(status or None, limit)]

    @router.post("/api/tasks/{task_id}/close", responses=errors({404: "no such open task"}))
    def api_close(
        request: Request, task_id: Annotated[int, Path(ge=1, le=MAX_ID)]
    ) -> dict[str, Any]:
        _close(task_id)
        audited(request, AuditAction.TASK_CLOSED, f"task #{task_id}")
        return {"ok": True, "id": task_id}

    @router.get(
        "/api/tasks/export",
        response_class=Response,
        responses={
            200: {
                "description": "the open purchase list, UTF-8 CSV with BOM or JSON",
                "content": {"text/csv": {}, "application/json": {}},
            },
            **errors({400: "format is not csv or json", 404: "no tasks with this store"}),
        },
    )
    def api_export(format: str = "csv") -> Response:
        if format not in ("csv", "json"):
            raise HTTPException(400, "format must be csv or json")
        body = export_purchase_list(need(d.sources.tasks).list(OPEN, ALL_TASKS), format)
        if format == "csv":  # a BOM: Excel on Chinese Windows reads UTF-8 only with it
            body = "\ufeff" + body
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        name = f"purchase-list-{d.clock().date().isoformat()}.{format}"
        disposition = f'attachment; filename="{name}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    @router.get("/api/review", responses=errors({400: "since is not a date or time"}))
    def api_review(
        days: Annotated[int, Query(ge=1, le=3650)] = 30, since: str | None = None
    ) -> dict[str, Any]:
        start = _since(since, days, d.clock(), local)
        return {"since": iso(start)} | review_json(_review(start))

    # -- shared helpers ---------------------------------------------------------------------

    def _review(start: datetime | None) -> AlertReview:
        orders = d.sources.orders.find(limit=ALL_ORDERS) if d.sources.orders else []
        return load_review(d.store, start, orders=orders)

    def _page(
        flt: OverviewFilter, offset: int, limit: int, only: ItemKey | None = None
    ) -> RowsPage:
        return rows_page(
            d.store, d.sources, flt, d.clock(), d.stale_after, offset, limit, d.levels_for, only
        )

    def _events(
        item: str | None, kind: str | None, tier: str | None, since: datetime | None
    ) -> list[AlertEvent]:
        rows = d.store.events(parse_key(item) if item else None, [kind] if kind else (), since, 500)
        return [e for e in rows if tier is None or e.tier == tier]

    def _retry(entry_id: int) -> OutboxEntry:
        outbox = need(d.sources.outbox)
        if not outbox.requeue(entry_id, d.clock()):
            found = outbox.get(entry_id)
            if found is None:
                raise HTTPException(404, f"no outbox entry {entry_id}")
            raise HTTPException(409, f"entry {entry_id} is {found.status.value}, not failed")
        entry = outbox.get(entry_id)
        assert entry is not None
        return entry

    def _close(task_id: int) -> None:
        if not need(d.sources.tasks).close(task_id, d.clock(), "closed on the dashboard"):
            raise HTTPException(404, f"no open task {task_id}")

    item_routes(router, d, page, _page)
    ops_routes(router, d, page, banners)
    return router
