"""Channel URLs: parse, round-trip, redact, and say exactly what is wrong."""

from __future__ import annotations

import pytest

from stockwatch.core.channel_url import ChannelUrlError, parse

GOOD = [
    "dingtalk://tok123@/?secret=SEC0123456789abcdef&keyword=库存&mobiles=13800000000",
    "wecom://693a91f6-7xxx@/?msgtype=markdown&mentions=zhangsan,@all",
    "feishu://hook-token@/?secret=abc&msgtype=post",
    "lark://hook-token@/",
    "smtp://buyer:app%40code@smtp.qq.com:587/?from=a@shop.cn&to=b@shop.cn,c@shop.cn",
    "smtps://buyer:pw@smtp.163.com:465/?from=a@shop.cn&to=b@shop.cn",
    "aliyunsms://LTAIkey:secret@/?sign=库存预警&template=SMS_71390007&phones=13800000000",
    "webhook+https://erp.example.com/hooks/stock?secret=s3&tenant=7",
    "task://",
    "console://?stream=stdout",
]


@pytest.mark.parametrize("text", GOOD)
def test_urls_round_trip_through_parse_and_str(text: str) -> None:
    url = parse(text)
    assert parse(str(url)) == url


def test_the_redacted_form_hides_tokens_passwords_and_secrets() -> None:
    url = parse(GOOD[0])
    red = url.redacted()
    assert "tok123" not in red and "SEC0123456789abcdef" not in red
    assert "keyword=" in red
    mail = parse(GOOD[4]).redacted()
    assert "app%40code" not in mail and "buyer:***@" in mail


def test_the_redacted_form_shows_no_character_of_a_secret() -> None:
    red = parse("dingtalk://tok123456789@/?secret=SECabcdefghij&keyword=kw").redacted()
    for shown in ("to", "89", "SE", "ij"):  # main showed the first and last two
        assert shown not in red, red
    assert red.endswith("&keyword=kw")


def test_query_lists_and_values_are_read() -> None:
    url = parse(GOOD[1])
    assert url.user == "693a91f6-7xxx"
    assert url.get_list("mentions") == ["zhangsan", "@all"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("dingtalk:tok", "not a channel URL"),
        ("pager://x@/", "unknown channel scheme 'pager'"),
        ("dingtalk://@/?secret=SECx", "missing the token"),
        ("dingtalk://t@/?secret=abc", "starts with 'SEC'"),
        ("dingtalk://t@/?colour=red", "unknown parameter 'colour'"),
        ("wecom://k@/?msgtype=MARKDOWNX", "msgtype"),
        ("smtp://h:25/?to=b@x.cn", "missing parameter 'from'"),
        ("smtp://h:25/?from=a@x.cn&to=nobody", "bad e-mail address 'nobody'"),
        ("aliyunsms://id@/?sign=s&template=SMS_1&phones=138", "AccessKey secret"),
        ("aliyunsms://id:s@/?sign=s&template=T1&phones=13800000000", "SMS_123456"),
        ("dingtalk://t@/?mobiles=call-me", "bad phone number"),
        ("dingtalk://t@/?timeout=0", "timeout"),
        ("dingtalk://t@/?endpoint=ftp://x", "endpoint"),
        ("webhook+https:///path", "missing the host"),
        ("smtp://h:notaport/?from=a@b.c&to=a@b.c", "malformed"),
    ],
)
def test_bad_urls_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ChannelUrlError, match=problem):
        parse(text)
