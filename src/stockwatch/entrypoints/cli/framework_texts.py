"""Typer's and click's own lines ("Usage:", "Options", "[default: …]", "Missing option" …) in zh-CN.

Three mechanisms, one table (``FRAMEWORK_ZH``, keyed by the framework's English text):

- Typer passes its own words through gettext (``_("Options")``, ``_("default: {default}")``,
  ``_("required")``, ``_("No such command {name!r}.")``, ``_("Aborted!")``). The table is
  compiled into ``stockwatch/locales/zh_CN/LC_MESSAGES/messages.mo``
  (``python -m stockwatch.devtools.compile_locales``; a test keeps the file in step with the
  table), bound to gettext's default domain, and chosen with ``$LANGUAGE`` while one command
  line is handled (``framework_language``).
- The copy of click inside Typer has no gettext. Its usage prefix and headings go through the
  help formatter, which click lets a command choose (``Context.formatter_class``: ``ZhContext``).
- Its error messages are English f-strings; ``LocalizedUsageError`` shows a usage error again
  from the exception's own fields (which option, which kind, the value's validation error code)
  with the table's words, in click's layout. Only the few messages click keeps as plain text
  ("Got unexpected extra argument(s) (…)") are matched against their English template.

English needs none of this: it is the framework's own language.
"""

from __future__ import annotations

import gettext
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from string import Formatter
from typing import IO, Any

from typer._click import Context, HelpFormatter
from typer._click.exceptions import (
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.utils import echo

FRAMEWORK_ZH: dict[str, str] = {
    # Typer's gettext message ids (help pages and a few errors)
    "Options": "选项",
    "Arguments": "参数",
    "Commands": "命令",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Missing command.": "缺少命令。",
    # no full stop: Typer strips a trailing "." before it adds "Did you mean …"
    "No such command {name!r}.": "没有这个命令：{name!r}",
    "Aborted!": "已中止！",
    # click's usage line and error layout
    "Usage: ": "用法：",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    # click's errors, rebuilt from the exception's fields
    "Missing {param_type} {param_hint}.": "缺少{param_type} {param_hint}。",
    "option": "选项",
    "argument": "参数",
    "parameter": "参数",
    "No such option: {name}": "没有这个选项：{name}",
    "(Possible options: {options})": "（可用的相近选项：{options}）",
    "Invalid value for {hint}: {message}": "{hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    # click's and Typer's errors that are plain text: matched against these templates
    "Option {name} requires an argument.": "选项 {name} 需要一个值。",
    "Option {name} requires {nargs} arguments.": "选项 {name} 需要 {nargs} 个值。",
    "Option {name} does not take a value.": "选项 {name} 不接受值。",
    "Argument {name} takes {nargs} values.": "参数 {name} 需要 {nargs} 个值。",
    "Got unexpected extra argument(s) ({args})": "多余的参数（{args}）",
    "{message}. Did you mean {suggestions}?": "{message}。你是不是要输入 {suggestions}？",
}
# A value that does not convert (Typer validates with pydantic): by the validation error's
# type code, with its context ({ge}, {le}, …); an unknown code keeps pydantic's English text.
VALUE_ERRORS_ZH: dict[str, str] = {
    "int_parsing": "不是有效的整数",
    "int_from_float": "应为整数，不能有小数",
    "float_parsing": "不是有效的数字",
    "bool_parsing": "不是有效的布尔值（true/false）",
    "greater_than_equal": "应大于或等于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "应小于或等于 {le}",
    "less_than": "应小于 {lt}",
    "finite_number": "应为有限的数字",
}
_PLAIN_TEMPLATES = (
    "Option {name} requires an argument.",
    "Option {name} requires {nargs} arguments.",
    "Option {name} does not take a value.",
    "Argument {name} takes {nargs} values.",
    "Got unexpected extra argument(s) ({args})",
    "{message}. Did you mean {suggestions}?",
)
DOMAIN_LANGUAGES = {"zh-CN": "zh_CN", "en": "en"}


_TOKENS = re.compile(r"\s+|[^\s\u2e80-\uffef]+|.", re.DOTALL)
_NO_LINE_START = set("，。、；：）】」』？！》,.;:)")


def columns(text: str) -> int:
    """Return the terminal columns ``text`` takes (wide and full-width characters: two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_columns(text: str, width: int) -> list[str]:
    """Wrap ``text`` to ``width`` terminal columns: between CJK characters or at spaces,
    never inside a Latin word, never starting a line with closing punctuation."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKENS.findall(paragraph):
            if token.isspace():
                line += token if line else ""  # click's "  [默认：…]" keeps its two spaces
                continue
            if not line.strip() or columns(line + token) <= width:
                line += token
            elif token not in _NO_LINE_START:
                lines.append(line.rstrip())
                line = token
            elif columns(line[-1]) == 2 and line[-1] not in _NO_LINE_START:
                lines.append(line[:-1].rstrip())  # "数量）": the character goes along
                line = line[-1] + token
            else:
                line += token  # nothing to carry: the punctuation stays, a little wide
        lines.append(line.rstrip())
    return lines


def locale_dir() -> str:
    """Return the directory holding ``zh_CN/LC_MESSAGES/messages.mo``."""
    return str(resources.files("stockwatch") / "locales")


@contextmanager
def framework_language(lang: str) -> Iterator[None]:
    """Let Typer's gettext calls answer in ``lang`` while the block runs."""
    gettext.bindtextdomain(gettext.textdomain(), locale_dir())
    before = os.environ.get("LANGUAGE")
    os.environ["LANGUAGE"] = DOMAIN_LANGUAGES.get(lang, "zh_CN")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LANGUAGE", None)
        else:
            os.environ["LANGUAGE"] = before


class ZhHelpFormatter(HelpFormatter):
    """click's help formatter for zh-CN: the zh-CN usage prefix, full-width heading colons,
    and text wrapped by terminal columns (click counts characters, and a CJK character takes
    two columns: its zh-CN lines ran past the terminal and broke the option table)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, FRAMEWORK_ZH["Usage: "] if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        width = max(self.width - self.current_indent, 11)
        paragraphs = [p for p in text.split("\n\n") if p.strip()]
        for i, paragraph in enumerate(paragraphs):
            if i:
                self.write("\n")
            for line in wrap_columns(" ".join(paragraph.split()), width):
                self.write(f"{indent}{line}\n")

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_col = min(max((columns(first) for first, _ in rows), default=0), col_max)
        first_col += col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if columns(first) <= first_col - col_spacing:
                self.write(" " * (first_col - columns(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_columns(second, max(self.width - first_col - 2, 10))
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


class ZhContext(Context):
    """The context of a command shown in zh-CN: its help and usage lines use ZhHelpFormatter."""

    formatter_class = ZhHelpFormatter


def _template(text: str) -> re.Pattern[str]:
    pattern = ""
    for literal, field, _spec, _conv in Formatter().parse(text):
        pattern += re.escape(literal)
        if field is not None:
            pattern += f"(?P<{field}>.+?)"
    return re.compile(f"^{pattern}$", re.DOTALL)


_TEMPLATES = [(_template(english), FRAMEWORK_ZH[english]) for english in _PLAIN_TEMPLATES]


def _param_hint(exc: BadParameter) -> str:
    hint: Any = exc.param_hint
    if hint is None and exc.param is not None:
        hint = exc.param.get_error_hint()
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return str(hint or "")


def _value_error(exc: BadParameter) -> str:
    """The reason a value was refused, from pydantic's error code when Typer validated it."""
    errors = getattr(exc.__cause__, "errors", None)
    if callable(errors):
        found = errors()
        if found and found[0].get("type") in VALUE_ERRORS_ZH:
            context = found[0].get("ctx") or {}
            return VALUE_ERRORS_ZH[found[0]["type"]].format(**context)
    return str(exc.message)


def _plain(message: str) -> str:
    for pattern, zh in _TEMPLATES:
        found = pattern.match(message)
        if found:
            return zh.format(**found.groupdict())
    return message


def zh_message(exc: UsageError) -> str:
    """Return the zh-CN text of a usage error click would show in English."""
    if isinstance(exc, MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        text = FRAMEWORK_ZH["Missing {param_type} {param_hint}."].format(
            param_type=FRAMEWORK_ZH.get(kind, kind), param_hint=_param_hint(exc)
        )
        return f"{text}{exc.message}" if exc.message else text
    if isinstance(exc, BadParameter):
        hint = _param_hint(exc)
        if not hint:
            return FRAMEWORK_ZH["Invalid value: {message}"].format(message=_value_error(exc))
        key = "Invalid value for {hint}: {message}"
        return FRAMEWORK_ZH[key].format(hint=hint, message=_value_error(exc))
    if isinstance(exc, NoSuchOption) and exc.message == f"No such option: {exc.option_name}":
        text = FRAMEWORK_ZH["No such option: {name}"].format(name=exc.option_name)
        if exc.possibilities:
            options = ", ".join(sorted(exc.possibilities))
            text += FRAMEWORK_ZH["(Possible options: {options})"].format(options=options)
        return text
    return _plain(str(exc.message))


class LocalizedUsageError(UsageError):
    """A usage error shown in zh-CN: click's layout (usage, hint, error line), zh-CN words."""

    def __init__(self, original: UsageError) -> None:
        super().__init__(original.message, original.ctx)
        self.original = original
        self.exit_code = original.exit_code

    def format_message(self) -> str:
        return zh_message(self.original)

    def show(self, file: IO[Any] | None = None) -> None:
        ctx = self.ctx
        if ctx is not None:
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                hint = FRAMEWORK_ZH["Try '{command} {option}' for help."].format(
                    command=ctx.command_path, option=ctx.help_option_names[0]
                )
                hint += "\n"
            echo(f"{ctx.get_usage()}\n{hint}", file=file, err=file is None, color=ctx.color)
        line = FRAMEWORK_ZH["Error: {message}"].format(message=self.format_message())
        echo(line, file=file, err=file is None, color=ctx.color if ctx else None)


@contextmanager
def localized_errors(lang: str) -> Iterator[None]:
    """Show the usage errors raised in the block in ``lang`` (click's own are English)."""
    try:
        yield
    except (NoArgsIsHelpError, LocalizedUsageError):
        raise  # the help page (already in ``lang``), or translated further down
    except UsageError as exc:
        if lang != "zh-CN":
            raise
        raise LocalizedUsageError(exc) from exc
