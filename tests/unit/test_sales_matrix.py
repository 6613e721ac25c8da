"""Wide history files: written once, read back row group by row group, unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stockwatch.adapters.files import FileFormatError
from stockwatch.adapters.sales_matrix import read_history, write_history

END = date(2026, 11, 24)


@pytest.mark.parametrize("prefetch", [True, False])
def test_a_history_reads_back_in_row_groups(tmp_path: Path, prefetch: bool) -> None:
    rng = np.random.default_rng(2)
    sales = rng.poisson(3, (1000, 90)).astype(np.int32)
    skus = [f"JADE-FROG-{i:04d}" for i in range(1000)]
    path = tmp_path / "history.parquet"
    write_history(path, skus, sales, END, row_group_rows=300)
    chunks = list(read_history(path, prefetch=prefetch))
    assert [len(c.sales) for c in chunks] == [300, 300, 300, 100]
    assert np.array_equal(np.vstack([c.sales for c in chunks]), sales)
    assert [sku for c in chunks for sku in c.skus] == skus
    assert {c.end for c in chunks} == {END}


def test_a_foreign_parquet_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"sku": ["A"]}), path)
    with pytest.raises(FileFormatError, match="not a stockwatch history"):
        list(read_history(path))
    with pytest.raises(ValueError, match="2 SKUs for 1"):
        write_history(path, ["A", "B"], np.zeros((1, 3), dtype=np.int32), END)
