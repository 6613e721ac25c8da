"""``stockwatch review`` on a SQLite database filled by two real poll cycles."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import app
from stockwatch.service.polling import poll_items
from stockwatch.wiring.compose import build_daemon
from tests.e2e.daemon_setup import write_shop, write_stock


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The duck falls to T3, then runs out an hour later; the lamp stays healthy."""
    path = write_shop(tmp_path)
    parts = build_daemon(load_config(path), http_port=None)
    now = datetime.now(UTC) - timedelta(hours=2)
    for duck in (5, 0):
        write_stock(tmp_path, now, duck=duck, lamp=500)
        clock = lambda at=now: at  # noqa: E731  (the poll time, not the wall clock)
        asyncio.run(poll_items("fast", parts.store.items(), parts.source, parts.evaluator, clock))
        now += timedelta(hours=1)
    parts.store.engine.dispose()
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_review_as_json_counts_the_stockout_and_its_warning(config: Path) -> None:
    code, output = _cli("review", "-c", str(config), "--format", "json")
    assert code == 0, output
    data = json.loads(output)
    assert (data["episodes"], data["stockouts"], data["missed"]) == (1, 1, 0)
    [episode] = data["episode_list"]
    assert (episode["item"], episode["first_tier"], episode["worst_tier"]) == (
        "RUBBER-DUCK",
        "T3",
        "OUT",
    )
    assert episode["warning_hours"] == 1.0
    assert data["notices_per_item"] == {"RUBBER-DUCK": 2}


def test_review_prints_a_table_in_either_language(config: Path) -> None:
    code, output = _cli("review", "-c", str(config), "--lang", "en")
    assert code == 0, output
    assert "Stockouts" in output and "RUBBER-DUCK" in output and "1.0 h" in output
    code, output = _cli("review", "-c", str(config), "--lang", "zh-CN")
    assert code == 0 and "断货次数" in output and "Stockouts" not in output


def test_review_since_a_later_date_finds_nothing(config: Path) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    code, output = _cli("review", "-c", str(config), "--since", later, "--format", "json")
    assert code == 0 and json.loads(output)["episodes"] == 0


def test_review_rejects_a_bad_date_and_format_clearly(config: Path) -> None:
    code, output = _cli("review", "-c", str(config), "--since", "yesterday-ish")
    assert code == 1 and "--since" in output
    code, output = _cli("review", "-c", str(config), "--format", "xml")
    assert code == 1 and "table or json" in output
