"""The configured bulk computer gives every item what ``stockwatch check`` computes per item."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

from stockwatch.adapters.files import daily_series, read_items, read_sales
from stockwatch.bulk.computer import BulkLevelsComputer
from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import sample_dir
from stockwatch.service.check import levels_for_items
from stockwatch.wiring.compose import policy_resolver


def test_the_sample_shop_gets_the_same_levels_as_the_per_item_path() -> None:
    sample = sample_dir()
    cfg = load_config(sample / "stockwatch.toml")
    items = {i.key: i for i in read_items(sample / "items.csv").rows}
    lines = read_sales(sample / "sales.csv").rows
    # during the 双12 promotion, so demand promotions are exercised too
    as_of = date(2026, 12, 8)
    series = daily_series(lines, as_of, 90)

    def history(skus: list[str], end: date, days: int) -> np.ndarray:
        assert end == as_of
        return np.array([series.get(s, [0] * 90)[-days:] for s in skus], dtype=np.int32)

    computer = BulkLevelsComputer(cfg, items, history)  # type: ignore[arg-type]
    keys = [str(k) for k in items]
    got = {c.key: c for c in computer(keys, as_of)}
    want, errors = levels_for_items(
        list(items), items, policy_resolver(cfg), series, as_of, cfg.promotions()
    )
    assert not errors
    promoted = 0
    for key, levels in want.items():
        mine = got[str(key)].levels
        assert mine is not None, got[str(key)].error
        assert (mine.t1, mine.t2, mine.t3, mine.disabled) == (
            levels.t1,
            levels.t2,
            levels.t3,
            levels.disabled,
        )
        assert mine.basis.notes == levels.basis.notes
        promoted += any("promotion" in n for n in mine.basis.notes)
    assert promoted >= 2
    assert len(computer.groups.policies) < len(items)  # policies are shared, not per item


def test_the_item_lead_time_beats_the_configured_one_and_strangers_get_defaults(
    tmp_path: Path,
) -> None:
    (tmp_path / "items.csv").write_text(
        "sku,lead_time_days,lead_time_sd_days\nSOLAR-FAN,3,2\n", encoding="utf-8"
    )
    (tmp_path / "stockwatch.toml").write_text(
        '[items."SOLAR-FAN"]\nlead_time_days = 1\nlead_time_sd_days = 1\n', encoding="utf-8"
    )
    cfg = load_config(tmp_path / "stockwatch.toml")
    items = {i.key: i for i in read_items(tmp_path / "items.csv").rows}

    def history(skus: list[str], end: date, days: int) -> np.ndarray:
        return np.full((len(skus), days), 2, dtype=np.int32)

    computer = BulkLevelsComputer(cfg, items, history)  # type: ignore[arg-type]
    [ok] = computer(["SOLAR-FAN"], date(2026, 11, 24) + timedelta(days=0))
    assert ok.levels is not None and ok.levels.basis.input("L") == 3.0
    [unknown] = computer(["SOLAR-FAN@NOWHERE"], date(2026, 11, 24))
    assert unknown.levels is not None  # not in the catalogue: the defaults apply


def test_settings_that_clash_name_each_item_they_stop(tmp_path: Path) -> None:
    """Layers valid alone can clash together (a class's lead-time σ above a category's lead
    time): every item of that class and category gets the error under its own SKU (it was
    the first item's, for the whole group), and the other items are computed."""
    (tmp_path / "items.csv").write_text(
        "sku,category\nLAMP-A,lamps\nLAMP-B,lamps\nMUG,cups\n", encoding="utf-8"
    )
    (tmp_path / "stockwatch.toml").write_text(
        '[classes.B]\nlead_time_sd_days = 2\n[categories."lamps"]\nlead_time_days = 1\n',
        encoding="utf-8",
    )
    cfg = load_config(tmp_path / "stockwatch.toml")
    items = {i.key: i for i in read_items(tmp_path / "items.csv").rows}

    def history(skus: list[str], end: date, days: int) -> np.ndarray:
        return np.full((len(skus), days), 2, dtype=np.int32)

    computer = BulkLevelsComputer(cfg, items, history)  # type: ignore[arg-type]
    lamp_a, lamp_b, mug = computer(["LAMP-A", "LAMP-B", "MUG"], date(2026, 11, 24))
    for got in (lamp_a, lamp_b):
        assert got.levels is None and got.error is not None
        assert got.error.startswith(f"item {got.key}: lead_time_sd_days (2)"), got.error
        assert '[categories."lamps"]' in got.error
    assert mug.levels is not None and mug.error is None


def test_a_warehouse_key_outside_the_catalogue_gets_its_plain_skus_sales(tmp_path: Path) -> None:
    """A shop without a catalogue recomputes the keys its sales name: ``A@W1`` is the only
    key of SKU A in a warehouse, so the sales booked without a warehouse count as its own too,
    as ``service.check.own_sales`` counts them (the bulk path lent nothing when no catalogue
    key held a warehouse)."""
    from stockwatch.core.model import ItemKey
    from stockwatch.service.check import own_sales

    (tmp_path / "stockwatch.toml").write_text("", encoding="utf-8")
    cfg = load_config(tmp_path / "stockwatch.toml")
    per_day = {"A": 5, "A@W1": 1}

    def history(names: list[str], end: date, days: int) -> np.ndarray:
        return np.array([[per_day.get(n, 0)] * days for n in names], dtype=np.int32)

    computer = BulkLevelsComputer(cfg, {}, history)  # type: ignore[arg-type]
    rate = computer.columns(["A", "A@W1"], date(2026, 11, 24)).bulk.rate.tolist()
    series = {name: [n] * 3 for name, n in per_day.items()}
    assert own_sales(ItemKey.parse("A@W1"), {}, series) == [6] * 3  # the per-item rule
    assert rate == [5.0, 6.0]
