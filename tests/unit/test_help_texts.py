"""``--help`` and the framework's own lines in zh-CN, English on request (issue 11, finding 19).

The command descriptions were English only; then the option help texts and Typer/click's own
lines ("Usage:", "Options", "Show this message and exit.", "[default: …]", "[required]",
"Missing option", "No such option", "Invalid value") still were, and the root command had no
``--lang`` at all (``stockwatch --lang en --help`` failed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from stockwatch.entrypoints.cli.app import app
from stockwatch.entrypoints.cli.framework_texts import columns
from stockwatch.entrypoints.cli.help_texts import ZH_HELP, help_lang
from stockwatch.entrypoints.cli.option_texts import ZH_OPTION_HELP

runner = CliRunner()

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# What a zh-CN help page may keep in Latin letters: option names, metavars, config keys,
# environment variables, file names, URLs, identifiers, numbers with units.
IDENTIFIERS = re.compile(
    r"""
      --?[A-Za-z][\w-]*                     # option names
    | \w+:<[^>]*>                          # a default such as cli:<OS user>
    | <[^>]*> | \{[^}]*\}                   # metavars
    | \[\[[a-z.]+\]\] | \[[a-z][\w."]*\]\ [a-z_]+\b  # config: [[channels]], [database] url
    | \$\w+                                 # environment variables
    | https?://\S+                          # URLs
    | [\w.*-]*\.(?:toml|csv|json|html|sqlite3)\b  # file names
    | \w+(?:[._/@:]\w+)+                    # dotted names, paths, SKU@WAREHOUSE, ITEM:VERSION
    | \b\w*\d\w*\b                          # numbers and units: 24h, 7d, 200ms, 5xx, T1
    | \b[A-Z][A-Z_]+\b                      # placeholders and acronyms: SKU, CSV, OPTIONS
    """,
    re.VERBOSE,
)
# Names that stay as they are in zh-CN: the product, commands, third-party names and values.
NAMES = {
    "stockwatch", "Celery", "worker", "webhook", "OAuth", "SQLite", "Parquet", "PostgreSQL",
    "AppKey", "AppSecret", "DingTalk", "WeCom", "Ctrl", "Redis", "cron", "ISO",
    "zh", "en", "table", "json", "csv", "read", "write", "viewer", "operator", "admin",
    "reorder_point", "safety_stock", "days_of_cover", "combined", "weekly", "monthly", "never",
    "empirical", "normal", "declared", "learned", "pending", "sending", "sent", "seller",
    "raised", "worsened", "resolved", "ack", "sample", "churn", "range", "int", "float", "str",
    "path", "list", "Path", "x",
}  # fmt: skip
ENGLISH_WORD = r"[A-Za-z][A-Za-z']+"


def untranslated(text: str, names: set[str]) -> list[str]:
    """Return the English phrases left in a zh-CN help page (empty when none)."""
    kept = IDENTIFIERS.sub(" ", text)
    kept = re.sub(ENGLISH_WORD, lambda m: " " if m.group() in names else m.group(), kept)
    found = re.findall(rf"{ENGLISH_WORD}(?:[ ,/-]+{ENGLISH_WORD})+", kept)  # a phrase
    found += re.findall(rf"{ENGLISH_WORD}:(?:\s|$)", kept)  # a label: "Usage:", "default: 4"
    found += re.findall(r"\[[A-Za-z]+\]", kept)  # "[required]"
    return found


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


@pytest.fixture
def no_language_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stockwatch.toml here
    monkeypatch.delenv("STOCKWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STOCKWATCH_LANG", raising=False)


def test_every_command_and_subcommand_has_a_zh_cn_description() -> None:
    assert set(_paths()) == set(ZH_HELP)


def test_every_zh_cn_option_text_belongs_to_an_option() -> None:
    # Keyed by the English text: an entry whose option changed its English is left behind.
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    root.help_lang = "en"  # type: ignore[attr-defined]
    ctx = root.context_class(root)
    english: set[str] = set()

    def walk(command: object) -> None:
        for param in getattr(command, "params", []):
            english.add(param.help or "")
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(root)
    for name in root.list_commands(ctx):
        walk(root.get_command(ctx, name))
    english.add("Show this message and exit.")  # click's help option
    assert set(ZH_OPTION_HELP) - english == set()


@pytest.mark.usefixtures("no_language_set")
def test_every_help_page_is_in_zh_cn_by_default() -> None:
    words = {w for path in _paths() for w in path.replace("-", " ").split()}
    problems = {}
    for path in ["", *_paths()]:
        shown = runner.invoke(app, [*path.split(), "--help"], terminal_width=200)
        assert shown.exit_code == 0, (path, shown.output)
        left = untranslated(shown.output, NAMES | words)
        if left:
            problems[path or "stockwatch"] = left
    assert problems == {}


@pytest.mark.usefixtures("no_language_set")
def test_zh_cn_help_fits_the_terminal_in_columns() -> None:
    # click measured lines in characters; a CJK character takes two columns, so zh-CN help
    # ran up to twice past an 80-column terminal and broke the option table.
    for path in ["", *_paths()]:
        shown = runner.invoke(app, [*path.split(), "--help"], terminal_width=80)
        wide = [line for line in shown.output.splitlines() if columns(line) > 82]
        assert wide == [], path


@pytest.mark.usefixtures("no_language_set")
def test_every_help_page_is_in_english_with_the_switch() -> None:
    for path in ["", *_paths()]:
        shown = runner.invoke(app, ["--lang", "en", *path.split(), "--help"], terminal_width=200)
        assert shown.exit_code == 0, (path, shown.output)
        assert not CJK.findall(shown.output.replace("库存预警", "")), (path, shown.output)
        assert "Usage: stockwatch" in shown.output and "Show this message and exit." in shown.output


def test_the_detector_finds_english_phrases_and_lets_identifiers_pass() -> None:
    assert untranslated("  --stock <path>  stock snapshot, CSV or JSON", set()) != []
    assert untranslated("Options:", set()) == ["Options:"]
    assert untranslated("库存快照  [默认：table]  [required]", {"table"}) == ["[required]"]
    assert (
        untranslated("  -c, --config <path>  stockwatch.toml（默认：./stockwatch.toml）", set())
        == []
    )
    assert untranslated("数据库地址（默认：$STOCKWATCH_DATABASE_URL、[database] url）", set()) == []


@pytest.mark.usefixtures("no_language_set")
def test_root_lang_switches_the_help_and_the_commands() -> None:
    # `stockwatch --lang en --help` failed: "No such option: --lang".
    shown = runner.invoke(app, ["--lang", "en", "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Check a stock snapshot" in shown.output and "--lang" in shown.output
    assert not CJK.findall(shown.output.replace("库存预警", ""))
    shown = runner.invoke(app, ["--lang", "en", "check", "--help"], terminal_width=200)
    assert shown.exit_code == 0 and "stock snapshot, CSV or JSON" in shown.output
    zh = runner.invoke(app, ["--lang", "zh-CN", "--help"], terminal_width=200)
    assert zh.exit_code == 0 and "检查库存快照" in zh.output


@pytest.mark.usefixtures("no_language_set")
def test_the_command_list_is_in_zh_cn_by_default_and_english_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
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


@pytest.mark.usefixtures("no_language_set")
def test_usage_errors_are_in_zh_cn_and_name_the_option() -> None:
    missing = runner.invoke(app, ["check"])
    assert missing.exit_code == 2
    assert "'--stock'" in missing.stderr and "缺少选项" in missing.stderr
    assert "Missing option" not in missing.stderr and "Usage:" not in missing.stderr
    unknown = runner.invoke(app, ["check", "--stok", "x"])
    assert (
        unknown.exit_code == 2 and "--stok" in unknown.stderr and "没有这个选项" in unknown.stderr
    )
    assert "--stock" in unknown.stderr  # the suggestion
    bad = runner.invoke(app, ["demo", "--every", "abc"])
    assert bad.exit_code == 2 and "'--every'" in bad.stderr and "不是有效的数字" in bad.stderr
    assert not untranslated(missing.stderr + unknown.stderr + bad.stderr, {"stockwatch", "check"})
    typo = runner.invoke(app, ["thresholdz"])
    assert typo.exit_code == 2 and "'thresholds'" in typo.stderr and "Did you" not in typo.stderr
    wrong_lang = runner.invoke(app, ["--lang", "fr", "check"])
    assert wrong_lang.exit_code == 2 and "'--lang'" in wrong_lang.stderr


@pytest.mark.usefixtures("no_language_set")
def test_usage_errors_stay_english_with_the_switch() -> None:
    missing = runner.invoke(app, ["--lang", "en", "check"])
    assert missing.exit_code == 2
    assert "Error: Missing option '--stock' / '-s'." in missing.stderr
    assert "Usage: stockwatch check" in missing.stderr
    bad = runner.invoke(app, ["demo", "--every", "abc", "--lang", "en"])
    assert "Invalid value for '--every': Input should be a valid number" in bad.stderr
    typo = runner.invoke(app, ["--lang", "en", "thresholdz"])
    assert "Did you mean 'thresholds'?" in typo.stderr
    assert not CJK.findall(missing.stderr + bad.stderr + typo.stderr)


def test_the_help_language_follows_lang_then_env_then_config(tmp_path: Path) -> None:
    config = tmp_path / "shop.toml"
    config.write_text('[general]\nlang = "en"\n', encoding="utf-8")
    assert help_lang(["check", "--lang", "en"], {}) == "en"
    assert help_lang(["--lang", "en", "check"], {}) == "en"
    assert help_lang(["check", "--lang", "EN-us"], {}) == "en"
    assert help_lang(["check", "--lang=zh-CN"], {"STOCKWATCH_LANG": "en"}) == "zh-CN"
    assert help_lang(["--help"], {"STOCKWATCH_LANG": "en"}) == "en"
    assert help_lang(["check", "-c", str(config)], {}) == "en"
    assert help_lang(["--help"], {"STOCKWATCH_CONFIG": str(config)}) == "en"
    assert help_lang(["--help"], {"STOCKWATCH_CONFIG": str(tmp_path / "none.toml")}) == "zh-CN"
