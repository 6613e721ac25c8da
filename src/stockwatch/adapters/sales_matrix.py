"""Wide sales history on disk: one Parquet row per SKU, its days as one fixed-size binary cell.

The layout is the cheapest to read back: a cell is ``days`` little-endian int32 values, so a row
group becomes an (rows, days) matrix without any per-value decoding, and the file is read one
row group at a time (the next one decoded in a background thread while the caller computes) so
memory stays bounded by a row group, not the whole history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from stockwatch.adapters.files import FileFormatError

ROW_GROUP_ROWS = 128 * 1024


@dataclass(frozen=True)
class HistoryChunk:
    """Consecutive SKUs of a history file and their daily sales, oldest day first."""

    sku_column: Any  # a pyarrow string array: turned into Python strings only when asked
    sales: npt.NDArray[np.int32]
    end: date  # the day after the last column

    @property
    def skus(self) -> list[str]:
        return [str(s) for s in self.sku_column.to_pylist()]


def write_history(
    path: Path,
    skus: Sequence[str],
    sales: npt.NDArray[np.integer[Any]],
    end: date,
    *,
    compression: str = "zstd",
    row_group_rows: int = ROW_GROUP_ROWS,
) -> None:
    """Write an (N, days) history; ``end`` is the day after the last column."""
    matrix = np.ascontiguousarray(sales, dtype="<i4")
    rows, days = matrix.shape
    if len(skus) != rows:
        raise ValueError(f"{len(skus)} SKUs for {rows} history rows")
    cells = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(days * 4), rows, [None, pa.py_buffer(matrix)]
    )
    table = pa.table({"sku": pa.array(list(skus), pa.string()), "days": cells})
    table = table.replace_schema_metadata({"end": end.isoformat(), "days": str(days)})
    pq.write_table(
        table,
        path,
        compression=compression,
        use_dictionary=False,
        row_group_size=row_group_rows,
    )


def read_history(path: Path, *, prefetch: bool = True) -> Iterator[HistoryChunk]:
    """Yield the history one row group at a time (decoding the next one meanwhile)."""
    try:
        f = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    meta = {k.decode(): v.decode() for k, v in (f.schema_arrow.metadata or {}).items()}
    if "end" not in meta or "days" not in meta or "days" not in f.schema_arrow.names:
        raise FileFormatError(f"{path}: not a stockwatch history file (no end/days metadata)")
    end = date.fromisoformat(meta["end"])
    days = int(meta["days"])

    def load(group: int) -> Any:
        return f.read_row_group(group, columns=["sku", "days"])

    groups = f.num_row_groups
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(load, 0) if groups else None
        for group in range(groups):
            assert pending is not None
            table = pending.result()
            more = group + 1 < groups
            if more and prefetch:
                pending = pool.submit(load, group + 1)
            cells = table.column("days").combine_chunks()
            if cells.null_count:
                raise FileFormatError(f"{path}: row group {group} has empty history cells")
            sales = np.frombuffer(cells.buffers()[1], dtype="<i4").reshape(len(cells), days)
            yield HistoryChunk(table.column("sku").combine_chunks(), sales, end)
            if more and not prefetch:
                pending = pool.submit(load, group + 1)
