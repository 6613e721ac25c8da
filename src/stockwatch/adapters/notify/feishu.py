"""Feishu / Lark custom bot: signed body, interactive card, post or text, in-body codes.

``feishu://TOKEN@/?secret=…&msgtype=interactive|post|text&keyword=库存`` (``lark://`` for Lark).
The signature differs from DingTalk's: the HMAC *key* is ``timestamp + "\\n" + secret`` over an
empty message, the timestamp is in seconds, and both go in the JSON body.
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
    is_transient_status,
    json_body,
)
from stockwatch.adapters.notify.render import render
from stockwatch.ports import ChannelLimits, DeliveryError, OutgoingMessage

MAX_BODY_BYTES = 20000

ERRORS: dict[int, tuple[bool, str]] = {
    11232: (False, "frequency limit"),
    9499: (True, "bad request: malformed body or larger than 20 KB"),
    19021: (True, "signature mismatch or timestamp more than 1 h off"),
    19022: (True, "IP not allowed"),
    19024: (True, "keyword not found in the message"),
    19001: (True, "webhook token invalid: disable the channel"),
}

_TEMPLATE_COLOURS = {"T1": "blue", "T2": "orange", "T3": "red", "OUT": "red", "OK": "green"}


def sign(secret: str, timestamp_s: int) -> str:
    """Return the Feishu signature: HMAC-SHA256 keyed by ``ts\\nsecret`` over nothing."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def classify(code: int, msg: str) -> DeliveryError:
    # 9499 is this message's body (malformed or too large), not the bot.
    return classify_code(
        "feishu code", ERRORS, code, msg, retry_after={11232: 1.0}, message_only={9499}
    )


class FeishuChannel(HttpChannel):
    scheme: ClassVar[str] = "feishu"
    default_endpoint: ClassVar[str] = "https://open.feishu.cn"
    # 100/min and 5/s per bot: 5 per 3 s satisfies both (at most 100 in any minute).
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        per_window=5, window_seconds=3.2, max_digest_items=80
    )

    @classmethod
    def aliases(cls) -> tuple[str, ...]:
        return ("lark",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.url.scheme == "lark" and not self.url.get("endpoint"):
            self.endpoint = "https://open.larksuite.com"
        self.secret = self.url.get("secret")
        self.keyword = self.url.get("keyword")
        self.msgtype = (self.url.get("msgtype") or "interactive").lower()
        self.at = self.url.get_list("at")

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        lang = self.lang_for(message)
        mention = message.mention and bool(self.at)
        if self.msgtype == "text":
            # Feishu text reads <at user_id="…"> tags: user text is escaped so that only ours
            # (from the channel URL) can mention anyone.
            tags = "".join(f'<at user_id="{u}"></at>' for u in self.at) if mention else ""
            r = render(message, "txt", escape="feishu_text", lang=lang, keyword=self.keyword)
            return {"msg_type": "text", "content": {"text": r.body + tags}}
        if self.msgtype == "post":
            r = render(message, "txt", escape="feishu_text", lang=lang, keyword=self.keyword)
            lines: list[list[dict[str, Any]]] = [
                [{"tag": "text", "text": line}] for line in r.body.splitlines()[1:]
            ]
            if mention:
                lines.append([{"tag": "at", "user_id": u} for u in self.at])
            lang_key = "zh_cn" if lang == "zh-CN" else "en_us"
            return {
                "msg_type": "post",
                "content": {"post": {lang_key: {"title": r.title, "content": lines}}},
            }
        mention_line = " ".join(f'<at id="{u}"></at>' for u in self.at) if mention else ""
        r = render(
            message,
            "md",
            escape="lark",
            lang=lang,
            mention_line=mention_line,
            keyword=self.keyword,
        )
        # The card header repeats the title; drop the markdown heading line from the body.
        first, _, rest = r.body.partition("\n")
        content = rest if first.startswith("###") else r.body
        return {
            "msg_type": "interactive",
            "card": {
                "header": {
                    "title": {"tag": "plain_text", "content": r.title},
                    "template": _TEMPLATE_COLOURS.get(message.tier, "blue"),
                },
                "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": content}}],
            },
        }

    def fits(self, message: OutgoingMessage) -> bool:
        # The signature fields add under 100 bytes.
        raw = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        return len(raw) + 100 <= MAX_BODY_BYTES

    async def send(self, message: OutgoingMessage) -> str:
        body = self.payload(message)
        if self.secret:
            timestamp = int(self.clock().timestamp())
            body = {"timestamp": str(timestamp), "sign": sign(self.secret, timestamp), **body}
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if len(raw) > MAX_BODY_BYTES and body["msg_type"] == "interactive":
            element = body["card"]["elements"][0]["text"]
            overhead = len(raw) - len(element["content"].encode("utf-8"))
            element["content"] = fit_bytes(element["content"], MAX_BODY_BYTES - overhead - 64)
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = await self.post(
            f"{self.endpoint}/open-apis/bot/v2/hook/{self.url.user}",
            content=raw,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        # The status first: a 5xx or 429 is transient whatever its body's code says.
        if is_transient_status(response):
            raise http_status_error(self.name, response)
        try:
            data = json_body(self.name, response)
        except DeliveryError:
            if response.status_code >= 400:
                raise http_status_error(self.name, response) from None
            raise
        code = int(data.get("code", data.get("StatusCode", -1)))
        if code != 0:
            error = classify(code, str(data.get("msg", "")))
            error.answer = response.text
            raise error
        if response.status_code >= 400:
            raise http_status_error(self.name, response)
        return response.text
