"""The Celery settings a worker runs with (no broker needed to read them)."""

from __future__ import annotations

from pathlib import Path

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.worker.app import celery_settings, restore_settings


def _config(tmp_path: Path, scale: str) -> Path:
    path = tmp_path / "stockwatch.toml"
    path.write_text(f"[scale]\n{scale}\n", encoding="utf-8")
    return path


def test_a_redis_broker_sweeps_unacknowledged_tasks_back_within_the_visibility_timeout(
    tmp_path: Path,
) -> None:
    config = load_config(
        _config(tmp_path, 'redis_url = "redis://127.0.0.1:6379/0"\nvisibility_timeout = 4')
    )
    options = celery_settings(config)["broker_transport_options"]
    assert options["visibility_timeout"] == 4
    # kombu's default scans on every 10th tick of a 10 s timer: a task came back after 100 s.
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_restore_interval"] == 2


def test_the_sweep_is_every_few_seconds_whatever_the_timeout() -> None:
    assert restore_settings(3600)["unacked_restore_interval"] == 10
    assert restore_settings(0.5)["unacked_restore_interval"] == 1


def test_rabbitmq_needs_no_sweep(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'broker_url = "amqp://guest:guest@127.0.0.1:5672//"'))
    assert "broker_transport_options" not in celery_settings(config)
