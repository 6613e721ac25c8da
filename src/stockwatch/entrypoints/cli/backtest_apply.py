"""``stockwatch backtest --apply NAME``: write a chosen policy into the config layer it belongs to.

The layer follows the replay's scope: one ``--item`` → ``[items."SKU"]``, ``--category`` →
``[categories."name"]``, ``--class`` → ``[classes.X]``, none → ``[thresholds]``. The file is
edited with tomlkit (comments and layout kept), checked by loading it, and put back as it was
when the result does not load. Then the affected items are recomputed through the same review
guard as a scheduled recompute: a threshold that jumps by more than ``review_factor`` waits in
``thresholds review``.

Two kinds of policy are per item by nature, so they go to each replayed item's own layer
``[items."SKU"]``: a fill-rate target β (config holds a service level, so each item gets the α
the replay chose to reach β), and learned lead times (each item's mean and σ of the received
orders the replay used); an item section's lead time wins over the items file's.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table as TomlTable

from stockwatch.bulk.sweep import CandidateResult, ReplayData
from stockwatch.config.settings import Config, ConfigError, load_config
from stockwatch.core.thresholds import MAX_SERVICE_LEVEL, MIN_SERVICE_LEVEL
from stockwatch.core.tuning import Candidate, learned_lead_time
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
    "per_item": (
        '已为 {n} 个商品写入各自的 [items."SKU"]：{what}',
        'wrote {what} to the own [items."SKU"] section of {n} item(s)',
    ),
    "what_alpha": (
        "达到满足率 {beta:g} 的服务水平",
        "the service level that reaches fill rate {beta:g}",
    ),
    "what_lead": ("从采购单学到的交期", "the lead time learned from received orders"),
    "nothing_per_item": (
        "没有可写入的商品：回测里没有商品得到新的服务水平或学到的交期",
        "nothing to write: no replayed item got a service level or a learned lead time",
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
    """Return the TOML keys the candidate sets in its scope's layer (per-item values apart)."""
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


@dataclass(frozen=True)
class PerItem:
    """Values that belong to each item's own layer: item name → TOML keys."""

    values: dict[str, dict[str, float]]


def per_item_values(candidate: Candidate, result: CandidateResult, data: ReplayData) -> PerItem:
    """Return what a fill-rate or learned-lead-time policy sets per item (see the module)."""
    values: dict[str, dict[str, float]] = {}
    for row, name in enumerate(data.names):
        if row in result.errors or result.t1[row] <= 0:
            continue  # no levels in the replay (switched off or an error): nothing learned
        own: dict[str, float] = {}
        if candidate.fill_rate is not None:
            alpha = float(result.service_level[row])
            own["service_level"] = min(max(round(alpha, 4), MIN_SERVICE_LEVEL), MAX_SERVICE_LEVEL)
        if candidate.lead_model == "learned":
            learned = learned_lead_time(data.lead_samples[row])
            if learned is not None:
                own["lead_time_days"] = round(learned[0], 2)
                own["lead_time_sd_days"] = round(learned[1], 2)
        if own:
            values[name] = own
    return PerItem(values)


def write_layer(
    path: Path,
    table_path: list[str],
    values: dict[str, Any],
    alerting: dict[str, Any],
    per_item: dict[str, dict[str, float]] | None = None,
) -> str:
    """Edit the TOML file in place (atomically); return the original text."""
    original = path.read_text(encoding="utf-8")
    doc = tomlkit.parse(original)
    _set_keys(doc, table_path, values)
    for name, own in (per_item or {}).items():
        _set_keys(doc, ["items", name], own)
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


def _set_keys(doc: Any, table_path: list[str], values: dict[str, Any]) -> None:
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
    result: CandidateResult | None = None,
    data: ReplayData | None = None,
) -> None:
    """Write ``candidate`` (with its replay ``result`` over ``data``, needed for per-item
    values) and recompute the affected items through the review guard."""
    from stockwatch.wiring.backtest import recompute_items

    if config.path is None:
        raise fail(_t("no_file", lang))
    table_path, shown = layer_path(item, category, item_class, lang)
    values = candidate_settings(candidate, in_force, lang)
    alerting = _alerting(candidate, in_force)
    per_item = PerItem({})
    if candidate.fill_rate is not None or candidate.lead_model != "declared":
        if result is None or data is None:
            raise ValueError("a per-item policy needs its replay to be applied")
        per_item = per_item_values(candidate, result, data)
        if not per_item.values:
            raise fail(_t("nothing_per_item", lang))
    original = write_layer(config.path, table_path, values, alerting, per_item.values)
    try:
        updated = load_config(config.path)
    except ConfigError as exc:
        _replace(config.path, original)
        raise fail(_t("invalid", lang, error=exc)) from None
    settings = ", ".join(f"{k}={v}" for k, v in {**values, **alerting}.items()) or "-"
    if values or alerting:
        out.print(
            _t("written", lang, path=config.path, layer=shown, settings=settings),
            highlight=False,
            markup=False,  # the layer is written [categories."x"], not Rich markup
        )
    if per_item.values:
        what = _t("what_alpha", lang, beta=candidate.fill_rate or 0)
        if candidate.lead_model != "declared":
            what = (
                _t("what_lead", lang)
                if candidate.fill_rate is None
                else what + " + " + _t("what_lead", lang)
            )
        out.print(
            _t("per_item", lang, n=len(per_item.values), what=what),
            highlight=False,
            markup=False,
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
