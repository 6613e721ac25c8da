"""Every text a dashboard template asks for exists in both languages."""

from __future__ import annotations

import re
from importlib.resources import files

from stockwatch.core.model import Phase, Tier
from stockwatch.entrypoints.web.dashboard_texts import TEXTS, text
from stockwatch.ports import ThresholdStatus


def test_every_key_the_templates_use_has_a_chinese_and_an_english_text() -> None:
    templates = files("stockwatch.entrypoints.web").joinpath("templates")
    used = set()
    for page in templates.iterdir():
        used |= set(re.findall(r't\("(\w+)"\s*[,)]', page.read_text(encoding="utf-8")))
    assert used and used - set(TEXTS) == set()
    # Keys built in templates: t("tier_" ~ ...), t("phase_" ~ ...), t("st_" ~ ...).
    built = {f"tier_{t.name}" for t in Tier} | {f"phase_{p.value}" for p in Phase}
    built |= {f"st_{s.value}" for s in ThresholdStatus}
    assert built - set(TEXTS) == set()
    for key, (zh, en) in TEXTS.items():
        assert (zh and en and zh != en) or key in ("v_open",), key


def test_a_text_takes_its_values_in_either_language() -> None:
    assert text("dead_letters", "en", n=3) == "3 dead letters"
    assert text("dead_letters", "zh-CN", n=3) == "发送失败 3 条"


def test_the_forms_order_mistakes_use_only_what_their_order_error_carries() -> None:
    from string import Formatter

    from stockwatch.service.purchasing import ORDER_ERRORS

    worded = [k.removeprefix("order_err_") for k in TEXTS if k.startswith("order_err_")]
    assert worded and set(worded) <= set(ORDER_ERRORS)
    for code in worded:
        carried = {f for _, f, _, _ in Formatter().parse(ORDER_ERRORS[code]) if f}
        for words in TEXTS[f"order_err_{code}"]:
            used = {f for _, f, _, _ in Formatter().parse(words) if f}
            assert used <= carried, (code, used - carried)
