"""OAuth 2.0 with 1688: authorization URL, code exchange, refresh, postpone, token upkeep.

Token calls are unsigned HTTPS POSTs to ``system.oauth2/getToken`` (reference §3). The access
token lives 10 h and is refreshed ``refresh_margin`` before it expires, or once after the
gateway rejects it. Tokens are secrets: they never reach a log line or an exception text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from stockwatch.adapters.alibaba1688.errors import (
    AuthError,
    GatewayError,
    ReauthorizationRequired,
    TransientError,
    decode_body,
    error_from_body,
)
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.signing import parse_date
from stockwatch.ports import Clock, OAuthTokens, RefreshLock, TokenStore

log = logging.getLogger(__name__)
REAUTHORIZE = "run `stockwatch auth login` and open the printed URL to authorize the app again"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GatewayError(f"1688 token answer: {name} is not a number", permanent=True) from None


def _expiry(value: Any, now: datetime, name: str) -> datetime:
    """``refresh_token_timeout`` is a 1688 date; accept epoch ms or seconds-from-now too."""
    if isinstance(value, str) and len(value) == 22:
        try:
            return parse_date(value)
        except ValueError:
            pass
    number = _number(value, name)
    if number > 1e12:  # epoch milliseconds
        return datetime.fromtimestamp(number / 1000, UTC)
    return now + timedelta(seconds=number)


def tokens_from_answer(
    app_key: str, body: Mapping[str, Any], now: datetime, previous: OAuthTokens | None = None
) -> OAuthTokens:
    """Build tokens from a getToken answer; a refresh answer keeps the old refresh token."""
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise GatewayError("1688 token answer has no access_token", permanent=True)
    access_expires = now + timedelta(seconds=_number(body.get("expires_in", 36000), "expires_in"))
    refresh = body.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        timeout = body.get("refresh_token_timeout")
        refresh_expires = (
            _expiry(timeout, now, "refresh_token_timeout")
            if timeout not in (None, "")
            else now + timedelta(days=180)
        )
    elif previous is not None:
        refresh, refresh_expires = previous.refresh_token, previous.refresh_expires_at
    else:
        raise GatewayError("1688 token answer has no refresh_token", permanent=True)

    def text(key: str) -> str | None:
        value = body.get(key)
        return None if value in (None, "") else str(value)

    return OAuthTokens(
        app_key=app_key,
        access_token=access,
        access_expires_at=access_expires,
        refresh_token=refresh,
        refresh_expires_at=refresh_expires,
        member_id=text("memberId") or (previous.member_id if previous else None),
        ali_id=text("aliId") or (previous.ali_id if previous else None),
        resource_owner=text("resource_owner") or (previous.resource_owner if previous else None),
    )


class OAuthClient:
    """The three unsigned token calls and the browser authorization URL."""

    def __init__(
        self, settings: GatewaySettings, http: httpx.AsyncClient, clock: Clock = utc_now
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock

    def authorize_url(self, state: str) -> str:
        s = self._settings
        query = urlencode(
            {"client_id": s.app_key, "site": "1688", "redirect_uri": s.redirect_uri, "state": state}
        )
        return f"{s.authorize_endpoint}?{query}"

    async def exchange_code(self, code: str) -> OAuthTokens:
        """Trade a single-use authorization code (valid 2 minutes) for tokens."""
        s = self._settings
        body = await self._post(
            f"openapi/http/1/system.oauth2/getToken/{s.app_key}",
            {
                "grant_type": "authorization_code",
                "need_refresh_token": "true",
                "client_id": s.app_key,
                "client_secret": s.app_secret,
                "redirect_uri": s.redirect_uri,
                "code": code.strip(),
            },
        )
        return tokens_from_answer(s.app_key, body, self._clock())

    async def refresh(self, tokens: OAuthTokens) -> OAuthTokens:
        s = self._settings
        body = await self._post(
            f"openapi/http/1/system.oauth2/getToken/{s.app_key}",
            {
                "grant_type": "refresh_token",
                "client_id": s.app_key,
                "client_secret": s.app_secret,
                "refresh_token": tokens.refresh_token,
            },
        )
        return tokens_from_answer(s.app_key, body, self._clock(), previous=tokens)

    async def postpone(self, tokens: OAuthTokens) -> OAuthTokens:
        """Extend the refresh token (allowed within its last 30 days)."""
        s = self._settings
        body = await self._post(
            f"openapi/param2/1/system.oauth2/postponeToken/{s.app_key}",
            {
                "client_id": s.app_key,
                "client_secret": s.app_secret,
                "refresh_token": tokens.refresh_token,
                "access_token": tokens.access_token,
            },
        )
        merged = {"access_token": tokens.access_token, **body}
        if "expires_in" not in body:
            left = (tokens.access_expires_at - self._clock()).total_seconds()
            merged["expires_in"] = max(left, 0)
        return tokens_from_answer(s.app_key, merged, self._clock(), previous=tokens)

    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        s = self._settings
        if urlsplit(s.base_url).scheme != "https" and not s.is_loopback:
            raise GatewayError(
                "refusing to send the app secret over plain HTTP",
                permanent=True,
                hint="token calls must use HTTPS: set [gateway] base_url to https://…",
            )
        try:
            response = await self._http.post(f"{s.gateway}/{path}", data=form)
        except httpx.TimeoutException:
            raise TransientError("1688 token call timed out") from None
        except httpx.TransportError as exc:
            raise TransientError(f"1688 token call failed: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise TransientError(f"1688 token call answered HTTP {response.status_code}")
        body = decode_body(response.text, response.status_code)
        error = error_from_body(body, response.status_code)
        if error is None and response.status_code >= 400:
            message = str(body.get("error_description") or body.get("error") or "bad request")
            error = AuthError(f"1688 token call refused (HTTP {response.status_code}): {message}")
        if error is not None:
            raise error
        return body


@dataclass(frozen=True)
class TokenHealth:
    """What `stockwatch auth status` shows."""

    authorized: bool
    member_id: str | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    warning: str | None = None


class TokenManager:
    """Keeps a valid access token at hand: loads, refreshes early, refreshes once on rejection."""

    def __init__(
        self,
        settings: GatewaySettings,
        oauth: OAuthClient,
        store: TokenStore,
        clock: Clock = utc_now,
        *,
        refresh_lock: RefreshLock | None = None,
    ) -> None:
        self._settings = settings
        self._refresh_lock = refresh_lock
        self._oauth = oauth
        self._store = store
        self._clock = clock
        self._tokens: OAuthTokens | None = None
        self._lock = asyncio.Lock()
        self._warned_at: datetime | None = None
        self.refreshes = 0

    def _current(self) -> OAuthTokens | None:
        if self._tokens is None:
            self._tokens = self._store.load(self._settings.app_key)
        return self._tokens

    async def login(self, code: str) -> OAuthTokens:
        tokens = await self._oauth.exchange_code(code)
        self._save(tokens)
        return tokens

    async def token(self) -> str:
        """Return an access token valid for at least ``refresh_margin`` more seconds."""
        if self._settings.static_access_token:
            return self._settings.static_access_token
        tokens = self._current()
        now = self._clock()
        if tokens is not None and self._fresh(tokens, now):
            self._warn_if_needed(tokens, now)
            return tokens.access_token
        async with self._lock, self._shared():
            tokens = self._reload()
            if tokens is not None and self._fresh(tokens, self._clock()):
                return tokens.access_token
            return (await self._refresh(tokens)).access_token

    async def refresh_after_rejection(self, rejected: str) -> str:
        """The gateway said 401 for ``rejected``: refresh once (unless someone already did)."""
        if self._settings.static_access_token:
            raise ReauthorizationRequired(
                "1688 rejected the configured access token",
                hint="issue a new token in the 1688 console and update [gateway] access_token",
            )
        async with self._lock, self._shared():
            tokens = self._reload()
            if tokens is not None and tokens.access_token != rejected:
                return tokens.access_token
            return (await self._refresh(tokens)).access_token

    def _shared(self) -> AbstractAsyncContextManager[None]:
        """The deployment-wide refresh lock, when there is one (several processes)."""
        if self._refresh_lock is None:
            return nullcontext()
        return self._refresh_lock.hold(f"1688-token-refresh:{self._settings.app_key}")

    def _reload(self) -> OAuthTokens | None:
        """Under the shared lock, another process may have refreshed: read what it saved."""
        if self._refresh_lock is not None:
            self._tokens = self._store.load(self._settings.app_key)
        return self._current()

    def health(self) -> TokenHealth:
        tokens = self._current()
        if tokens is None:
            return TokenHealth(False, warning="not authorized yet: " + REAUTHORIZE)
        return TokenHealth(
            True,
            tokens.member_id,
            tokens.access_expires_at,
            tokens.refresh_expires_at,
            self._warning(tokens, self._clock()),
        )

    async def postpone(self) -> OAuthTokens:
        tokens = self._current()
        if tokens is None:
            raise ReauthorizationRequired("not authorized yet", hint=REAUTHORIZE)
        new = await self._oauth.postpone(tokens)
        self._save(new)
        return new

    def _fresh(self, tokens: OAuthTokens, now: datetime) -> bool:
        margin = timedelta(seconds=self._settings.refresh_margin)
        return tokens.access_expires_at - margin > now

    async def _refresh(self, tokens: OAuthTokens | None) -> OAuthTokens:
        now = self._clock()
        if tokens is None:
            raise ReauthorizationRequired("the app is not authorized yet", hint=REAUTHORIZE)
        if tokens.refresh_expires_at <= now:
            raise ReauthorizationRequired(
                f"the 1688 refresh token expired at {tokens.refresh_expires_at:%Y-%m-%d %H:%M} UTC",
                hint=REAUTHORIZE,
            )
        try:
            new = await self._oauth.refresh(tokens)
        except AuthError as exc:
            raise ReauthorizationRequired(
                "1688 refused to refresh the access token (revoked, password changed or "
                f"subscription ended): {exc.code or ''}",
                hint=REAUTHORIZE,
            ) from None
        self.refreshes += 1
        self._save(new)
        log.info("1688 access token refreshed; valid until %s", new.access_expires_at)
        return new

    def _save(self, tokens: OAuthTokens) -> None:
        self._store.save(tokens)
        self._tokens = tokens

    def _warning(self, tokens: OAuthTokens, now: datetime) -> str | None:
        left = tokens.refresh_expires_at - now
        if left <= timedelta(0):
            return "the refresh token has expired: " + REAUTHORIZE
        if left <= timedelta(days=self._settings.refresh_warn_days):
            return (
                f"the 1688 refresh token expires in {left.days} day(s) "
                f"({tokens.refresh_expires_at:%Y-%m-%d %H:%M} UTC); before then run "
                "`stockwatch auth postpone` to extend it, or " + REAUTHORIZE
            )
        return None

    def _warn_if_needed(self, tokens: OAuthTokens, now: datetime) -> None:
        if self._warned_at is not None and now - self._warned_at < timedelta(hours=24):
            return
        warning = self._warning(tokens, now)
        if warning:
            self._warned_at = now
            log.warning(warning)
