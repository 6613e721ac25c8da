"""A SKU kept in two warehouses gets each warehouse's own sales, settings and levels, end to end
through the CLI: ``sales import`` (a warehouse column), ``thresholds recompute``, ``explain``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner

from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.notify import open_engine

runner = CliRunner()
AS_OF = date(2026, 11, 1)


def test_a_sku_in_two_warehouses_gets_each_warehouses_own_sales_and_levels(
    tmp_path: Path,
) -> None:
    (tmp_path / "items.csv").write_text(
        "sku,title,warehouse,lead_time_days\nLAMP,台灯,杭州,5\nLAMP,台灯,广州,5\n",
        encoding="utf-8",
    )
    (tmp_path / "stockwatch.toml").write_text(
        '[general]\nlang = "en"\n[catalog]\nitems = "items.csv"\n'
        "[thresholds]\nwindow_days = 60\nbuffer_days = 0\n"
        '[items."LAMP@广州"]\nservice_level = 0.99\n',
        encoding="utf-8",
    )
    lines = ["date,sku,warehouse,quantity"]
    for i in range(60):
        day = AS_OF - timedelta(days=60 - i)
        lines += [f"{day},LAMP,杭州,{10 + i % 3}", f"{day},LAMP,广州,{2 + i % 2}"]
    (tmp_path / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = str(tmp_path / "stockwatch.toml")
    db = f"sqlite+pysqlite:///{tmp_path / 'sw.sqlite3'}"

    imported = runner.invoke(
        app, ["sales", "import", str(tmp_path / "sales.csv"), "-c", config, "--db", db]
    )
    assert imported.exit_code == 0, imported.stdout + imported.stderr
    recomputed = runner.invoke(
        app, ["thresholds", "recompute", "-c", config, "--db", db, "--as-of", str(AS_OF)]
    )
    assert recomputed.exit_code == 0, recomputed.stdout + recomputed.stderr
    assert "Computed 2 items" in recomputed.stdout

    engine = open_engine(db)
    current = SqlThresholdStore(engine).current(["LAMP@杭州", "LAMP@广州"])
    engine.dispose()
    east, south = current["LAMP@杭州"].active, current["LAMP@广州"].active
    assert east is not None and south is not None
    # each its own history: 杭州 sells ~11/day, 广州 ~2.5/day, and neither is a new item
    assert east.levels.basis.strategy == south.levels.basis.strategy == "reorder_point"
    assert east.levels.basis.input("history_days") == 60.0
    assert 10 <= (east.levels.basis.input("d") or 0) <= 12
    assert 2 <= (south.levels.basis.input("d") or 0) <= 3
    assert east.levels.t2 > 3 * south.levels.t2
    # [items."LAMP@广州"] applies to 广州 only
    assert south.levels.basis.input("service_level") == 0.99
    assert east.levels.basis.input("service_level") != 0.99

    explained = runner.invoke(
        app,
        [
            "explain",
            "LAMP@广州",
            "-c",
            config,
            "--db",
            db,
            "--format",
            "json",
            "--as-of",
            str(AS_OF),
        ],
    )
    assert explained.exit_code == 0, explained.stdout + explained.stderr
    stored = json.loads(explained.stdout)["stored"]
    assert stored["levels"]["T2"] == south.levels.t2
