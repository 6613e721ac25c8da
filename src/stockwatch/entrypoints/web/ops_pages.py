"""Pages for what needs a person: held threshold changes, channels and dead letters, banners."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from stockwatch.core.audit import AuditAction
from stockwatch.entrypoints.web.dashboard_texts import text
from stockwatch.entrypoints.web.web_common import (
    DashboardDeps,
    PageRenderer,
    audited,
    need,
    request_lang,
)
from stockwatch.ports import OutboxStatus, StoredThreshold
from stockwatch.service.recompute import describe_change
from stockwatch.wiring.web import Attention

BANNER_TTL = 20.0  # seconds a computed set of banners is reused (every page shows them)


@dataclass(frozen=True)
class Banner:
    kind: str
    text: str
    link: str | None = None
    css: str = ""


@dataclass(frozen=True)
class HeldChange:
    pending: StoredThreshold
    active: StoredThreshold | None
    lines: list[str]
    ratio: float | None  # new T2 / old T2


class BannerCache:
    """Banners per language, recomputed at most every ``BANNER_TTL`` seconds."""

    def __init__(self, d: DashboardDeps) -> None:
        self.d = d
        self._at = 0.0
        self._found: Attention | None = None

    def banners(self, lang: str) -> list[Banner]:
        attention = self.d.sources.attention
        if attention is None:
            return []
        if self._found is None or time.monotonic() - self._at > BANNER_TTL:
            self._found = attention.attention(self.d.clock(), self.d.stale_after)
            self._at = time.monotonic()
        return _banners(self._found, lang)

    def forget(self) -> None:
        self._found = None


def _banners(a: Attention, lang: str) -> list[Banner]:
    out = [
        Banner("channel", text("banner_channel", lang, name=name, reason=reason), "/channels")
        for name, reason in a.disabled_channels
    ]
    if a.token_expires_at is not None:
        at = a.token_expires_at.strftime("%Y-%m-%d %H:%M UTC")
        out.append(Banner("token", text("banner_token", lang, at=at), None, "warn-banner"))
    out += [
        Banner("polls", text("banner_polls", lang, name=name), "/", "warn-banner")
        for name in a.failing_groups
    ]
    if a.stale_items:
        out.append(
            Banner(
                "stale", text("banner_stale", lang, n=a.stale_items), "/?stale=true", "warn-banner"
            )
        )
    return out


def ops_routes(
    router: APIRouter, d: DashboardDeps, page: PageRenderer, banners: BannerCache
) -> None:
    """Add the threshold review and channels pages with their actions to ``router``."""

    @router.get("/thresholds/review", response_class=HTMLResponse, include_in_schema=False)
    def thresholds_review(request: Request) -> HTMLResponse:
        lang = request_lang(request, d.lang)
        return page(request, "thresholds_review.html", "held_title", held=_held(lang))

    @router.post("/thresholds/review", include_in_schema=False)
    def thresholds_decide(
        request: Request,
        action: Annotated[str, Form()],
        pick: Annotated[list[str] | None, Form()] = None,
        every: Annotated[bool, Form()] = False,
    ) -> RedirectResponse:
        store = need(d.sources.thresholds)
        if action not in ("approve", "reject"):
            raise HTTPException(400, "action must be approve or reject")
        if every:
            chosen = [(v.key, v.version) for v in store.in_review(100_000)]
        else:
            chosen = [_pick(p) for p in pick or []]
        if not chosen:
            raise HTTPException(400, "pick: choose at least one held change")
        decide = store.approve if action == "approve" else store.reject
        done = [(key, version) for key, version in chosen if decide(key, version)]
        named = AuditAction.APPROVE if action == "approve" else AuditAction.REJECT
        for key, version in done:
            audited(request, named, key, f"version={version}")
        if not done:
            raise HTTPException(409, "none of the chosen changes is still held")
        return RedirectResponse("/thresholds/review", status_code=303)

    @router.get("/channels", response_class=HTMLResponse, include_in_schema=False)
    def channels_page(request: Request) -> HTMLResponse:
        states = d.sources.attention.channels() if d.sources.attention else None
        dead = d.sources.outbox.list(OutboxStatus.FAILED, 500) if d.sources.outbox else None
        return page(request, "channels.html", "channels", channels=states, entries=dead)

    @router.post("/channels/{name}/enable", include_in_schema=False)
    def channel_enable(request: Request, name: str) -> RedirectResponse:
        switch = need(d.sources.channel_switch)
        if not switch.enable(name, d.clock()):
            raise HTTPException(409, f"channel {name} is not disabled")
        audited(request, AuditAction.CHANNEL_ENABLED, name)
        banners.forget()
        return RedirectResponse("/channels", status_code=303)

    def _held(lang: str) -> list[HeldChange]:
        store = d.sources.thresholds
        if store is None:
            return []
        pending = store.in_review(500)
        current = store.current([p.key for p in pending])
        out = []
        for p in pending:
            active = current[p.key].active if p.key in current else None
            ratio = p.levels.t2 / active.levels.t2 if active and active.levels.t2 else None
            out.append(HeldChange(p, active, describe_change(active, p, lang), ratio))
        return out


def _pick(value: str) -> tuple[str, int]:
    key, _, version = value.rpartition(":")
    if not key or not version.isdigit():
        raise HTTPException(400, f"pick: expected ITEM:VERSION, got {value!r}")
    return key, int(version)
