"""``[[channels]]`` and ``[[routes]]`` in stockwatch.toml: where notices go.

```toml
[[channels]]
name = "ops-group"
url = "${WECOM_URL}"            # wecom://KEY@/ ; secrets come from the environment

[[routes]]
name = "everyone"
tiers = ["T1", "T2", "T3", "OUT"]
channels = ["ops-group", "tasks"]
quiet_hours = "22:00-08:00"     # T3/OUT bypass by default
digest = "09:00"                # a daily digest of every item at risk
```
A bad channel URL, an unknown channel in a route or a bad tier fails at load time with its key.
"""

from __future__ import annotations

import re
from datetime import time

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from stockwatch.core.channel_url import ChannelUrl
from stockwatch.core.channel_url import parse as parse_channel_url
from stockwatch.core.messages import check_lang
from stockwatch.core.model import Tier

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelConfig(_Section):
    name: str
    url: SecretStr  # holds tokens: printed masked
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"channel name {value!r}: letters, digits, '-', '_' or '.'")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        if "${" in value.get_secret_value():
            # Only whole values are secret references; a token spliced in would go out literally.
            raise ValueError(
                'a secret reference must be the whole URL, e.g. url = "${DINGTALK_URL}"'
            )
        parse_channel_url(value.get_secret_value())  # raises a ValueError saying what is wrong
        return value

    def channel_url(self) -> ChannelUrl:
        return parse_channel_url(self.url.get_secret_value())


def _local_time(text: str) -> time:
    """Parse HH:MM in ``general.timezone``; an offset (``09:00+08:00``, ``22:00Z``) is refused
    because it cannot be compared with the shop's local clock."""
    parsed = time.fromisoformat(text.strip())
    if parsed.tzinfo is not None:
        raise ValueError("time with an offset")
    return parsed


def _tiers(values: list[str]) -> list[str]:
    for name in values:
        if Tier.parse(name) is Tier.OK:
            raise ValueError("OK is not an alert tier")
    return [Tier.parse(v).name for v in values]


class RouteConfig(_Section):
    name: str
    channels: list[str] = Field(min_length=1)
    tiers: list[str] = Field(default_factory=list)  # empty: every tier
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    suppliers: list[str] = Field(default_factory=list)
    quiet_hours: str | None = None  # "22:00-08:00" in general.timezone
    quiet_bypass: list[str] = Field(default_factory=lambda: ["T3", "OUT"])
    digest: str | None = None  # "09:00": daily digest time
    notify_recovery: bool = True
    notify_problems: bool = True
    mention_tiers: list[str] = Field(default_factory=lambda: ["T3", "OUT"])
    lang: str | None = None  # default: general.lang
    link_base: str = ""  # dashboard URL for item links

    @field_validator("tiers", "quiet_bypass", "mention_tiers")
    @classmethod
    def _tier_names(cls, value: list[str]) -> list[str]:
        return _tiers(value)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            a, b = (_local_time(part) for part in value.split("-"))
            if a == b:
                raise ValueError
        except ValueError:
            raise ValueError(f"quiet_hours {value!r}: use HH:MM-HH:MM, e.g. 22:00-08:00") from None
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                _local_time(value)
            except ValueError:
                raise ValueError(f"digest {value!r}: a time of day such as 09:00") from None
        return value

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        return check_lang(value) if value else None


def notify_problems(
    channels: list[ChannelConfig], routes: list[RouteConfig]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field checks: unique names, routes naming known channels."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    names: set[str] = set()
    for i, channel in enumerate(channels):
        if channel.name in names:
            problems.append((("channels", i, "name"), f"duplicate channel name {channel.name!r}"))
        names.add(channel.name)
    route_names: set[str] = set()
    for i, route in enumerate(routes):
        if route.name in route_names:
            problems.append((("routes", i, "name"), f"duplicate route name {route.name!r}"))
        route_names.add(route.name)
        for name in route.channels:
            if name not in names:
                problems.append(
                    (
                        ("routes", i, "channels"),
                        f"unknown channel {name!r}; defined: {', '.join(sorted(names)) or 'none'}",
                    )
                )
    return problems
