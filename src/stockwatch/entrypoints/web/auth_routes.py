"""Log in, log out, and the audit log (page and API); the guard itself is security.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from stockwatch.core.audit import (
    AuditAction,
    AuditNote,
    action_label,
    audit_detail,
    audit_target,
)
from stockwatch.entrypoints.web.api_json import iso
from stockwatch.entrypoints.web.dashboard import _since
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.security import (
    SESSION_COOKIE,
    WebSecurity,
    session_cookie_header,
)
from stockwatch.entrypoints.web.web_common import request_lang
from stockwatch.service.accounts import Accounts

Render = Callable[..., HTMLResponse]  # (request, template, title_key, **context)


@dataclass
class AuthDeps:
    security: WebSecurity
    clock: Callable[[], datetime]
    render: Render
    lang: str = "zh-CN"  # the dashboard's default language


def safe_next(value: str) -> str:
    """Only a path on this site: ``//evil.example`` and ``https://...`` go to the overview."""
    ok = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if ok else "/"


def auth_router(d: AuthDeps) -> APIRouter:
    router = APIRouter()

    def accounts() -> Accounts:
        if d.security.accounts is None:
            raise HTTPException(404, "accounts are not available with this store")
        return d.security.accounts

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        no_users = d.security.accounts is not None and not d.security.accounts.login_required()
        return d.render(
            request,
            "login.html",
            "login",
            next=safe_next(next),
            failed="",
            seconds=0,
            no_users=no_users,
        )

    @router.post("/login", include_in_schema=False, response_model=None)
    async def login(
        request: Request,
        user: Annotated[str, Form(max_length=64)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        store = accounts()
        now = d.clock()
        peer = request.client.host if request.client else "?"
        # Counted in the database, so every daemon (and a restarted one) sees the same tries.
        wait = await asyncio.to_thread(store.login_wait, user, peer, now)
        if wait is not None:
            seconds = max(1, int(wait.total_seconds()) + 1)
            return _login_failed(request, d, "too_many", next, 429, seconds)
        session = await asyncio.to_thread(store.login, user, password, now)
        if session is None:
            await asyncio.to_thread(store.login_attempted, user, peer, False, now)
            return _login_failed(request, d, "bad_login", next, 401, 0)
        old = request.cookies.get(SESSION_COOKIE, "")
        if old:  # a fresh id at login: a cookie planted before cannot ride the new session
            await asyncio.to_thread(store.logout, old)
        await asyncio.to_thread(store.login_attempted, session.principal.name, peer, True, now)
        response = RedirectResponse(safe_next(next), status_code=303)
        header = session_cookie_header(
            d.security, request.scope, session.cookie, session.expires_at
        )
        response.raw_headers.append((b"set-cookie", header))
        return response

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> RedirectResponse:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if cookie and d.security.accounts is not None:
            who = getattr(request.state, "principal", None)
            await asyncio.to_thread(d.security.accounts.logout, cookie)
            if who is not None:
                note = AuditNote(AuditAction.LOGOUT, who.name)
                await asyncio.to_thread(d.security.accounts.note, who.name, note, d.clock())
        response = RedirectResponse("/login", status_code=303)
        header = session_cookie_header(d.security, request.scope, "", None)
        response.raw_headers.append((b"set-cookie", header))
        return response

    @router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(request: Request, actor: str | None = None) -> HTMLResponse:
        entries = accounts().audit(500, actor or None)
        lang = request_lang(request, d.lang)
        return d.render(
            request,
            "audit.html",
            "audit",
            entries=entries,
            label=lambda action: action_label(action, lang),
            target=lambda e: audit_target(e.action, e.target, lang),
            detail=lambda e: audit_detail(e.action, e.detail, lang),
        )

    @router.get(
        "/api/audit",
        responses=errors(
            {400: "a malformed since", 404: "no account store (accounts not available)"}
        ),
    )
    def api_audit(
        actor: Annotated[str | None, Query(max_length=96)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        since: Annotated[
            str | None, Query(description="ISO 8601 date or time; without a zone: UTC")
        ] = None,
    ) -> list[dict[str, Any]]:
        # As /api/events reads it, and `stockwatch audit --since` (it was ignored here).
        start = _since(since, None, d.clock(), UTC)
        return [
            {
                "id": e.id,
                "at": iso(e.at),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in accounts().audit(limit, actor, start)
        ]

    return router


def _login_failed(
    request: Request, d: AuthDeps, key: str, next: str, status: int, seconds: int
) -> Response:
    response = d.render(
        request, "login.html", "login", next=safe_next(next), failed=key, seconds=seconds
    )
    response.status_code = status
    if seconds:
        response.headers["Retry-After"] = str(seconds)
    return response
