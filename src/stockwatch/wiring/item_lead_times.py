"""``[items."SKU"] lead_time_days`` / ``lead_time_sd_days`` win over the items file.

An items file (often an ERP export) may carry each item's lead time; a merchant who writes a
lead time for one item in stockwatch.toml means it for that item. Without this step the item's
own figure always won (core ``declared_lead_time``) and the config line was silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from stockwatch.config.settings import Config
from stockwatch.core.model import Item, ItemKey


def with_config_lead_times(config: Config, items: Mapping[ItemKey, Item]) -> dict[ItemKey, Item]:
    """Return the items with the lead times their ``[items."…"]`` sections set (the warehouse's
    own section wins over the SKU's, as for every other item setting)."""
    out = dict(items)
    for key, item in items.items():
        lead, sd = item.lead_time_days, item.lead_time_sd_days
        changed = False
        for name in config.item_sections(item, None):
            section = config.model.items[name]
            if section.lead_time_days is not None:
                lead, changed = section.lead_time_days, True
            if section.lead_time_sd_days is not None:
                sd, changed = section.lead_time_sd_days, True
        if changed:
            out[key] = replace(item, lead_time_days=lead, lead_time_sd_days=sd)
    return out
