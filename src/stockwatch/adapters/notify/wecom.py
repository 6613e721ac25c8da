"""WeCom (企业微信) group robot: markdown or text, mentions, in-body error codes.

``wecom://KEY@/?msgtype=markdown|text&mentions=userid,@all&mobiles=138…``. No signing: the key
in the URL is the credential. Mentions: ``<@userid>`` in markdown; ``mentioned_*`` lists in text.
"""

from __future__ import annotations

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

MAX_MARKDOWN_BYTES = 4096
MAX_TEXT_BYTES = 2048

ERRORS: dict[int, tuple[bool, str]] = {
    45009: (False, "api frequency out of limit"),
    -1: (False, "system busy"),
    93000: (True, "invalid webhook url: bad or removed key, disable the channel"),
    40008: (True, "invalid message type"),
    40058: (True, "message content invalid or too long"),
    44004: (True, "empty message content"),
    93004: (True, "robot was removed from the group"),
}


def classify(errcode: int, errmsg: str) -> DeliveryError:
    # 40058 is this message's content, not the robot.
    return classify_code(
        "wecom errcode", ERRORS, errcode, errmsg, retry_after={45009: 60.0}, message_only={40058}
    )


class WeComChannel(HttpChannel):
    scheme: ClassVar[str] = "wecom"
    default_endpoint: ClassVar[str] = "https://qyapi.weixin.qq.com"
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        per_window=20, window_seconds=62.0, max_digest_items=18
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.msgtype = (self.url.get("msgtype") or "markdown").lower()
        self.mentions = self.url.get_list("mentions")
        self.mobiles = self.url.get_list("mobiles")
        self.keyword = self.url.get("keyword")

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        lang = self.lang_for(message)
        if self.msgtype == "text":
            r = render(message, "txt", escape="text", lang=lang, keyword=self.keyword)
            text: dict[str, Any] = {"content": fit_bytes(r.body, MAX_TEXT_BYTES)}
            if message.mention:
                text["mentioned_list"] = self.mentions
                text["mentioned_mobile_list"] = self.mobiles
            return {"msgtype": "text", "text": text}
        mention_line = (
            " ".join("@all" if m == "@all" else f"<@{m}>" for m in self.mentions)
            if message.mention
            else ""
        )
        r = render(
            message,
            "md",
            escape="wecom",
            lang=lang,
            mention_line=mention_line,
            keyword=self.keyword,
        )
        body = r.body
        if message.tier in ("T3", "OUT"):
            # WeCom colours: warning is orange-red; the heading line carries the tier.
            first, _, rest = body.partition("\n")
            body = f'{first}\n<font color="warning">{message.tier}</font>\n{rest}'
        return {"msgtype": "markdown", "markdown": {"content": fit_bytes(body, MAX_MARKDOWN_BYTES)}}

    def fits(self, message: OutgoingMessage) -> bool:
        # payload() cuts at the limit; measure what it would have cut.
        lang = self.lang_for(message)
        if self.msgtype == "text":
            r = render(message, "txt", escape="text", lang=lang, keyword=self.keyword)
            return len(r.body.encode()) <= MAX_TEXT_BYTES
        r = render(message, "md", escape="wecom", lang=lang, keyword=self.keyword)
        # Room for the mention line and the coloured tier line payload() may add.
        return len(r.body.encode()) + 200 <= MAX_MARKDOWN_BYTES

    async def send(self, message: OutgoingMessage) -> str:
        body = self.payload(message)
        response = await self.post(
            f"{self.endpoint}/cgi-bin/webhook/send",
            params={"key": self.url.user},
            content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        if response.status_code >= 400:
            raise http_status_error(self.name, response)
        data = json_body(self.name, response)
        errcode = int(data.get("errcode", -1))
        if errcode != 0:
            error = classify(errcode, str(data.get("errmsg", "")))
            error.answer = response.text
            raise error
        return response.text
