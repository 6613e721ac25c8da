"""Configuration problems in zh-CN (issue 11, finding 19 leftover: `config validate` listed
them in English whatever the language)."""

from __future__ import annotations

import pytest

from stockwatch.core.config_text import config_problem_text


@pytest.mark.parametrize(
    ("english", "zh"),
    [
        ("file not found", "文件不存在"),
        ("file not found: /shop/items.csv", "文件不存在：/shop/items.csv"),
        (
            "unknown key 'timezon' (did you mean 'timezone'?)",
            "未知的键 'timezon'（是不是 'timezone'？）",
        ),
        ("unknown key 'zzz'", "未知的键 'zzz'"),
        (
            "unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)",
            "未知的时区 'Asia/Shangai'（是不是 'Asia/Shanghai'？）",
        ),
        (
            "bad duration '30 minutes': use e.g. 90s, 30m, 2h, 1d",
            "时长 '30 minutes' 无效：请写成 90s、30m、2h、1d 这样",
        ),
        ("empty secret: set it or leave the key out", "密钥为空：请设置它，或者删掉这个键"),
        # found verifying #11: both still read in English in zh-CN
        ("secret ${WEB_TOKEN} is set but empty", "密钥 ${WEB_TOKEN} 已设置但为空"),
        (
            "T1: bad duration '30 minutes': use e.g. 90s, 30m, 2h, 1d",
            "T1：时长 '30 minutes' 无效：请写成 90s、30m、2h、1d 这样",
        ),
        (
            "unknown channel 'dingtlak'; defined: console, dingtalk",
            "未知渠道 'dingtlak'；已定义：console, dingtalk",
        ),
        ("Input should be greater than or equal to 1", "应大于或等于 1"),
        ("Input should be 'zh-CN' or 'en'", "应为 'zh-CN' 或 'en' 之一"),
        ("Field required", "缺少必填项"),
    ],
)
def test_known_problems_read_in_zh_cn(english: str, zh: str) -> None:
    assert config_problem_text(english, "zh-CN") == zh
    assert config_problem_text(english, "en") == english


def test_an_unknown_form_is_shown_as_it_is() -> None:
    assert config_problem_text("something new went wrong", "zh-CN") == "something new went wrong"
