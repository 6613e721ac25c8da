"""Push endpoint: acknowledgement latency and throughput of ``stockwatch run`` on loopback.

``python -m benchmarks.push_endpoint [--rate 500] [--seconds 10]``

Starts the real daemon (SQLite, WAL) in a subprocess and drives it with a bounded open-loop
load generator: signed 1688 inventory pushes at a fixed rate over keep-alive connections, at
most ``--connections`` in flight (a request whose slot is busy waits and that wait counts in
its latency). Each acknowledgement means verified + committed to the database. The peer is the
same load against ``/healthz`` (the HTTP stack alone), so the ratio is the price of verifying
and storing. A closed loop then finds the sustained maximum. Target: p99 < 50 ms at 500 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from stockwatch.adapters.alibaba1688_push import push_signature

SECRET = "benchSecret"
CONFIG = """
[general]
data_dir = "data"
[catalog]
items = "items.csv"
[items."BENCH-LAMP"]
t1 = 50
t2 = 30
t3 = 10
[daemon]
stock_file = "stock.csv"
push_app_secret = "{secret}"
[[daemon.groups]]
name = "default"
interval = "1h"
[daemon.http]
port = 0
"""


def push_body(msg_id: int, born_ms: int) -> bytes:
    entry = {
        "offerId": 610000000002,
        "skuId": 5104790281451,
        "skuOnSale": 400 + msg_id % 100,
        "offerOnSale": 900,
        "quantity": -1,
        "bizTime": born_ms,
    }
    message = json.dumps(
        {
            "msgId": msg_id,
            "type": "PRODUCT_PRODUCT_INVENTORY_CHANGE",
            "gmtBorn": born_ms,
            "userInfo": "b2b-2208000000001",
            "data": {"OfferInventoryChangeList": [entry]},
        },
        separators=(",", ":"),
    )
    signature = push_signature({"message": message}, SECRET)
    return urlencode({"message": message, "_aop_signature": signature}).encode()


def request(path: str, body: bytes | None) -> bytes:
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the generator must cost less than the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, raw: bytes) -> int:
        self.writer.write(raw)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def open_loop(
    host: str, port: int, raws: list[bytes], rate: float, connections: int
) -> tuple[list[float], int, float]:
    """Send ``raws`` at ``rate``/s; return latencies (s), non-2xx count and elapsed seconds."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(*await asyncio.open_connection(host, port)))
    latencies: list[float] = []
    errors = 0

    async def one(raw: bytes, due: float) -> None:
        nonlocal errors
        conn = await pool.get()
        try:
            status = await conn.send(raw)
        finally:
            pool.put_nowait(conn)
        latencies.append(time.perf_counter() - due)  # from when it was due: no coordinated omission
        errors += not 200 <= status < 300

    start = time.perf_counter()
    tasks = []
    for i, raw in enumerate(raws):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        conn = pool.get_nowait()
        conn.writer.close()
        await conn.writer.wait_closed()
    return latencies, errors, elapsed


async def closed_loop(host: str, port: int, raws: list[bytes], connections: int) -> float:
    """Send ``raws`` as fast as ``connections`` keep-alive connections allow; return msg/s."""
    queue = list(reversed(raws))

    async def worker() -> None:
        conn = Connection(*await asyncio.open_connection(host, port))
        while queue:
            await conn.send(queue.pop())
        conn.writer.close()
        await conn.writer.wait_closed()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(raws) / (time.perf_counter() - start)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(name: str, lat: list[float], errors: int, elapsed: float) -> float:
    p99 = pct(lat, 0.99)
    print(
        f"{name:<9} {len(lat):>6,} msgs in {elapsed:5.1f} s = {len(lat) / elapsed:6.0f}/s | "
        f"p50 {statistics.median(lat) * 1000:6.2f} ms  p99 {p99:6.2f} ms  "
        f"max {max(lat) * 1000:7.2f} ms | non-2xx {errors}",
        flush=True,
    )
    return p99


def start_daemon(root: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    (root / "items.csv").write_text(
        "sku,offer_id,sku_id\nBENCH-LAMP,610000000002,5104790281451\n", encoding="utf-8"
    )
    (root / "stock.csv").write_text("sku,on_hand\nBENCH-LAMP,900\n", encoding="utf-8")
    (root / "stockwatch.toml").write_text(CONFIG.format(secret=SECRET), encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stockwatch.entrypoints.cli.app import main; main()",
            "run",
            "-c",
            str(root / "stockwatch.toml"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(root / "daemon.log").open("wb"),
    )
    run_file = root / "data" / "daemon.json"
    deadline = time.monotonic() + 30
    while not run_file.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"daemon did not start:\n{(root / 'daemon.log').read_text()}")
        time.sleep(0.05)
    port = int(json.loads(run_file.read_text())["port"])
    return proc, "127.0.0.1", port


def readings_of(root: Path) -> int:
    """Return how many push readings the daemon stored (waits for the processor to catch up)."""
    db = sqlite3.connect(root / "data" / "stockwatch.sqlite3")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = db.execute(
                "select count(*) from push_messages where status = 'received'"
            ).fetchone()[0]
            if not waiting:
                break
            time.sleep(0.2)
        return int(db.execute("select count(*) from readings where source = 'push'").fetchone()[0])
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        proc, host, port = start_daemon(Path(tmp))
        # Born after the daemon's first poll, so every push is news: it becomes a reading of
        # BENCH-LAMP and is evaluated, the daemon's full work per message.
        born = int(time.time() * 1000) + 1000
        pushes = [request("/1688/push", push_body(i, born + i)) for i in range(1, count + 1)]
        health = [request("/healthz", None)] * count
        burst = [request("/1688/push", push_body(i, born + i)) for i in range(count + 1, 2 * count)]
        try:
            print(
                f"push endpoint: open loop {args.rate:g} msg/s for {args.seconds:g} s, "
                f"≤ {args.connections} in flight, daemon pid {proc.pid} on SQLite"
            )
            asyncio.run(open_loop(host, port, health[:200], 200, 4))  # warm-up
            push_p99 = report(
                "push", *asyncio.run(open_loop(host, port, pushes, args.rate, args.connections))
            )
            health_p99 = report(
                "healthz", *asyncio.run(open_loop(host, port, health, args.rate, args.connections))
            )
            print(f"ratio     push p99 / healthz p99 = {push_p99 / health_p99:.1f}×")
            ok = push_p99 < 50
            verdict = "PASS" if ok else "MISS"
            print(f"{verdict}  push p99 < 50 ms at {args.rate:g}/s: {push_p99:.1f} ms")
            rate = asyncio.run(closed_loop(host, port, burst, 8))
            print(
                f"sustained closed loop, 8 connections: {rate:,.0f} msg/s "
                f"({rate / args.rate:.1f}× the target rate)"
            )
            applied = readings_of(Path(tmp))
            print(f"applied   {applied:,} push readings of BENCH-LAMP kept and evaluated")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
