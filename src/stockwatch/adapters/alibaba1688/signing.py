"""Request and push signatures exactly as the official 1688 SDKs compute them.

``_aop_signature`` = uppercase hex HMAC-SHA1(appSecret, urlPath + join(sorted(key + value))).
The *concatenated* ``key + value`` strings are sorted, not the keys (reference §2.1, Ex. 5).
Values are signed as the exact strings sent: see :func:`to_wire`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

SIGNATURE_PARAM = "_aop_signature"
CHINA = timezone(timedelta(hours=8))


def sign(url_path: str, params: Mapping[str, str], secret: str) -> str:
    """Return the ``_aop_signature`` of a request to ``url_path`` carrying ``params``."""
    joined = "".join(sorted(k + v for k, v in params.items() if k != SIGNATURE_PARAM))
    message = (url_path + joined).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha1).hexdigest().upper()


def sign_push(params: Mapping[str, str], secret: str) -> str:
    """Return the signature of a push message form (``message`` + JSON text, no urlPath)."""
    return sign("", params, secret)


def verify_push(params: Mapping[str, str], secret: str) -> bool:
    """Return whether a received push form (URL-decoded) carries a valid ``_aop_signature``."""
    given = params.get(SIGNATURE_PARAM, "")
    return hmac.compare_digest(given.upper().encode(), sign_push(params, secret).encode())


def format_date(value: datetime) -> str:
    """Return ``value`` in the 1688 date format ``yyyyMMddHHmmssSSS+0800`` (Shanghai time)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: 1688 dates need a timezone")
    local = value.astimezone(CHINA)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}+0800"


def parse_date(text: str) -> datetime:
    """Parse ``yyyyMMddHHmmssSSS+0800`` (the offset may be any ``±hhmm``) to an aware UTC time."""
    text = text.strip()
    if len(text) != 22 or text[17] not in "+-" or not (text[:17] + text[18:]).isdigit():
        raise ValueError(f"not a 1688 date (yyyyMMddHHmmssSSS+0800): {text!r}")
    sign_ = 1 if text[17] == "+" else -1
    offset = timedelta(hours=int(text[18:20]), minutes=int(text[20:22])) * sign_
    local = datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(
        microsecond=int(text[14:17]) * 1000, tzinfo=timezone(offset)
    )
    return local.astimezone(UTC)


def to_wire(value: Any) -> str | None:
    """Return the wire string of a parameter value; None means "do not send (nor sign)"."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"cannot send a non-finite number: {value}")
        return format(Decimal(repr(value)), "f")  # plain decimal, never an exponent
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return format_date(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    raise TypeError(f"cannot send a {type(value).__name__} as a 1688 parameter")


def wire_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Return the parameters as the strings to sign and send, leaving out None values."""
    out: dict[str, str] = {}
    for key, value in params.items():
        text = to_wire(value)
        if text is not None:
            out[key] = text
    return out
