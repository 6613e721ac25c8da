"""zh-CN wording of the explanation a computation stores with its levels.

The core writes each note and step of a ``Basis`` in one canonical (English) form, because
the basis is stored with every threshold version and must read the same whichever language a
later reader uses. This module renders them in the reader's language: each known form is a
pattern whose named parts are put into its zh-CN sentence. A form it does not know (written
by an older version) is shown as stored rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_N = r"[+-]?[\d.]+(?:e[+-]?\d+)?"  # a number as the notes format them ({:g}, {:.2f}, ints)

_SCOPE = {"item": "该商品自身的", "supplier": "供应商的"}


def _dropped(what: str) -> str:
    """The '3 stockout day(s) (…); 2 promotion day(s) (…)' part of a dropped-days note."""
    what = re.sub(r"(\d+) stockout day\(s\) \(([^)]*)\)", r"\1 个断货日（\2）", what)
    what = re.sub(r"(\d+) promotion day\(s\) \(([^)]*)\)", r"\1 个促销日（\2）", what)
    return what.replace("; ", "；")


# (pattern over the whole English note, zh-CN rendering of its named groups), first match wins.
_NOTES: tuple[tuple[re.Pattern[str], Callable[[dict[str, str]], str]], ...] = tuple(
    (re.compile(pattern), render)
    for pattern, render in (
        (
            rf"T2 would change from (?P<a>{_N}) to (?P<b>{_N}) \(×(?P<r>{_N})\), more than the "
            rf"review factor (?P<f>{_N})",
            lambda g: f"T2 将从 {g['a']} 变为 {g['b']}（×{g['r']}），超过审核系数 {g['f']}",
        ),
        (r"threshold set to 0 by hand", lambda g: "阈值已手动设为 0：该商品不预警"),
        (
            rf"lead time learned from (?P<n>\d+) received orders \(the (?P<scope>item|supplier)'s"
            rf"\): observed (?P<obs>{_N}) ± (?P<obs_sd>{_N}) d; blended with the declared one: "
            rf"L (?P<L>{_N}) d, σL (?P<sL>{_N}) d; reorder point from the demand quantile over "
            r"that lead-time distribution",
            lambda g: (
                f"交期由 {g['n']} 张已收货采购单学得（{_SCOPE[g['scope']]}）：实测 {g['obs']} ± "
                f"{g['obs_sd']} 天；与申报交期混合后 L {g['L']} 天、σL {g['sL']} 天；"
                "再订货点取该交期分布上需求的分位数"
            ),
        ),
        (r"L \+ R = 0: review period set to 1 day", lambda g: "L + R = 0：检查周期按 1 天计"),
        (
            rf"new item: (?P<n>\d+) days of history < (?P<min>{_N}); using the rule rate "
            rf"(?P<rate>{_N})/day and σ = √rate",
            lambda g: (
                f"新品：历史 {g['n']} 天，少于 {g['min']} 天；按新品规则日销 {g['rate']}，σ = √日销"
            ),
        ),
        (
            rf"new-item rule: threshold = (?P<rate>{_N})/day × (?P<days>{_N}) d",
            lambda g: f"新品规则：阈值 = 日销 {g['rate']} × {g['days']} 天",
        ),
        (
            r"only (?P<n>\d+) selling days in the last (?P<w>\d+): demand rate from the "
            r"(?P<h>\d+)-day mean",
            lambda g: f"最近 {g['w']} 天只有 {g['n']} 天有销量：日需求取 {g['h']} 天的均值",
        ),
        (
            rf"intermittent demand \(ADI (?P<adi>{_N}) > (?P<sbc>{_N})\): reorder point from the "
            r"empirical lead-time demand quantile, not the normal formula",
            lambda g: (
                f"间歇性需求（ADI {g['adi']} > {g['sbc']}）：再订货点取交期内销量的经验分位数，"
                "不用正态公式"
            ),
        ),
        (
            rf"intermittent demand \(ADI (?P<adi>{_N}) > (?P<sbc>{_N})\): too little history "
            r"for the empirical lead-time quantile, so the normal formula is used",
            lambda g: (
                f"间歇性需求（ADI {g['adi']} > {g['sbc']}）：历史太短，取不到交期内销量的经验"
                "分位数，因此用正态公式"
            ),
        ),
        (
            r"intermittent demand: d̄ is the (?P<h>\d+)-day mean, not the (?P<w>\d+)-day velocity "
            r"\(a few selling days are lumpy orders, not a daily rate\)",
            lambda g: (
                f"间歇性需求：d̄ 取 {g['h']} 天的均值，不取 {g['w']} 天销速"
                "（少数几天的销量是成批订单，不是日销速）"
            ),
        ),
        (
            rf"promotion (?P<names>.+): (?P<pd>{_N}) of the (?P<h>{_N}) protection-window days "
            rf"under promotion; demand × (?P<r>{_N}), σ × (?P<s>{_N})",
            lambda g: (
                f"促销 {g['names']}：保护期 {g['h']} 天中有 {g['pd']} 天在促销；"
                f"需求 × {g['r']}，σ × {g['s']}"
            ),
        ),
        (
            rf"promotion (?P<name>.+): thresholds × (?P<m>{_N})",
            lambda g: f"促销 {g['name']}：阈值 × {g['m']}",
        ),
        (
            rf"fill-rate target β (?P<b>{_N}): the reorder point is the lowest level whose "
            r"expected shortage per order cycle E\[\(D − ROP\)⁺\] is at most \(1 − β\)·Q = "
            rf"(?P<a>{_N}) units \(Q (?P<q>{_N})\); the service level is not used",
            lambda g: (
                f"满足率目标 β {g['b']}：再订货点取每个订货周期预期缺货量 E[(D − ROP)⁺] "
                f"不超过 (1 − β)·Q = {g['a']} 件的最低水平（Q {g['q']}）；不使用服务水平"
            ),
        ),
        (rf"T3 raised to the floor of (?P<f>{_N})", lambda g: f"T3 提高到下限 {g['f']}"),
        (
            rf"(?P<tier>T[123]) set by hand to (?P<v>{_N})",
            lambda g: f"{g['tier']} 已手动设为 {g['v']}",
        ),
        (
            rf"(?P<a>T[12]) (?P<x>{_N}) clamped up to (?P<b>T[23]) (?P<y>{_N})",
            lambda g: f"{g['a']} {g['x']} 低于 {g['b']}，提高到 {g['y']}",
        ),
        (r"set by (?P<actor>.+)", lambda g: f"由 {g['actor']} 手动设定"),
        (r"left out of d̄ and σ: (?P<what>.+)", lambda g: f"未计入 d̄ 和 σ：{_dropped(g['what'])}"),
        (
            r"kept in d̄ and σ although unusual: (?P<what>.+): only (?P<c>\d+) clean day\(s\) "
            r"would remain, fewer than the minimum of (?P<m>\d+)",
            lambda g: (
                f"以下日子虽异常仍计入 d̄ 和 σ：{_dropped(g['what'])}；"
                f"剔除后只剩 {g['c']} 个正常日，少于最低 {g['m']} 天"
            ),
        ),
    )
)

# Step labels and formulas: whole phrases first, then the words inside formulas.
_STEP_PHRASES = {
    "safety stock": "安全库存",
    "reorder point": "再订货点",
    "before rounding": "取整前",
    "α-quantile of (L+R)-day sales sums": "(L+R) 天销量之和的 α 分位数",
    "α-quantile of a selling day's sales plus the next (L+R) days'": (
        "有销量的一天加其后 (L+R) 天销量之和的 α 分位数"
    ),
    "α-quantile of demand over the learned lead times": "学得交期上需求的 α 分位数",
    "α-quantile of sales sums over the learned lead times": "学得各交期内销量之和的 α 分位数",
    "combined": "组合",
    "ROP (fill rate, lead-time distribution)": "ROP（满足率，交期分布）",
    "lowest x with Σw·σℓ·G((x − d̄·(ℓ+R))/σℓ) ≤ (1−β)·Q over the learned lead times": (
        "学得各交期上使 Σw·σℓ·G((x − d̄·(ℓ+R))/σℓ) ≤ (1−β)·Q 的最低 x"
    ),
    "max(x − d̄·(L+R), 0), x lowest with σLT·G((x − d̄·(L+R))/σLT) ≤ (1−β)·Q": (
        "max(x − d̄·(L+R), 0)，x 为使 σLT·G((x − d̄·(L+R))/σLT) ≤ (1−β)·Q 的最低值"
    ),
    "lowest sum x with Σw·mean((sum − x)⁺) ≤ (1−β)·Q over the learned lead times": (
        "学得各交期内销量之和上使 Σw·均值((和 − x)⁺) ≤ (1−β)·Q 的最低 x"
    ),
    "lowest such sum x with mean((sum − x)⁺) ≤ (1−β)·Q: a selling day's sales plus the next "
    "(L+R) days'": "有销量的一天加其后 (L+R) 天销量之和上使 均值((和 − x)⁺) ≤ (1−β)·Q 的最低 x",
}
_STEP_WORDS = (
    (re.compile(r"^(T[123]) cover$"), r"\1 可售天数"),
    (re.compile(r"^(T[123]) raw$"), r"\1 取整前"),
    (re.compile(r"^ROP \(empirical\)$"), "ROP（经验分位数）"),
    (re.compile(r"^ROP \(empirical, lead-time distribution\)$"), "ROP（经验分位数，交期分布）"),
    (re.compile(r"^ROP \(lead-time distribution\)$"), "ROP（交期分布）"),
    (re.compile(r"^per tier: max of (.+)$"), r"各级取最大：\1"),
    (re.compile(r"^set to (.+)$"), r"设为 \1"),
    (re.compile(rf"^({_N}) × threshold$"), r"\1 × 阈值"),
    (re.compile(rf"^d̄ × ({_N}) days$"), r"d̄ × \1 天"),
    (re.compile(rf"^d̄ × \(L ({_N}) days\)$"), r"d̄ × (L \1 天)"),
    (re.compile(r"L declared"), "L 申报"),
)


def note_text(note: str, lang: str) -> str:
    """Return a stored explanation note in ``lang`` (zh-CN unless it is English)."""
    if lang.startswith("en"):
        return note
    for pattern, render in _NOTES:
        match = pattern.fullmatch(note)
        if match is not None:
            return render(match.groupdict())
    return note


def step_text(text: str, lang: str) -> str:
    """Return a stored step label or formula in ``lang``."""
    if lang.startswith("en"):
        return text
    if text in _STEP_PHRASES:
        return _STEP_PHRASES[text]
    for pattern, replacement in _STEP_WORDS:
        text = pattern.sub(replacement, text)
    return text


def knows_note(note: str) -> bool:
    """Whether ``note`` is one of the forms this module renders (a test checks every producer)."""
    return any(pattern.fullmatch(note) for pattern, _ in _NOTES)


# The strategy a basis names (``Basis.strategy``): the policy's strategy, "default" for the
# new-item rule, "disabled" for a threshold of 0, "hand_set" for levels a person set.
_STRATEGIES = {
    "default": "新品规则",
    "fixed": "固定阈值",
    "reorder_point": "再订货点",
    "safety_stock": "安全库存",
    "days_of_cover": "可售天数",
    "combined": "组合（各策略取最高）",
    "disabled": "已停用",
    "hand_set": "手动设定",
}

# The inputs of a basis (``COMPUTED_INPUTS``, the learned lead time's, the fill rate's and a
# hand-set level's): a label, with the symbol the formulas and notes use where there is one.
_INPUTS = {
    "d": "日均需求（d̄）",
    "sd": "日需求标准差（σ）",
    "L": "交期（L，天）",
    "sL": "交期标准差（σL，天）",
    "R": "检查周期（R，天）",
    "service_level": "服务水平（α）",
    "Z": "安全系数（Z）",
    "k": "缓冲量（k）",
    "history_days": "销量历史天数",
    "velocity7": "近期日均销速",
    "d_order": "补货用日均销量（d_order）",
    "lead_orders": "已收货采购单数",
    "lead_observed": "实测交期（天）",
    "lead_observed_sd": "实测交期标准差（天）",
    "order_cycle_days": "订货周期（天）",
    "fill_rate": "满足率目标（β）",
    "order_qty": "订货量（Q）",
    "velocity": "日均销速",  # the levels' demand rate (TierLevels.velocity)
}


def strategy_text(name: str, lang: str) -> str:
    """Return a basis's strategy name in ``lang``; an unknown one as stored."""
    if lang.startswith("en"):
        return name
    return _STRATEGIES.get(name, name)


def input_text(name: str, lang: str) -> str:
    """Return the label of a basis input in ``lang``; an unknown one (T2 …) as stored."""
    if lang.startswith("en"):
        return name
    return _INPUTS.get(name, name)
