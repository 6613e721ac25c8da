"""The merchant dashboard (server-rendered Jinja2, zh-CN/en) and the JSON API behind it.

Pages work without JavaScript: every action is a POST form that redirects back. Titles come
from 1688 and are hostile input, so templates autoescape everything. Unsafe requests from
another origin are refused (a browser always sends ``Origin`` on a cross-site POST); when
``web_token`` is set every page and API call needs it (a cookie after /login, or a bearer).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from stockwatch.adapters.db.tasks import OPEN, export_purchase_list, purchase_list
from stockwatch.core.model import ItemKey, NoticeKind, Phase, Tier
from stockwatch.entrypoints.web.api_json import (
    iso,
    item_event_json,
    outbox_json,
    review_json,
    row_json,
    task_json,
)
from stockwatch.entrypoints.web.chart import CHART_H, CHART_W, PAD, stock_chart
from stockwatch.entrypoints.web.dashboard_texts import LANGS, text
from stockwatch.entrypoints.web.item_rows import ALL_TASKS, Sources, item_rows
from stockwatch.ports import AlertEvent, OutboxEntry, OutboxStatus, Store, StoredThreshold
from stockwatch.service.alert_review import load_review
from stockwatch.service.alerts import AlertNotFound, acknowledge_alert, snooze_alert
from stockwatch.service.polling import LevelsFor
from stockwatch.service.purchasing import order_view
from stockwatch.service.recompute import describe_change
from stockwatch.service.status import Status

LANG_COOKIE = "stockwatch_lang"
SESSION_COOKIE = "stockwatch_session"
EVENT_KINDS = (*(k.value for k in NoticeKind), "transition", "ack", "snooze")
REVIEW_DAYS = (7, 30, 90, 365)
_T = TypeVar("_T")
_TIERS = ("T1", "T2", "T3")


# -- language, login, same-origin -----------------------------------------------------------


def request_lang(request: Request, default: str) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    if asked in ("zh", "zh-cn"):
        return "zh-CN"
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else default


def session_value(token: str) -> str:
    """What the login cookie holds: derived from the token, never the token itself."""
    return hmac.new(token.encode(), b"stockwatch-session", hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True  # not a browser form (curl, scripts); browsers send Origin on POST
    host = request.headers.get("host", "")
    return urlsplit(source).netloc == host


def make_guard(token: str | None) -> Callable[[Request], None]:
    def guard(request: Request) -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
            raise HTTPException(403, "cross-origin request refused")
        if not token or request.url.path in ("/login", "/logout"):
            return
        cookie = request.cookies.get(SESSION_COOKIE, "")
        bearer = request.headers.get("authorization", "")
        if hmac.compare_digest(
            cookie.encode(), session_value(token).encode()
        ) or hmac.compare_digest(bearer.encode(), f"Bearer {token}".encode()):
            return
        if request.url.path.startswith("/api/") or request.method != "GET":
            raise HTTPException(401, "login required")
        target = urlencode({"next": request.url.path})
        raise HTTPException(303, "login required", headers={"Location": f"/login?{target}"})

    return guard


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


# -- the router -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardDeps:
    store: Store
    clock: Callable[[], datetime]
    status: Callable[[], Status]
    sources: Sources
    lang: str = "zh-CN"
    token: str | None = None
    levels_for: LevelsFor | None = None
    timezone: str = "Asia/Shanghai"  # pages show local time ([general] timezone)


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


def _key(text_: str) -> ItemKey:
    try:
        return ItemKey.parse(text_)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _need(source: _T | None) -> _T:
    if source is None:
        raise HTTPException(404, "not available with this store")
    return source


def _since(value: str | None, days: int | None, now: datetime, tz: tzinfo = UTC) -> datetime | None:
    """A date or time without a zone is local time (a date picker gives local midnight)."""
    if value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(400, f"since: not a date or time: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return None if days is None else now - timedelta(days=days)


def dashboard_router(d: DashboardDeps) -> APIRouter:
    """Pages and the JSON API; ``create_app`` includes it."""
    local = ZoneInfo(d.timezone)
    env = _env(local)
    router = APIRouter(dependencies=[Depends(make_guard(d.token))])

    def page(request: Request, name: str, title_key: str, **ctx: Any) -> HTMLResponse:
        lang = request_lang(request, d.lang)
        other = "en" if lang == "zh-CN" else "zh-CN"
        query = dict(request.query_params) | {"lang": other}
        html = env.get_template(name).render(
            lang=lang,
            t=lambda key, **kw: text(key, lang, **kw),
            page_title=text(title_key, lang),
            switch_url=f"{request.url.path}?{urlencode(query)}",
            path=request.url.path,
            login=bool(d.token),
            timezone=d.timezone,
            **ctx,
        )
        response = HTMLResponse(html)
        if request.query_params.get("lang") and lang != request.cookies.get(LANG_COOKIE):
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return response

    def back(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    # -- pages ------------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> HTMLResponse:
        status = d.status()
        rows = item_rows(d.store, d.sources, status, levels_for=d.levels_for)
        counts = {tier: sum(1 for r in rows if r.tier is tier) for tier in Tier}
        open_tasks = len(d.sources.tasks.list(OPEN, ALL_TASKS)) if d.sources.tasks else 0
        return page(
            request,
            "overview.html",
            "overview",
            rows=rows,
            counts=counts,
            status=status,
            open_tasks=open_tasks,
            refresh=60,
        )

    @router.get("/items/{key}", response_class=HTMLResponse, include_in_schema=False)
    def item_page(request: Request, key: str) -> HTMLResponse:
        detail = _item_detail(_key(key), request_lang(request, d.lang))
        return page(request, "item.html", "item", **detail)

    @router.post("/items/{key}/ack", include_in_schema=False)
    def item_ack(key: str) -> RedirectResponse:
        item = _key(key)
        try:
            acknowledge_alert(d.store, item, "dashboard", d.clock())
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return back(f"/items/{item}")

    @router.post("/items/{key}/snooze", include_in_schema=False)
    def item_snooze(
        key: str, hours: Annotated[float, Form(gt=0, le=24 * 30)] = 4.0
    ) -> RedirectResponse:
        item = _key(key)
        now = d.clock()
        try:
            snooze_alert(d.store, item, now + timedelta(hours=hours), "dashboard", now)
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        return back(f"/items/{item}")

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
    def outbox_retry(entry_id: int) -> RedirectResponse:
        _retry(entry_id)
        return back("/outbox")

    @router.get("/tasks", response_class=HTMLResponse, include_in_schema=False)
    def tasks_page(request: Request) -> HTMLResponse:
        groups = purchase_list(d.sources.tasks.list(OPEN, ALL_TASKS)) if d.sources.tasks else None
        now = d.clock()
        orders = (
            [order_view(o, now) for o in d.sources.orders.find(open_only=True)]
            if d.sources.orders
            else None
        )
        return page(request, "tasks.html", "tasks", groups=groups, orders=orders)

    @router.post("/tasks/{task_id}/close", include_in_schema=False)
    def task_close(task_id: int) -> RedirectResponse:
        _close(task_id)
        return back("/tasks")

    @router.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(
        request: Request, days: Annotated[int, Query(ge=1, le=3650)] = 30, since: str | None = None
    ) -> HTMLResponse:
        result = load_review(d.store, _since(since, days, d.clock(), local))
        return page(
            request,
            "review.html",
            "review",
            r=result,
            days=days,
            since=since or "",
            choices=REVIEW_DAYS,
            per_item=sorted(result.notices_per_item.items(), key=lambda p: (-p[1], str(p[0]))),
        )

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "login.html", "login", next=_safe_next(next), failed=False)

    @router.post("/login", include_in_schema=False, response_model=None)
    def login(
        request: Request,
        token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        if not d.token or hmac.compare_digest(token.encode(), d.token.encode()):
            response: Response = back(_safe_next(next))
            if d.token:
                response.set_cookie(
                    SESSION_COOKIE, session_value(d.token), httponly=True, samesite="strict"
                )
            return response
        response = page(request, "login.html", "login", next=_safe_next(next), failed=True)
        response.status_code = 401
        return response

    @router.post("/logout", include_in_schema=False)
    def logout() -> RedirectResponse:
        response = back("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- JSON -------------------------------------------------------------------------------

    @router.get("/api/items")
    def api_items() -> list[dict[str, Any]]:
        return [
            row_json(r) for r in item_rows(d.store, d.sources, d.status(), levels_for=d.levels_for)
        ]

    @router.get("/api/items/{key}")
    def api_item(key: str, lang: str = "en") -> dict[str, Any]:
        detail = _item_detail(_key(key), lang)
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
                for r in detail["readings"]
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
        }

    @router.get("/api/outbox")
    def api_outbox(
        status: str = "failed", limit: int = Query(100, ge=1, le=1000)
    ) -> list[dict[str, Any]]:
        try:
            wanted = OutboxStatus(status)
        except ValueError:
            raise HTTPException(400, f"unknown status {status!r}") from None
        return [outbox_json(e) for e in _need(d.sources.outbox).list(wanted, limit)]

    @router.post("/api/outbox/{entry_id}/retry")
    def api_retry(entry_id: int) -> dict[str, Any]:
        return outbox_json(_retry(entry_id))

    @router.get("/api/tasks")
    def api_tasks(
        status: str | None = OPEN, limit: int = Query(1000, ge=1, le=100_000)
    ) -> list[dict[str, Any]]:
        return [task_json(t) for t in _need(d.sources.tasks).list(status or None, limit)]

    @router.post("/api/tasks/{task_id}/close")
    def api_close(task_id: int) -> dict[str, Any]:
        _close(task_id)
        return {"ok": True, "id": task_id}

    @router.get("/api/tasks/export")
    def api_export(format: str = "csv") -> Response:
        if format not in ("csv", "json"):
            raise HTTPException(400, "format must be csv or json")
        body = export_purchase_list(_need(d.sources.tasks).list(OPEN, ALL_TASKS), format)
        media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
        name = f"purchase-list-{d.clock().date().isoformat()}.{format}"
        disposition = f'attachment; filename="{name}"'
        return Response(body, media_type=media, headers={"Content-Disposition": disposition})

    @router.get("/api/review")
    def api_review(
        days: Annotated[int, Query(ge=1, le=3650)] = 30, since: str | None = None
    ) -> dict[str, Any]:
        start = _since(since, days, d.clock(), local)
        return {"since": iso(start)} | review_json(load_review(d.store, start))

    # -- shared helpers ---------------------------------------------------------------------

    def _item_detail(key: ItemKey, lang: str) -> dict[str, Any]:
        rows = item_rows(d.store, d.sources, d.status(), key, d.levels_for)
        if not rows:
            raise HTTPException(404, f"{key}: no such item")
        row = rows[0]
        readings = list(reversed(d.store.readings(key, limit=500)))
        samples = [
            (r.reading.observed_at, r.reading.available)
            for r in readings
            if r.reading.available is not None
        ]
        versions: list[tuple[StoredThreshold, list[str]]] = []
        if d.sources.thresholds is not None:
            stored = d.sources.thresholds.versions(str(key), 10)
            for i, version in enumerate(stored):
                older = stored[i + 1] if i + 1 < len(stored) else None
                versions.append((version, describe_change(older, version, lang)))
        task = None
        if row.task_id is not None and d.sources.tasks is not None:
            task = next(
                (t for t in d.sources.tasks.list(OPEN, ALL_TASKS) if t.id == row.task_id), None
            )
        return {
            "row": row,
            "readings": readings,
            "chart": stock_chart(samples, row.levels),
            "chart_w": CHART_W,
            "chart_h": CHART_H,
            "pad": PAD,
            "events": d.store.events(key, limit=200),
            "versions": versions,
            "task": task,
            "open_alert": row.phase is not Phase.OK,
        }

    def _events(
        item: str | None, kind: str | None, tier: str | None, since: datetime | None
    ) -> list[AlertEvent]:
        rows = d.store.events(_key(item) if item else None, [kind] if kind else (), since, 500)
        return [e for e in rows if tier is None or e.tier == tier]

    def _retry(entry_id: int) -> OutboxEntry:
        outbox = _need(d.sources.outbox)
        if not outbox.requeue(entry_id, d.clock()):
            found = outbox.get(entry_id)
            if found is None:
                raise HTTPException(404, f"no outbox entry {entry_id}")
            raise HTTPException(409, f"entry {entry_id} is {found.status.value}, not failed")
        entry = outbox.get(entry_id)
        assert entry is not None
        return entry

    def _close(task_id: int) -> None:
        if not _need(d.sources.tasks).close(task_id, d.clock(), "closed on the dashboard"):
            raise HTTPException(404, f"no open task {task_id}")

    return router
