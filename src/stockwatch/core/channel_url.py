"""Channel URLs: one string configures one delivery channel (the Apprise idea).

``dingtalk://TOKEN@/?secret=SEC…&keyword=库存``, ``wecom://KEY@/``, ``feishu://TOKEN@/?secret=…``,
``lark://TOKEN@/``, ``smtp://user:pass@host:587/?from=…&to=…``, ``smtps://…``,
``aliyunsms://KEYID:KEYSECRET@/?sign=…&template=SMS_…&phones=…``,
``webhook+https://host/path?secret=…``, ``task://``, ``console://``.

Every channel takes ``lang`` (zh-CN or en), ``timeout`` (seconds) and, for the HTTP providers,
``endpoint`` (the provider's base URL; tests point it at a loopback fake). URLs round-trip
through :func:`parse` and ``str()``; :meth:`ChannelUrl.redacted` hides every secret.
Pure: the standard library only, so configuration can validate URLs without the adapters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

_COMMON = frozenset({"lang", "timeout"})
_HTTP = _COMMON | {"endpoint"}


@dataclass(frozen=True)
class Scheme:
    """What a channel URL of one scheme may and must contain."""

    params: frozenset[str]
    secret_params: frozenset[str] = frozenset()
    needs_user: bool = False  # the token/key/user sits in the user part
    user_is_secret: bool = False
    needs_host: bool = False
    required: frozenset[str] = frozenset()
    open_params: bool = False  # other parameters pass through (webhook targets)


SCHEMES: dict[str, Scheme] = {
    "dingtalk": Scheme(
        _HTTP | {"secret", "keyword", "mobiles", "userids", "msgtype", "at_all"},
        frozenset({"secret"}),
        needs_user=True,
        user_is_secret=True,
    ),
    "wecom": Scheme(
        _HTTP | {"keyword", "mentions", "mobiles", "msgtype"},
        needs_user=True,
        user_is_secret=True,
    ),
    "feishu": Scheme(
        _HTTP | {"secret", "keyword", "msgtype", "at"},
        frozenset({"secret"}),
        needs_user=True,
        user_is_secret=True,
    ),
    "lark": Scheme(
        _HTTP | {"secret", "keyword", "msgtype", "at"},
        frozenset({"secret"}),
        needs_user=True,
        user_is_secret=True,
    ),
    "smtp": Scheme(
        _COMMON | {"from", "to", "tls", "subject_prefix"},
        needs_host=True,
        required=frozenset({"from", "to"}),
    ),
    "smtps": Scheme(
        _COMMON | {"from", "to", "subject_prefix"},
        needs_host=True,
        required=frozenset({"from", "to"}),
    ),
    "aliyunsms": Scheme(
        _HTTP | {"sign", "template", "phones", "region"},
        needs_user=True,
        required=frozenset({"sign", "template", "phones"}),
    ),
    "webhook+http": Scheme(
        _COMMON | {"secret"}, frozenset({"secret"}), needs_host=True, open_params=True
    ),
    "webhook+https": Scheme(
        _COMMON | {"secret"}, frozenset({"secret"}), needs_host=True, open_params=True
    ),
    "task": Scheme(_COMMON | {"lead_time_days"}),
    "console": Scheme(_COMMON | {"stream"}),
}

_MSGTYPES = {
    "dingtalk": ("markdown", "actioncard", "text"),
    "wecom": ("markdown", "text"),
    "feishu": ("interactive", "post", "text"),
    "lark": ("interactive", "post", "text"),
}
_PHONE = re.compile(r"^\+?\d{5,15}$")


class ChannelUrlError(ValueError):
    """A channel URL is malformed or lacks something its scheme needs."""


@dataclass(frozen=True)
class ChannelUrl:
    scheme: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: int | None = None
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def get_list(self, name: str) -> list[str]:
        return [part.strip() for part in self.get(name).split(",") if part.strip()]

    def __str__(self) -> str:
        return self._format(redact=False)

    def redacted(self) -> str:
        """Return the URL with tokens, passwords and secrets masked, fit for logs and the CLI."""
        return self._format(redact=True)

    def _format(self, *, redact: bool) -> str:
        spec = SCHEMES[self.scheme]
        user = self.user
        if redact and spec.user_is_secret and user:
            user = _mask(user)
        auth = ""
        if user or self.password:
            auth = quote(user, safe="")
            if self.password:
                auth += ":" + ("***" if redact else quote(self.password, safe=""))
            auth += "@"
        netloc = auth + self.host + (f":{self.port}" if self.port is not None else "")
        params = [
            (k, _mask(v) if redact and k in spec.secret_params else v) for k, v in self.params
        ]
        query = ("?" + urlencode(params, quote_via=quote, safe="@,")) if params else ""
        path = self.path if self.path else ("/" if query else "")
        return f"{self.scheme}://{netloc}{path}{query}"


def _mask(secret: str) -> str:
    # A fixed mark: no character of the secret (not even the first or last few) is shown.
    return "***"


def parse(text: str) -> ChannelUrl:
    """Parse and validate a channel URL; raise ChannelUrlError saying what is wrong."""
    if "://" not in text:
        raise ChannelUrlError(f"not a channel URL (expected scheme://…): {_hint(text)}")
    scheme = text.split("://", 1)[0].lower()
    spec = SCHEMES.get(scheme)
    if spec is None:
        known = ", ".join(sorted(SCHEMES))
        raise ChannelUrlError(f"unknown channel scheme {scheme!r}; use one of {known}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ChannelUrlError(f"malformed {scheme} URL: {exc}") from None
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    url = ChannelUrl(
        scheme=scheme,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=parts.hostname or "",
        port=port,
        path=parts.path if parts.path not in ("", "/") else "",
        params=params,
    )
    problems = validate(url)
    if problems:
        raise ChannelUrlError(f"{scheme} URL: " + "; ".join(problems))
    return url


def validate(url: ChannelUrl) -> list[str]:
    """Return every problem with a parsed URL (empty when it is usable)."""
    spec = SCHEMES[url.scheme]
    problems: list[str] = []
    seen: set[str] = set()
    for key, _ in url.params:
        if key not in spec.params and not spec.open_params:
            problems.append(
                f"unknown parameter {key!r} (allowed: {', '.join(sorted(spec.params))})"
            )
        if key in seen:
            problems.append(f"parameter {key!r} given twice")
        seen.add(key)
    for key in sorted(spec.required - seen):
        problems.append(f"missing parameter {key!r}")
    if spec.needs_user and not url.user:
        problems.append("missing the token/key before '@' (e.g. scheme://TOKEN@/)")
    if spec.needs_host and not url.host:
        problems.append("missing the host")
    lang = url.get("lang")
    if lang and lang.lower() not in ("zh", "zh-cn", "cn", "en", "en-us", "en-gb"):
        problems.append(f"lang {lang!r}: use zh-CN or en")
    timeout = url.get("timeout")
    if timeout:
        try:
            if not 0 < float(timeout) <= 120:
                raise ValueError
        except ValueError:
            problems.append(f"timeout {timeout!r}: seconds between 0 and 120")
    endpoint = url.get("endpoint")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        problems.append(f"endpoint {endpoint!r} must be an http(s) URL")
    msgtype = url.get("msgtype")
    if msgtype and msgtype.lower() not in _MSGTYPES.get(url.scheme, ()):
        problems.append(f"msgtype {msgtype!r}: use one of {', '.join(_MSGTYPES[url.scheme])}")
    if url.scheme == "dingtalk" and url.get("secret") and not url.get("secret").startswith("SEC"):
        problems.append("a DingTalk signing secret starts with 'SEC'")
    for phone in url.get_list("mobiles") + url.get_list("phones"):
        if phone != "@all" and not _PHONE.match(phone):
            problems.append(f"bad phone number {phone!r}")
    if url.scheme == "aliyunsms" and not url.password:
        problems.append("missing the AccessKey secret (aliyunsms://KEYID:SECRET@/)")
    if url.scheme == "smtp" and url.get("tls") not in ("", "starttls", "none"):
        problems.append(f"tls {url.get('tls')!r}: use starttls or none (smtps:// for SSL)")
    if url.scheme in ("smtp", "smtps"):
        for addr in url.get_list("to") + url.get_list("from"):
            if "@" not in addr:
                problems.append(f"bad e-mail address {addr!r}")
    if (
        url.scheme == "aliyunsms"
        and url.get("template")
        and not url.get("template").startswith("SMS_")
    ):
        problems.append("an Aliyun template code looks like SMS_123456")
    return problems


def _hint(text: str) -> str:
    return text if len(text) <= 12 else text[:12] + "…"
