"""The daemon's HTTP side (FastAPI): 1688 push receiver, order webhook, health, JSON API.

The push endpoint answers fast: verify the signature, store the message (its msgId is the
key, so a redelivery is a no-op), acknowledge, and let the daemon apply it afterwards. A bad
signature gets 401 and a log line and changes nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from stockwatch.adapters.alibaba1688_push import PushRejected, parse_push, verify_push
from stockwatch.core.audit import AuditAction
from stockwatch.core.model import AlertState, ItemKey
from stockwatch.core.thresholds import Promotion
from stockwatch.entrypoints.web import openapi_doc
from stockwatch.entrypoints.web.api_promotions import promotions_router
from stockwatch.entrypoints.web.auth_routes import AuthDeps, auth_router
from stockwatch.entrypoints.web.dashboard import _since, dashboard_router, page_renderer
from stockwatch.entrypoints.web.error_pages import STATIC_DIR, install_error_pages
from stockwatch.entrypoints.web.insight_pages import insight_router
from stockwatch.entrypoints.web.item_rows import Sources
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.orders import orders_router
from stockwatch.entrypoints.web.security import SecurityMiddleware, WebSecurity
from stockwatch.entrypoints.web.web_common import (
    DashboardDeps,
    actor_name,
    audited,
    snooze_length,
)
from stockwatch.ports import AlertEvent, Clock, OAuthFlow, PromotionStore, PushMessage, Store
from stockwatch.service.alerts import AlertNotFound, acknowledge_alert, snooze_alert
from stockwatch.service.health import Health
from stockwatch.service.polling import LevelsFor
from stockwatch.service.status import Status

log = logging.getLogger("stockwatch.web")


@dataclass(frozen=True)
class WebDeps:
    store: Store
    clock: Clock
    push_secret: str | None
    status: Callable[[], Status]
    on_push: Callable[[], None] = lambda: None  # wake the push processor
    on_recheck: Callable[[], None] = lambda: None  # wake the scheduler
    webhook_token: str | None = None
    lang: str = "zh-CN"  # dashboard default; ?lang=en switches (remembered in a cookie)
    web_token: str | None = None  # [daemon.http] token: a shared operator bearer for scripts
    security: WebSecurity | None = None  # accounts, allowed hosts...; None: open loopback mode
    sources: Sources | None = None  # outbox/tasks/thresholds; None: derived from the store
    levels_for: LevelsFor | None = None  # the evaluator's configured levels (overview T1/T2/T3)
    timezone: str = "Asia/Shanghai"  # dashboard times ([general] timezone)
    oauth: OAuthFlow | None = None  # 1688 authorization in the browser (None: not polling 1688)
    promotions: PromotionStore | None = None  # /api/promotions; None: not offered
    on_promotions: Callable[[], None] = lambda: None  # apply changed promotions at once
    stale_after: timedelta = timedelta(hours=6)  # [daemon] stale_after: the stale filter
    health: Callable[[], Health] | None = None  # /healthz verdict; None: always ok
    metrics_text: Callable[[], tuple[bytes, str]] | None = None  # /metrics body and type
    status_summary: Callable[[], Status] | None = None  # status without per-item lists
    promotion_windows: Callable[[], Sequence[Promotion]] | None = None  # on the item chart
    backtest: Callable[[str, dict[str, str]], Any] | None = None  # /backtest (wiring.backtest)
    review_advice: Callable[[Any, datetime, datetime], Any] | None = None  # /review advice
    refresh_seconds: int = 30  # [daemon.http] refresh_seconds: the overview's self-refresh


def state_json(key: ItemKey, state: AlertState) -> dict[str, Any]:
    return {
        "item": str(key),
        "phase": state.phase.value,
        "tier": state.tier.name,
        "episode": state.episode,
        "since": state.since.isoformat() if state.since else None,
        "last_notice_at": state.last_notice_at.isoformat() if state.last_notice_at else None,
        "acked": state.acked,
        "snoozed_until": state.snoozed_until.isoformat() if state.snoozed_until else None,
        "last_available": state.last_available,
        "last_reading_at": state.last_reading_at.isoformat() if state.last_reading_at else None,
        "failed_reads": state.failed_reads,
    }


def event_json(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "item": str(event.item_key),
        "kind": event.kind,
        "tier": event.tier,
        "previous_tier": event.previous_tier,
        "at": event.at.isoformat(),
        "episode": event.episode,
        "available": event.available,
        "on_hand": event.on_hand,
        "levels": list(event.levels) if event.levels else None,
        "detail": event.detail,
        "actor": event.actor,
    }


def status_json(status: Status) -> dict[str, Any]:
    return {
        "now": status.now.isoformat(),
        "groups": [
            {
                "name": g.name,
                "last_started_at": g.last.started_at.isoformat() if g.last else None,
                "last_finished_at": (
                    g.last.finished_at.isoformat() if g.last and g.last.finished_at else None
                ),
                "last_items": g.last.items if g.last else 0,
                "last_failed": g.last.failed if g.last else 0,
                "next_at": g.next_at.isoformat() if g.next_at else None,
            }
            for g in status.groups
        ],
        "stale": [
            {
                "item": str(s.key),
                "last_reading_at": s.last_reading_at.isoformat() if s.last_reading_at else None,
                "failed_reads": s.failed_reads,
            }
            for s in status.stale
        ],
        "open_alerts": [state_json(k, s) for k, s in status.open_alerts],
        "outbox": {
            "pending": status.backlog.pending,
            "sending": status.backlog.sending,
            "failed": status.backlog.failed,
            "oldest_pending_at": (
                status.backlog.oldest_pending_at.isoformat()
                if status.backlog.oldest_pending_at
                else None
            ),
        },
    }


class PushWriter:
    """Group commit for the push endpoint: concurrent requests share one transaction.

    Each request still waits for the commit that holds its message before it answers, so an
    acknowledged message is on disk; under load one commit serves many requests.
    """

    def __init__(self, store: Store, max_batch: int = 500) -> None:
        self.store = store
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[PushMessage, asyncio.Future[bool]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def add(self, message: PushMessage) -> bool:
        """Store ``message``; return False when it was already stored (a redelivery)."""
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue), name="push-writer")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((message, future))
        return await future

    async def _run(self, queue: asyncio.Queue[tuple[PushMessage, asyncio.Future[bool]]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            try:
                fresh = await asyncio.to_thread(
                    self.store.add_push_messages, [message for message, _ in batch]
                )
            except Exception as exc:  # not stored: every waiter answers 5xx, 1688 re-sends
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), new in zip(batch, fresh, strict=True):
                if not future.done():
                    future.set_result(new)


async def _deps(request: Request) -> WebDeps:  # async: a sync one would hop to a thread
    deps: WebDeps = request.app.state.deps
    return deps


Deps = Annotated[WebDeps, Depends(_deps)]


def create_app(deps: WebDeps) -> FastAPI:
    """Return the app; nothing is built at import time."""
    # /docs (Swagger UI) would load its script from a CDN; the schema is at /openapi.json.
    app = FastAPI(title="stockwatch", docs_url=None, redoc_url=None)
    app.state.deps = deps
    writer = PushWriter(deps.store)
    security = deps.security or WebSecurity(clock=deps.clock)
    if deps.web_token and not security.legacy_token:
        security = replace(security, legacy_token=deps.web_token)
    if security.clock is None:
        security = replace(security, clock=deps.clock)
    app.add_middleware(SecurityMiddleware, security=security)

    @app.get(
        "/healthz",
        responses={503: {"description": "unhealthy: the reasons are listed"}},
    )
    async def healthz(d: Deps) -> JSONResponse:
        """Database writable, polls succeeding and recent, outbox moving; 503 with reasons."""
        if d.health is None:
            return JSONResponse({"status": "ok"})
        verdict = await asyncio.to_thread(d.health)
        body = {
            "status": "ok" if verdict.ok else "unhealthy",
            "reasons": verdict.reasons,
            "checks": verdict.checks,
        }
        return JSONResponse(body, status_code=200 if verdict.ok else 503)

    @app.get(
        "/metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}},
            401: {"description": "[daemon.http] public_metrics = false and no login"},
            404: {"description": "metrics off"},
        },
    )
    async def metrics(d: Deps) -> Response:
        """Prometheus text format ([daemon.http] public_metrics = false: needs a login)."""
        if d.metrics_text is None:
            raise HTTPException(404, "metrics are not collected by this process")
        body, content_type = await asyncio.to_thread(d.metrics_text)
        return Response(body, media_type=content_type)

    async def push(request: Request) -> JSONResponse:
        # A plain Starlette route: the hot path skips FastAPI's dependency solving and the
        # multipart parser (1688 sends application/x-www-form-urlencoded only).
        d = deps
        params: dict[str, str] = dict(request.query_params)
        raw = await read_capped(request, MAX_PUSH_BODY)
        if raw is None:
            log.warning("push rejected from %s: body over %d bytes", _peer(request), MAX_PUSH_BODY)
            return JSONResponse({"error": f"body over {MAX_PUSH_BODY} bytes"}, status_code=413)
        body = raw.decode("utf-8", errors="replace")
        params.update(parse_qsl(body, keep_blank_values=True))
        if not d.push_secret:
            log.warning("push rejected: no push_app_secret configured")
            return JSONResponse({"error": "push receiver not configured"}, status_code=503)
        try:
            verify_push(params, d.push_secret)
            message = parse_push(params, d.clock())
        except PushRejected as exc:
            log.warning("push rejected from %s: %s", _peer(request), exc)
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        # Stored (committed) before the 2xx: an acknowledged message survives kill -9.
        try:
            fresh = await writer.add(message)
        except Exception:
            log.exception(
                "push %s not stored; answering 503 so that 1688 re-sends it", message.msg_id
            )
            return JSONResponse({"error": "not stored"}, status_code=503)
        if fresh:
            d.on_push()
        return JSONResponse({"ok": True, "msgId": message.msg_id, "duplicate": not fresh})

    app.add_route("/1688/push", push, methods=["POST"])

    @app.post(
        "/hooks/order-created",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                    "description": "SKUs to re-read; absent: every item",
                                }
                            },
                        }
                    }
                },
            },
            "parameters": [
                {
                    "name": "X-Stockwatch-Token",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "[daemon] webhook_token, when one is configured",
                }
            ],
        },
        responses={
            400: {"description": "bad body: not a JSON object, or items not a list of SKUs"},
            401: {"description": "bad token"},
            413: {"description": "body too large"},
            503: {"description": "the database cannot take the request now; retry"},
        },
    )
    async def order_created(request: Request, d: Deps) -> dict[str, Any]:
        if d.webhook_token and not hmac.compare_digest(
            request.headers.get("x-stockwatch-token", "").encode(), d.webhook_token.encode()
        ):
            log.warning("order webhook rejected from %s: bad token", _peer(request))
            raise HTTPException(401, "bad token")
        keys = parse_order_items(await read_capped(request, MAX_WEBHOOK_BODY))
        try:
            count = await asyncio.to_thread(d.store.request_recheck, keys, d.clock())
        except Exception as exc:  # the database is down or read-only: the caller may retry
            log.error("order webhook: re-read not recorded: %s", type(exc).__name__)
            raise HTTPException(503, "database unavailable; try again later") from None
        d.on_recheck()
        return {"ok": True, "rechecking": count}

    states: dict[str, datetime] = {}  # OAuth state → when it stops being accepted

    @app.get("/oauth/login", include_in_schema=False)  # a browser route, guarded like pages
    def oauth_login(d: Deps) -> RedirectResponse:
        """Start 1688 authorization: a fresh state, then the 1688 page (it calls back below)."""
        if d.oauth is None:
            raise HTTPException(404, "1688 authorization is not used: the daemon reads a file")
        now = d.clock()
        for old in [s for s, until in states.items() if until < now]:
            del states[old]
        state = secrets.token_urlsafe(16)
        states[state] = now + OAUTH_STATE_TTL
        return RedirectResponse(d.oauth.authorize_url(state), status_code=303)

    @app.get("/oauth/callback", response_class=HTMLResponse, include_in_schema=False)
    async def oauth_callback(
        request: Request, d: Deps, code: str = "", state: str = ""
    ) -> HTMLResponse:
        """Where 1688 sends the browser back: check the state, exchange the code, store it."""
        if d.oauth is None:
            raise HTTPException(404, "1688 authorization is not used: the daemon reads a file")
        until = states.pop(state, None) if state else None
        if until is None or until < d.clock():
            log.warning("oauth callback refused from %s: unknown or expired state", _peer(request))
            return oauth_page(d.lang, "bad_state", 400)
        if not code:
            return oauth_page(d.lang, "no_code", 400)
        try:
            tokens = await d.oauth.login(code)
        except Exception as exc:  # 1688 refused the code (expired, used) or is unreachable
            log.warning("oauth code exchange failed: %s", exc)
            return oauth_page(d.lang, "failed", 502, detail=str(exc))
        log.info("1688 authorized by member %s", tokens.member_id or "?")
        return oauth_page(d.lang, "ok", 200, detail=tokens.member_id or "?")

    @app.get("/api/alerts")
    def alerts(d: Deps, all_items: bool = False) -> list[dict[str, Any]]:
        states = d.store.alert_states()
        return [
            state_json(k, s)
            for k, s in sorted(states.items(), key=lambda p: (-int(p[1].tier), str(p[0])))
            if all_items or s.phase.value != "ok"
        ]

    # {item:path}: a SKU may hold "/" (TEE/XL), sent as is or as %2F.
    @app.post(
        "/api/alerts/{item:path}/ack",
        responses=errors(
            {
                400: "a malformed item key",
                404: "the item has no open alert, or its alert has not been sent yet (pending)",
            }
        ),
    )
    def ack(request: Request, item: str, d: Deps) -> dict[str, Any]:
        key = _key(item)
        try:
            state = acknowledge_alert(d.store, key, actor_name(request), d.clock())
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        audited(request, AuditAction.ACKNOWLEDGE, key)
        return state_json(key, state)

    @app.post(
        "/api/alerts/{item:path}/snooze",
        responses=errors(
            {400: "a malformed item key or a snooze under a minute", 404: "no open alert"}
        ),
    )
    def snooze(
        request: Request,
        item: str,
        d: Deps,
        hours: Annotated[float, Query(gt=0, le=24 * 30)] = 4.0,
    ) -> dict[str, Any]:
        key = _key(item)
        now = d.clock()
        try:
            state = snooze_alert(d.store, key, now + snooze_length(hours), actor_name(request), now)
        except AlertNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        audited(request, AuditAction.SNOOZE, key, f"hours={hours:g}")
        return state_json(key, state)

    @app.get("/api/events", responses=errors({400: "a malformed item key or since"}))
    def events(
        d: Deps,
        item: str | None = None,
        kind: Annotated[list[str] | None, Query()] = None,
        since: Annotated[
            str | None, Query(description="ISO 8601 date or time; without a zone: UTC")
        ] = None,
        limit: int = Query(100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        # ISO text only: a bare number such as 0.5 is not a time (pydantic would read it as
        # seconds since 1970).
        start = _since(since, None, d.clock(), UTC)
        rows = d.store.events(_key(item) if item else None, kind or (), start, limit)
        return [event_json(e) for e in rows]

    @app.get("/api/status")
    def status(d: Deps) -> dict[str, Any]:
        return status_json(d.status())

    if deps.promotions is not None:
        # No per-router guard: the SecurityMiddleware guards every route.
        app.include_router(promotions_router(deps.promotions, deps.clock, (), deps.on_promotions))

    dashboard = DashboardDeps(
        store=deps.store,
        clock=deps.clock,
        status=deps.status,
        sources=deps.sources or Sources.for_store(deps.store),
        lang=deps.lang,
        levels_for=deps.levels_for,
        timezone=deps.timezone,
        stale_after=deps.stale_after,
        status_summary=deps.status_summary,
        promotions=deps.promotion_windows,
        backtest=deps.backtest,
        review_advice=deps.review_advice,
        refresh_seconds=deps.refresh_seconds,
    )
    app.include_router(dashboard_router(dashboard))
    app.include_router(orders_router(dashboard))
    app.include_router(insight_router(deps.backtest, deps.lang, ()))
    render = page_renderer(dashboard)
    app.include_router(auth_router(AuthDeps(security, deps.clock, render, deps.lang)))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_pages(app, deps.lang)
    openapi_doc.install(app)
    return app


# A 1688 push is a few hundred bytes; anything near a megabyte is not one. The body is read in
# chunks and refused as soon as it passes the cap, before the signature is checked.
MAX_PUSH_BODY = 1 << 20
MAX_WEBHOOK_BODY = 1 << 20
MAX_WEBHOOK_ITEMS = 10_000  # one order names a few SKUs; more is a mistake or an attack
MAX_SKU_LENGTH = 200


async def read_capped(request: Request, limit: int) -> bytes | None:
    """Return the request body, or None as soon as it is longer than ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_order_items(raw: bytes | None) -> list[ItemKey] | None:
    """Return the SKUs an order-webhook body names (None: every item); HTTPException if bad."""
    if raw is None:
        raise HTTPException(413, f"body over {MAX_WEBHOOK_BODY} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPException(400, "body is not JSON") from None
    except RecursionError:
        raise HTTPException(400, "body is JSON nested too deeply") from None
    if not isinstance(body, dict):  # only `{}` (or no "items") asks for every item
        raise HTTPException(400, "body must be a JSON object")
    items = body.get("items")
    if items is None:
        return None
    if not (isinstance(items, list) and all(isinstance(x, str) for x in items)):
        raise HTTPException(400, "items must be a list of SKU strings")
    if len(items) > MAX_WEBHOOK_ITEMS:
        raise HTTPException(413, f"more than {MAX_WEBHOOK_ITEMS} items in one call")
    keys = []
    for text in items:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise HTTPException(400, "items: a SKU is not valid Unicode text") from None
        if len(text) > MAX_SKU_LENGTH:
            raise HTTPException(400, f"items: a SKU is longer than {MAX_SKU_LENGTH} characters")
        try:
            keys.append(ItemKey.parse(text))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
    return keys


OAUTH_STATE_TTL = timedelta(minutes=10)  # 1688's code lives 2 minutes; the page a little longer
_OAUTH_TEXTS: dict[str, tuple[str, str]] = {
    "ok": (
        "1688 授权成功：会员 {detail}。可以关闭此页面。",
        "1688 authorized: member {detail}. You may close this page.",
    ),
    "bad_state": (
        "授权请求无效或已过期（state 不符）。请从 stockwatch 重新开始授权。",
        "Unknown or expired authorization request (state mismatch). Start again from stockwatch.",
    ),
    "no_code": (
        "1688 没有返回授权码。请重新授权。",
        "1688 returned no authorization code. Try again.",
    ),
    "failed": ("授权码换取失败：{detail}", "Exchanging the code failed: {detail}"),
}


def oauth_page(lang: str, what: str, status: int, detail: str = "") -> HTMLResponse:
    """A minimal page for the browser that 1688 sent back (escaped: detail may echo input)."""
    zh, en = _OAUTH_TEXTS[what]
    text = (en if lang == "en" else zh).format(detail=html.escape(detail))
    title = "stockwatch · 1688"
    body = f"<!doctype html><meta charset=utf-8><title>{title}</title><p>{text}</p>"
    return HTMLResponse(body, status_code=status)


def _key(text: str) -> ItemKey:
    try:
        return ItemKey.parse(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"
