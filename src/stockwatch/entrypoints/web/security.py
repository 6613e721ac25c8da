"""One ASGI middleware in front of every route: host check, login, roles, CSRF, headers, audit.

Default deny: a route added later is guarded without doing anything. Only the signed webhooks
(1688 push, order webhook), /healthz, /metrics (when public), /static and the login page answer
without a session or token.

- Host: the dashboard answers only to loopback names and ``[daemon.http] allowed_hosts``, so a
  DNS-rebinding page cannot read it through a name it controls.
- Who: a ``Bearer`` API token, else the session cookie. With no user yet on a loopback bind the
  dashboard is open ("local", single-user mode); once a user exists everyone logs in.
- May: reading needs viewer / a read token; any other method needs operator / a write token.
- CSRF: an unsafe request carrying a session must carry that session's token (form field
  ``csrf_token`` or header ``X-CSRF-Token``); a request with ``Origin`` must come from this
  scheme and host. A cookie-less request in open mode (curl) passes only without ``Origin``.
- Every successful action lands in the audit log with who did it, under the name the route
  gave it (acknowledge, order_placed...).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from stockwatch.core.accounts import LOCAL, Principal, Role, Via
from stockwatch.core.audit import AuditAction, AuditNote
from stockwatch.service.accounts import Accounts

log = logging.getLogger("stockwatch.web")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "stockwatch_session"
AUDIT_STATE = "audit"  # request.state.audit: the AuditNotes a route adds (web_common.audited)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
WEBHOOK_PATHS = ("/1688/push", "/hooks/")
# /oauth/callback checks the one-time state an authenticated /oauth/login made (a SameSite=
# Strict cookie is not sent on the redirect back from 1688).
OPEN_PATHS = ("/login", "/static/", "/favicon.ico", "/oauth/callback")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 1 << 20  # a dashboard form is a few hundred bytes
SECRET_FIELDS = frozenset({CSRF_FIELD, "password", "token", "new_password"})

# frame-ancestors + X-Frame-Options: no clickjacking; scripts only from our own /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", CSP.encode()),
]


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


@dataclass(frozen=True)
class WebSecurity:
    """How the web side guards itself; the daemon builds it from ``[daemon.http]``."""

    accounts: Accounts | None = None  # None: no account store (open mode, Origin check only)
    clock: Callable[[], datetime] | None = None
    bind_host: str = "127.0.0.1"
    allowed_hosts: frozenset[str] = frozenset()
    legacy_token: str | None = None  # [daemon.http] token: a shared operator bearer
    public_metrics: bool = True
    secure_cookies: str = "auto"  # auto|always|never
    extra_public: tuple[str, ...] = field(default=())

    def host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        return (
            name in LOOPBACK_HOSTS
            or name in self.allowed_hosts
            or (name == self.bind_host.lower() and not _wildcard(self.bind_host))
        )

    def login_required(self) -> bool:
        """Open single-user mode only on loopback with no user and no shared token."""
        if self.legacy_token or not is_loopback(self.bind_host):
            return True
        return self.accounts is not None and self.accounts.login_required()


def _wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "[::]")


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, security: WebSecurity) -> None:
        self.app = app
        self.sec = security

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(WEBHOOK_PATHS):  # signed or token-checked by their own routes
            await self.app(scope, receive, send)
            return
        send = _with_headers(send, [])
        if path == "/healthz" or (path == "/metrics" and self.sec.public_metrics):
            await self.app(scope, receive, send)
            return
        await Guard(self.sec, scope, receive, send).run(self.app)


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            headers += extra
            message["headers"] = headers
        await send(message)

    return wrapped


class Guard:
    """One request's pass through the checks (a class so the steps read top to bottom)."""

    def __init__(self, sec: WebSecurity, scope: Scope, receive: Receive, send: Send) -> None:
        self.sec = sec
        self.scope = scope
        self.receive = receive
        self.send = send
        self.headers: dict[str, bytes] = {
            k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])
        }
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.set_cookies: list[tuple[bytes, bytes]] = []

    def header(self, name: str) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    def now(self) -> datetime:
        assert self.sec.clock is not None
        now: datetime = self.sec.clock()
        return now

    async def run(self, app: ASGIApp) -> None:
        sec = self.sec
        if not sec.host_allowed(self.header("host")):
            await self.deny(400, "host not allowed: add it to [daemon.http] allowed_hosts")
            return
        if self.method not in SAFE_METHODS and not self.same_origin():
            await self.deny(403, "cross-origin request refused")
            return
        required = await asyncio.to_thread(sec.login_required)
        who, csrf, problem = await self.identify(required)
        if problem:
            await self.deny(401, problem, bearer=True)
            return
        public = self.path.startswith(OPEN_PATHS) or self.path in sec.extra_public
        if who is None and not public:
            await self.login_first()
            return
        needed = Role.VIEWER if self.method in SAFE_METHODS else Role.OPERATOR
        if who is not None and not public and not who.may(needed):
            await self.deny(403, f"{who.name} ({who.role.value}) may not do this")
            return
        receive = self.receive
        form: dict[str, str] = {}
        # /login itself needs no token (the Origin check above guards it): a stale page's
        # login form must still work.
        csrf_needed = who is not None and who.via is not Via.TOKEN and self.path != "/login"
        if self.method not in SAFE_METHODS and csrf_needed:
            receive, form, ok = await self.check_csrf(csrf)
            if not ok:
                await self.deny(403, "missing or wrong CSRF token: reload the page and retry")
                return
        if who is not None and who.via is Via.LOCAL and csrf is None and self.wants_page():
            csrf = await self.open_session()
        state = self.scope.setdefault("state", {})
        state["principal"] = who
        state["csrf_token"] = csrf
        state["login_required"] = required

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.set_cookies
                # Recorded before the client hears "done": an acknowledged action is audited.
                if who is not None and self.method not in SAFE_METHODS and message["status"] < 400:
                    await self.audit(who, form)
            await self.send(message)

        await app(self.scope, receive, send)

    # -- steps -----------------------------------------------------------------------------

    def same_origin(self) -> bool:
        source = self.header("origin") or self.header("referer")
        if not source:
            return self.header("sec-fetch-site") in ("", "same-origin", "none")
        parts = urlsplit(source)
        scheme = self.scope.get("scheme", "http")
        return parts.scheme == scheme and parts.netloc.lower() == self.header("host").lower()

    async def identify(self, required: bool) -> tuple[Principal | None, str | None, str | None]:
        """Return (who, the session's CSRF token, a problem to answer 401 with)."""
        sec, accounts = self.sec, self.sec.accounts
        auth = self.header("authorization")
        if auth:
            scheme, _, raw = auth.partition(" ")
            raw = raw.strip()
            if scheme.lower() != "bearer" or not raw:
                return None, None, "use Authorization: Bearer <token>"
            if sec.legacy_token and hmac.compare_digest(
                raw.encode("utf-8", "surrogatepass"), sec.legacy_token.encode()
            ):
                return Principal("token:config", Role.OPERATOR, Via.TOKEN), None, None
            if accounts is not None:
                found = await asyncio.to_thread(accounts.token, raw, self.now())
                if found is not None:
                    return found, None, None
            return None, None, "unknown or revoked token"
        cookie = _cookie(self.header("cookie"), SESSION_COOKIE)
        if cookie and accounts is not None:
            live = await asyncio.to_thread(
                accounts.session, cookie, self.now(), open_mode=not required
            )
            if live is not None:
                return live.principal, live.csrf_token, None
        if not required:
            return LOCAL, None, None
        return None, None, None

    async def check_csrf(self, csrf: str | None) -> tuple[Receive, dict[str, str], bool]:
        """Read the (small) body to find the form's token, then hand the body on unchanged."""
        body = b""
        more = True
        while more:
            message = await self.receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_FORM_BYTES:
                return self.receive, {}, False
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await self.receive()

        form: dict[str, str] = {}
        if self.header("content-type").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        given = self.header("x-csrf-token") or form.get(CSRF_FIELD, "")
        if csrf is None:
            # No session: only a non-browser client in open mode gets here (same_origin held
            # and no Origin was sent); a browser page always has its session.
            ok = self.sec.accounts is None or (not self.header("origin") and not given)
        else:
            ok = bool(given) and hmac.compare_digest(given.encode(), csrf.encode())
        return replay, form, ok

    def wants_page(self) -> bool:
        return self.method == "GET" and not self.path.startswith(("/api/", "/static/"))

    async def open_session(self) -> str | None:
        accounts = self.sec.accounts
        if accounts is None:
            return None
        new = await asyncio.to_thread(accounts.open_session, self.now())
        self.set_cookies.append(self.session_cookie(new.cookie, new.expires_at))
        return new.csrf_token

    def session_cookie(self, value: str, expires: datetime | None) -> tuple[bytes, bytes]:
        return (b"set-cookie", session_cookie_header(self.sec, self.scope, value, expires))

    async def login_first(self) -> None:
        machine = self.path.startswith("/api/") or self.path in ("/metrics", "/openapi.json")
        if machine or self.method not in SAFE_METHODS or self.wants_json():
            await self.deny(401, "login required", bearer=True)
            return
        target = urlencode({"next": self.path})
        await _answer(self.send, 303, b"", [(b"location", f"/login?{target}".encode())])

    def wants_json(self) -> bool:
        accept = self.header("accept")
        return "application/json" in accept and "text/html" not in accept

    async def deny(self, status: int, detail: str, *, bearer: bool = False) -> None:
        headers = [(b"www-authenticate", b"Bearer")] if bearer and status == 401 else []
        body = json.dumps({"detail": detail}).encode()
        await _answer(self.send, status, body, [(b"content-type", b"application/json"), *headers])

    async def audit(self, who: Principal, form: dict[str, str]) -> None:
        """Record what the route said it did (``web_common.audited``), by name, with who.

        A route that named nothing is still recorded, as ``unnamed`` with its path, so no
        action escapes the log (tests keep that list empty)."""
        accounts = self.sec.accounts
        if accounts is None or self.path in ("/login", "/logout"):  # they record themselves
            return
        notes: list[AuditNote] = list(self.scope.get("state", {}).get(AUDIT_STATE) or [])
        if not notes:
            query = self.scope.get("query_string", b"").decode("latin-1")
            shown = {k: v[:200] for k, v in form.items() if k not in SECRET_FIELDS}
            detail = "&".join(p for p in (query, urlencode(shown)) if p)
            notes = [AuditNote(AuditAction.UNNAMED, f"{self.method} {self.path}", detail)]
            log.warning("action without an audit name: %s %s", self.method, self.path)
        now = self.now()
        try:
            for note in notes:
                await asyncio.to_thread(accounts.note, who.name, note, now)
        except Exception:  # the action is done; a lost audit line must not turn it into a 500
            log.exception("audit entry not written: %s %s by %s", self.method, self.path, who.name)


def session_cookie_header(
    sec: WebSecurity, scope: Scope, value: str, expires: datetime | None
) -> bytes:
    """HttpOnly, SameSite=Strict, Secure behind TLS; max-age from the session's expiry."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[SESSION_COOKIE] = value
    morsel = cookie[SESSION_COOKIE]
    morsel["path"] = "/"
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    if expires is None:
        morsel["max-age"] = 0
    else:
        assert sec.clock is not None
        morsel["max-age"] = max(0, int((expires - sec.clock()).total_seconds()))
    https = scope.get("scheme") == "https"
    if sec.secure_cookies == "always" or (sec.secure_cookies == "auto" and https):
        morsel["secure"] = True
    return morsel.OutputString().encode("latin-1")


def _cookie(header: str, name: str) -> str:
    if not header:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is simply no session
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
