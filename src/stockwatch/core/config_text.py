"""zh-CN wording of the problems found in a configuration file.

The configuration loader describes each problem in one canonical (English) form — the same
text goes into logs and the daemon's refusal to start. This module renders it for the person
reading ``config validate`` in zh-CN, as ``row_text`` does for the rows of an input file: each
known form is a pattern whose named parts are put into its zh-CN sentence. A form it does not
know is shown as it is rather than guessed at.
"""

from __future__ import annotations

import re

from stockwatch.core.row_text import Renderings, render_named

_V = r"(?P<v>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?[\d.]+)"  # a value as repr() shows it
_MEAN = r"(?: \(did you mean (?P<m>'[^']*')\?\))?"  # the loader's "did you mean" hint


def _hint(g: dict[str, str]) -> str:
    return f"（是不是 {g['m']}？）" if g.get("m") else ""


_PROBLEMS: Renderings = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), render)
    for pattern, render in (
        (r"file not found", lambda g: "文件不存在"),
        (r"file not found: (?P<p>.+)", lambda g: f"文件不存在：{g['p']}"),
        (r"secrets file not found", lambda g: "密钥文件不存在"),
        (r"not valid TOML: (?P<e>.+)", lambda g: f"不是有效的 TOML：{g['e']}"),
        (r"not UTF-8 text: (?P<e>.+)", lambda g: f"不是 UTF-8 文本：{g['e']}"),
        (rf"unknown key {_V}{_MEAN}", lambda g: f"未知的键 {g['v']}{_hint(g)}"),
        (rf"unknown time zone {_V}{_MEAN}", lambda g: f"未知的时区 {g['v']}{_hint(g)}"),
        (
            rf"bad duration {_V}: use e\.g\. 90s, 30m, 2h, 1d",
            lambda g: f"时长 {g['v']} 无效：请写成 90s、30m、2h、1d 这样",
        ),
        (
            r"duration must be ≥ 0 seconds, got (?P<v>\S+)",
            lambda g: f"时长必须 ≥ 0 秒，实际为 {g['v']}",
        ),
        (rf"duration {_V} is longer than ten years", lambda g: f"时长 {g['v']} 超过十年"),
        (rf"bad cron expression {_V}", lambda g: f"cron 表达式 {g['v']} 无效"),
        (
            r"empty secret: set it or leave the key out",
            lambda g: "密钥为空：请设置它，或者删掉这个键",
        ),
        (
            r"secret \$\{(?P<n>\w+)\} is set but empty",
            lambda g: f"密钥 ${{{g['n']}}} 已设置但为空",
        ),
        (
            r"secret \$\{(?P<n>\w+)\} is not set in the environment nor in the secrets file",
            lambda g: f"密钥 ${{{g['n']}}} 既不在环境变量中，也不在密钥文件中",
        ),
        (
            rf"unknown channel {_V}; defined: (?P<d>.+)",
            lambda g: f"未知渠道 {g['v']}；已定义：{g['d']}",
        ),
        (rf"duplicate channel name {_V}", lambda g: f"渠道名称 {g['v']} 重复"),
        (rf"duplicate route name {_V}", lambda g: f"路由名称 {g['v']} 重复"),
        (r"Field required", lambda g: "缺少必填项"),
        (
            r"Input should be a valid number(?:, unable to parse string as a number)?",
            lambda g: "应为数字",
        ),
        (
            r"Input should be a valid integer(?:, unable to parse string as an integer)?",
            lambda g: "应为整数",
        ),
        (r"Input should be a valid boolean.*", lambda g: "应为 true 或 false"),
        (r"Input should be a valid string", lambda g: "应为字符串"),
        (r"Input should be a valid list", lambda g: "应为列表"),
        (
            r"Input should be greater than or equal to (?P<n>\S+)",
            lambda g: f"应大于或等于 {g['n']}",
        ),
        (r"Input should be greater than (?P<n>\S+)", lambda g: f"应大于 {g['n']}"),
        (r"Input should be less than or equal to (?P<n>\S+)", lambda g: f"应小于或等于 {g['n']}"),
        (r"Input should be less than (?P<n>\S+)", lambda g: f"应小于 {g['n']}"),
        (r"Input should be (?P<c>'.+)", lambda g: f"应为 {g['c'].replace(' or ', ' 或 ')} 之一"),
    )
)


def config_problem_text(message: str, lang: str) -> str:
    """Return a configuration problem's message in ``lang`` (zh-CN or en)."""
    if lang == "en":
        return message
    # "T1: bad duration …" (a debounce table's own key) keeps the key, words the rest.
    return render_named(_PROBLEMS, _KEYED, message)


_KEYED = re.compile(r"(?P<name>[A-Za-z0-9_]+): (?P<rest>.+)\Z", re.DOTALL)
