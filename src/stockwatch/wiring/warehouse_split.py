"""One 1688 offer kept in several warehouses: an explicit split of its stock, never a copy.

1688 reports one stock figure per offer (or per spec). When the items file maps the same
offer/spec to more than one item — typically ``SKU@HZ`` and ``SKU@GZ`` — each of them must say
its share: ``[items."SKU@HZ"] share = 0.6``, ``[items."SKU@GZ"] share = 0.4``; each warehouse
then reads ``floor(stock × share)`` (rounding never shows more than there is). Shares of one
offer/spec must add up to 1. A missing share, or shares that do not add up, is a configuration
error naming the file, the key and its line — the daemon does not start on a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from stockwatch.config.settings import Config, ConfigError, Problem
from stockwatch.config.tomlpos import line_of
from stockwatch.core.model import Item, ItemKey

TOLERANCE = 1e-6


def _section(config: Config, item: Item) -> str | None:
    """The most specific ``[items."…"]`` section that sets a share for the item."""
    for name in reversed(config.item_sections(item, str(item.key))):
        if config.model.items[name].share is not None:
            return name
    return None


def _share(config: Config, item: Item) -> float:
    name = _section(config, item)
    share = config.model.items[name].share if name is not None else None
    return 0.0 if share is None else share


def with_shares(config: Config, items: Mapping[ItemKey, Item]) -> dict[ItemKey, Item]:
    """Return the items with their configured share of their offer's 1688 stock."""
    out = dict(items)
    for key, item in items.items():
        name = _section(config, item)
        if name is not None and item.offer is not None:
            share = config.model.items[name].share
            out[key] = replace(item, offer=replace(item.offer, share=share))
    return out


def split_problems(config: Config, items: Iterable[Item]) -> list[Problem]:
    """Every offer/spec mapped to several items without shares that add up to 1."""
    groups: dict[tuple[str, str | None], list[Item]] = {}
    for item in items:
        if item.offer is not None:
            sub = item.offer.spec_id or item.offer.sku_id
            groups.setdefault((item.offer.offer_id, sub), []).append(item)
    text = config.path.read_text(encoding="utf-8") if config.path is not None else ""
    problems: list[Problem] = []
    for (offer, sub), shared in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if len(shared) < 2:
            continue
        keys = ", ".join(str(i.key) for i in shared)
        where = f"offer {offer}{'/' + sub if sub else ''} is mapped to {len(shared)} items ({keys})"
        missing = [i for i in shared if _section(config, i) is None]
        for item in missing:
            path = ("items", str(item.key), "share")
            problems.append(
                Problem(
                    f'items."{item.key}".share',
                    line_of(text, path),
                    f"{where}: set each one's share of its 1688 stock, e.g. share = "
                    f"{1 / len(shared):.2f} (1688 reports one figure for all of them)",
                )
            )
        if missing:
            continue
        total = sum(_share(config, i) for i in shared)
        if abs(total - 1.0) > TOLERANCE:
            for item in shared:
                name = _section(config, item) or str(item.key)
                problems.append(
                    Problem(
                        f'items."{name}".share',
                        line_of(text, ("items", name, "share")),
                        f"{where}: their shares add up to {total:g}, not 1",
                    )
                )
    return problems


def check_split(config: Config, items: Iterable[Item]) -> None:
    """Raise ConfigError when an offer's stock would have to be guessed between items."""
    problems = split_problems(config, items)
    if problems:
        raise ConfigError(str(config.path or "stockwatch.toml"), problems)


def catalogue_split_problems(config: Config) -> list[Problem]:
    """``config validate``: the split problems of the items file, when the daemon reads its
    stock from 1688 (a stock file has a row per warehouse and needs no split)."""
    from stockwatch.adapters.files import FileFormatError, read_items

    name = config.model.catalog.items
    if config.model.daemon.stock_file or not name or not config.resolve(name).is_file():
        return []
    try:
        items = read_items(config.resolve(name)).rows
    except (FileFormatError, OSError):
        return []  # reported where the catalogue is read
    return split_problems(config, items)
