"""Typed 1688 errors: the gateway and business error envelopes mapped to SupplierError subclasses.

Each error says whether a retry can help (``permanent``) and what the user should do (``hint``).
Transient: timeouts, network errors, 5xx, ``gw.Qos*`` throttling, a malformed body.
Permanent: signature, app key, ACL, missing parameter, unsupported API, no usage left.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from stockwatch.ports import SupplierError


class GatewayError(SupplierError):
    """A 1688 call failed; ``hint`` tells the user what to fix."""

    hint: str = ""
    default_permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        permanent: bool | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        status: int | None = None,
    ) -> None:
        perm = self.default_permanent if permanent is None else permanent
        self.request_id = request_id
        self.status = status
        if hint is not None:
            self.hint = hint
        text = message if not self.hint else f"{message} — {self.hint}"
        if request_id:
            text += f" (request_id {request_id})"
        super().__init__(text, permanent=perm, code=code)


class TransientError(GatewayError):
    """Timeout, connection failure or 5xx: worth a retry with backoff."""

    default_permanent = False


class MalformedResponseError(GatewayError):
    """The body is not the JSON the API promises (truncated, HTML, wrong types)."""

    default_permanent = False
    hint = "the gateway answered with an unreadable body; it is retried, the reading is skipped"


class ThrottledError(GatewayError):
    """``gw.QosAppFrequencyLimit`` and friends: slow down and retry."""

    default_permanent = False
    hint = "lower [gateway] qps or raise the app's flow-control quota in the 1688 console"


class SignatureError(GatewayError):
    hint = (
        "check [gateway] app_secret (STOCKWATCH_1688_APP_SECRET); signatures sort the key+value "
        "strings, not the keys"
    )


class AppKeyError(GatewayError):
    hint = "check [gateway] app_key: it must be the numeric AppKey of your 1688 application"


class ApiUnsupportedError(GatewayError):
    hint = "the API name, namespace or version does not exist; check the [gateway] settings"


class AclDeclinedError(GatewayError):
    hint = (
        "the app is not granted this API: subscribe the solution package (解决方案) that "
        "contains it in the 1688 open platform console"
    )


class ParamMissingError(GatewayError):
    hint = "a required parameter was not sent; this is a stockwatch bug, please report it"


class NoUsageLeftError(GatewayError):
    hint = "the paid API quota is used up until the next billing cycle; buy more or wait"


class AuthError(GatewayError):
    """The access token is missing, invalid or expired (``401``)."""

    hint = "run `stockwatch auth login` to authorize the app again"


class ReauthorizationRequired(AuthError):
    """No usable refresh token: a person has to authorize the app in a browser again."""


class BusinessError(GatewayError):
    """The API ran and refused (``success:false``, ``errorCode``, ``errMsg``)."""


class OfferNotFoundError(BusinessError):
    """``商品[…]不存在``: the offer is deleted or never existed."""


class NoPermissionError(BusinessError):
    hint = "create the listing relationship first (alibaba.cross.syncProductListPushed)"


_GATEWAY: dict[str, type[GatewayError]] = {
    "gw.SignatureInvalid": SignatureError,
    "gw.SignatureMissing": SignatureError,
    "gw.AppKeyMissing": AppKeyError,
    "gw.AppKeyNotFound": AppKeyError,
    "gw.APIUnsupported": ApiUnsupportedError,
    "gw.APIACLDecline": AclDeclinedError,
    "gw.ParamMissing": ParamMissingError,
    "gw.QosAppFrequencyLimit": ThrottledError,
    "gw.QosAPIFrequencyLimit": ThrottledError,
    "gw.QosRequestLimit": ThrottledError,
    "gw.NoUsageLeftError": NoUsageLeftError,
    "401": AuthError,
}
_TOKEN_TEXTS = ("need user authorized", "authorization is required", "token")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def error_from_body(body: Mapping[str, Any], status: int) -> GatewayError | None:
    """Return the error a decoded JSON body carries, or None for a success (reference §6.1)."""
    request_id = _text(body.get("request_id")) or None
    code = body.get("error_code")
    if code not in (None, ""):
        code = _text(code)
        message = _text(body.get("error_message") or body.get("exception")) or code
        cls = _GATEWAY.get(code)
        if cls is None:
            if code.startswith("gw.Qos"):
                cls = ThrottledError
            elif code.startswith("gw.Signature"):
                cls = SignatureError
            elif code.startswith("isp.") or status >= 500:
                cls = TransientError
            elif any(t in message.lower() for t in _TOKEN_TEXTS) or status == 401:
                cls = AuthError
            else:
                cls = GatewayError
        return cls(f"1688 {code}: {message}", code=code, request_id=request_id, status=status)
    if body.get("success") is False or _text(body.get("errorCode")) or _text(body.get("errMsg")):
        code = _text(body.get("errorCode") or body.get("code")) or None
        message = _text(
            body.get("errorMessage") or body.get("message") or body.get("errMsg") or "failed"
        )
        if "不存在" in message:
            return OfferNotFoundError(f"1688 business error: {message}", code=code, status=status)
        if "权限" in message:
            return NoPermissionError(f"1688 business error: {message}", code=code, status=status)
        label = f"1688 business error {code}" if code else "1688 business error"
        return BusinessError(f"{label}: {message}", code=code, status=status)
    return None


def decode_body(text: str, status: int) -> dict[str, Any]:
    """Decode a response body, raising MalformedResponseError when it is not a JSON object."""
    try:
        body = json.loads(text)
    except ValueError:
        snippet = text[:80].replace("\n", " ")
        raise MalformedResponseError(
            f"1688 answered HTTP {status} with a body that is not JSON: {snippet!r}", status=status
        ) from None
    if not isinstance(body, dict):
        raise MalformedResponseError(
            f"1688 answered HTTP {status} with JSON {type(body).__name__}, expected an object",
            status=status,
        )
    return body
