"""The CLI's words for event kinds and alert phases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from string import Formatter

import pytest

from stockwatch.core.model import NoticeKind, Phase
from stockwatch.entrypoints.cli.texts import event_word


@pytest.mark.parametrize("word", [*NoticeKind, *Phase, "transition", "ack", "snooze"])
def test_every_event_kind_and_phase_reads_as_chinese_in_zh_cn(word: str) -> None:
    # #11 item 19: `events --lang zh-CN` still showed `late_supplier` as it is stored.
    chinese = event_word(word, "zh-CN")
    assert chinese != word and not chinese.isascii(), word
    assert event_word(word, "en").isascii()


def test_a_transitions_detail_names_its_phases_in_the_language() -> None:
    from stockwatch.core.messages import event_detail

    assert event_detail("ok/OK → pending/T2", "zh-CN") == "正常/OK → 观察中/T2"
    assert event_detail("ok/OK → pending/T2", "en") == "ok/OK → pending/T2"
    assert event_detail("42→3", "zh-CN") == "42→3"


def test_an_acknowledgements_order_and_a_snoozes_end_are_worded_in_the_language() -> None:
    from stockwatch.core.messages import event_detail

    assert event_detail("order #12", "zh-CN") == "采购单 #12"
    assert event_detail("order #12", "en") == "order #12"
    at = "2026-12-04T08:00:00+00:00"
    assert event_detail(f"until {at}", "zh-CN") == f"暂停至 {at}"
    assert event_detail(f"until {at}", "en") == f"until {at}"
    beijing = timezone(timedelta(hours=8))

    def shop_clock(moment: datetime) -> str:
        return moment.astimezone(beijing).strftime("%Y-%m-%d %H:%M")

    assert event_detail(f"until {at}", "zh-CN", shop_clock) == "暂停至 2026-12-04 16:00"
    assert event_detail(f"until {at}", "en", shop_clock) == "until 2026-12-04 16:00"
    assert event_detail("until later", "en", shop_clock) == "until later"  # not a time: as stored


def test_every_order_mistake_is_worded_for_the_command_line_in_both_languages() -> None:
    from stockwatch.entrypoints.cli.orders import ERROR_TEXTS
    from stockwatch.service.purchasing import ORDER_ERRORS

    for lang in ("zh-CN", "en"):
        assert set(ERROR_TEXTS[lang]) == set(ORDER_ERRORS), lang
    assert all(not text.isascii() for text in ERROR_TEXTS["zh-CN"].values())
    # Every placeholder a text uses is one its OrderError carries (a typo raised KeyError).
    sample = dict.fromkeys(
        ("task", "task_item", "item", "items", "quantity", "key", "order", "status", "open"), "x"
    ) | {"action": "received", "ordered": "2026-12-01"}
    for code in ORDER_ERRORS:
        fields = {f for _, f, _, _ in Formatter().parse(ORDER_ERRORS[code]) if f}
        for lang in ("zh-CN", "en"):
            used = {f for _, f, _, _ in Formatter().parse(ERROR_TEXTS[lang][code]) if f}
            assert used <= fields, (lang, code, used - fields)
            ERROR_TEXTS[lang][code].format(**sample)
