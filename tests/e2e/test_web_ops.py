"""/healthz and /metrics over HTTP, and the daemon feeding its metrics while it polls."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from stockwatch.adapters.db.health import SqlHealthProbe
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.adapters.metrics import PrometheusMetrics
from stockwatch.config.settings import load_config
from stockwatch.core.model import Item
from stockwatch.entrypoints.daemon import Daemon
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.entrypoints.web.security import WebSecurity
from stockwatch.service.health import Health, HealthLimits, assess
from stockwatch.service.status import status_summary
from stockwatch.wiring.compose import build_daemon
from tests.conftest import sqlite_engine_at
from tests.e2e.daemon_setup import write_shop, write_stock
from tests.servers import serve

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def _deps(store: SqlStore, **kw: object) -> WebDeps:
    probe = SqlHealthProbe(store.engine)

    def health() -> Health:
        problem = None
        try:
            probe(NOW)
        except Exception as exc:
            problem = type(exc).__name__
        summary = status_summary(store, {"default": None}, NOW)
        return assess(summary, NOW, NOW, HealthLimits(), problem)

    return WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret=None,
        status=lambda: status_summary(store, {}, NOW),
        health=health,
        **kw,  # type: ignore[arg-type]
    )


def test_healthz_answers_503_with_the_reason_while_the_database_is_unwritable(
    tmp_path: Path,
) -> None:
    # Finding #11.5: /healthz stayed 200 while the database was read-only.
    path = tmp_path / "stockwatch.sqlite3"
    writable = SqlStore(sqlite_engine_at(path))
    metadata.create_all(writable.engine)
    writable.sync_items([Item("SNOW-GLOBE")], {}, NOW)
    with serve(create_app(_deps(writable))) as url:
        good = httpx.get(f"{url}/healthz")
    assert good.status_code == 200 and good.json()["checks"]["database"] == "ok"
    writable.engine.dispose()
    read_only = SqlStore(create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true"))
    with serve(create_app(_deps(read_only))) as url:
        bad = httpx.get(f"{url}/healthz")
    read_only.engine.dispose()
    assert bad.status_code == 503
    assert bad.json()["status"] == "unhealthy"
    assert bad.json()["reasons"] == ["database: OperationalError"]


def test_metrics_are_prometheus_text_and_can_require_a_login(tmp_path: Path) -> None:
    store = SqlStore(sqlite_engine_at(tmp_path / "m.sqlite3"))
    metadata.create_all(store.engine)
    metrics = PrometheusMetrics()
    metrics.watch_backlog(store.outbox_backlog)
    metrics.poll_finished("default", 0.2, readings=10, failed=2)
    metrics.notice("raised", "T2")
    metrics.sent("wecom", ok=False)
    metrics.recompute_finished(1.5)
    with serve(create_app(_deps(store, metrics_text=metrics.exposition))) as url:
        answer = httpx.get(f"{url}/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'stockwatch_polls_total{group="default",outcome="ok"} 1.0' in text
    assert 'stockwatch_readings_total{outcome="failed"} 2.0' in text
    assert 'stockwatch_notices_total{kind="raised",tier="T2"} 1.0' in text
    assert 'stockwatch_sends_total{channel="wecom",outcome="failed"} 1.0' in text
    assert "stockwatch_recompute_duration_seconds_count 1.0" in text
    assert 'stockwatch_outbox_messages{state="pending"} 0.0' in text
    private = WebSecurity(public_metrics=False, legacy_token="scrape-token-1")
    deps = _deps(store, metrics_text=metrics.exposition, security=private)
    with serve(create_app(deps)) as url:
        assert httpx.get(f"{url}/metrics").status_code == 401
        bearer = {"Authorization": "Bearer scrape-token-1"}
        assert httpx.get(f"{url}/metrics", headers=bearer).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 200  # probes stay public
    store.engine.dispose()


def test_the_daemon_counts_its_polls_readings_and_notices(tmp_path: Path) -> None:
    start = datetime.now(UTC)
    write_stock(tmp_path, start, duck=5, lamp=500)
    cfg = load_config(write_shop(tmp_path, interval=3600))

    async def main() -> None:
        parts = build_daemon(cfg, http_port=0)
        polled = asyncio.Event()
        parts.on_cycle = lambda group, notices: polled.set()
        daemon = Daemon(parts)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(polled.wait(), 30)
            async with httpx.AsyncClient(base_url=daemon.url or "") as client:
                metrics = (await client.get("/metrics")).text
                health = await client.get("/healthz")
        finally:
            daemon.stop.set()
            await asyncio.wait_for(task, 30)
        assert 'outcome="ok"} 1.0' in metrics and "stockwatch_poll_duration_seconds" in metrics
        assert 'stockwatch_readings_total{outcome="ok"} 2.0' in metrics
        assert 'stockwatch_notices_total{kind="raised"' in metrics
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["polls"]["fast"]["items"] == 2
        assert isinstance(parts.store, SqlStore)
        parts.store.engine.dispose()

    asyncio.run(main())


def test_stale_health_limits_come_from_the_config(tmp_path: Path) -> None:
    cfg = load_config(
        write_shop(tmp_path, interval=3600, extra='health_max_poll_age = "10m"'), env={}
    )
    write_stock(tmp_path, datetime.now(UTC), duck=5, lamp=500)
    parts = build_daemon(cfg, http_port=0)
    assert parts.health_limits.max_poll_age == timedelta(minutes=10)
    assert isinstance(parts.store, SqlStore)
    parts.store.engine.dispose()


def test_the_public_health_answer_names_a_database_error_without_its_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """/healthz answers without a login: a database error's text (host, user, path) goes to
    the log, the answer names only its kind."""
    cfg = load_config(write_shop(tmp_path, interval=3600), env={})
    write_stock(tmp_path, datetime.now(UTC), duck=5, lamp=500)
    parts = build_daemon(cfg, http_port=0)

    class OperationalError(Exception):
        pass

    def unreachable(now: datetime) -> None:
        raise OperationalError(
            'connection to server at "10.0.0.5", port 5432 failed: FATAL: password '
            'authentication failed for user "stockwatch"'
        )

    parts.health_probe = unreachable
    daemon = Daemon(parts)
    with caplog.at_level(logging.WARNING, logger="stockwatch.daemon"):
        verdicts = [daemon.health() for _ in range(3)]  # a load balancer asks again and again
    for verdict in verdicts:
        assert not verdict.ok and verdict.reasons == ["database: OperationalError"]
        assert verdict.checks["database"] == "OperationalError"
        assert "10.0.0.5" not in repr(verdict)
    assert caplog.text.count("10.0.0.5") == 1  # logged once while it stays the same
    assert isinstance(parts.store, SqlStore)
    parts.store.engine.dispose()
