"""Prometheus metrics (prometheus-client) behind the ``ports.Metrics`` hooks.

Each daemon owns one registry (not the global one): tests build many apps in one process.
Counters are fed by the hooks the service and wiring call; the outbox backlog and the 1688
client's call counters are read when Prometheus scrapes, so they cost nothing in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from stockwatch.ports import OutboxBacklog

_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class PrometheusMetrics:
    """ports.Metrics for the daemon; ``exposition()`` is the body of GET /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "stockwatch_polls", "Group polls, by outcome", ["group", "outcome"], registry=r
        )
        self.poll_seconds = Histogram(
            "stockwatch_poll_duration_seconds",
            "Time one group poll took",
            ["group"],
            buckets=_SECONDS,
            registry=r,
        )
        self.readings = Counter(
            "stockwatch_readings", "Stock readings taken, by outcome", ["outcome"], registry=r
        )
        self.notices = Counter(
            "stockwatch_notices", "Notices raised, by kind and tier", ["kind", "tier"], registry=r
        )
        self.sends = Counter(
            "stockwatch_sends",
            "Channel sends, by channel and outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.recompute_seconds = Histogram(
            "stockwatch_recompute_duration_seconds",
            "Time one threshold recompute took",
            buckets=_SECONDS,
            registry=r,
        )
        self._scraped = _ScrapeTime()
        r.register(self._scraped)

    # -- ports.Metrics ---------------------------------------------------------------------

    def poll_finished(self, group: str, seconds: float, readings: int, failed: int) -> None:
        outcome = "failed" if readings and failed >= readings else "ok"
        self.polls.labels(group, outcome).inc()
        self.poll_seconds.labels(group).observe(seconds)
        self.readings.labels("ok").inc(max(0, readings - failed))
        self.readings.labels("failed").inc(failed)

    def notice(self, kind: str, tier: str) -> None:
        self.notices.labels(kind, tier).inc()

    def sent(self, channel: str, ok: bool) -> None:
        self.sends.labels(channel, "ok" if ok else "failed").inc()

    def recompute_finished(self, seconds: float) -> None:
        self.recompute_seconds.observe(seconds)

    # -- read at scrape time ---------------------------------------------------------------

    def watch_backlog(self, backlog: Callable[[], OutboxBacklog]) -> None:
        self._scraped.backlog = backlog

    def watch_supplier(self, stats: Callable[[], Any]) -> None:
        """``stats()`` returns the 1688 client's CallStats (calls, failures, by_code)."""
        self._scraped.supplier = stats

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ScrapeTime(Collector):
    def __init__(self) -> None:
        self.backlog: Callable[[], OutboxBacklog] | None = None
        self.supplier: Callable[[], Any] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.backlog is not None:
            b = self.backlog()
            gauge = GaugeMetricFamily(
                "stockwatch_outbox_messages", "Outbox rows by state", labels=["state"]
            )
            for state, count in (
                ("pending", b.pending),
                ("sending", b.sending),
                ("failed", b.failed),
            ):
                gauge.add_metric([state], count)
            yield gauge
        if self.supplier is not None:
            stats = self.supplier()
            calls = CounterMetricFamily("stockwatch_1688_calls", "Logical 1688 API calls")
            calls.add_metric([], stats.calls)
            yield calls
            requests = CounterMetricFamily(
                "stockwatch_1688_requests", "HTTP requests sent to 1688 (retries included)"
            )
            requests.add_metric([], stats.requests)
            yield requests
            errors = CounterMetricFamily(
                "stockwatch_1688_errors", "Failed 1688 calls by error code", labels=["code"]
            )
            for code, count in sorted(stats.by_code.items()):
                errors.add_metric([code], count)
            yield errors
