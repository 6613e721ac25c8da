"""Channels built from config: the default broadcast target always exists."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stockwatch.config.settings import load_config
from stockwatch.core.model import Tier
from stockwatch.wiring.compose import default_router
from stockwatch.wiring.notify import build_channels, close_channels, delivery_settings
from tests.notify_factories import item, notice


def test_channels_without_routes_still_deliver_the_default_broadcast(tmp_path: Path) -> None:
    config = tmp_path / "stockwatch.toml"
    config.write_text(
        '[[channels]]\nname = "ops"\nurl = "webhook+http://127.0.0.1:9/hook?secret=s3cret"\n',
        encoding="utf-8",
    )
    cfg = load_config(config, env={})
    channels = build_channels(cfg)
    routed = default_router(cfg).route(notice(tier=Tier.T3, available=4), item())
    # Every channel a notice is routed to exists in the worker: nothing dead-letters as unknown.
    assert {name for name, _ in routed} <= set(channels)
    assert set(channels) == {"ops", "console"}
    asyncio.run(close_channels(channels))


def test_the_delivery_worker_takes_its_retry_budget_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "stockwatch.toml"
    path.write_text(
        '[daemon.delivery]\nretry_window = "90m"\nunknown_code_attempts = 2\nconcurrency = 4\n',
        encoding="utf-8",
    )
    config = load_config(path, env={})
    settings = delivery_settings(config)
    assert (settings.retry_window_hours, settings.unknown_code_attempts) == (1.5, 2)
    assert settings.concurrency == 4
    assert delivery_settings(config, 3.0).retry_window_hours == 3.0  # outbox work --retry-hours
