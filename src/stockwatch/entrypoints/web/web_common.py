"""What the dashboard's page modules share: their dependencies, language choice, key parsing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from stockwatch.core.accounts import Principal
from stockwatch.core.audit import AuditAction, AuditNote
from stockwatch.core.model import ItemKey
from stockwatch.core.thresholds import Promotion
from stockwatch.entrypoints.web.dashboard_texts import LANGS
from stockwatch.entrypoints.web.item_rows import Sources
from stockwatch.entrypoints.web.security import AUDIT_STATE
from stockwatch.ports import Store
from stockwatch.service.polling import LevelsFor
from stockwatch.service.status import Status

LANG_COOKIE = "stockwatch_lang"
_T = TypeVar("_T")


class PageRenderer(Protocol):
    def __call__(self, request: Request, name: str, title_key: str, **ctx: Any) -> HTMLResponse: ...


@dataclass(frozen=True)
class DashboardDeps:
    store: Store
    clock: Callable[[], datetime]
    status: Callable[[], Status]
    sources: Sources
    lang: str = "zh-CN"
    levels_for: LevelsFor | None = None
    timezone: str = "Asia/Shanghai"  # pages show local time ([general] timezone)
    stale_after: timedelta = timedelta(hours=6)
    # The cards of the overview (groups, backlog) without the per-item lists of ``status``.
    status_summary: Callable[[], Status] | None = None
    promotions: Callable[[], Sequence[Promotion]] | None = None  # configured promotion windows
    # The backtest behind /backtest (a replay and its first day, or None without history) and
    # the review's advice (stockouts found, per-tier figures, suggestions); None: not offered.
    backtest: Callable[[str, dict[str, str]], Any] | None = None
    review_advice: Callable[[Any, datetime, datetime], Any] | None = None
    refresh_seconds: int = 30  # how often a page's live part reloads itself (data-every)

    def summary(self) -> Status:
        return (self.status_summary or self.status)()


def request_lang(request: Request, default: str) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    if asked in ("zh", "zh-cn"):
        return "zh-CN"
    cookie = request.cookies.get(LANG_COOKIE)
    return cookie if cookie in LANGS else default


def parse_key(text_: str) -> ItemKey:
    try:
        return ItemKey.parse(text_)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


def need(source: _T | None) -> _T:
    if source is None:
        raise HTTPException(404, "not available with this store")
    return source


def actor_of(request: Request) -> Principal | None:
    """Who makes the request (the SecurityMiddleware sets it); None only without it."""
    who = getattr(request.state, "principal", None)
    return who if isinstance(who, Principal) else None


def actor_name(request: Request) -> str:
    """The name alert events and hand-set levels record as "by" (a user, a token, "local").

    The SecurityMiddleware always sets the principal; without it (an app built with no
    guard) the actor is "anonymous", never a made-up "dashboard"."""
    who = actor_of(request)
    return who.name if who is not None else "anonymous"


def audited(request: Request, action: AuditAction, target: object, detail: str = "") -> None:
    """Say what this request did; the SecurityMiddleware records it with who did it once the
    answer is a success (before the client hears "done")."""
    state = request.scope.setdefault("state", {})
    state.setdefault(AUDIT_STATE, []).append(AuditNote(action, str(target)[:2000], detail))


def snooze_length(hours: float) -> timedelta:
    """A snooze so short that it rounds to nothing (1e-320 h) is a 400, not a 500."""
    length = timedelta(hours=hours)
    if length < timedelta(minutes=1):
        raise HTTPException(400, "hours: a snooze must last at least a minute")
    return length
