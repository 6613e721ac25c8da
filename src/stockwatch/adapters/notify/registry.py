"""The channel registry: scheme → class, and building a notifier from a name and a URL."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine

from stockwatch.adapters.db.tasks import SqlTaskStore
from stockwatch.adapters.notify.base import Channel, Clock, utcnow
from stockwatch.adapters.notify.console import ConsoleChannel
from stockwatch.adapters.notify.dingtalk import DingTalkChannel
from stockwatch.adapters.notify.email import EmailChannel
from stockwatch.adapters.notify.feishu import FeishuChannel
from stockwatch.adapters.notify.sms import SmsChannel
from stockwatch.adapters.notify.task import TaskChannel
from stockwatch.adapters.notify.webhook import WebhookChannel
from stockwatch.adapters.notify.wecom import WeComChannel
from stockwatch.core.channel_url import ChannelUrl
from stockwatch.core.channel_url import parse as parse_url
from stockwatch.ports import ChannelLimits

CHANNEL_TYPES: dict[str, type[Channel]] = {
    "dingtalk": DingTalkChannel,
    "wecom": WeComChannel,
    "feishu": FeishuChannel,
    "lark": FeishuChannel,
    "smtp": EmailChannel,
    "smtps": EmailChannel,
    "aliyunsms": SmsChannel,
    "webhook+http": WebhookChannel,
    "webhook+https": WebhookChannel,
    "task": TaskChannel,
    "console": ConsoleChannel,
}


def build_channel(
    name: str,
    url: str | ChannelUrl,
    *,
    engine: Engine | None = None,
    clock: Clock = utcnow,
    lang: str = "zh-CN",
) -> Channel:
    """Return the notifier for ``url``; raise ChannelUrlError (a ValueError) when it is bad.

    ``lang`` is ``[general] lang``: the language of messages that do not carry their own.
    """
    parsed = parse_url(url) if isinstance(url, str) else url
    cls = CHANNEL_TYPES[parsed.scheme]
    kwargs: dict[str, Any] = {"clock": clock, "lang": lang}
    if cls is TaskChannel:
        kwargs["store"] = SqlTaskStore(engine) if engine is not None else None
    return cls(name, parsed, **kwargs)


def limits_of(channels: dict[str, Channel]) -> dict[str, ChannelLimits]:
    return {name: type(channel).limits for name, channel in channels.items()}


def robot_identity(url: ChannelUrl) -> str:
    """Return who enforces the rate limit behind ``url``: scheme + token/host + endpoint.

    Two channels on one robot (same token, different keyword or mentions) share one identity,
    so they share that robot's budget; the secret parameters never enter it in clear.
    """
    parts = (url.scheme, url.user, url.host, str(url.port or ""), url.path, url.get("endpoint"))
    return "robot:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def budget_keys_of(channels: dict[str, Channel]) -> dict[str, str]:
    return {name: robot_identity(channel.url) for name, channel in channels.items()}
