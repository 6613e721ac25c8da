"""zh-CN wording of the problems a backtest reports: an item it could not replay, a history
or an option it cannot use.

The replay and its history loader describe each problem in one canonical (English) form — the
same text goes into the JSON report and logs. This module renders it for the person reading
``stockwatch backtest`` or the backtest page, as ``row_text`` does for the rows of an input
file: each known form is a pattern whose named parts are put into its zh-CN sentence. A form it
does not know is shown as it is rather than guessed at.
"""

from __future__ import annotations

import re

from stockwatch.core.row_text import Renderings, render_named

_V = r"(?P<v>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?[\d.]+)"  # a value as repr() shows it
_N = r"[+-]?(?:[\d.]+(?:e[+-]?\d+)?|inf|nan)"  # a number as str() or {:g} shows it

_PROBLEMS: Renderings = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), render)
    for pattern, render in (
        # an item the replay leaves out (bulk.sweep, bulk.levels)
        (
            r"switched off in the policy in force and no stock reading: not replayed",
            lambda g: "在现行策略中已停用，也没有库存读数：未回测",
        ),
        (
            rf"lead-time σ \((?P<sd>{_N})\) exceeds the lead time \((?P<l>{_N})\)",
            lambda g: f"交期标准差 σ（{g['sd']}）大于交期（{g['l']}）",
        ),
        (r"threshold is not finite \((?P<v>.*)\)", lambda g: f"阈值不是有限数（{g['v']}）"),
        # a candidate policy that does not fit an item's own (core.thresholds)
        (
            r"strategy 'fixed' needs a threshold or absolute levels for T1–T3",
            lambda g: "固定阈值策略需要一个阈值，或 T1–T3 都是绝对数量",
        ),
        (
            r"tier levels out of order: (?P<a>T\d)=(?P<x>\S+) is below (?P<b>T\d)=(?P<y>\S+); "
            r"(?P<rule>T1 ≥ T2 ≥ T3(?: > 0)?) is required",
            lambda g: (
                f"预警线顺序不对：{g['a']}={g['x']} 低于 {g['b']}={g['y']}；须满足 {g['rule']}"
            ),
        ),
        (
            rf"service level must be between (?P<a>{_N}) and (?P<b>{_N}), got (?P<v>\S+): "
            r"at 0 or 1 the safety factor Z is infinite",
            lambda g: (
                f"服务水平必须在 {g['a']} 到 {g['b']} 之间，实际为 {g['v']}："
                "为 0 或 1 时安全系数 Z 是无穷大"
            ),
        ),
        (
            r"fill-rate target must be in \[0\.5, 1\), got (?P<v>\S+)",
            lambda g: f"满足率目标必须在 [0.5, 1) 之内，实际为 {g['v']}",
        ),
        (r"debounce and dedupe must be at least 1 day", lambda g: "去抖和去重天数至少为 1 天"),
        (
            rf"(?P<f>\w+) must be between (?P<a>{_N}) and (?P<b>{_N}), got (?P<v>\S+)",
            lambda g: f"{g['f']} 必须在 {g['a']} 到 {g['b']} 之间，实际为 {g['v']}",
        ),
        (
            r"(?P<f>\w+) must be ≥ (?P<n>\S+), got (?P<v>\S+)",
            lambda g: f"{g['f']} 必须 ≥ {g['n']}，实际为 {g['v']}",
        ),
        (
            r"(?P<f>\w+) must be (?P<op>[≥>]) (?P<n>\S+)",
            lambda g: f"{g['f']} 必须 {g['op']} {g['n']}",
        ),
        # a --strategy, --service-level … value (core.tuning)
        (rf"(?P<f>\w+): {_V} is not a valid value", lambda g: f"{g['f']}：{g['v']} 不是有效的值"),
        (
            rf"(?P<f>\w+): use empirical or normal, not {_V}",
            lambda g: f"{g['f']}：请用 empirical 或 normal，而不是 {g['v']}",
        ),
        (
            rf"(?P<f>\w+): must be a number ≥ 0, got {_V}",
            lambda g: f"{g['f']}：必须是 ≥ 0 的数，实际为 {g['v']}",
        ),
        (
            rf"{_V} cannot be tuned; use one of (?P<names>.+)",
            lambda g: f"{g['v']} 不能调整；可调整的有：{g['names']}",
        ),
        # the history (wiring.backtest)
        (r"--days must be at least 1", lambda g: "--days 至少为 1"),
        (r"unknown item\(s\): (?P<k>.+)", lambda g: f"未知商品：{g['k']}"),
        (
            r"no items to replay \(check --item, --category and --class\)",
            lambda g: "没有可回测的商品（请检查 --item、--category 和 --class）",
        ),
        (
            r"(?P<p>.+): needs the columns sku,unit_price",
            lambda g: f"{g['p']}：需要 sku 和 unit_price 两列",
        ),
        (
            rf"(?P<p>.+):(?P<n>\d+): unit_price {_V}",
            lambda g: f"{g['p']}:{g['n']}：unit_price {g['v']} 不是数字",
        ),
        (
            r"(?P<p>.+):(?P<n>\d+): unit_price must be ≥ 0",
            lambda g: f"{g['p']}:{g['n']}：unit_price 必须 ≥ 0",
        ),
        (
            rf"--recompute {_V}: use weekly, monthly, a 5-field cron expression or never",
            lambda g: f"--recompute {g['v']}：请用 weekly、monthly、五段 cron 表达式或 never",
        ),
    )
)

# "SKU: why" or "CANDIDATE: why": the name stays, the reason is rendered.
_NAMED = re.compile(r"(?P<name>[^\s:：]+): (?P<rest>.+)\Z", re.DOTALL)


def replay_problem_text(message: str, lang: str) -> str:
    """Return a backtest problem's message in ``lang`` (zh-CN or en)."""
    if lang == "en":
        return message
    return render_named(_PROBLEMS, _NAMED, message)
