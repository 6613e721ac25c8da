"""A small shop with 100 days of sales for the backtest and review tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

LAST = date(2026, 11, 23)  # the last day with sales


def write_backtest_shop(root: Path, b_silent: tuple[date, ...] = ()) -> Path:
    """Item A sells 2 a day, fixed threshold 10 (T1 15, T2 10, T3 5), lead 3 days; item B
    sells 1 a day (none on ``b_silent`` days) under the default policy. Returns the config."""
    (root / "items.csv").write_text(
        "sku,title,category,class,supplier,lead_time_days\nA,甲,toys,B,义乌晨光,3\n"
        "B,乙,toys,B,东莞壳王,\n",
        encoding="utf-8",
    )
    lines = ["date,sku,quantity"]
    for d in range(100):
        day = LAST - timedelta(days=d)
        lines.append(f"{day},A,2")
        if day not in b_silent:
            lines.append(f"{day},B,1")
    (root / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = root / "stockwatch.toml"
    config.write_text(
        '# the shop\n[general]\ndata_dir = "data"\n[catalog]\nitems = "items.csv"\n'
        'sales = "sales.csv"\n[alerting]\ndebounce = { T1 = "0s", T2 = "0s" }\n'
        '[items."A"]\nstrategy = "fixed"\nthreshold = 10\n'
        '[daemon]\nstock_file = "stock.csv"\n[[daemon.groups]]\nname = "all"\ninterval = 60\n',
        encoding="utf-8",
    )
    return config
