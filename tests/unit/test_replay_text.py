"""Backtest problems in zh-CN (core/replay_text.py): the items a replay leaves out and the
history and option errors read in English whatever the language."""

from __future__ import annotations

import re

import pytest

from stockwatch.core.replay_text import replay_problem_text
from stockwatch.core.thresholds import Strategy, ThresholdPolicy, check_service_level
from stockwatch.core.tuning import parse_setting


@pytest.mark.parametrize(
    ("english", "zh"),
    [
        (
            "switched off in the policy in force and no stock reading: not replayed",
            "在现行策略中已停用，也没有库存读数：未回测",
        ),
        (
            "WOBBLY-TABLE: lead-time σ (5) exceeds the lead time (2)",
            "WOBBLY-TABLE：交期标准差 σ（5）大于交期（2）",
        ),
        (
            "候选: strategy 'fixed' needs a threshold or absolute levels for T1–T3",
            "候选：固定阈值策略需要一个阈值，或 T1–T3 都是绝对数量",
        ),
        (
            "P01: tier levels out of order: T1=5 is below T2=10; T1 ≥ T2 ≥ T3 > 0 is required",
            "P01：预警线顺序不对：T1=5 低于 T2=10；须满足 T1 ≥ T2 ≥ T3 > 0",
        ),
        ("unknown item(s): NOPE, ZIP", "未知商品：NOPE, ZIP"),
        ("--days must be at least 1", "--days 至少为 1"),
        (
            "no items to replay (check --item, --category and --class)",
            "没有可回测的商品（请检查 --item、--category 和 --class）",
        ),
        ("prices.csv: needs the columns sku,unit_price", "prices.csv：需要 sku 和 unit_price 两列"),
        ("/shop/prices.csv:3: unit_price 'abc'", "/shop/prices.csv:3：unit_price 'abc' 不是数字"),
        ("prices.csv:4: unit_price must be ≥ 0", "prices.csv:4：unit_price 必须 ≥ 0"),
        (
            "--recompute 'fortnightly': use weekly, monthly, a 5-field cron expression or never",
            "--recompute 'fortnightly'：请用 weekly、monthly、五段 cron 表达式或 never",
        ),
        (
            "window_days must be between 2 and 3660, got 1",
            "window_days 必须在 2 到 3660 之间，实际为 1",
        ),
    ],
)
def test_known_problems_read_in_zh_cn(english: str, zh: str) -> None:
    assert replay_problem_text(english, "zh-CN") == zh
    assert replay_problem_text(english, "en") == english


def _raised(make: object) -> str:
    with pytest.raises(ValueError) as caught:
        make()  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: check_service_level(1.5),
        lambda: parse_setting("buffer_days", "-1"),
        lambda: parse_setting("strategy", "bogus"),
        lambda: parse_setting("intermittent_method", "sometimes"),
        lambda: parse_setting("colour", "red"),
        lambda: ThresholdPolicy(strategy=Strategy.FIXED),
    ],
)
def test_the_producers_words_are_known(make: object) -> None:
    """The messages as the core words them (not copies): a rewording shows up here."""
    english = _raised(make)
    zh = replay_problem_text(english, "zh-CN")
    assert zh != english and re.search(r"[\u4e00-\u9fff]", zh), english


def test_an_unknown_form_is_shown_as_it_is() -> None:
    assert replay_problem_text("B: something new went wrong", "zh-CN") == (
        "B: something new went wrong"
    )
