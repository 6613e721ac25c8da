"""Command-line and page texts in zh-CN (default) and English."""

from __future__ import annotations

from stockwatch.core.messages import check_lang
from stockwatch.core.messages import event_word as event_word  # the CLI's name for it

_TEXTS: dict[str, tuple[str, str]] = {
    "tier": ("级别", "Tier"),
    "item": ("商品", "Item"),
    "title": ("名称", "Title"),
    "available": ("可用库存", "Available"),
    "on_hand": ("现有", "On hand"),
    "levels": ("预警线 T1/T2/T3", "Levels T1/T2/T3"),
    "cover": ("可售天数", "Days of cover"),
    "strategy": ("策略", "Strategy"),
    "at_risk_title": ("库存风险（最紧急在前）", "Items at risk, worst first"),
    "none_at_risk": ("所有商品库存正常。", "Every item is above its levels."),
    "summary": (
        "共检查 {total} 个商品：{risk} 个有风险，其中 {urgent} 个为 T2 或更严重。",
        "Checked {total} items: {risk} at risk, {urgent} at T2 or worse.",
    ),
    "skipped": (
        "跳过 {count} 行无效数据（有效行已处理）：",
        "Skipped {count} bad row(s); the valid rows were processed:",
    ),
    "no_levels": ("{key}：未能计算预警线：{error}", "{key}: no levels computed: {error}"),
    "config_ok": ("配置有效：{path}", "Configuration is valid: {path}"),
    "promotion_rows": (
        "促销文件中有 {count} 行无效（文件:行 字段: 原因）：",
        "{count} bad row(s) in the promotions file (file:line field: why):",
    ),
    "config_default": (
        "未找到配置文件，使用内置默认值。",
        "No configuration file; using defaults.",
    ),
    "unknown_item": ("未知商品：{key}", "Unknown item: {key}"),
    "unknown_kind": (
        "--kind：未知的事件类型 {kinds}（可用：{known}）",
        "--kind: unknown event kind {kinds} (known: {known})",
    ),
    "explain_head": ("{key} 的预警线计算过程", "How the levels of {key} were computed"),
    "inputs": ("输入", "Inputs"),
    "steps": ("计算步骤", "Steps"),
    "notes": ("说明", "Notes"),
    "result": ("结果", "Result"),
    "colon": ("：", ": "),
    "disabled": ("已停用（阈值为 0）", "disabled (threshold 0)"),
    "policy": ("策略参数", "Policy"),
    "learned_lead": (
        "交期按 {n} 张已收货采购单学习（{scope}）：实际 {obs:.1f} ± {obs_sd:.1f} 天，"
        "与申报交期合并后 L = {L:.2f} 天，σL = {sL:.2f} 天",
        "Lead time learned from {n} received orders ({scope}): observed {obs:.1f} ± "
        "{obs_sd:.1f} d, blended with the declared one: L = {L:.2f} d, σL = {sL:.2f} d",
    ),
    "order_rate": (
        "补货量按日销 d_order = {rate:.2f}/天 计算（近 {days} 天剔除断货日和促销日的均值，"
        "间歇性商品取整个窗口的均值；不含促销提升）；再订货点用 d̄ = {d:.2f}/天",
        "Orders are sized at d_order = {rate:.2f}/day (the mean of the last {days} days without "
        "stockout and promotion days, the whole window's for intermittent items; no promotion "
        "uplift); the reorder point uses d̄ = {d:.2f}/day",
    ),
    "scope_item": ("本商品的采购单", "this item's orders"),
    "scope_supplier": ("同一供应商的采购单", "the supplier's orders"),
    "col_name": ("名称", "name"),
    "col_value": ("数值", "value"),
    "col_step": ("步骤", "step"),
    "col_formula": ("公式", "formula"),
    "no_config": (
        "未找到配置文件（--config、$STOCKWATCH_CONFIG 或当前目录的 stockwatch.toml）："
        "使用内置默认值。",
        "No configuration file (--config, $STOCKWATCH_CONFIG or ./stockwatch.toml): "
        "using built-in defaults.",
    ),
    "not_in_catalog": (
        "警告：库存文件中有 {count} 个商品不在商品目录中：{items}",
        "warning: {count} item(s) in the stock file are not in the item catalogue: {items}",
    ),
    "which_warehouse": (
        "{key} 在多个仓库中：{keys}。请指定其中一个（SKU@仓库）。",
        "{key} is stocked in several warehouses: {keys}. Name one of them (SKU@WAREHOUSE).",
    ),
    "no_db": (
        "还没有数据库（{url}）：先运行 `stockwatch run` 或 `stockwatch db upgrade`。",
        "No database yet ({url}): run `stockwatch run` or `stockwatch db upgrade` first.",
    ),
    "demo_title": (
        "stockwatch 演示：示例数据上的 check 和 explain",
        "stockwatch demo: check and explain on the sample",
    ),
    # errors of the command line's own options (the option is named in both languages)
    "no_database": ("无法打开数据库：{error}", "cannot open the database: {error}"),
    "bad_date": (
        "{option} {value!r} 不是日期（YYYY-MM-DD）",
        "{option} {value!r} is not a date (YYYY-MM-DD)",
    ),
    "bad_choice": ("{option} {value!r}：请用 {choices}", "{option} {value!r}: use {choices}"),
    "or": (" 或 ", " or "),
    "list_sep": ("、", ", "),
    "no_db_file": ("--db {db}：没有这个数据库文件", "--db {db}: no such database file"),
    "bad_since": (
        "--since {value!r}：请用 ISO 时间或往前的一段时长，例如 24h、7d",
        "--since {value!r}: use an ISO time or a span such as 24h, 7d",
    ),
    "no_sales_history": (
        "还没有销量历史：请先导入（stockwatch sales import FILE）",
        "no sales history: import sales first (stockwatch sales import FILE)",
    ),
    "since_range": (
        "{option} {value!r}：超出范围（1970–2999 年）",
        "{option} {value!r}: out of range (years 1970–2999)",
    ),
    "bad_for": (
        "--for {value!r}：请用一段时长，例如 90s、30m、2h、1d",
        "--for: {error}",
    ),
    "cannot_listen": (
        "无法监听 127.0.0.1:{port}：{error}",
        "cannot listen on 127.0.0.1:{port}: {error}",
    ),
    "channel_disabled": ("渠道 {channel} 已停用", "{channel}: disabled"),
    "until_before_since": (
        "--until {last} 早于 --since {first}",
        "--until {last} is before --since {first}",
    ),
    "config_problems": ("{source} 中有 {count} 个问题：", "{count} problem(s) in {source}:"),
    "no_open_alert": ("{key}：没有未结束的预警", "{key}: no open alert"),
    "not_announced": (
        "{key}：预警还在观察期，尚未发出，无需确认；如要压下它，请用 alerts snooze",
        "{key}: its alert has not been sent yet (waiting out its debounce): nothing to "
        "acknowledge; use alerts snooze to hold it back",
    ),
    "db_unavailable": (
        "数据库不可用，预警线按文件计算：{error}",
        "database unavailable, levels computed from files: {error}",
    ),
    "bad_lang": (
        "不支持的语言 {value!r}，请用 zh-CN 或 en",
        "unsupported language {value!r}; use zh-CN or en",
    ),
    "unknown_column": (
        "警告：{path} 的列 {column!r} 无法识别，已忽略（可用列名见 README「Input files」）。",
        "warning: {path}: column {column!r} is not recognised and was ignored "
        '(accepted names: README, "Input files").',
    ),
}


def t(name: str, lang: str, **values: object) -> str:
    """Return the text ``name`` in ``lang`` with ``values`` filled in."""
    zh, en = _TEXTS[name]
    return (zh if check_lang(lang) == "zh-CN" else en).format(**values)
