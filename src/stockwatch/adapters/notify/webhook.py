"""Generic webhook: a JSON POST signed with HMAC-SHA256 so receivers can verify it.

``webhook+https://host/path?secret=…``. Headers: ``X-Stockwatch-Event``,
``X-Stockwatch-Delivery`` (the idempotency key: a resend carries the same one),
``X-Stockwatch-Timestamp`` and ``X-Stockwatch-Signature: sha256=<hex HMAC(secret, ts.body)>``.
The body holds the whole notice with its inputs, so a receiver can act without asking back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar
from urllib.parse import urlencode

from stockwatch.adapters.notify.base import HttpChannel, http_status_error
from stockwatch.adapters.notify.render import notices_of
from stockwatch.ports import DeliveryError, OutgoingMessage

SIGNATURE_HEADER = "X-Stockwatch-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body).encode(), header.encode())


def event_of(message: OutgoingMessage) -> str:
    if message.kind == "test":
        return "test"
    if message.kind == "resolved":
        return "recovery"
    if message.kind in ("digest", "daily_digest"):
        return "digest"
    if message.kind == "worsened":
        return "escalation"
    return "alert"


class WebhookChannel(HttpChannel):
    scheme: ClassVar[str] = "webhook+https"

    @classmethod
    def aliases(cls) -> tuple[str, ...]:
        return ("webhook+http",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret = self.url.get("secret")
        target_scheme = self.url.scheme.split("+", 1)[1]
        rest = [(k, v) for k, v in self.url.params if k not in ("secret", "lang", "timeout")]
        port = f":{self.url.port}" if self.url.port else ""
        self.target = f"{target_scheme}://{self.url.host}{port}{self.url.path or '/'}" + (
            "?" + urlencode(rest) if rest else ""
        )

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        return {
            "version": "1",
            "event": event_of(message),
            "delivery": message.idempotency_key,
            "kind": message.kind,
            "tier": message.tier,
            "title": message.title,
            "text": message.text,
            "notifications": [dict(n) for n in notices_of(message)],
            "payload": dict(message.payload),
        }

    async def send(self, message: OutgoingMessage) -> str:
        raw = json.dumps(self.body(message), ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = str(int(self.clock().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Stockwatch-Event": event_of(message),
            "X-Stockwatch-Delivery": message.idempotency_key,
            "X-Stockwatch-Timestamp": timestamp,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, timestamp, raw)
        response = await self.post(self.target, content=raw, headers=headers)
        if 200 <= response.status_code < 300:
            return f"HTTP {response.status_code} {response.text[:500]}".strip()
        error: DeliveryError = http_status_error(self.name, response)
        raise error
