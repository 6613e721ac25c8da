"""zh-CN wording of the problems found in the rows of an input file.

The file readers describe a bad row in one canonical (English) form: the same text goes into
logs and import records whatever the reader's language. This module renders it for the person
reading the CLI: each known form is a pattern whose named parts are put into its zh-CN sentence
(as ``note_text`` does for the notes of a computation). A form it does not know is shown as it
is rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_V = r"(?P<v>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?[\d.]+)"  # a value as repr() shows it
_F = r"(?P<f>[\w.]+)"  # a column name

# A table of message forms: each pattern's named groups go to its render, which words them.
Renderings = tuple[tuple[re.Pattern[str], Callable[[dict[str, str]], str]], ...]


def render_first(table: Renderings, message: str) -> str | None:
    """``message`` worded by the first form of ``table`` it matches (None: it matches none)."""
    for pattern, render in table:
        found = pattern.match(message)
        if found:
            return render(found.groupdict())
    return None


def render_named(table: Renderings, named: re.Pattern[str], message: str) -> str:
    """``message`` worded by ``table``; else, when it reads "NAME: rest" (``named``'s groups
    ``name`` and ``rest``) and the rest can be worded, "NAME：" and the rest worded; else as it
    is (an unknown form is shown, not lost)."""
    rendered = render_first(table, message)
    if rendered is not None:
        return rendered
    found = named.match(message)
    if found:
        inner = render_named(table, named, found["rest"])
        if inner != found["rest"]:
            return f"{found['name']}：{inner}"
    return message


_ROWS: Renderings = tuple(
    (re.compile(pattern + r"\Z"), render)
    for pattern, render in (
        (
            r"duplicate row for (?P<k>.+) \(first on line (?P<n>\d+)\)",
            lambda g: f"{g['k']} 的重复行（首次出现在第 {g['n']} 行；以第一行为准）",
        ),
        (
            r"duplicate item (?P<k>.+) \(first on line (?P<n>\d+)\)",
            lambda g: f"重复的商品 {g['k']}（首次出现在第 {g['n']} 行）",
        ),
        (
            r"duplicate order (?P<o>.+) for (?P<k>.+) \(first on (?P<u>line|row) (?P<n>\d+)\)",
            lambda g: f"{g['k']} 的订单 {g['o']} 重复（首次出现在第 {g['n']} 行）",
        ),
        (rf"{_F} {_V} is not a number", lambda g: f"{g['f']} {g['v']} 不是数字"),
        (rf"{_F} {_V} is not a whole number", lambda g: f"{g['f']} {g['v']} 不是整数"),
        (rf"{_F} {_V} is negative", lambda g: f"{g['f']} {g['v']} 是负数"),
        (rf"{_F} {_V} must be ≥ 0", lambda g: f"{g['f']} {g['v']} 必须 ≥ 0"),
        (
            rf"time {_V} is not ISO 8601 \(e\.g\. (?P<e>[^)]+)\)",
            lambda g: f"时间 {g['v']} 不是 ISO 8601 格式（例如 {g['e']}）",
        ),
        (
            rf"date {_V} is not YYYY-MM-DD or ISO 8601",
            lambda g: f"日期 {g['v']} 不是 YYYY-MM-DD 或 ISO 8601 格式",
        ),
        (
            rf"{_F} {_V} is not a date \(YYYY-MM-DD\)",
            lambda g: f"{g['f']} {g['v']} 不是日期（YYYY-MM-DD）",
        ),
        (r"empty sku", lambda g: "sku 为空"),
        (r"empty date", lambda g: "日期为空"),
        (r"missing on_hand", lambda g: "缺少 on_hand（现有库存）"),
        (rf"missing {_F}", lambda g: f"缺少 {g['f']}"),
        (r"more cells than header columns", lambda g: "单元格比表头的列多"),
        (r"expected an object with sku and on_hand", lambda g: "应为含 sku 和 on_hand 的对象"),
        (
            rf"offer_id {_V} is not a 1688 offer number",
            lambda g: f"offer_id {g['v']} 不是 1688 商品编号",
        ),
        (rf"class {_V} is not A, B or C", lambda g: f"分类 {g['v']} 不是 A、B 或 C"),
        (
            r"lead_time_sd_days (?P<a>\S+) exceeds lead_time_days (?P<b>\S+)",
            lambda g: f"lead_time_sd_days {g['a']} 大于 lead_time_days {g['b']}",
        ),
        (
            rf"offer_status {_V} is not one of active/delisted/expired/gone",
            lambda g: f"offer_status {g['v']} 不是 active/delisted/expired/gone 之一",
        ),
        (
            r"quantity (?P<q>-?\d+) is negative: returns are not demand, record them separately",
            lambda g: f"数量 {g['q']} 为负：退货不是需求，请单独记录",
        ),
        (
            rf"unknown item {_V}: not in the item catalogue",
            lambda g: f"未知商品 {g['v']}：不在商品目录中",
        ),
    )
)


def row_problem_text(message: str, lang: str) -> str:
    """Return a row problem's message in ``lang`` (zh-CN or en)."""
    if lang == "en":
        return message
    rendered = render_first(_ROWS, message)
    return message if rendered is None else rendered


def row_place_text(unit: str, line: int, lang: str) -> str:
    """Return where the problem is: 'line 3' / 'row 3' (Parquet), or '第 3 行'."""
    return f"{unit} {line}" if lang == "en" else f"第 {line} 行"


# Problems with a whole input file ("PATH: why"): the path stays, the reason is rendered.
_FILES: Renderings = tuple(
    (re.compile(r"(?P<p>.+?): " + pattern + r"\Z", re.DOTALL), render)
    for pattern, render in (
        (r"file not found", lambda g: "文件不存在"),
        (r"is a directory, not a file", lambda g: "是目录，不是文件"),
        (
            r"neither UTF-8 nor GB18030 text \((?P<e>.*)\)",
            lambda g: f"既不是 UTF-8 也不是 GB18030 文本（{g['e']}）",
        ),
        (r"empty file, expected a header row", lambda g: "文件为空，应有表头行"),
        (
            rf"no {_V} column \(accepted names: (?P<a>.*)\)",
            lambda g: f"缺少 {g['v']} 列（可用的列名：{g['a']}）",
        ),
        (r"no (?P<v>'\w+') column", lambda g: f"缺少 {g['v']} 列"),
        (
            r"malformed CSV at line (?P<n>\d+) \((?P<e>.*)\): check its quotes .*",
            lambda g: (
                f"第 {g['n']} 行 CSV 格式错误："
                "请检查引号（是否有未闭合的引号，或闭合引号后还有文字）"
            ),
        ),
        (
            r"not valid JSON at line (?P<n>\d+): (?P<e>.*)",
            lambda g: f"第 {g['n']} 行不是有效的 JSON：{g['e']}",
        ),
        (
            r"expected a JSON list of items or \{\"items\": \[\.\.\.\]\}",
            lambda g: '应为商品的 JSON 列表，或 {"items": [...]}',
        ),
        (
            r"not a readable Parquet file \((?P<e>.*)\)",
            lambda g: f"无法读取的 Parquet 文件（{g['e']}）",
        ),
        (
            r"quantity column has type (?P<t>\S+), expected numbers",
            lambda g: f"quantity 列的类型是 {g['t']}，应为数字",
        ),
    )
)


def file_problem_text(message: str, lang: str) -> str:
    """Return a whole-file problem ("PATH: why") in ``lang``; an unknown form as it is."""
    if lang == "en":
        return message
    for pattern, render in _FILES:
        found = pattern.match(message)
        if found:
            return f"{found['p']}：{render(found.groupdict())}"
    return message
