"""FileStockSource: poll a stock snapshot (CSV/JSON) that an ERP export rewrites.

Each cycle re-reads the file. An item missing from the file, or on a bad row, gets a failed
reading (never stock 0); an unreadable file fails every item's reading for that cycle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from stockwatch.adapters.files import FileFormatError, Loaded, read_stock
from stockwatch.core.model import Item, Reading, ReadingSource


class FileStockSource:
    """A ``ports.StockSource`` reading one snapshot file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def read(self, items: Sequence[Item], now: datetime) -> list[Reading]:
        try:
            loaded: Loaded[Reading] = await asyncio.to_thread(read_stock, self.path, now)
        except (FileFormatError, OSError) as exc:
            return [Reading.failed(i.key, now, ReadingSource.POLL, str(exc)) for i in items]
        by_key = {r.key: r for r in loaded.rows}
        out = []
        for item in items:
            found = by_key.get(item.key)
            if found is None:
                out.append(
                    Reading.failed(item.key, now, ReadingSource.POLL, f"not in {self.path.name}")
                )
            else:
                out.append(
                    Reading(
                        found.key,
                        found.observed_at,
                        ReadingSource.POLL,
                        found.on_hand,
                        found.committed,
                        found.in_transit,
                        found.offer_status,
                    )
                )
        return out
