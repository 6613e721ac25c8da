"""What every `stockwatch` command shares: consoles, common options, loading, failing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

from stockwatch.config.settings import Config, ConfigError, find_config, load_config, parse_duration
from stockwatch.core.messages import check_lang

EXIT_INPUT = 1  # bad input: configuration, unreadable file, unreachable database

# Piped output (CI, scripts) gets a wide console so tables do not wrap CJK titles.
out = Console(soft_wrap=True, width=None if Console().is_terminal else 160)
err = Console(stderr=True, soft_wrap=True, width=None if Console().is_terminal else 160)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="stockwatch.toml (default: ./stockwatch.toml)")
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh-CN (default) or en")]
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
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(EXIT_INPUT)


def load(config_path: Path | None) -> Config:
    """Load --config / $STOCKWATCH_CONFIG / ./stockwatch.toml; every problem is listed."""
    try:
        return load_config(find_config(config_path))
    except ConfigError as exc:
        raise fail(str(exc)) from None


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
            return datetime.now(UTC) - parse_duration(text)
        except ValueError:
            raise fail(f"--since {text!r}: use an ISO time or a span such as 24h, 7d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(config.model.general.timezone))
    return moment


def lang_of(config: Config, lang: str | None) -> str:
    """Return --lang when given, else the configured language."""
    try:
        return check_lang(lang) if lang else config.lang
    except ValueError as exc:
        raise fail(str(exc)) from None


def setup(config_path: Path | None, lang: str | None) -> tuple[Config, str]:
    config = load(config_path)
    return config, lang_of(config, lang)
