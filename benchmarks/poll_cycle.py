"""One poll cycle of 70,000 SKUs: store, evaluate, outbox — batched vs one transaction per item.

``python -m benchmarks.poll_cycle [--skus 70000 --peer-skus 4000 --batch 500]``

Each database (SQLite file, PostgreSQL in a throwaway schema) gets the SKUs and two cycles of
readings: the first creates every alert state, the second is a steady-state cycle where about
one SKU in twenty-five is at some tier (so the outbox gets rows). Both cycles are timed end to end
(``add_readings`` → evaluation → outbox) with the batched evaluator, counting statements
(round trips) and commits per SKU. The per-item peer (today's path: one transaction per SKU)
runs on ``--peer-skus`` of the same SKUs in the same run — its cost per SKU does not depend on
the count, and 70,000 PostgreSQL transactions take minutes — and both paths' notices on that
subset are compared, and so are the alert states they leave, every field (they must be
identical: the batched path stores calm readings through a shortcut, not the state machine).
Reading the gateway is measured by ``benchmarks.poll_gateway`` and
``benchmarks.worker_throughput``; here readings are made in memory so the figure is the
database's share.

Targets: evaluation of 70,000 SKUs ≤ 5 s on each database, ≤ 0.1 commits per SKU, same notices.
Each evaluation also prints this process's CPU time (and, on PostgreSQL, the CPU time of the
server backends that served it, read from /proc when the server is local), and the run prints
the load average: on a shared machine the wall time says more about the neighbours than about
the code.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text

from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.engine import is_sqlite, make_engine
from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import AlertPolicy, Item, Reading, ReadingSource, TierLevels
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator

PG_URL = os.environ.get("STOCKWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
LEVELS = TierLevels(60, 40, 15)


@dataclass
class Counts:
    statements: int = 0
    commits: int = 0


@contextmanager
def counting(engine: Engine) -> Iterator[Counts]:
    counts = Counts()

    def statement(*_: object) -> None:
        counts.statements += 1

    def commit(*_: object) -> None:
        counts.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def stock(count: int, cycle: int, seed: int = 7) -> list[int | None]:
    rng = random.Random(seed * 1000 + cycle)
    out: list[int | None] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.01:
            out.append(None)  # a failed read
        elif roll < 0.05:
            out.append(rng.randint(0, 59))  # some tier: a few percent of SKUs per cycle
        else:
            out.append(rng.randint(61, 400))
    return out


def readings(items: list[Item], cycle: int) -> list[Reading]:
    now = T0 + timedelta(hours=cycle)
    out = []
    for item, qty in zip(items, stock(len(items), cycle), strict=True):
        if qty is None:
            out.append(Reading.failed(item.key, now, ReadingSource.POLL, "timeout"))
        else:
            out.append(Reading(item.key, now, ReadingSource.POLL, qty))
    return out


def evaluator(store: SqlStore, batch: int) -> Evaluator:
    router = BroadcastRouter(("console", "dingtalk"))
    return Evaluator(
        store,
        router,
        AlertPolicy(debounce=()),
        lambda k, i: LEVELS,
        batch_size=batch,
        levels_read_item=False,  # as the daemon's LevelCache
        parallel_batches=1 if is_sqlite(store.engine) else 2,  # as the wiring sets it
    )


@dataclass
class Cycle:
    store_s: float
    eval_s: float
    eval_cpu_s: float  # this process's CPU time: the Python share, whatever the machine's load
    statements: int
    commits: int
    notices: list[str]
    server_cpu_s: float | None = None  # PostgreSQL's backends serving this engine, if visible


_BACKENDS: dict[int, list[int]] = {}  # id(engine) → PostgreSQL backend pids of its connections


def _watch_backends(engine: Engine) -> None:
    """Remember the backend pid of each connection the engine opens (PostgreSQL only)."""

    @event.listens_for(engine, "connect")
    def _pid(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cur.execute("SELECT pg_backend_pid()")
        _BACKENDS.setdefault(id(engine), []).append(int(cur.fetchone()[0]))
        cur.close()


def _server_cpu(engine: Engine) -> float | None:
    """CPU seconds of the engine's backends so far, from /proc (None: server not local)."""
    pids = _BACKENDS.get(id(engine))
    if not pids:
        return None
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cycle(store: SqlStore, items: list[Item], n: int, batch: int, per_item: bool) -> Cycle:
    ev = evaluator(store, batch)
    now = T0 + timedelta(hours=n)
    rows = readings(items, n)
    keys = [i.key for i in items]
    with counting(store.engine) as counts:
        start = time.perf_counter()
        store.add_readings(rows, now)
        stored = time.perf_counter()
        cpu = time.process_time()
        server = _server_cpu(store.engine)
        if per_item:
            notices = ev.evaluate_keys_one_by_one(keys, now)
        else:
            notices = ev.evaluate_keys(keys, now)
        done = time.perf_counter()
        cpu = time.process_time() - cpu
        server_after = _server_cpu(store.engine)
    return Cycle(
        stored - start,
        done - stored,
        cpu,
        counts.statements,
        counts.commits,
        sorted(x.idempotency_key for x in notices),
        None if server is None or server_after is None else server_after - server,
    )


_PEER_ENGINE: dict[str, Engine] = {}


def _peer(name: str, items: list[Item], batched: list[Cycle], batch: int) -> bool:
    # The peers get their own databases: they replay the same cycles on a subset of the SKUs.
    per = SqlStore(_PEER_ENGINE[name])
    per.sync_items(items, {}, T0)
    same = SqlStore(_PEER_ENGINE[name + "-batch"])
    same.sync_items(items, {}, T0)
    ok = True
    for n in (1, 2):
        p = cycle(per, items, n, batch, per_item=True)
        b = cycle(same, items, n, batch, per_item=False)
        rate_p = p.eval_s / len(items)
        print(
            f"{name}: cycle {n} per-item peer, {len(items):,} SKUs: evaluate {p.eval_s:.2f} s "
            f"({rate_p * 1e6:.0f} µs/SKU, {p.statements / len(items):.2f} statements/SKU, "
            f"{p.commits / len(items):.2f} commits/SKU); batched on the same SKUs "
            f"{b.eval_s:.2f} s ({b.eval_s / len(items) * 1e6:.0f} µs/SKU): "
            f"{p.eval_s / b.eval_s:.1f}× faster"
        )
        same_notices = p.notices == b.notices
        ok &= same_notices
        print(
            f"{'PASS' if same_notices else 'FAIL'} {name} cycle {n}: batched and per-item "
            f"send the same notices ({len(b.notices)} on {len(items):,} SKUs)"
        )
        same_states = per.alert_states() == same.alert_states()
        ok &= same_states
        print(
            f"{'PASS' if same_states else 'FAIL'} {name} cycle {n}: batched and per-item "
            f"leave the same alert states (every field, {len(items):,} SKUs)"
        )
    for n, c in enumerate(batched, start=1):
        good = c.eval_s <= 5.0
        ok &= good
        print(
            f"{'PASS' if good else 'FAIL'} {name} cycle {n}: evaluation {c.eval_s:.2f} s ≤ 5 s "
            f"(CPU of this process {c.eval_cpu_s:.2f} s{_server_text(c)})"
        )
    return ok


def _server_text(c: Cycle) -> str:
    if c.server_cpu_s is None:
        return ""
    return f", of its PostgreSQL backends {c.server_cpu_s:.2f} s"


def _commit_targets(name: str, batched: list[Cycle], skus: int) -> bool:
    ok = True
    for n, c in enumerate(batched, start=1):
        good = c.commits / skus <= 0.1
        ok &= good
        print(
            f"{'PASS' if good else 'FAIL'} {name} cycle {n}: {c.commits / skus:.4f} commits/SKU "
            "≤ 0.1"
        )
    return ok


def sqlite_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite+pysqlite:///{path}")
    migrate.upgrade(engine)
    return engine


@contextmanager
def pg_schema() -> Iterator[Engine | None]:
    try:
        admin = create_engine(PG_URL)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report and skip: the SQLite half still runs
        print(f"PostgreSQL not reachable ({type(exc).__name__}); skipping it")
        yield None
        return
    schema = f"bench_cycle_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(PG_URL, schema=schema)
    _watch_backends(engine)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=70_000)
    parser.add_argument("--peer-skus", type=int, default=4_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    # Figures on a shared machine mean little without its load: print it with them.
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        main_engine = sqlite_engine(Path(tmp) / "cycle.sqlite3")
        _PEER_ENGINE["SQLite"] = sqlite_engine(Path(tmp) / "peer.sqlite3")
        _PEER_ENGINE["SQLite-batch"] = sqlite_engine(Path(tmp) / "peer-batch.sqlite3")
        ok &= measure("SQLite", main_engine, args)
    with pg_schema() as pg, pg_schema() as peer, pg_schema() as peer_batch:
        if pg is not None and peer is not None and peer_batch is not None:
            _PEER_ENGINE["PostgreSQL"] = peer
            _PEER_ENGINE["PostgreSQL-batch"] = peer_batch
            ok &= measure("PostgreSQL", pg, args)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0 if ok else 1


def measure(name: str, engine: Engine, args: argparse.Namespace) -> bool:
    items = [Item(f"SKU-{i:06d}", title=f"商品{i}") for i in range(args.skus)]
    store = SqlStore(engine)
    store.sync_items(items, {}, T0)
    batched = []
    for n in (1, 2):
        c = cycle(store, items, n, args.batch, per_item=False)
        batched.append(c)
        print(
            f"{name}: cycle {n} batched, {args.skus:,} SKUs: store {c.store_s:.2f} s, evaluate "
            f"{c.eval_s:.2f} s (CPU of this process {c.eval_cpu_s:.2f} s{_server_text(c)}), "
            f"{c.statements / args.skus:.3f} statements/SKU, "
            f"{c.commits / args.skus:.4f} commits/SKU, {len(c.notices):,} notices, "
            f"outbox {store.outbox_backlog().pending:,}"
        )
    ok = _peer(name, items[: args.peer_skus], batched, args.batch)
    return _commit_targets(name, batched, args.skus) and ok


if __name__ == "__main__":
    raise SystemExit(main())
