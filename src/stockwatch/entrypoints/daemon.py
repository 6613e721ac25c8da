"""``stockwatch run``: one asyncio process that polls, applies pushes, delivers and recomputes.

Loops (all stop on SIGTERM/SIGINT after finishing the step in hand):
1. start-up catch-up: evaluate readings accepted before a crash but never evaluated;
2. scheduler: poll each group on its interval or cron, and items asked to be read early
   (debounce rechecks, order webhooks, order pushes);
3. push processor: apply stored 1688 push messages;
4. delivery: hand the outbox to the injected ``deliver`` function;
5. recompute (cron) and retention (interval);
6. the daily digest per route (``digest = "09:00"`` on a ``[[routes]]``), enqueued once a day;
7. the HTTP server (uvicorn) for pushes, the order webhook and the JSON API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn

from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.entrypoints.web.security import WebSecurity
from stockwatch.service.health import Health, assess
from stockwatch.service.polling import poll_items
from stockwatch.service.push import apply_pending_pushes
from stockwatch.service.status import Status, status_report, status_summary
from stockwatch.wiring.compose import DaemonParts

log = logging.getLogger("stockwatch.daemon")
PUSH_BATCH = 500
# The daemon's minute round: acknowledgements left due, tasks of ended alerts (indexed).
EVERY_MINUTE = 60.0


class ListenError(RuntimeError):
    """The HTTP port cannot be opened: in use (another stockwatch?) or not allowed."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"cannot listen on {host}:{port}: {reason}")
        self.host, self.port, self.reason = host, port, reason


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the daemon owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _wait_any(events: Sequence[asyncio.Event], timeout: float | None) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


@dataclass
class Daemon:
    parts: DaemonParts
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # HTTP up, loops started
    next_at: dict[str, datetime] = field(default_factory=dict)
    cycles: int = 0
    url: str | None = None
    started_at: datetime | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _push_wake: asyncio.Event = field(default_factory=asyncio.Event)
    _deliver_wake: asyncio.Event = field(default_factory=asyncio.Event)
    _promo_wake: asyncio.Event = field(default_factory=asyncio.Event)
    _orders_wake: asyncio.Event = field(default_factory=asyncio.Event)
    _purchases_wake: asyncio.Event = field(default_factory=asyncio.Event)
    order_pulls: int = 0  # seller-order pulls done (tests and status)
    purchase_pulls: int = 0  # purchase-order pulls done (tests and status)
    _server: uvicorn.Server | None = None
    _last_early: float | None = None  # time.monotonic() of the last early re-read pass
    _health_said: str | None = None  # the database error /healthz last logged

    def status(self) -> Status:
        p = self.parts
        nxt: dict[str, datetime | None] = {g.name: self.next_at.get(g.name) for g in p.groups}
        return status_report(p.store, nxt, p.clock(), p.stale_after)

    def health(self) -> Health:
        """/healthz: write to the database, then judge polls and the outbox."""
        p = self.parts
        now = p.clock()
        problem = None
        if p.health_probe is not None:
            try:
                p.health_probe(now)
            except Exception as exc:  # unreachable, read-only, disk full: all say "unhealthy"
                problem = self._database_problem(exc)
        try:
            status: Status | None = self.summary()
        except Exception as exc:
            status, problem = None, problem or self._database_problem(exc)
        if problem is None:
            self._health_said = None  # healthy again: the next failure is logged
        return assess(status, now, self.started_at or now, p.health_limits, problem)

    def _database_problem(self, exc: BaseException) -> str:
        """The kind of a database error, for /healthz (answered without a login); its first
        line, which can name the server, the user or the file, goes to the log only, once
        while it stays the same (a load balancer asks every few seconds), and without SQL
        parameters (they may hold data, never needed)."""
        text = str(exc).split("\n", 1)[0].split("[SQL:", 1)[0].strip()[:300]
        said = f"{type(exc).__name__}: {text}"
        if said != self._health_said:
            log.warning("health check: the database failed: %s", said)
            self._health_said = said
        return type(exc).__name__

    def summary(self) -> Status:
        p = self.parts
        nxt: dict[str, datetime | None] = {g.name: self.next_at.get(g.name) for g in p.groups}
        return status_summary(p.store, nxt, p.clock())

    async def run(self) -> None:
        """Run until ``stop`` is set (a signal, or ``max_cycles`` reached)."""
        p = self.parts
        # HTTP first: the dashboard and the push receiver answer while the catch-up runs (at
        # 100k items and 10M readings the catch-up alone took longer than a health check waits).
        self.started_at = p.clock()
        server_task = await self._start_http()
        if p.prepare is not None:
            try:
                await asyncio.to_thread(p.prepare)
            except BaseException:
                await self._stop_http(server_task)
                raise
        # A SIGTERM during a long catch-up stops it after the batch in hand (it used to run on
        # for over 30 s); the rest is caught up at the next start.
        caught = await asyncio.to_thread(p.evaluator.catch_up, p.clock(), stopping=self.stop.is_set)
        if caught:
            log.info("catch-up: %d notice(s) from readings accepted before a restart", len(caught))
        self._push_wake.set()  # apply pushes stored but not applied before a restart
        self._deliver_wake.set()
        loops = [
            asyncio.create_task(self._scheduler(), name="scheduler"),
            asyncio.create_task(self._pushes(), name="pushes"),
            asyncio.create_task(self._deliveries(), name="deliveries"),
        ]
        if p.recompute is not None and p.next_recompute is not None:
            loops.append(asyncio.create_task(self._recompute(), name="recompute"))
        if p.digests is not None:
            loops.append(asyncio.create_task(self._digests(), name="digests"))
        if p.retention is not None:
            loops.append(asyncio.create_task(self._retention(), name="retention"))
        if p.checkpoint is not None:
            loops.append(asyncio.create_task(self._checkpoints(), name="checkpoints"))
        if p.token_watch is not None:
            loops.append(asyncio.create_task(self._token_watch(), name="token-watch"))
        if p.promotions is not None:
            loops.append(asyncio.create_task(self._promotions(), name="promotions"))
        if p.orders is not None:
            loops.append(asyncio.create_task(self._orders(), name="orders"))
        if p.purchases is not None:
            loops.append(asyncio.create_task(self._purchases(), name="purchases"))
        loops.append(asyncio.create_task(self._every_minute(), name="every-minute"))
        self.ready.set()
        try:
            done, _ = await asyncio.wait(
                [*loops, asyncio.create_task(self.stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task in loops and task.exception() is not None:
                    self.stop.set()
                    raise task.exception()  # type: ignore[misc]
            self.stop.set()
            await asyncio.gather(*loops)
            # Last, after every producer has finished its step: deliver what it produced.
            await self._deliver_once()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._stop_http(server_task)
            for close in p.closers:
                with contextlib.suppress(Exception):
                    await close()
            if p.run_file is not None:
                p.run_file.unlink(missing_ok=True)
            log.info("stopped after %d poll cycle(s)", self.cycles)

    async def _stop_http(self, server_task: asyncio.Task[None] | None) -> None:
        if self._server is not None and server_task is not None and not server_task.done():
            self._server.should_exit = True
            await server_task

    async def _start_http(self) -> asyncio.Task[None] | None:
        p = self.parts
        if p.http_port is None:
            return None
        deps = WebDeps(
            store=p.store,
            clock=p.clock,
            push_secret=p.push_secret,
            status=self.status,
            metrics_text=p.metrics.exposition,
            health=self.health,
            on_push=self._push_wake.set,
            on_recheck=self._wake.set,
            webhook_token=p.webhook_token,
            lang=p.lang,
            web_token=p.web_token,
            levels_for=p.evaluator.levels_for,
            timezone=p.timezone,
            promotions=p.promotion_store,
            on_promotions=self._promo_wake.set,
            stale_after=p.stale_after,
            status_summary=self.summary,
            promotion_windows=p.promotion_windows,
            oauth=p.oauth,
            backtest=p.backtest,
            review_advice=p.review_advice,
            refresh_seconds=p.http.refresh_seconds,
            security=WebSecurity(
                accounts=p.accounts,
                # Sessions, login throttling and the audit run on the wall clock, also when the
                # daemon's clock is simulated (the demo runs faster than time).
                clock=_wall_clock,
                bind_host=p.http_host,
                allowed_hosts=frozenset(p.http.allowed_hosts),
                legacy_token=p.web_token,
                public_metrics=p.http.public_metrics,
                secure_cookies=p.http.secure_cookies,
            ),
        )
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
        # the listening socket says TCP; without it every answer waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((p.http_host, p.http_port))
        except OSError as exc:
            sock.close()
            raise ListenError(p.http_host, p.http_port, exc.strerror or str(exc)) from None
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            create_app(deps), log_level="warning", lifespan="off", access_log=False
        )
        self._server = _QuietServer(config)
        task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http")
        while not self._server.started:
            if task.done():
                await task  # raises the start-up error
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        self.url = f"http://{host}:{port}"
        if p.run_file is not None:
            p.run_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.run_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "url": self.url, "port": port}))
            tmp.replace(p.run_file)
        log.info("listening on %s (push: %s/1688/push)", self.url, self.url)
        return task

    async def _scheduler(self) -> None:
        p = self.parts
        start = p.clock()
        for group in p.groups:
            self.next_at.setdefault(group.name, start)
        while not self.stop.is_set():
            self._wake.clear()  # before the work: a webhook arriving meanwhile is not lost
            now = p.clock()
            polled: set[str] = set()
            for group in p.groups:
                if self.stop.is_set() or self.next_at[group.name] > now:
                    continue
                self.next_at[group.name] = group.next_after(now)
                try:
                    items = await asyncio.to_thread(p.store.items, group.name)
                    began = time.perf_counter()
                    result = await poll_items(group.name, items, p.source, p.evaluator, p.clock)
                    p.metrics.poll_finished(
                        group.name, time.perf_counter() - began, result.readings, result.failed
                    )
                except Exception:  # e.g. the database restarting: log, keep the schedule
                    log.exception("poll of group %s failed", group.name)
                    continue
                polled.update(str(i.key) for i in items)
                self.cycles += 1
                self._deliver_wake.set()
                if p.on_cycle is not None:
                    p.on_cycle(group.name, len(result.notices))
                if p.max_cycles is not None and self.cycles >= p.max_cycles:
                    self.stop.set()
                    return
            held = self._early_hold()
            if held <= 0:
                try:
                    if await self._poll_early(now, polled):
                        self._last_early = time.monotonic()
                except Exception:
                    self._last_early = time.monotonic()
                    log.exception("early re-read failed")
            wait = (
                min((at - p.clock()).total_seconds() for at in self.next_at.values())
                if self.next_at
                else p.tick
            )
            if held > 0:  # re-reads were asked for meanwhile: take them all when the gap ends
                await _wait_any([self.stop], min(wait, held))
                continue
            await _wait_any([self.stop, self._wake], max(0.0, min(wait, p.tick)))

    def _early_hold(self) -> float:
        """Return how long early re-reads must still wait (≤ 0: now).

        Order webhooks and order pushes come in bursts; each would cost 1688 calls. One re-read
        per ``recheck_gap`` takes every item asked for in between: 200 posts, a handful of reads.
        """
        if self._last_early is None:
            return 0.0
        return self.parts.recheck_gap - (time.monotonic() - self._last_early)

    async def _poll_early(self, now: datetime, polled: set[str]) -> bool:
        """Read items whose debounce ends now or that a webhook asked about; True if any."""
        p = self.parts
        due = await asyncio.to_thread(p.store.due_items, now)
        keys = {str(k) for k in due} - polled
        if not keys:
            return False
        items = [i for i in await asyncio.to_thread(p.store.items) if str(i.key) in keys]
        # Cleared first: the evaluation may ask for a later re-read, which must survive, and an
        # unchanged reading (nothing to evaluate) must not leave the item due forever.
        await asyncio.to_thread(p.store.clear_due, [i.key for i in items], now)
        began = time.perf_counter()
        result = await poll_items("recheck", items, p.source, p.evaluator, p.clock)
        p.metrics.poll_finished(
            "recheck", time.perf_counter() - began, result.readings, result.failed
        )
        self._deliver_wake.set()
        return True

    async def _pushes(self) -> None:
        p = self.parts
        loop = asyncio.get_running_loop()

        def orders_changed() -> None:  # called from the worker thread
            loop.call_soon_threadsafe(self._orders_wake.set)
            loop.call_soon_threadsafe(self._purchases_wake.set)

        while not self.stop.is_set():
            await _wait_any([self.stop, self._push_wake], 5.0)
            self._push_wake.clear()
            while True:
                try:
                    count, recheck = await asyncio.to_thread(
                        apply_pending_pushes,
                        p.interpret,
                        p.store,
                        p.evaluator,
                        p.clock(),
                        PUSH_BATCH,
                        orders_changed,
                    )
                except Exception:  # the messages stay "received" and are retried next pass
                    log.exception("applying push messages failed")
                    break
                if recheck:
                    self._wake.set()
                if count:
                    self._deliver_wake.set()
                if count < PUSH_BATCH or self.stop.is_set():
                    break
            # Apply in batches, not per message: under a burst the endpoint keeps the write
            # lock and the GIL to itself, and one pass handles what arrived meanwhile.
            await _wait_any([self.stop], p.push_batch_wait)

    async def _token_watch(self) -> None:
        """Hourly: warn on the alert channels before the 1688 refresh token expires."""
        p = self.parts
        assert p.token_watch is not None
        while not self.stop.is_set():
            try:
                if await asyncio.to_thread(p.token_watch, p.clock()):
                    self._deliver_wake.set()
            except Exception:  # the token store or database hiccups: try again next hour
                log.exception("token expiry check failed")
            await _wait_any([self.stop], 3600.0)

    async def _deliveries(self) -> None:
        p = self.parts
        while not self.stop.is_set():
            await _wait_any([self.stop, self._deliver_wake], p.deliver_every)
            self._deliver_wake.clear()
            await self._deliver_once()

    async def _deliver_once(self) -> None:
        try:
            await self.parts.deliver(self.parts.clock())
        except Exception:  # a broken channel must not stop polling; the outbox keeps the rows
            log.exception("delivery round failed")

    async def _recompute(self) -> None:
        p = self.parts
        assert p.recompute is not None and p.next_recompute is not None
        while not self.stop.is_set():
            try:
                due = await asyncio.to_thread(p.next_recompute, p.clock())
            except Exception:
                log.exception("cannot tell when the next recompute is due")
                due = p.clock() + timedelta(hours=1)
            await _wait_any([self.stop], max(0.0, (due - p.clock()).total_seconds()))
            if self.stop.is_set():
                return
            try:
                began = time.perf_counter()
                outcome = await p.recompute(p.clock())
                p.metrics.recompute_finished(time.perf_counter() - began)
                log.info("threshold recompute: %s", outcome)
            except Exception:
                log.exception("threshold recompute failed")
                await _wait_any([self.stop], 3600)  # do not retry in a tight loop

    async def _orders(self) -> None:
        """Seller orders into sales (on start, every ``[daemon.orders] every``, and at once
        after an ``ORDER_*`` push), and the pushes 1688 kept (on start and periodically)."""
        p = self.parts
        sync = p.orders
        assert sync is not None
        next_pull = next_compensation = p.clock()
        woken = False
        while not self.stop.is_set():
            self._orders_wake.clear()
            now = p.clock()
            if now >= next_compensation:
                next_compensation = now + timedelta(seconds=sync.compensate_every)
                try:
                    fresh = await sync.compensate(now)
                    if fresh:
                        log.info("push compensation: %d kept message(s) recovered", fresh)
                        self._push_wake.set()
                except Exception:  # 1688 unreachable: the messages stay kept there
                    log.exception("reading the push compensation API failed")
            if sync.pull_orders and (woken or now >= next_pull):
                next_pull = now + timedelta(seconds=sync.every)
                try:
                    pulled = await sync.pull(now)
                    self.order_pulls += 1
                    if pulled.keys:
                        log.info("orders: sales of %d item(s) changed", len(pulled.keys))
                        self._wake.set()
                except Exception:  # the cursor did not move: the next pull re-reads
                    log.exception("importing 1688 orders failed")
            due = min(next_pull, next_compensation) if sync.pull_orders else next_compensation
            await _wait_any(
                [self.stop, self._orders_wake], max((due - p.clock()).total_seconds(), 0.05)
            )
            woken = self._orders_wake.is_set()

    async def _purchases(self) -> None:
        """The merchant's 1688 purchase orders (on start, every ``[daemon.purchases] every``,
        and at once after an ``ORDER_*`` push): on order in the position, receipts."""
        p = self.parts
        sync = p.purchases
        assert sync is not None
        while not self.stop.is_set():
            self._purchases_wake.clear()
            try:
                pulled = await sync.pull(p.clock())
                self.purchase_pulls += 1
                if pulled.keys:
                    log.info("purchase orders of %d item(s) changed", len(pulled.keys))
                    self._wake.set()
            except Exception:  # the cursor did not move: the next pull re-reads
                log.exception("importing 1688 purchase orders failed")
            await _wait_any([self.stop, self._purchases_wake], sync.every)

    async def _every_minute(self) -> None:
        """On start, then every ``EVERY_MINUTE`` seconds: finish the acknowledgements orders
        left due (a CLI, an API request or an import stopped between storing an order and
        acting on its alert), and close the open tasks of items whose alert ended without a
        "recovered" notice (an acknowledged episode)."""
        p = self.parts
        while not self.stop.is_set():
            try:
                if p.order_acks is not None:
                    done = await asyncio.to_thread(p.order_acks, p.clock())
                    if done:
                        log.info("orders: %d alert(s) acknowledged with orders left due", done)
                if p.recovered_tasks is not None:
                    closed = await asyncio.to_thread(p.recovered_tasks, p.clock())
                    if closed:
                        log.info("tasks: %d closed, their items' alerts ended", closed)
            except Exception:  # left as it is: the next round tries again
                log.exception("the daemon's minute round failed")
            await _wait_any([self.stop], EVERY_MINUTE)

    async def _promotions(self) -> None:
        """Apply promotions on time: on start, at each local midnight while one is in play
        (its days enter the protection window from ``start − L`` and leave after ``end``),
        and at once when one is added or deleted through the API."""
        p = self.parts
        applier = p.promotions
        assert applier is not None
        while not self.stop.is_set():
            self._promo_wake.clear()
            try:
                count = await asyncio.to_thread(applier.run, p.clock())
                if count:
                    log.info("promotions applied to %d item(s)", count)
                    self._wake.set()  # read them now, against their new levels
                nxt = await asyncio.to_thread(applier.next_at, p.clock())
            except Exception:
                log.exception("applying promotions failed")
                nxt = p.clock() + timedelta(hours=1)
            wait = 3600.0 if nxt is None else (nxt - p.clock()).total_seconds()
            # At most an hour: a clock jump (or the demo's fast clock) is noticed soon enough.
            await _wait_any([self.stop, self._promo_wake], min(max(wait, 1.0), 3600.0))

    async def _digests(self) -> None:
        p = self.parts
        digests = p.digests
        assert digests is not None
        while not self.stop.is_set():
            now = p.clock()
            if digests.due(now):
                try:
                    added = await asyncio.to_thread(digests.run, now)
                    log.info("daily digest: %d message(s) enqueued", added)
                    if added:
                        self._deliver_wake.set()
                except Exception:  # nothing marked done: the next pass tries again
                    log.exception("daily digest failed")
            nxt = digests.next_at(p.clock())
            wait = 60.0 if nxt is None else (nxt - p.clock()).total_seconds()
            # At most a minute: a clock jump (or a test clock) is noticed soon enough.
            await _wait_any([self.stop], min(max(wait, 1.0), 60.0))

    async def _checkpoints(self) -> None:
        p = self.parts
        assert p.checkpoint is not None
        while not self.stop.is_set():
            await _wait_any([self.stop], 1.0)
            try:
                await asyncio.to_thread(p.checkpoint)
            except Exception:
                log.exception("WAL checkpoint failed")

    async def _retention(self) -> None:
        p = self.parts
        assert p.retention is not None
        raw_for, keep_for, every = p.retention
        while not self.stop.is_set():
            try:
                removed = await asyncio.to_thread(
                    p.store.apply_retention, p.clock(), raw_for, keep_for
                )
                log.info("retention: %d old reading(s) removed", removed)
            except Exception:
                log.exception("retention failed")
            await _wait_any([self.stop], every)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def run_daemon(parts: DaemonParts) -> Daemon:
    """Run the daemon in a fresh event loop until SIGTERM/SIGINT or ``max_cycles``."""

    async def main() -> Daemon:
        daemon = Daemon(parts)
        # Hand the GIL back to the event loop sooner than every 5 ms: DB work runs in threads
        # and the push endpoint's latency is what 1688 measures.
        sys.setswitchinterval(0.001)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.stop.set)
        try:
            await daemon.run()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return daemon

    return asyncio.run(main())


def describe(daemon: Daemon) -> dict[str, Any]:
    return {"url": daemon.url, "cycles": daemon.cycles}
