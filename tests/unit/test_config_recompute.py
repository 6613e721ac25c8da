"""``[thresholds] recompute`` and ``review_factor``: validated, kept out of the policy layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockwatch.config.settings import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stockwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_schedule_and_factor_are_read_without_touching_policies(tmp_path: Path) -> None:
    cfg = load_config(
        write(tmp_path, '[thresholds]\nrecompute = "0 3 * * 1"\nreview_factor = 2.5\n')
    )
    assert cfg.model.thresholds.recompute == "0 3 * * 1"
    assert cfg.model.thresholds.review_factor == 2.5
    assert cfg.threshold_policy(None).lead_time_days == 7.0
    assert load_config(None).model.thresholds.recompute == "weekly"


def test_a_bad_schedule_or_factor_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[thresholds]\nlead_time_days = 5\nrecompute = "daily-ish"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert ":3 thresholds.recompute" in str(info.value)
    with pytest.raises(ConfigError, match="review_factor"):
        load_config(write(tmp_path, "[thresholds]\nreview_factor = 1.0\n"))


def test_items_may_not_set_the_schedule(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="recompute"):
        load_config(write(tmp_path, '[items."CAT-MUG"]\nrecompute = "weekly"\n'))
