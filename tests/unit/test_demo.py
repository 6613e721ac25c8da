"""The demo's data directory: wiped on every run, but only when the demo made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockwatch.entrypoints.cli.app import sample_dir
from stockwatch.entrypoints.cli.demo import MARKER, NotADemoDir, demo_toml, fresh_data_dir


def test_it_refuses_to_wipe_a_database_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "stockwatch.sqlite3").write_bytes(b"the merchant's real data")
    with pytest.raises(NotADemoDir, match="did not create"):
        fresh_data_dir(tmp_path)
    assert (tmp_path / "stockwatch.sqlite3").read_bytes() == b"the merchant's real data"


def test_it_wipes_the_database_and_tokens_of_an_earlier_demo(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    assert fresh_data_dir(data) is False  # nothing to wipe: no "fresh world" message
    for name in ("stockwatch.sqlite3", "stockwatch.sqlite3-wal", "1688-tokens.json", "notes.txt"):
        (data / name).write_text("old", encoding="utf-8")
    assert fresh_data_dir(data) is True  # a restart: the demo says it starts afresh
    assert sorted(p.name for p in data.iterdir()) == [MARKER, "notes.txt"]


def test_the_default_demo_directory_counts_as_the_demos_own(tmp_path: Path) -> None:
    data = tmp_path / MARKER
    data.mkdir()
    (data / "stockwatch.sqlite3").write_text("from the file-feed demo", encoding="utf-8")
    fresh_data_dir(data)
    assert not (data / "stockwatch.sqlite3").exists()


def test_the_demo_config_comment_matches_its_dedupe_hours(tmp_path: Path) -> None:
    # Finding 21: "dedupe_hours = 168  # … once per 24 h".
    sample = sample_dir() / "stockwatch.toml"
    text = demo_toml(sample, tmp_path, "zh-CN", "http://127.0.0.1:1", 0, 60.0, {})
    [line] = [x for x in text.splitlines() if x.startswith("dedupe_hours")]
    assert "168" in line and "24 h" not in line
