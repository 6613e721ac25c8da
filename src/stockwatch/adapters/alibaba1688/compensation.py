"""The push compensation API (§5.4): messages 1688 kept because a delivery failed.

``push.cursor.messageList`` returns up to 200 kept messages and confirms them as it returns
them, so it is called until the list is empty. Each becomes a stored ``PushMessage`` exactly as
if it had been pushed (same ``msgId``: one already received is not applied twice).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stockwatch.adapters.alibaba1688.client import Api, GatewayClient
from stockwatch.ports import PushMessage

CURSOR_MESSAGES = Api("cn.alibaba.open", "push.cursor.messageList")
BATCH = 200  # the API's maximum
MAX_ROUNDS = 50  # 10,000 messages per pass; the rest wait for the next pass


def _born(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def to_push_message(entry: dict[str, Any], received_at: datetime) -> PushMessage | None:
    """Return a kept message as the push receiver would have stored it (None if malformed)."""
    msg_id, topic = entry.get("msgId"), entry.get("type")
    if msg_id in (None, "") or not isinstance(topic, str) or not topic:
        return None
    envelope = {
        "msgId": msg_id,
        "type": topic,
        "userInfo": entry.get("userInfo"),
        "gmtBorn": entry.get("gmtBorn"),
        "data": entry.get("data"),
        "bizKey": entry.get("bizKey", ""),
    }
    return PushMessage(str(msg_id), topic, _born(entry.get("gmtBorn")), received_at, envelope)


async def kept_messages(client: GatewayClient, received_at: datetime) -> list[PushMessage]:
    """Drain ``push.cursor.messageList``; return the messages in the order 1688 kept them."""
    out: list[PushMessage] = []
    for _ in range(MAX_ROUNDS):
        body = await client.call(CURSOR_MESSAGES, {"quantity": BATCH}, authorized=False)
        batch = body.get("pushMessageList") or []
        for entry in batch:
            if isinstance(entry, dict):
                message = to_push_message(entry, received_at)
                if message is not None:
                    out.append(message)
        if len(batch) < BATCH:
            break
    return out
