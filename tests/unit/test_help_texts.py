"""``--help`` in zh-CN (issue 11 leftover: the command descriptions were English only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from stockwatch.entrypoints.cli.app import app
from stockwatch.entrypoints.cli.help_texts import ZH_HELP, help_lang

runner = CliRunner()


def _paths() -> list[str]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    ctx = root.context_class(root)
    found = []
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        found.append(name)
        found += [f"{name} {sub}" for sub in getattr(command, "commands", {})]
    return found


def test_every_command_and_subcommand_has_a_zh_cn_description() -> None:
    assert set(_paths()) == set(ZH_HELP)


def test_the_command_list_is_in_zh_cn_by_default_and_english_on_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stockwatch.toml here
    monkeypatch.delenv("STOCKWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STOCKWATCH_LANG", raising=False)
    zh = runner.invoke(app, ["--help"], terminal_width=200)
    assert zh.exit_code == 0
    assert "检查库存快照" in zh.output and "Check a stock snapshot" not in zh.output
    assert "导入每日销量" in runner.invoke(app, ["sales", "--help"], terminal_width=200).output
    monkeypatch.setenv("STOCKWATCH_LANG", "en")
    en = runner.invoke(app, ["--help"], terminal_width=200)
    assert "Check a stock snapshot" in en.output and "检查库存快照" not in en.output
    monkeypatch.delenv("STOCKWATCH_LANG")
    check = runner.invoke(app, ["check", "--help", "--lang", "en"], terminal_width=200)
    assert "Check a stock snapshot" in check.output


def test_the_help_language_follows_lang_then_env_then_config(tmp_path: Path) -> None:
    config = tmp_path / "shop.toml"
    config.write_text('[general]\nlang = "en"\n', encoding="utf-8")
    assert help_lang(["check", "--lang", "en"], {}) == "en"
    assert help_lang(["check", "--lang=zh-CN"], {"STOCKWATCH_LANG": "en"}) == "zh-CN"
    assert help_lang(["--help"], {"STOCKWATCH_LANG": "en"}) == "en"
    assert help_lang(["check", "-c", str(config)], {}) == "en"
    assert help_lang(["--help"], {"STOCKWATCH_CONFIG": str(config)}) == "en"
    assert help_lang(["--help"], {"STOCKWATCH_CONFIG": str(tmp_path / "none.toml")}) == "zh-CN"
