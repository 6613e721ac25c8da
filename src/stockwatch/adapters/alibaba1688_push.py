"""Receive 1688 push messages (消息订阅, HTTP callback): verify, parse, interpret.

Written from 1688-open-api.md §5 independently of the client and simulator (issue #4), so the
two implementations of the signature check each other.

- The callback is a form POST with ``message`` (JSON text) and ``_aop_signature`` (§5.2).
- Signature: HMAC-SHA1(appSecret, concatenation of sorted ``key + value`` of every received
  parameter except ``_aop_signature``), uppercase hex, no urlPath; compared case-insensitively.
- ``msgId`` is the idempotency key; ``gmtBorn`` and each entry's ``bizTime`` are epoch ms (§5.3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from stockwatch.ports import InventoryChange, PushEffect, PushMessage

INVENTORY_TOPIC = "PRODUCT_PRODUCT_INVENTORY_CHANGE"
# Order events after which stock may have moved (§5.6): created, paid, closed, refunded.
ORDER_TOPICS = frozenset(
    {
        "ORDER_BUYER_MAKE",
        "ORDER_PAY",
        "ORDER_BATCH_PAY",
        "ORDER_ORDER_BUYER_CLOSE",
        "ORDER_ORDER_SELLER_CLOSE",
        "ORDER_ORDER_BOPS_CLOSE",
        "ORDER_ORDER_BUYER_REFUND_IN_SALES",
        "ORDER_ORDER_REFUND_AFTER_SALES",
        "ORDER_BUYER_VIEW_BUYER_MAKE",
        "ORDER_BUYER_VIEW_ORDER_PAY",
        "ORDER_BUYER_VIEW_ORDER_BUYER_CLOSE",
        "ORDER_BUYER_VIEW_ORDER_SELLER_CLOSE",
        "ORDER_BUYER_VIEW_ORDER_BOPS_CLOSE",
        # the merchant's purchases: shipped, partly shipped, received, completed
        "ORDER_BUYER_VIEW_ANNOUNCE_SENDGOODS",
        "ORDER_BUYER_VIEW_PART_PART_SENDGOODS",
        "ORDER_BUYER_VIEW_ORDER_COMFIRM_RECEIVEGOODS",
        "ORDER_BUYER_VIEW_ORDER_SUCCESS",
    }
)
SIGNATURE_FIELD = "_aop_signature"


class PushRejected(ValueError):
    """A push request that is not a valid 1688 message; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def push_signature(params: Mapping[str, str], secret: str) -> str:
    """Return the uppercase hex HMAC-SHA1 of the sorted ``key + value`` strings."""
    joined = "".join(sorted(k + v for k, v in params.items() if k != SIGNATURE_FIELD))
    return hmac.new(secret.encode(), joined.encode(), hashlib.sha1).hexdigest().upper()


def verify_push(params: Mapping[str, str], secret: str) -> None:
    """Raise PushRejected (401) unless ``_aop_signature`` matches."""
    given = params.get(SIGNATURE_FIELD, "")
    if not given:
        raise PushRejected("missing _aop_signature", 401)
    if not hmac.compare_digest(given.upper().encode(), push_signature(params, secret).encode()):
        raise PushRejected("bad _aop_signature", 401)


MAX_NESTING = 32  # real envelopes nest 4 levels deep
MAX_ID_LENGTH = 100  # msgId is a long, type a topic name


def _nesting(text: str) -> int:
    """Return the deepest bracket nesting of JSON text (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _ms(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        raise PushRejected(f"bad epoch-ms time {value!r}", 400) from None


def parse_push(params: Mapping[str, str], received_at: datetime) -> PushMessage:
    """Return the message in a verified request; raise PushRejected (400) on a bad envelope."""
    text = params.get("message")
    if not text:
        raise PushRejected("missing message field", 400)
    brackets = text.count("[") + text.count("{")
    if brackets > MAX_NESTING and _nesting(text) > MAX_NESTING:
        # json.loads would recurse once per level: 100,000 levels end in a RecursionError.
        raise PushRejected(f"message is nested deeper than {MAX_NESTING} levels", 400)
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PushRejected(f"message is not JSON: {exc.msg}", 400) from None
    if not isinstance(envelope, dict):
        raise PushRejected("message is not a JSON object", 400)
    try:
        # A lone surrogate (\ud800) parses but cannot be stored: the store would fail on every
        # redelivery and 1688 would retry for ever. It is the sender's mistake: 400.
        json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise PushRejected("message contains text that is not valid Unicode", 400) from None
    msg_id = envelope.get("msgId")
    topic = envelope.get("type")
    if msg_id in (None, "") or not isinstance(topic, str) or not topic:
        raise PushRejected("message lacks msgId or type", 400)
    if len(str(msg_id)) > MAX_ID_LENGTH or len(topic) > MAX_ID_LENGTH:
        raise PushRejected(f"msgId or type longer than {MAX_ID_LENGTH} characters", 400)
    return PushMessage(
        msg_id=str(msg_id),
        topic=topic,
        born_at=_ms(envelope.get("gmtBorn")),
        received_at=received_at,
        payload=envelope,
    )


MAX_STOCK = 2**31 - 1  # the readings column is a 32-bit integer on both databases


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("boolean")
    number = float(value)
    # inf/nan (JSON 1e400) and absurd sizes would fail later, in the batch insert, and block
    # every push queued behind this one.
    if not math.isfinite(number) or abs(number) > MAX_STOCK:
        raise ValueError(f"{value!r} is not a plausible stock quantity")
    if number != int(number):
        raise ValueError(f"{value!r} is not whole")
    return int(number)


def interpret(message: PushMessage) -> PushEffect:
    """Return what a message means: inventory → new stock per SKU; order → re-read items."""
    if message.topic in ORDER_TOPICS:
        return PushEffect(recheck_all=True, orders=True)
    if message.topic != INVENTORY_TOPIC:
        return PushEffect()
    data = message.payload.get("data")
    entries = data.get("OfferInventoryChangeList") if isinstance(data, dict) else None
    changes: list[InventoryChange] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("offerId") in (None, ""):
            continue
        try:
            sku_id = entry.get("skuId")
            # §5.6: store skuOnSale as the SKU's stock, never offerOnSale, when a SKU is named.
            on_sale = _int(entry["skuOnSale"] if sku_id not in (None, "") else entry["offerOnSale"])
            at = _ms(entry.get("bizTime")) or message.born_at or message.received_at
        except (KeyError, TypeError, ValueError, PushRejected):
            continue
        changes.append(
            InventoryChange(
                str(entry["offerId"]), None if sku_id in (None, "") else str(sku_id), on_sale, at
            )
        )
    return PushEffect(changes=tuple(changes))
