"""The [database] and [daemon] sections: defaults, schedules, group membership, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from stockwatch.config.daemon import DaemonConfig, PollGroupConfig
from stockwatch.config.settings import ConfigError, load_config
from stockwatch.core.model import Item

T0 = datetime(2026, 11, 24, 1, 7, tzinfo=UTC)


def test_an_empty_config_gets_working_daemon_defaults() -> None:
    cfg = load_config(None)
    daemon = cfg.model.daemon
    assert [g.name for g in daemon.groups] == ["default"]
    assert daemon.groups[0].next_after(T0) == T0 + timedelta(hours=1)
    assert cfg.model.database.url == "" and cfg.model.database.auto_upgrade
    assert daemon.channels == ["console"] and daemon.push_app_secret is None


def test_a_group_runs_on_an_interval_or_on_cron() -> None:
    every = PollGroupConfig(name="fast", interval="5m")
    cron = PollGroupConfig(name="nightly", cron="0 2 * * *")
    assert every.next_after(T0) == T0 + timedelta(minutes=5)
    assert cron.next_after(T0) == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "exactly one of interval or cron"),
        ({"interval": "5m", "cron": "* * * * *"}, "exactly one of interval or cron"),
        ({"cron": "every tuesday"}, "bad cron expression"),
        ({"interval": "0s"}, "more than 0 seconds"),
        ({"interval": "soon"}, "bad duration"),
    ],
)
def test_a_bad_schedule_is_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PollGroupConfig(name="g", **fields)


def test_items_join_the_first_group_that_names_them() -> None:
    daemon = DaemonConfig(
        groups=[
            PollGroupConfig(name="hot", interval="5m", tags=["热卖"]),
            PollGroupConfig(name="cables", interval="15m", categories=["数据线"]),
            PollGroupConfig(name="rest", interval="1h"),
        ]
    )
    assert (
        daemon.group_of(Item("FIRE-KETTLE", tags=frozenset({"热卖"}), category="数据线")) == "hot"
    )
    assert daemon.group_of(Item("USB-C-2M", category="数据线")) == "cables"
    assert daemon.group_of(Item("PLAIN-SPOON")) == "rest"


def test_duplicate_group_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate poll group"):
        DaemonConfig(groups=[PollGroupConfig(name="a", interval=60)] * 2)


def test_a_bad_daemon_section_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text(
        '[general]\nlang = "en"\n\n[daemon]\ndeliver_every = "soon"\n\n[daemon.retention]\n'
        "raw_days = 30\nkeep_days = 7\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    text = str(info.value)
    assert ":5 daemon.deliver_every: bad duration 'soon'" in text
    assert "keep_days must be at least raw_days" in text


def test_the_push_secret_comes_from_the_environment_and_prints_masked(tmp_path: Path) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text('[daemon]\npush_app_secret = "${ALI_APP_SECRET}"\n', encoding="utf-8")
    cfg = load_config(path, env={"ALI_APP_SECRET": "demoSecret123"})
    secret = cfg.model.daemon.push_app_secret
    assert secret is not None and secret.get_secret_value() == "demoSecret123"
    assert "demoSecret123" not in repr(cfg.model.daemon)


@pytest.mark.parametrize(
    "text", ['[daemon]\ndeliver_every = "0s"\n', "[daemon.retention]\nrun_every = 0\n"]
)
def test_a_loop_period_of_zero_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="0 would loop without pause"):
        load_config(path, env={})


def test_the_delivery_retry_window_is_a_duration_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text(
        '[daemon.delivery]\nretry_window = "6h"\nunknown_code_attempts = 3\n', encoding="utf-8"
    )
    delivery = load_config(path, env={}).model.daemon.delivery
    assert (delivery.retry_window_hours, delivery.unknown_code_attempts) == (6.0, 3)
    assert DaemonConfig().delivery.retry_window_hours == 24.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('retry_window = "0s"', "every failure would dead-letter at once"),
        ('retry_window = "30 minutes"', "bad duration '30 minutes'"),
        ("unknown_code_attempts = 0", "greater than or equal to 1"),
    ],
)
def test_a_bad_delivery_setting_is_reported_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text(f"[daemon.delivery]\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert ":2 daemon.delivery." in str(info.value) and message in str(info.value)
