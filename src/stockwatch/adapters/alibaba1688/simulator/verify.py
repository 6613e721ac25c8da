"""Signature verification as the gateway does it (reference §2.4), written apart from the client.

Kept independent of ``alibaba1688.signing`` on purpose: if both sides shared one bug, every
contract test would still pass.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

_HEX40 = re.compile(r"^[0-9A-Fa-f]{40}$")


def _hmac_sha1_upper(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1)
    return digest.hexdigest().upper()


def official_string(url_path: str, params: Mapping[str, str]) -> str:
    """urlPath + the sorted ``key+value`` concatenations (the official order)."""
    pieces = []
    for key in params:
        if key == "_aop_signature":
            continue
        pieces.append(key + params[key])
    pieces.sort()
    return url_path + "".join(pieces)


def key_sorted_string(url_path: str, params: Mapping[str, str]) -> str:
    """The common third-party mistake: sort the keys, then concatenate."""
    keys = sorted(k for k in params if k != "_aop_signature")
    return url_path + "".join(k + params[k] for k in keys)


def expected_signature(url_path: str, params: Mapping[str, str], secret: str) -> str:
    return _hmac_sha1_upper(secret, official_string(url_path, params))


def check(url_path: str, params: Mapping[str, str], secret: str) -> tuple[str, str] | None:
    """Return None when the signature is right, else (error_code, message)."""
    given = params.get("_aop_signature")
    if not given or not _HEX40.match(given):
        return "gw.SignatureMissing", "Signature missing or malformed (expected 40 hex chars)"
    if hmac.compare_digest(given.upper(), expected_signature(url_path, params, secret)):
        return None
    if hmac.compare_digest(
        given.upper(), _hmac_sha1_upper(secret, key_sorted_string(url_path, params))
    ):
        return (
            "gw.SignatureInvalid",
            "Signature invalid: the client sorted by key; sort the key+value strings instead",
        )
    return "gw.SignatureInvalid", "Signature invalid"


def push_signature(message: str, secret: str) -> str:
    """What the platform puts in a push's ``_aop_signature``: HMAC-SHA1 of "message"+JSON."""
    return _hmac_sha1_upper(secret, "message" + message)
