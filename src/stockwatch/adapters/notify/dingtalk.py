"""DingTalk custom robot: signed URL, markdown/actionCard/text, @mobiles, in-body error codes.

``dingtalk://TOKEN@/?secret=SEC…&keyword=库存&mobiles=138…&msgtype=markdown|actioncard|text``.
DingTalk answers HTTP 200 even when it rejects a message, so the body's ``errcode`` decides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, ClassVar

from stockwatch.adapters.notify.base import (
    HttpChannel,
    classify_code,
    fit_bytes,
    http_status_error,
    json_body,
)
from stockwatch.adapters.notify.render import render
from stockwatch.ports import ChannelLimits, DeliveryError, OutgoingMessage

MAX_BODY_BYTES = 20000

# errcode → (permanent, what it means). Unknown codes: transient with a limit (classify_code).
ERRORS: dict[int, tuple[bool, str]] = {
    130101: (False, "rate limited (20/min); the robot is blocked for 10 minutes"),
    90030: (False, "webhook over limit"),
    -1: (False, "system busy"),
    310000: (True, "security check failed: keyword, signature, timestamp or IP allowlist"),
    300001: (True, "token does not exist: disable the channel"),
    300005: (True, "token does not exist"),
    460101: (True, "message body too large"),
    400102: (True, "robot disabled"),
}
BLOCK_SECONDS = 600.0
MESSAGE_ONLY = {460101}  # about the message, not the robot: the channel stays enabled


def sign(secret: str, timestamp_ms: int) -> str:
    """Return the raw base64 DingTalk signature for ``timestamp_ms`` (not URL-encoded)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def classify(errcode: int, errmsg: str) -> DeliveryError:
    return classify_code(
        "dingtalk errcode",
        ERRORS,
        errcode,
        errmsg,
        retry_after={130101: BLOCK_SECONDS},
        message_only=MESSAGE_ONLY,
    )


class DingTalkChannel(HttpChannel):
    scheme: ClassVar[str] = "dingtalk"
    default_endpoint: ClassVar[str] = "https://oapi.dingtalk.com"
    # 20/min per robot, and going over blocks it for 10 min: keep a margin on the window.
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        per_window=20, window_seconds=62.0, max_digest_items=80
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret = self.url.get("secret")
        self.keyword = self.url.get("keyword")
        self.mobiles = self.url.get_list("mobiles")
        self.user_ids = self.url.get_list("userids")
        self.msgtype = (self.url.get("msgtype") or "markdown").lower()

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        lang = self.lang_for(message)
        mention = message.mention and bool(self.mobiles or self.user_ids)
        # The phone numbers must also appear in the text for the @ to ring.
        mention_line = " ".join(f"@{m}" for m in self.mobiles) if mention else ""
        at = {
            "atMobiles": self.mobiles if mention else [],
            "atUserIds": self.user_ids if mention else [],
            "isAtAll": False,
        }
        if self.msgtype == "text":
            r = render(
                message,
                "txt",
                escape="text",
                lang=lang,
                mention_line=mention_line,
                keyword=self.keyword,
            )
            return {"msgtype": "text", "text": {"content": r.body}, "at": at}
        r = render(
            message,
            "md",
            escape="markdown",
            lang=lang,
            mention_line=mention_line,
            keyword=self.keyword,
        )
        text, title = r.body, r.title
        link = _first_link(message)
        if self.msgtype == "actioncard" and link:
            button = "查看详情" if lang == "zh-CN" else "Details"
            return {
                "msgtype": "actionCard",
                "actionCard": {
                    "title": title,
                    "text": text,
                    "btnOrientation": "0",
                    "singleTitle": button,
                    "singleURL": link,
                },
            }
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}

    def fits(self, message: OutgoingMessage) -> bool:
        return len(json.dumps(self.payload(message), ensure_ascii=False).encode()) <= MAX_BODY_BYTES

    async def send(self, message: OutgoingMessage) -> str:
        body = self.payload(message)
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if len(raw) > MAX_BODY_BYTES:
            # Cut the text rather than lose the alert; the digest sizing keeps this rare.
            section = body.get("markdown") or body.get("actionCard") or body["text"]
            key = "content" if "content" in section else "text"
            overhead = len(raw) - len(section[key].encode("utf-8"))
            section[key] = fit_bytes(section[key], MAX_BODY_BYTES - overhead - 64)
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        params: dict[str, str] = {"access_token": self.url.user}
        if self.secret:
            timestamp = int(self.clock().timestamp() * 1000)
            params["timestamp"] = str(timestamp)
            params["sign"] = sign(self.secret, timestamp)  # httpx percent-encodes it once
        response = await self.post(
            f"{self.endpoint}/robot/send",
            params=params,
            content=raw,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        answer = response.text
        if response.status_code >= 400:
            raise http_status_error(self.name, response)
        data = json_body(self.name, response)
        errcode = int(data.get("errcode", -1))
        if errcode != 0:
            error = classify(errcode, str(data.get("errmsg", "")))
            error.answer = answer
            raise error
        return answer


def _first_link(message: OutgoingMessage) -> str:
    item = message.payload.get("item")
    if isinstance(item, dict):
        return str(item.get("item_url") or item.get("offer_url") or "")
    link = message.payload.get("link")
    return str(link) if link else ""
