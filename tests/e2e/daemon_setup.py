"""A small shop for daemon tests: two items with hand-set levels, a stock file, a config."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

SECRET = "demoSecret123"
ITEMS = (
    "sku,title,offer_id,sku_id\n"
    "RUBBER-DUCK,黄色橡皮鸭,610000000001,\n"
    "GLOW-LAMP,夜光灯,610000000002,5104790281451\n"
)


def write_shop(root: Path, interval: float = 0.2, extra: str = "") -> Path:
    """Write items.csv and stockwatch.toml under ``root``; return the config path."""
    (root / "items.csv").write_text(ITEMS, encoding="utf-8")
    levels = "t1 = 50\nt2 = 30\nt3 = 10\n"
    config = root / "stockwatch.toml"
    config.write_text(
        f"""
[general]
data_dir = "data"
lang = "en"
[catalog]
items = "items.csv"
[alerting]
debounce = {{ T1 = "0s", T2 = "0s", T3 = "0s", OUT = "0s" }}
[items."RUBBER-DUCK"]
{levels}
[items."GLOW-LAMP"]
{levels}
[daemon]
stock_file = "stock.csv"
channels = ["console", "dingtalk"]
push_app_secret = "{SECRET}"
deliver_every = 0.2
[[daemon.groups]]
name = "fast"
interval = {interval}
[daemon.http]
port = 0
{extra}
""",
        encoding="utf-8",
    )
    return config


def write_stock(root: Path, at: datetime, duck: int, lamp: int) -> None:
    """Rewrite the stock snapshot atomically, as an ERP export would."""
    text = (
        f"sku,on_hand,observed_at\n"
        f"RUBBER-DUCK,{duck},{at.isoformat()}\n"
        f"GLOW-LAMP,{lamp},{at.isoformat()}\n"
    )
    tmp = root / "stock.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(root / "stock.csv")
