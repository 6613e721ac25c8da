"""``[items."SKU"]`` lead times win over the items file (wiring/item_lead_times.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.core.thresholds import compute_levels, declared_lead_time
from stockwatch.wiring.compose import load_catalog

ITEMS = (
    "sku,title,warehouse,lead_time_days,lead_time_sd_days\n"
    "CLOCK,闹钟,,20,4\n"
    "LAMP,台灯,HZ,12,2\n"
    "LAMP,台灯,GZ,12,2\n"
    "MUG,杯子,,9,1\n"
)


def _catalogue(tmp_path: Path, sections: str) -> dict[str, tuple[float | None, float | None]]:
    (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
    path = tmp_path / "stockwatch.toml"
    path.write_text(f'[catalog]\nitems = "items.csv"\n{sections}', encoding="utf-8")
    items = load_catalog(load_config(path, env={}), date(2026, 11, 24)).items
    return {str(k): (i.lead_time_days, i.lead_time_sd_days) for k, i in items.items()}


def test_an_item_section_lead_time_wins_over_the_items_file(tmp_path: Path) -> None:
    leads = _catalogue(
        tmp_path,
        '[items."CLOCK"]\nlead_time_days = 5\n'
        '[items."LAMP"]\nlead_time_sd_days = 1\n'
        '[items."LAMP@GZ"]\nlead_time_days = 3\n',
    )
    assert leads["CLOCK"] == (5, 4)  # only what the section sets changes
    assert leads["LAMP@HZ"] == (12, 1)
    assert leads["LAMP@GZ"] == (3, 1)  # the warehouse's own section wins over the SKU's
    assert leads["MUG"] == (9, 1)  # no section: the items file's figures


def test_the_levels_use_the_configured_lead_time(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8")
    path = tmp_path / "stockwatch.toml"
    path.write_text(
        '[catalog]\nitems = "items.csv"\n[items."CLOCK"]\nlead_time_days = 5\n', encoding="utf-8"
    )
    config = load_config(path, env={})
    item = load_catalog(config, date(2026, 11, 24)).items[ItemKey.parse("CLOCK")]
    policy = config.threshold_policy(item)
    assert declared_lead_time(policy, item) == (5, 4)
    levels = compute_levels(policy, [10] * 90, date(2026, 11, 24), item)
    assert levels.basis.input("L") == 5
