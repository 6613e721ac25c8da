"""The overview's sort order: worst tier first, then fewest days of cover."""

from __future__ import annotations

from stockwatch.core.model import ItemKey, Phase, Tier
from stockwatch.entrypoints.web.item_rows import ItemRow


def _row(sku: str, tier: Tier, cover: float | None) -> ItemRow:
    return ItemRow(
        ItemKey(sku),
        "",
        "",
        tier,
        Phase.FIRING,
        1,
        1,
        None,
        0.0,
        cover,
        None,
        0,
        False,
        False,
        None,
        None,
    )


def test_rows_sort_by_tier_then_days_of_cover_with_unknown_cover_last() -> None:
    rows = [
        _row("PAPER-KITE", Tier.T2, None),
        _row("TIN-ROBOT", Tier.T2, 3.0),
        _row("SNOW-GLOBE", Tier.OUT, 0.0),
        _row("GLOW-LAMP", Tier.OK, 1.0),
        _row("RUBBER-DUCK", Tier.T2, 1.5),
    ]
    ordered = [r.key.sku for r in sorted(rows, key=ItemRow.sort_key)]
    assert ordered == ["SNOW-GLOBE", "RUBBER-DUCK", "TIN-ROBOT", "PAPER-KITE", "GLOW-LAMP"]
