"""The 1688 authorization parts of the daemon: the warning before the refresh token expires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from stockwatch.adapters.alibaba1688.oauth import TokenHealth
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import Config
from stockwatch.service.auth_watch import auth_expiry_messages


def auth_expiry_channels(config: Config) -> list[str]:
    """Where the warning goes: every channel a route uses, else the broadcast list."""
    model = config.model
    if not model.channels:
        return ["console"]  # no [[channels]]: the log deliverer writes every outbox row
    routed = sorted({c for r in model.routes for c in r.channels})
    return routed or list(model.daemon.channels)


def login_url(config: Config) -> str:
    """The daemon's /oauth/login when redirect_uri points at its callback, else the CLI."""
    redirect = config.model.gateway.redirect_uri
    base = redirect.removesuffix("/oauth/callback")
    return f"{base}/oauth/login" if base != redirect else "stockwatch auth login"


def auth_expiry_watch(
    config: Config, store: SqlStore, health: Callable[[], TokenHealth]
) -> Callable[[datetime], int]:
    """Return the check that enqueues the warning on the alert channels before the 1688
    refresh token expires (polling dies with it); the outbox drops a key it already holds."""
    names = auth_expiry_channels(config)
    login = login_url(config)
    outbox = SqlOutbox(store.engine)
    tz = ZoneInfo(config.model.general.timezone)
    warn_days = config.model.gateway.refresh_warn_days

    def check(now: datetime) -> int:
        state = health()
        if not state.authorized:
            return 0
        messages = auth_expiry_messages(
            state.refresh_expires_at, now, warn_days, names, login, config.lang, tz
        )
        return outbox.add(messages, now) if messages else 0

    return check
