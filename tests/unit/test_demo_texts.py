"""The demo's banner, commands and summary in zh-CN by default, English with the switch
(issue 11, finding 20 leftover: they were English only)."""

from __future__ import annotations

import re
from pathlib import Path

from stockwatch.entrypoints.cli.demo_texts import (
    BannerFacts,
    SummaryFacts,
    banner_lines,
    summary_lines,
    text,
)

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
FACTS = BannerFacts(
    base="http://127.0.0.1:8686",
    secret="demoSecret123",
    sim_url="http://127.0.0.1:8688",
    offers=14,
    speed=3600.0,
    member="seller",
    tokens_file=Path("/d/1688-tokens.json"),
    ding="http://127.0.0.1:1/ding0",
    wecom="http://127.0.0.1:1/wecom0",
    hook="http://127.0.0.1:1/hook",
    data_dir=Path("/d"),
    cli=".venv/bin/stockwatch",
    config=Path("/d/stockwatch.toml"),
)
FIGURES = SummaryFacts(
    pushes=(120, 3),
    orders=57,
    polls=6,
    accepted={"dingtalk": 4, "wecom": 4, "webhook": 9},
    merchant=(5, 2),
    review={"episodes": 7, "stockouts": 1, "in_time": 5, "prevented": 4, "late": 1, "missed": 1},
)


def _without_identifiers(lines: list[str]) -> str:
    """The words of the lines, URLs, paths, commands and figures taken out."""
    shown = "\n".join(lines)
    shown = re.sub(r"\S*(?:https?://|/|\.venv)\S*", " ", shown)
    shown = re.sub(r"--?[\w-]+|\b[\w.]*\d[\w.]*\b|\b[A-Z][\w-]+-[\w-]+\b", " ", shown)
    return shown


def test_the_banner_is_in_zh_cn_and_keeps_urls_and_commands() -> None:
    lines = banner_lines(FACTS, "zh-CN")
    shown = "\n".join(lines)
    assert "看板" in shown and "试试" in shown and "停止" in shown
    assert ".venv/bin/stockwatch status -c /d/stockwatch.toml" in shown
    assert "http://127.0.0.1:8686/api/status" in shown and "Ctrl+C" in shown
    # English words that are not names, commands or identifiers: none
    words = set(re.findall(r"[A-Za-z]{3,}", _without_identifiers(lines)))
    names = {"API", "AppSecret", "stockwatch", "status", "alerts", "list", "events", "outbox",
             "tasks", "orders", "explain", "backtest", "review", "sweep", "html", "webhook",
             "seller", "curl", "SQLite", "toml", "sqlite", "snapshot", "Ctrl", "all"}  # fmt: skip
    assert words <= names, words - names


def test_the_banner_and_summary_are_english_with_the_switch() -> None:
    lines = banner_lines(FACTS, "en") + summary_lines(FIGURES, "en")
    shown = "\n".join(lines)
    assert not CJK.findall(shown), shown
    assert "dashboard:" in shown and "try:" in shown and "stop:" in shown
    assert re.search(r"dingtalk:\s+4 message\(s\) accepted", shown)
    assert re.search(r"merchant:\s+5 order\(s\) placed from tasks, 2 received", shown)


def test_the_summary_is_in_zh_cn_with_every_figure() -> None:
    shown = "\n".join(summary_lines(FIGURES, "zh-CN"))
    assert "120 条已确认，3 条留待补发" in shown and "钉钉" in shown and "企业微信" in shown
    assert "按补货任务下了 5 张采购单，收货 2 次" in shown
    assert "7 次预警，1 次断货；提前足够 5 次（其中下单避免断货 4 次）" in shown
    assert not re.search(r"[A-Za-z]{3,}", shown.replace("webhook", ""))


def test_labels_line_up_in_display_columns() -> None:
    # A CJK character takes two columns: the text after every label starts in one column.
    for lang in ("zh-CN", "en"):
        starts = set()
        for line in banner_lines(FACTS, lang) + summary_lines(FIGURES, lang):
            label = re.match(r"^([^:：\s][^:：]*?[:：])?\s*", line)
            assert label is not None
            head = label.group(0)
            starts.add(sum(2 if CJK.match(ch) else 1 for ch in head))
        assert starts == {15}, (lang, starts)


def test_the_restart_notice_in_both_languages() -> None:
    assert "全新的模拟世界" in text("fresh_world", "zh-CN")
    assert "fresh world" in text("fresh_world", "en")
