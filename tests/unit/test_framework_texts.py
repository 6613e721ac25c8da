"""Typer's and click's own lines in zh-CN: the gettext catalogue and the usage errors."""

from __future__ import annotations

import gettext
import io
import os

import pytest
from typer.testing import CliRunner

from stockwatch.devtools.compile_locales import catalogue_path, mo_bytes
from stockwatch.entrypoints.cli.app import app
from stockwatch.entrypoints.cli.framework_texts import (
    FRAMEWORK_ZH,
    columns,
    framework_language,
    wrap_columns,
    zh_message,
)

runner = CliRunner()


def test_the_committed_catalogue_is_the_table_compiled() -> None:
    # A changed FRAMEWORK_ZH needs `python -m stockwatch.devtools.compile_locales`.
    assert catalogue_path().read_bytes() == mo_bytes(FRAMEWORK_ZH)
    read = gettext.GNUTranslations(io.BytesIO(catalogue_path().read_bytes()))
    assert all(read.gettext(english) == zh for english, zh in FRAMEWORK_ZH.items())


def test_typers_gettext_words_follow_the_chosen_language() -> None:
    with framework_language("zh-CN"):
        assert gettext.gettext("Options") == "选项"
        assert gettext.gettext("default: {default}") == "默认：{default}"
    with framework_language("en"):
        assert gettext.gettext("Options") == "Options"


def test_the_language_variable_is_restored_after_a_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGUAGE", "fr")
    with framework_language("zh-CN"):
        assert os.environ["LANGUAGE"] == "zh_CN"
    assert os.environ["LANGUAGE"] == "fr"


def test_plain_click_messages_are_matched_by_their_english_template() -> None:
    from typer._click.exceptions import UsageError

    assert zh_message(UsageError("Got unexpected extra argument(s) (a b)")) == "多余的参数（a b）"
    assert zh_message(UsageError("Option '--qty' requires an argument.")) == (
        "选项 '--qty' 需要一个值。"
    )
    assert zh_message(UsageError("something click never said")) == "something click never said"


def test_a_value_error_is_told_from_pydantics_error_code_and_names_the_option() -> None:
    shown = runner.invoke(app, ["outbox", "work", "--retry-hours", "0"])
    assert shown.exit_code == 2
    assert "'--retry-hours' 的值无效：应大于或等于 0.001" in shown.stderr
    shown = runner.invoke(app, ["orders", "receive", "x"])
    assert shown.exit_code == 2 and "'ID' 的值无效：不是有效的整数" in shown.stderr
    shown = runner.invoke(app, ["explain", "A", "B"])
    assert shown.exit_code == 2 and "多余的参数（B）" in shown.stderr


def test_zh_cn_text_wraps_by_terminal_columns() -> None:
    text = "列出无法对应到唯一商品的 1688 采购行（它们不计入任何商品的在途数量）。"
    assert columns(text) == 70  # 33 CJK characters take two columns each
    lines = wrap_columns(text, 40)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(columns(line) <= 40 for line in lines), lines
    # a line never starts with closing punctuation: the character before it goes along
    assert wrap_columns(text, 66)[1] == "量）。"
    # a Latin word is never split, two spaces before "[默认：…]" stay
    assert wrap_columns("认领多少秒后视为过期  [默认：60]", 80) == [
        "认领多少秒后视为过期  [默认：60]"
    ]
    assert wrap_columns("数据库地址（默认：$STOCKWATCH_DATABASE_URL）", 30)[1].startswith("$STOCK")
