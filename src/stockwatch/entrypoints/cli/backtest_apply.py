"""``stockwatch backtest --apply NAME``: write a chosen policy into the config layer it belongs to.

The layer follows the replay's scope: one ``--item`` → ``[items."SKU"]``, ``--category`` →
``[categories."name"]``, ``--class`` → ``[classes.X]``, none → ``[thresholds]``. The file is
edited with tomlkit (comments and layout kept), checked by loading it, and put back as it was
when the result does not load. Then the affected items are recomputed through the same review
guard as a scheduled recompute: a threshold that jumps by more than ``review_factor`` waits in
``thresholds review``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table as TomlTable

from stockwatch.config.settings import Config, ConfigError, load_config
from stockwatch.core.tuning import Candidate
from stockwatch.entrypoints.cli.common import fail, out

_T: dict[str, tuple[str, str]] = {
    "no_file": (
        "没有配置文件可写：请用 --config 指定 stockwatch.toml",
        "no configuration file to write: give --config stockwatch.toml",
    ),
    "scope": (
        "--apply 只能针对一个范围：一个 --item、--category 或 --class",
        "--apply needs one scope: a single --item, --category or --class",
    ),
    "fill_rate": (
        "满足率目标还不是配置项：请改用它为各商品选出的服务水平",
        "a fill-rate target is not a configuration setting: use a service level instead",
    ),
    "learned": (
        "学习到的交期来自采购单，不是配置项；该策略不能直接写入",
        "learned lead times come from purchase orders, not from the configuration; "
        "this policy cannot be written as is",
    ),
    "written": ("已写入 {path} 的 {layer}：{settings}", "wrote {settings} to {layer} in {path}"),
    "invalid": (
        "写入后配置无效，已恢复原文件：{error}",
        "the configuration would be invalid, the file is unchanged: {error}",
    ),
    "recomputed": (
        "已重算 {n} 个商品：{active} 个生效，{flagged} 个变化过大待审核"
        "（stockwatch thresholds review）",
        "recomputed {n} items: {active} active, {flagged} held for review "
        "(stockwatch thresholds review)",
    ),
    "no_sales": (
        "数据库里没有导入的销量：预警线将在守护进程下次重算时按新配置生效",
        "no imported sales in the database: the levels follow at the daemon's next recompute",
    ),
}


def _t(key: str, lang: str, **kw: object) -> str:
    zh, en = _T[key]
    return (en if lang == "en" else zh).format(**kw)


def layer_path(
    item: list[str] | None, category: str | None, item_class: str | None, lang: str
) -> tuple[list[str], str]:
    """Return the TOML table path of the scope and how to show it."""
    scopes = [s for s in ((item or None), category, item_class) if s]
    if len(scopes) > 1 or (item and len(item) > 1):
        raise fail(_t("scope", lang))
    if item:
        return ["items", item[0]], f'[items."{item[0]}"]'
    if category:
        return ["categories", category], f'[categories."{category}"]'
    if item_class:
        return ["classes", item_class.upper()], f"[classes.{item_class.upper()}]"
    return ["thresholds"], "[thresholds]"


def candidate_settings(candidate: Candidate, in_force: Candidate, lang: str) -> dict[str, Any]:
    """Return the TOML keys the candidate sets, or fail for what config cannot express."""
    if candidate.fill_rate is not None:
        raise fail(_t("fill_rate", lang))
    if candidate.lead_model != "declared":
        raise fail(_t("learned", lang))
    values: dict[str, Any] = {}
    for name, value in candidate.settings:
        values[name] = getattr(value, "value", value)
    if candidate.tiers:
        values["tiers"] = {name: str(spec) for name, spec in candidate.tiers}
    return values


def _alerting(candidate: Candidate, in_force: Candidate) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if candidate.dedupe_days != in_force.dedupe_days:
        changes["dedupe_hours"] = candidate.dedupe_days * 24
    debounce = {}
    if candidate.debounce_t1 != in_force.debounce_t1:
        debounce["T1"] = f"{candidate.debounce_t1}d"
    if candidate.debounce_t2 != in_force.debounce_t2:
        debounce["T2"] = f"{candidate.debounce_t2}d"
    if debounce:
        changes["debounce"] = debounce
    return changes


def write_layer(
    path: Path, table_path: list[str], values: dict[str, Any], alerting: dict[str, Any]
) -> str:
    """Edit the TOML file in place (atomically); return the original text."""
    original = path.read_text(encoding="utf-8")
    doc = tomlkit.parse(original)
    node: Any = doc
    for part in table_path:
        if part not in node:
            node[part] = tomlkit.table(is_super_table=part in ("items", "categories", "classes"))
        node = node[part]
    for key, value in values.items():
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            node[key] = inline
        else:
            node[key] = value
    if alerting:
        if "alerting" not in doc:
            doc["alerting"] = tomlkit.table()
        section = doc["alerting"]
        assert isinstance(section, TomlTable)
        for key, value in alerting.items():
            if isinstance(value, dict):
                merged = dict(section.get(key, {}))
                merged.update(value)
                inline = tomlkit.inline_table()
                inline.update(merged)
                section[key] = inline
            else:
                section[key] = value
    _replace(path, tomlkit.dumps(doc))
    return original


def _replace(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stockwatch-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def apply_policy(
    config: Config,
    db: str | None,
    candidate: Candidate,
    in_force: Candidate,
    *,
    item: list[str] | None,
    category: str | None,
    item_class: str | None,
    lang: str,
) -> None:
    from stockwatch.wiring.backtest import recompute_items

    if config.path is None:
        raise fail(_t("no_file", lang))
    table_path, shown = layer_path(item, category, item_class, lang)
    values = candidate_settings(candidate, in_force, lang)
    alerting = _alerting(candidate, in_force)
    original = write_layer(config.path, table_path, values, alerting)
    try:
        updated = load_config(config.path)
    except ConfigError as exc:
        _replace(config.path, original)
        raise fail(_t("invalid", lang, error=exc)) from None
    settings = ", ".join(f"{k}={v}" for k, v in {**values, **alerting}.items()) or "-"
    out.print(
        _t("written", lang, path=config.path, layer=shown, settings=settings),
        highlight=False,
        markup=False,  # the layer is written [categories."x"], not Rich markup
    )
    report = recompute_items(updated, db, item)
    if report is None:
        out.print(_t("no_sales", lang), highlight=False)
        return
    out.print(
        _t(
            "recomputed",
            lang,
            n=report.computed,
            active=report.activated,
            flagged=report.flagged,
        ),
        highlight=False,
    )
