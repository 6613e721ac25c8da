"""What every `stockwatch` command shares: consoles, common options, loading, failing."""

from __future__ import annotations

import os
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from stockwatch.config.settings import Config, ConfigError, find_config, load_config, parse_duration
from stockwatch.core.config_text import config_problem_text
from stockwatch.core.messages import check_lang
from stockwatch.core.since import bounded_since
from stockwatch.entrypoints.cli.texts import t

EXIT_INPUT = 1  # bad input: configuration, unreadable file, unreachable database

# The language chosen by the root command's ``--lang`` (``stockwatch --lang en check …``), and
# the language this command line speaks so far (errors before a command knows its own).
_ROOT_LANG: ContextVar[str | None] = ContextVar("stockwatch_root_lang", default=None)
_SHOWN_LANG: ContextVar[str] = ContextVar("stockwatch_shown_lang", default="zh-CN")

# Piped output (CI, scripts) gets a wide console so tables do not wrap CJK titles.
out = Console(soft_wrap=True, width=None if Console().is_terminal else 160)
err = Console(stderr=True, soft_wrap=True, width=None if Console().is_terminal else 160)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="stockwatch.toml (default: ./stockwatch.toml)")
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh-CN (default) or en")]
ROOT_LANG_HELP = "zh-CN (default) or en, for every command (also $STOCKWATCH_LANG, [general] lang)"
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="database URL (default: $STOCKWATCH_DATABASE_URL, [database] url, or SQLite in "
        "the data dir)",
    ),
]


def fail(message: str) -> typer.Exit:
    """Print an error and return the exit to raise."""
    # escape: "[database]" in a message is a config section, not Rich markup to swallow.
    label = "错误：" if _SHOWN_LANG.get() == "zh-CN" else "error: "
    err.print(f"[bold red]{label}[/]{escape(message)}", highlight=False)
    return typer.Exit(EXIT_INPUT)


def fail_with(name: str, **values: object) -> typer.Exit:
    """``fail`` with the text ``name`` (texts.py) in this command line's language."""
    return fail(t(name, _SHOWN_LANG.get(), **values))


def choices(*values: str) -> str:
    """``a, b or c`` in this command line's language."""
    *head, last = values
    lang = _SHOWN_LANG.get()
    return f"{t('list_sep', lang).join(head)}{t('or', lang)}{last}" if head else last


def config_failure(exc: ConfigError) -> typer.Exit:
    """``fail`` with every problem of a configuration, its heading in this line's language."""
    lang = _SHOWN_LANG.get()
    lines = [t("config_problems", lang, count=len(exc.problems), source=exc.source)]
    for p in exc.problems:
        where = f"{exc.source}:{p.line}" if p.line else exc.source
        said = config_problem_text(p.message, lang)
        lines.append(f"{where} {p.path}: {said}" if p.path else f"{where} {said}")
    return fail("\n".join(lines))


def load(config_path: Path | None) -> Config:
    """Load --config / $STOCKWATCH_CONFIG / ./stockwatch.toml; every problem is listed."""
    try:
        return load_config(find_config(config_path))
    except ConfigError as exc:
        raise config_failure(exc) from None


def local_time(config: Config, moment: datetime | None, seconds: bool = False) -> str:
    """Return ``moment`` in the shop's time zone (``[general] timezone``), as the dashboard
    shows it; "" for None."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(config.model.general.timezone))
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def parse_since(config: Config, text: str | None) -> datetime | None:
    """Return ``--since`` as a moment: an ISO time (without an offset: the shop's time zone,
    the one every page and table shows) or a span back from now such as ``24h``, ``7d``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.now(UTC) - parse_duration(text)
        except ValueError:
            raise fail_with("bad_since", value=text) from None
        except OverflowError:
            raise fail_with("since_range", option="--since", value=text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(config.model.general.timezone))
    return bounded_since_option(moment, text)


def bounded_since_option(moment: datetime, text: str) -> datetime:
    """``--since`` within the years stockwatch stores (0001-01-01 was a traceback)."""
    try:
        return bounded_since(moment)
    except ValueError:
        raise fail_with("since_range", option="--since", value=text) from None


def start_command_line(lang: str) -> None:
    """Forget the previous command line's language choices (tests run many in one process)."""
    _ROOT_LANG.set(None)
    _SHOWN_LANG.set(lang)


def shown_lang() -> str:
    """Return the language this command line speaks so far."""
    return _SHOWN_LANG.get()


def choose_root_lang(lang: str | None) -> None:
    """Remember the root command's ``--lang`` for the command that follows."""
    _ROOT_LANG.set(lang)


def lang_of(config: Config | None, lang: str | None) -> str:
    """Return the language of this command: its own ``--lang``, else the root's
    (``stockwatch --lang en …``), else ``$STOCKWATCH_LANG``, else ``[general] lang`` (zh-CN
    for a command without a configuration)."""
    chosen = lang or _ROOT_LANG.get() or os.environ.get("STOCKWATCH_LANG") or None
    try:
        language = check_lang(chosen) if chosen else config.lang if config else "zh-CN"
    except ValueError:
        source = "--lang" if lang or _ROOT_LANG.get() else "$STOCKWATCH_LANG"
        raise fail(f"{source}: {t('bad_lang', _SHOWN_LANG.get(), value=chosen)}") from None
    _SHOWN_LANG.set(language)
    return language


def setup(config_path: Path | None, lang: str | None) -> tuple[Config, str]:
    config = load(config_path)
    return config, lang_of(config, lang)
