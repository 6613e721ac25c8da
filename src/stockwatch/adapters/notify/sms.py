"""SMS: one channel, pluggable providers; Aliyun dysms ``SendSms`` (RPC signature v1) first.

``aliyunsms://ACCESS_KEY_ID:ACCESS_KEY_SECRET@/?sign=签名&template=SMS_123&phones=138…``.
The approved template receives string variables ``sku``, ``tier``, ``stock``, ``cover``,
``count``; a digest sends one SMS naming the worst item and the count. ``OutId`` carries our
idempotency key, so receipts and duplicates can be matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from stockwatch.adapters.notify.base import (
    Clock,
    HttpChannel,
    http_status_error,
    is_transient_status,
    json_body,
)
from stockwatch.adapters.notify.render import lang_of, notices_of
from stockwatch.ports import ChannelLimits, DeliveryError, OutgoingMessage

TRANSIENT_CODES = {"isp.SYSTEM_ERROR", "isv.BUSINESS_LIMIT_CONTROL", "Throttling.User"}
# Codes Aliyun documents as permanent (alert-channels.md §5); any other code is transient with
# a limit (the worker's unknown-code allowance), never a reason to switch the channel off.
PERMANENT_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_JSON_PARAM",
    "isv.INVALID_PARAMETERS",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.OUT_OF_SERVICE",
    "isv.ACCOUNT_ABNORMAL",
    "isv.PRODUCT_UNSUBSCRIBE",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "InvalidTimeStamp.Expired",
}
# Rejections of this one message (a bad number, a parameter too long); the channel stays on.
MESSAGE_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.TEMPLATE_MISSING_PARAMETERS",
}


def pe(value: str) -> str:
    """Percent-encode per RFC 3986, as Aliyun's RPC signature requires."""
    return quote(value, safe="-_.~")


def rpc_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """Return the v1 RPC signature (HMAC-SHA1 over the canonical query), base64, not encoded."""
    canon = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{pe('/')}&{pe(canon)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class SmsProvider(Protocol):
    """One SMS vendor behind the SMS channel."""

    async def send_sms(
        self, phones: Sequence[str], params: Mapping[str, str], out_id: str
    ) -> str: ...

    async def aclose(self) -> None: ...


class AliyunSms:
    def __init__(
        self,
        channel: HttpChannel,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template: str,
        region: str,
        clock: Clock,
    ) -> None:
        self.channel = channel
        self.key_id = access_key_id
        self.secret = access_key_secret
        self.sign_name = sign_name
        self.template = template
        self.region = region
        self.clock = clock

    def request_params(
        self, phones: Sequence[str], params: Mapping[str, str], out_id: str
    ) -> dict[str, str]:
        query = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out_id,
            "PhoneNumbers": ",".join(phones),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        query["Signature"] = rpc_signature(query, self.secret, "POST")
        return query

    async def send_sms(self, phones: Sequence[str], params: Mapping[str, str], out_id: str) -> str:
        form = self.request_params(phones, params, out_id)
        body = "&".join(f"{pe(k)}={pe(v)}" for k, v in form.items())
        response = await self.channel.post(
            f"{self.channel.endpoint}/",
            content=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if is_transient_status(response):  # the status first: 5xx and 429 always retry
            raise http_status_error(self.channel.name, response)
        try:
            data = json_body(self.channel.name, response)
        except DeliveryError:
            if response.status_code >= 400:
                raise http_status_error(self.channel.name, response) from None
            raise
        code = str(data.get("Code", ""))
        if code == "OK":
            return response.text
        known = code in PERMANENT_CODES or code in TRANSIENT_CODES
        raise DeliveryError(
            f"aliyun sms {code or 'HTTP ' + str(response.status_code)}: {data.get('Message', '')}",
            permanent=code in PERMANENT_CODES,
            message_only=code in MESSAGE_CODES,
            code=code or None,
            answer=response.text,
            retry_after=3600.0 if code == "isv.BUSINESS_LIMIT_CONTROL" else None,
            unknown=not known,
        )

    async def aclose(self) -> None:
        return None


def template_params(message: OutgoingMessage) -> dict[str, str]:
    """Map a notice (or the worst notice of a digest) to the template's string variables."""
    notices = notices_of(message)
    lang = lang_of(message)
    if not notices:
        return {"sku": "-", "tier": message.tier, "stock": "-", "cover": "-", "count": "0"}
    worst = min(notices, key=_urgency)
    item = worst.get("item") or {}
    reading = worst.get("reading") or {}
    cover = worst.get("days_of_cover")
    sku = str(item.get("sku") or item.get("key") or "-")[:20]
    if len(notices) > 1:
        sku += f"等{len(notices)}项" if lang == "zh-CN" else f" +{len(notices) - 1}"
    return {
        "sku": sku,
        "tier": str(worst.get("tier", message.tier)),
        "stock": str(reading.get("available", "-")),
        "cover": "-" if cover is None else f"{float(cover):.1f}",
        "count": str(len(notices)),
    }


def _urgency(notice: Mapping[str, Any]) -> tuple[int, float]:
    order = {"OUT": 0, "T3": 1, "T2": 2, "T1": 3}
    cover = notice.get("days_of_cover")
    return order.get(str(notice.get("tier")), 9), float("inf") if cover is None else float(cover)


def out_id(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


class SmsChannel(HttpChannel):
    scheme: ClassVar[str] = "aliyunsms"
    default_endpoint: ClassVar[str] = "https://dysmsapi.aliyuncs.com"
    # Aliyun allows 50 notifications per number per day: group bursts into one SMS.
    limits: ClassVar[ChannelLimits] = ChannelLimits(
        per_window=6, window_seconds=3600.0, max_digest_items=1000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phones = self.url.get_list("phones")
        self.provider: SmsProvider = AliyunSms(
            self,
            self.url.user,
            self.url.password,
            self.url.get("sign"),
            self.url.get("template"),
            self.url.get("region") or "cn-hangzhou",
            self.clock,
        )

    async def send(self, message: OutgoingMessage) -> str:
        return await self.provider.send_sms(
            self.phones, template_params(message), out_id(message.idempotency_key)
        )
