"""The CLI's words for event kinds and alert phases."""

from __future__ import annotations

import pytest

from stockwatch.core.model import NoticeKind, Phase
from stockwatch.entrypoints.cli.texts import event_word


@pytest.mark.parametrize("word", [*NoticeKind, *Phase, "transition", "ack", "snooze"])
def test_every_event_kind_and_phase_reads_as_chinese_in_zh_cn(word: str) -> None:
    # #11 item 19: `events --lang zh-CN` still showed `late_supplier` as it is stored.
    chinese = event_word(word, "zh-CN")
    assert chinese != word and not chinese.isascii(), word
    assert event_word(word, "en").isascii()
