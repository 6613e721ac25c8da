"""Composition for delivery: channels, the router and the worker, built from configuration.

The storage side calls :func:`build_router` once and passes the router to its alert
transaction; the daemon (or ``stockwatch outbox work``) runs :func:`build_worker`'s loop.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.budget import SqlSendBudget
from stockwatch.adapters.db.channel_status import SqlChannelStatus
from stockwatch.adapters.db.engine import make_engine
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.notify.base import Channel, Clock, utcnow
from stockwatch.adapters.notify.registry import budget_keys_of, build_channel, limits_of
from stockwatch.config.settings import Config
from stockwatch.core.model import Tier
from stockwatch.ports import Notifier
from stockwatch.service.delivery import DeliverySettings, DeliveryWorker, PassStats
from stockwatch.service.routing import QuietHours, Route, RouterSettings, RouteTable


def open_engine(url: str, *, upgrade: bool = True) -> Engine:
    """Open a database by URL with the shared engine settings, migrated to the newest schema."""
    engine = make_engine(url)
    if upgrade:
        migrate.upgrade(engine)
    return engine


def build_channels(
    config: Config, engine: Engine | None = None, clock: Clock = utcnow
) -> dict[str, Channel]:
    """Return every enabled channel by name (URLs were validated when the config loaded).

    ``console`` always exists, even when not configured: it is ``[daemon] channels``' default,
    so a broadcast to it must never dead-letter for want of a channel.
    """
    lang = config.lang
    channels = {
        c.name: build_channel(c.name, c.channel_url(), engine=engine, clock=clock, lang=lang)
        for c in config.model.channels
        if c.enabled
    }
    if "console" not in {c.name for c in config.model.channels}:
        channels["console"] = build_channel(
            "console", "console://", engine=engine, clock=clock, lang=lang
        )
    return channels


def build_router(config: Config) -> RouteTable:
    """Return the ``ports.Router`` for the configured routes."""
    tz = ZoneInfo(config.model.general.timezone)
    enabled = {c.name for c in config.model.channels if c.enabled}
    routes = []
    for r in config.model.routes:
        bypass = frozenset(Tier.parse(t) for t in r.quiet_bypass)
        routes.append(
            Route(
                name=r.name,
                channels=tuple(c for c in r.channels if c in enabled),
                tiers=frozenset(Tier.parse(t) for t in r.tiers),
                categories=frozenset(r.categories),
                tags=frozenset(r.tags),
                suppliers=frozenset(r.suppliers),
                quiet=QuietHours.parse(r.quiet_hours, tz, bypass) if r.quiet_hours else None,
                digest_at=_time(r.digest),
                notify_recovery=r.notify_recovery,
                notify_problems=r.notify_problems,
                mention_tiers=frozenset(Tier.parse(t) for t in r.mention_tiers),
                lang=r.lang or config.lang,
                link_base=r.link_base,
                tz=tz,
            )
        )
    return RouteTable(RouterSettings(routes=tuple(routes)))


def _time(text: str | None) -> time | None:
    return time.fromisoformat(text.strip()) if text else None


def delivery_settings(config: Config, retry_window_hours: float | None = None) -> DeliverySettings:
    """Return the outbox worker's settings from ``[daemon.delivery]``; ``retry_window_hours``
    (``outbox work --retry-hours``) overrides the configured window."""
    section = config.model.daemon.delivery
    return DeliverySettings(
        retry_window_hours=retry_window_hours or section.retry_window_hours,
        unknown_code_attempts=section.unknown_code_attempts,
        concurrency=section.concurrency,
    )


def build_worker(
    engine: Engine,
    channels: dict[str, Channel],
    *,
    clock: Clock = utcnow,
    settings: DeliverySettings | None = None,
    seed: int | None = None,
    senders: Mapping[str, Notifier] | None = None,
) -> DeliveryWorker:
    """Return the delivery worker over the SQL outbox and the shared send budget.

    ``senders`` wrap the channels (metrics); limits and budgets stay the channels' own.
    """
    return DeliveryWorker(
        outbox=SqlOutbox(engine),
        notifiers=senders or channels,
        budget=SqlSendBudget(engine),
        clock=clock,
        limits=limits_of(channels),
        settings=settings or DeliverySettings(),
        rng=random.Random(seed),
        switch=SqlChannelStatus(engine),
        budget_keys=budget_keys_of(channels),
    )


async def close_channels(channels: dict[str, Channel]) -> None:
    for channel in channels.values():
        await channel.aclose()


def deliver_pass(
    config: Config,
    engine: Engine,
    *,
    clock: Clock = utcnow,
    settings: DeliverySettings | None = None,
) -> PassStats:
    """Run one delivery pass from synchronous code (a Celery task) and return its figures.

    Channels hold async HTTP clients bound to one event loop, so each call builds them, runs
    the pass in a fresh loop and closes them. Safe to run in many processes at once: claims,
    outcomes and robot budgets all live in the database.
    """
    channels = build_channels(config, engine, clock)
    worker = build_worker(
        engine, channels, clock=clock, settings=settings or delivery_settings(config)
    )

    async def once() -> PassStats:
        try:
            return await worker.run_once()
        finally:
            await close_channels(channels)

    return asyncio.run(once())
