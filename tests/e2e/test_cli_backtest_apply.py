"""``backtest --apply`` for per-item policies: a fill-rate target and learned lead times.

Each is checked the strongest way: after the apply, the policy *in force* gives the item the
levels the applied candidate had in the replay, so what was written is what was backtested."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.compose import open_database
from tests.e2e.backtest_shop import write_backtest_shop


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _json(output: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(output[output.index("{") :])
    return data


def _levels(report: dict[str, Any], which: str) -> dict[str, list[int]]:
    return {row["sku"]: row[f"levels_{which}"] for row in report["per_item"]}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A (catalogue lead time 3 days, fixed threshold) and B (no lead time, default policy)."""
    return write_backtest_shop(tmp_path)


def _received(config: Path, supplier: str, sku: str, days: tuple[int, ...]) -> None:
    engine = open_database(load_config(config))
    orders = SqlPurchaseOrderStore(engine)
    for n, lead in enumerate(days):
        placed = datetime(2026, 9, 1 + 10 * n, tzinfo=UTC)
        order, _ = orders.add(PurchaseOrder(ItemKey(sku), supplier, 5, placed, placed), placed)
        assert order.id is not None
        orders.receive(order.id, None, placed + timedelta(days=lead))
    engine.dispose()


def test_a_fill_rate_target_is_written_as_each_items_service_level(shop: Path) -> None:
    args = ("backtest", "-c", str(shop), "--item", "B", "-f", "json", "--lang", "en")
    code, output = _cli(*args, "--fill-rate", "0.9", "--buffer-days", "1")
    assert code == 0, output
    replayed = _json(output)
    code, output = _cli(*args, "--fill-rate", "0.9", "--buffer-days", "1", "--apply", "candidate")
    assert code == 0, output
    assert '[items."B"]' in output and "fill rate 0.9" in output
    written = tomllib.loads(shop.read_text(encoding="utf-8"))["items"]["B"]
    assert written["buffer_days"] == 1.0
    assert 0.5 <= written["service_level"] < 0.9999
    # The policy in force is now the applied candidate: the same levels.
    code, output = _cli(*args, "--buffer-days", "0")
    assert code == 0, output
    assert _levels(_json(output), "in_force") == _levels(replayed, "candidate")
    assert _levels(replayed, "candidate") != _levels(replayed, "in_force")


def test_learned_lead_times_are_written_per_item_and_win_over_the_catalogue(shop: Path) -> None:
    _received(shop, "东莞壳王", "B", (5, 6, 7))  # B's supplier: mean 6 days, σ 1 day
    _received(shop, "义乌晨光", "A", (8, 9))  # A declares 3 days in the catalogue
    args = ("backtest", "-c", str(shop), "-f", "json", "--lang", "en")
    code, output = _cli(*args, "--lead-model", "learned")
    assert code == 0, output
    replayed = _json(output)
    code, output = _cli(*args, "--lead-model", "learned", "--apply", "candidate")
    assert code == 0, output
    items = tomllib.loads(shop.read_text(encoding="utf-8"))["items"]
    assert (items["B"]["lead_time_days"], items["B"]["lead_time_sd_days"]) == (6.0, 1.0)
    assert items["A"]["lead_time_days"] == 8.5  # config's item section wins over the catalogue
    code, output = _cli(*args, "--buffer-days", "0")
    assert code == 0, output
    after = _levels(_json(output), "in_force")
    for item in ("A", "B"):
        assert after[item] == _levels(replayed, "candidate")[item]
    assert after["B"] != _levels(replayed, "in_force")["B"]


def test_per_item_values_go_through_the_review_guard(shop: Path) -> None:
    code, output = _cli("sales", "import", str(shop.parent / "sales.csv"), "-c", str(shop))
    assert code == 0, output
    code, output = _cli("thresholds", "recompute", "-c", str(shop), "--as-of", "2026-11-24")
    assert code == 0, output
    code, output = _cli(
        "backtest", "-c", str(shop), "--item", "B", "--fill-rate", "0.6", "--apply", "候选"
    )
    assert code == 0, output
    assert "已重算 1 个商品" in output and "达到满足率 0.6 的服务水平" in output


def test_nothing_learned_is_a_clear_error_and_leaves_the_file_alone(shop: Path) -> None:
    before = shop.read_text(encoding="utf-8")
    code, output = _cli(
        "backtest", "-c", str(shop), "--lead-model", "learned", "--apply", "candidate",
        "--lang", "en",
    )  # fmt: skip
    assert code == 1 and "nothing to write" in output
    assert shop.read_text(encoding="utf-8") == before
