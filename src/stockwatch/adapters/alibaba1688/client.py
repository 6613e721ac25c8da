"""The async 1688 gateway client: signs, paces, retries and decodes every call.

Pacing: one token bucket per app key (aiolimiter, ``qps`` with a small burst; or the shared
bucket in Redis that every process of a deployment draws from) and at most
``concurrency`` requests in flight, so a poll of N calls takes about N / qps seconds and stays
under the gateway's flow control. Retries (tenacity, exponential backoff with jitter) only for
transient failures; permanent ones fail at once with a hint; a 401 refreshes the token once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import httpx
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from stockwatch.adapters.alibaba1688.errors import (
    AuthError,
    GatewayError,
    ThrottledError,
    TransientError,
    decode_body,
    error_from_body,
)
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.signing import SIGNATURE_PARAM, sign, wire_params
from stockwatch.ports import Clock, RequestBudget


@dataclass(frozen=True)
class Api:
    """One 1688 API, written ``namespace:name-version`` in the docs."""

    namespace: str
    name: str
    version: int = 1
    protocol: str = "param2"

    def url_path(self, app_key: str) -> str:
        return f"{self.protocol}/{self.version}/{self.namespace}/{self.name}/{app_key}"

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}-{self.version}"


PRODUCT_GET = Api("com.alibaba.product", "alibaba.product.get")
PRODUCT_LIST_GET = Api("com.alibaba.product", "alibaba.product.list.get")
CROSS_PRODUCT_INFO = Api("com.alibaba.product", "alibaba.cross.productInfo")
FENXIAO_PRODUCT_INFO = Api("com.alibaba.fenxiao", "alibaba.fenxiao.productInfo.get")
QUERY_PRODUCT_DETAIL = Api("com.alibaba.fenxiao.crossborder", "product.search.queryProductDetail")
CURRENT_TIME = Api("system", "currentTime")
PUSH_CURSOR_MESSAGES = Api("cn.alibaba.open", "push.cursor.messageList")
PUSH_CONFIRM = Api("cn.alibaba.open", "push.message.confirm")


class AccessTokens(Protocol):
    """What the client needs from the token upkeep (TokenManager implements it)."""

    async def token(self) -> str: ...

    async def refresh_after_rejection(self, rejected: str) -> str: ...


@dataclass
class CallStats:
    """Counters for a client's lifetime; the benchmark and poll runs report them."""

    requests: int = 0  # HTTP requests actually sent (retries included)
    calls: int = 0  # logical calls
    retries: int = 0
    throttled: int = 0
    auth_retries: int = 0  # calls repeated after a 401 (the token is refreshed once for all)
    failures: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, GatewayError) and not exc.permanent


class GatewayClient:
    """Signed, paced, retried calls to one 1688 app key. Use as ``async with``."""

    def __init__(
        self,
        settings: GatewaySettings,
        tokens: AccessTokens | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self._own_http = http is None
        limits = httpx.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        )
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        self.http = http or httpx.AsyncClient(timeout=timeout, limits=limits)
        self._slots = asyncio.Semaphore(settings.concurrency)
        # A shared budget (Redis) replaces the in-process bucket: the quota is per app key,
        # whichever process spends it.
        self._budget: RequestBudget | None = budget
        if budget is None and settings.qps is not None:
            capacity = settings.limiter_capacity
            self._budget = AsyncLimiter(capacity, capacity / settings.qps)
        self._clock = clock
        self.stats = CallStats()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()

    async def call(
        self, api: Api, params: Mapping[str, Any] | None = None, *, authorized: bool = True
    ) -> dict[str, Any]:
        """Call ``api`` and return its decoded success body; raise a GatewayError otherwise."""
        self.stats.calls += 1
        wire = wire_params(params or {})
        s = self.settings
        retrying = AsyncRetrying(
            stop=stop_after_attempt(s.max_attempts),
            # initial, 2×, 4×… capped, plus up to one initial of jitter so callers spread out
            wait=wait_exponential(multiplier=s.backoff_initial, max=s.backoff_max)
            + wait_random(0, s.backoff_initial),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    return await self._authorized_send(api, wire, authorized)
        except GatewayError as exc:
            self.stats.failures += 1
            code = exc.code or type(exc).__name__
            self.stats.by_code[code] = self.stats.by_code.get(code, 0) + 1
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _authorized_send(
        self, api: Api, wire: dict[str, str], authorized: bool
    ) -> dict[str, Any]:
        if not authorized or self.tokens is None:
            return await self._send(api, wire, None)
        token = await self.tokens.token()
        try:
            return await self._send(api, wire, token)
        except AuthError:
            # Expired or revoked early: refresh once and try again; a second 401 is final.
            token = await self.tokens.refresh_after_rejection(token)
            self.stats.auth_retries += 1
            return await self._send(api, wire, token)

    async def _send(self, api: Api, wire: dict[str, str], token: str | None) -> dict[str, Any]:
        s = self.settings
        params = dict(wire)
        if token is not None:
            params["access_token"] = token
        params["_aop_timestamp"] = str(self._now_ms())
        url_path = api.url_path(s.app_key)
        params[SIGNATURE_PARAM] = sign(url_path, params, s.app_secret)
        async with self._slots:
            if self._budget is not None:
                await self._budget.acquire()
            self.stats.requests += 1
            try:
                response = await self.http.post(f"{s.gateway}/openapi/{url_path}", data=params)
            except httpx.TimeoutException:
                raise TransientError(f"{api}: 1688 did not answer in time") from None
            except httpx.TransportError as exc:
                raise TransientError(f"{api}: network error {type(exc).__name__}") from None
        return self._decode(api, response)

    def _decode(self, api: Api, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status >= 500:
            raise TransientError(f"{api}: 1688 answered HTTP {status}", status=status)
        body = decode_body(response.text, status)
        error = error_from_body(body, status)
        if error is not None:
            if isinstance(error, ThrottledError):
                self.stats.throttled += 1
            raise error
        if status >= 400:
            raise GatewayError(f"{api}: 1688 answered HTTP {status}", status=status)
        return body

    def _now_ms(self) -> int:
        if self._clock is not None:
            return int(self._clock().timestamp() * 1000)
        return time.time_ns() // 1_000_000
