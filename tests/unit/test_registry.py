"""The channel registry builds every scheme and never shows secrets in descriptions."""

from __future__ import annotations

import io

import pytest

from stockwatch.adapters.notify.console import ConsoleChannel
from stockwatch.adapters.notify.registry import CHANNEL_TYPES, budget_keys_of, build_channel
from stockwatch.core.channel_url import SCHEMES
from tests.contract.channel_helpers import send
from tests.notify_factories import routed

URLS = {
    "dingtalk": "dingtalk://tok-abcdef@/?secret=SECsecretvalue",
    "wecom": "wecom://key-abcdef@/",
    "feishu": "feishu://tok-abcdef@/?secret=secretvalue",
    "lark": "lark://tok-abcdef@/",
    "smtp": "smtp://u:secretvalue@mail.example.com/?from=a@b.cn&to=c@d.cn",
    "smtps": "smtps://u:secretvalue@mail.example.com/?from=a@b.cn&to=c@d.cn",
    "aliyunsms": "aliyunsms://id:secretvalue@/?sign=s&template=SMS_1&phones=13800000000",
    "webhook+http": "webhook+http://127.0.0.1:9/x?secret=secretvalue",
    "webhook+https": "webhook+https://example.com/x?secret=secretvalue",
    "task": "task://",
    "console": "console://",
}


def test_every_scheme_has_a_channel_class() -> None:
    assert set(CHANNEL_TYPES) == set(SCHEMES) == set(URLS)


@pytest.mark.parametrize("scheme", sorted(URLS))
def test_each_channel_builds_and_describes_itself_without_secrets(scheme: str) -> None:
    channel = build_channel("c", URLS[scheme])
    assert isinstance(channel, CHANNEL_TYPES[scheme])
    text = channel.describe()
    assert "secretvalue" not in text and "tok-abcdef" not in text and "key-abcdef" not in text


def test_the_console_channel_prints_the_rendered_text() -> None:
    stream = io.StringIO()
    channel = ConsoleChannel("demo", "console://?lang=en", stream=stream)
    assert send(channel, routed(1, lang="en")[0][1]) == "printed"
    assert "[demo]" in stream.getvalue() and "SKU-TEST-00000" in stream.getvalue()


def test_two_channels_on_one_robot_token_share_an_identity() -> None:
    a = build_channel("a", "dingtalk://tok-1@/?secret=SEC1&keyword=库存")
    b = build_channel("b", "dingtalk://tok-1@/?secret=SEC1&keyword=补货&mobiles=13800000000")
    c = build_channel("c", "dingtalk://tok-2@/?secret=SEC1&keyword=库存")
    keys = budget_keys_of({"a": a, "b": b, "c": c})
    assert keys["a"] == keys["b"] != keys["c"]
    assert "tok-1" not in keys["a"]
