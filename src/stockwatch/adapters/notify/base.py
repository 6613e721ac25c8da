"""What every channel shares: URL config, an httpx client, body parsing and error helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from stockwatch.adapters.notify.render import lang_of
from stockwatch.core.channel_url import ChannelUrl, ChannelUrlError
from stockwatch.core.channel_url import parse as parse_url
from stockwatch.core.messages import check_lang
from stockwatch.ports import ChannelLimits, DeliveryError, OutgoingMessage

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Channel:
    """A notifier configured by a channel URL; subclasses implement :meth:`send`."""

    scheme: ClassVar[str] = ""
    limits: ClassVar[ChannelLimits] = ChannelLimits()

    def __init__(
        self, name: str, url: ChannelUrl | str, *, clock: Clock = utcnow, lang: str = "zh-CN"
    ) -> None:
        self.name = name
        self.url = parse_url(url) if isinstance(url, str) else url
        if (
            self.scheme
            and self.url.scheme != self.scheme
            and self.url.scheme not in (self.aliases())
        ):
            raise ChannelUrlError(f"{type(self).__name__} needs a {self.scheme}:// URL")
        self.clock = clock
        # A ``lang=`` in the URL forces this channel's language; otherwise each message speaks
        # the language its route chose ([general] lang by default), and ``lang`` covers
        # messages that carry none (a test message).
        self.lang = check_lang(self.url.get("lang")) if self.url.get("lang") else None
        self.default_lang = check_lang(lang)
        self.timeout = float(self.url.get("timeout") or 10)

    @classmethod
    def aliases(cls) -> tuple[str, ...]:
        return ()

    def lang_for(self, message: OutgoingMessage) -> str:
        """Return the language to render ``message`` in on this channel."""
        return self.lang or lang_of(message, self.default_lang)

    def fits(self, message: OutgoingMessage) -> bool:
        """Return whether ``message`` goes out whole (robots cut what exceeds their size limit)."""
        return True

    def describe(self) -> str:
        return f"{self.name} ({self.url.redacted()})"

    async def send(self, message: OutgoingMessage) -> str:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


class HttpChannel(Channel):
    """A channel talking HTTP through one pooled async client."""

    default_endpoint: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        url: ChannelUrl | str,
        *,
        clock: Clock = utcnow,
        lang: str = "zh-CN",
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(name, url, clock=clock, lang=lang)
        self.endpoint = (self.url.get("endpoint") or self.default_endpoint).rstrip("/")
        self._client = client
        self._own_client = client is None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # Keep every connection the worker's concurrency opens: re-opening is the cost.
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=False, limits=limits)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """POST, turning transport failures into transient DeliveryErrors."""
        try:
            return await self.client.post(url, **kwargs)
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"{self.name}: timed out ({type(exc).__name__})", permanent=False, code="timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"{self.name}: {type(exc).__name__}: {exc}", permanent=False, code="transport"
            ) from None


# Statuses that reject this one request's body; 401/403/404 mean the endpoint or its
# credentials are wrong, which disables the channel.
MESSAGE_STATUSES = frozenset({400, 413, 415, 422})


def json_body(channel: str, response: httpx.Response) -> dict[str, Any]:
    """Return the JSON body; an unreadable body is a transient error (proxy pages, resets)."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        permanent = 400 <= response.status_code < 500 and response.status_code != 429
        raise DeliveryError(
            f"{channel}: HTTP {response.status_code} with a non-JSON body",
            permanent=permanent,
            code=f"http_{response.status_code}",
            answer=response.text[:500],
        ) from None
    if not isinstance(data, dict):
        raise DeliveryError(
            f"{channel}: unexpected JSON body", permanent=False, answer=response.text[:500]
        )
    return data


def http_status_error(channel: str, response: httpx.Response) -> DeliveryError:
    """Classify a non-2xx answer the Alertmanager way: 5xx and 429 retry, other 4xx do not.

    Every provider's sender reads the status before the body: a gateway's 500 or 429 may carry
    any JSON (a proxy's, or a provider code that means something else on a 200).
    """
    code = response.status_code
    retry_after = parse_retry_after(
        response.headers.get("retry-after") or response.headers.get("x-ogw-ratelimit-reset")
    )
    permanent = 400 <= code < 500 and code not in (408, 425, 429)
    return DeliveryError(
        f"{channel}: HTTP {code}",
        permanent=permanent,
        message_only=code in MESSAGE_STATUSES,
        code=f"http_{code}",
        answer=response.text[:500],
        retry_after=retry_after,
    )


def is_transient_status(response: httpx.Response) -> bool:
    """5xx and 429 are transient for every provider, whatever the body says."""
    return response.status_code >= 500 or response.status_code == 429


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def fit_bytes(text: str, limit: int, marker: str = "\n…") -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[: limit - len(marker.encode("utf-8"))].decode("utf-8", errors="ignore")
    return cut + marker


def classify_code(
    label: str,
    table: Mapping[int, tuple[bool, str]],
    code: int,
    msg: str,
    *,
    retry_after: Mapping[int, float] | None = None,
    message_only: Collection[int] = (),
) -> DeliveryError:
    """Turn a robot's in-body error code into a DeliveryError using the vendor's table.

    A code the table does not list is transient and marked ``unknown``: the worker retries it a
    few times (a provider's new "busy" code must not lose alerts) and then dead-letters that one
    message, but never disables the channel over a code nobody understood.
    """
    known = table.get(code)
    permanent, meaning = known if known is not None else (False, "unknown error code")
    return DeliveryError(
        f"{label} {code}: {msg} ({meaning})",
        permanent=permanent,
        code=str(code),
        retry_after=(retry_after or {}).get(code),
        message_only=code in message_only,
        unknown=known is None,
    )
