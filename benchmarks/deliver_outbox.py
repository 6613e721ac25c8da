"""10,000 notifications through the outbox to the loopback fakes.

The fakes run in a child process (as real providers would be elsewhere), so the sender and
the receivers do not share one interpreter lock. Measured in the same run:

1. a peer race on webhook-only rows: the delivery worker (batched claims, concurrent sends,
   bulk outcome writes) against a naive sender that claims, sends and records one row at a
   time; deliveries/s of each and the ratio;
2. the full mixed burst through the worker: deliveries/s, and proof from the receivers' own
   logs that no robot got more than 20 messages in any 60 s window (none was throttled)
   while every notification appears in some accepted message;
3. a daily digest of ``--digest`` items to one robot of each kind, split into messages that
   each fit the provider's size limit, against the single message main sent (cut at the limit).

Targets (one PASS/FAIL line each): worker ≥ 5× the naive sender; no robot over 20 per 60 s;
every item of the burst in some message; every item of the split digest shown, no message
over its provider's limit.

    python -m benchmarks.deliver_outbox [--total 10000] [--robots 4] [--peer 1000] [--digest 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.registry import build_channel
from stockwatch.core.model import Item, ItemKey, Notice, NoticeKind, OfferMapping, Tier, TierLevels
from stockwatch.devtools.receivers import max_in_window, serve
from stockwatch.ports import OutgoingMessage
from stockwatch.service.delivery import DeliverySettings
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from stockwatch.wiring.notify import build_worker, open_engine

SKU = re.compile(r"BENCH-\d{6}")
TIERS = (Tier.T1, Tier.T2, Tier.T3, Tier.OUT)
NOW = datetime.now(UTC)


def notice(i: int) -> tuple[Notice, Item]:
    sku = f"BENCH-{i:06d}"
    tier = TIERS[i % 4]
    available = 0 if tier is Tier.OUT else 5 + i % 20
    n = Notice(
        ItemKey(sku),
        NoticeKind.RAISED,
        tier,
        Tier.OK,
        NOW,
        1,
        1,
        available,
        available,
        TierLevels(60, 30, 10, velocity=4.0),
        NOW,
    )
    item = Item(
        sku,
        f"保温杯 500ml {i}",
        OfferMapping(sku, "610947572360"),
        "义乌杯业",
        lead_time_days=5.0,
        min_order_qty=50,
        order_multiple=10,
    )
    return n, item


def messages(plan: dict[str, int], first: int = 0) -> list[tuple[str, OutgoingMessage]]:
    """Return routed notices, interleaved across channels as a real burst would be."""
    tables = {c: RouteTable(RouterSettings((Route("r", (c,)),))) for c in plan}
    left = dict(plan)
    out: list[tuple[str, OutgoingMessage]] = []
    i = first
    while any(left.values()):
        for channel in plan:
            if left[channel]:
                left[channel] -= 1
                out.extend(tables[channel].route(*notice(i)))
                i += 1
    return out


def daily_digest(channels: Sequence[str], items: int) -> list[tuple[str, OutgoingMessage]]:
    """Return one daily digest row per channel listing ``items`` items at risk."""
    route = Route("daily", tuple(channels), digest_at=clock_time(0, 0))
    return RouteTable(RouterSettings((route,))).daily_digests(
        NOW, [notice(i) for i in range(items)]
    )


def cut_items(urls: dict[str, str], message: OutgoingMessage, channel: str) -> int:
    """How many items the one message main sent showed once the channel cut it to size."""
    ch = build_channel(channel, urls[channel])
    payload = ch.payload(message)  # type: ignore[attr-defined]
    text = json.dumps(payload, ensure_ascii=False)
    limit = {"wecom": 4096, "ding": 20000, "feishu": 20000}[channel.rstrip("0123456789")]
    shown = text.encode()[:limit].decode(errors="ignore")
    return len(set(SKU.findall(shown)))


def channels_for(urls: dict[str, str], names: Sequence[str]) -> dict[str, Channel]:
    return {n: build_channel(n, urls[n]) for n in names}


async def run_worker(engine: Engine, channels: dict[str, Channel]) -> float:
    settings = DeliverySettings(batch_size=2000, concurrency=16)
    worker = build_worker(engine, channels, settings=settings)
    outbox = SqlOutbox(engine)
    start = time.perf_counter()
    try:
        while True:
            stats = await worker.run_once()
            if stats.claimed == 0:
                counts = outbox.counts()
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.2)  # waiting for a robot's next free slot
    finally:
        for channel in channels.values():
            await channel.aclose()
    return time.perf_counter() - start


async def run_naive(engine: Engine, channels: dict[str, Channel]) -> float:
    """The peer: claim one row, send it, record it; repeat."""
    outbox = SqlOutbox(engine)
    start = time.perf_counter()
    try:
        while claimed := outbox.claim_due(datetime.now(UTC), 1, 60):
            [entry] = claimed
            answer = await channels[entry.channel].send(entry.message)
            outbox.mark_sent(entry, datetime.now(UTC), answer)
    finally:
        for channel in channels.values():
            await channel.aclose()
    return time.perf_counter() - start


def timed(
    tmp: Path,
    name: str,
    plan: dict[str, int],
    urls: dict[str, str],
    runner: Callable[[Engine, dict[str, Channel]], Awaitable[float]],
    first: int = 0,
) -> tuple[float, dict[str, int]]:
    engine = open_engine(f"sqlite+pysqlite:///{tmp / f'{name}.sqlite3'}")
    SqlOutbox(engine).add(messages(plan, first), datetime.now(UTC))
    elapsed = asyncio.run(runner(engine, channels_for(urls, list(plan))))
    counts = SqlOutbox(engine).counts()
    engine.dispose()
    return elapsed, counts


def snapshot(admin: dict[str, str]) -> dict[str, Any]:
    with httpx.Client(trust_env=False, timeout=30) as client:
        return {name: client.get(f"{url}/__snapshot").json() for name, url in admin.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--robots", type=int, default=4)
    parser.add_argument("--peer", type=int, default=1_000, help="webhook rows in the peer race")
    parser.add_argument(
        "--latency", type=float, default=0.03, help="simulated provider round trip, seconds"
    )
    parser.add_argument("--digest", type=int, default=300, help="items in the split daily digest")
    args = parser.parse_args()
    r = args.robots
    plan: dict[str, int] = {}
    for kind, share in {"ding": 0.24, "feishu": 0.16, "wecom": 0.10}.items():
        for i in range(r):
            plan[f"{kind}{i}"] = int(args.total * share / r)
    plan["hook"] = args.total - sum(plan.values())

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    # One more robot of each kind than the burst uses: the digest's, with a fresh rate window.
    fakes = ctx.Process(target=serve, args=(r + 1, child, stop, args.latency), daemon=True)
    fakes.start()
    info = parent.recv()
    urls, admin = info["urls"], info["admin"]
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            race = {"hook": args.peer}
            naive_s, _ = timed(tmp, "naive", race, urls, run_naive, 900_000)
            worker_s, _ = timed(tmp, "race", race, urls, run_worker, 950_000)
            before = snapshot(admin)
            elapsed, counts = timed(tmp, "mixed", plan, urls, run_worker)
            after = snapshot(admin)
            robots = (f"ding{r}", f"wecom{r}", f"feishu{r}")
            digest_rows = daily_digest(robots, args.digest)
            engine = open_engine(f"sqlite+pysqlite:///{tmp / 'digest.sqlite3'}")
            SqlOutbox(engine).add(digest_rows, datetime.now(UTC))
            digest_s = asyncio.run(run_worker(engine, channels_for(urls, robots)))
            digest_counts = SqlOutbox(engine).counts()
            engine.dispose()
            final = snapshot(admin)
            cut = {c: cut_items(urls, m, c) for c, m in digest_rows}
    finally:
        stop.set()
        fakes.join(timeout=10)

    skip = {name: len(before[name]["records"]) for name in before}
    seen: set[str] = set()
    worst: dict[str, int] = {}
    robot_messages = 0
    for name in ("dingtalk", "wecom", "feishu"):
        records = after[name]["records"][skip[name] :]
        accepted = [rec for rec in records if rec["verdict"] == "ok"]
        throttled = [rec for rec in records if rec["verdict"] in ("130101", "45009", "11232")]
        assert not throttled, f"{name} throttled {len(throttled)} calls"
        robot_messages += len(accepted)
        worst[name] = max_in_window([(rec["token"], rec["at"]) for rec in accepted], 60.0)
        for rec in accepted:
            seen.update(SKU.findall(rec["text"]))
    race_keys = set(before["webhook"]["processed"])
    mixed_keys = set(after["webhook"]["processed"]) - race_keys
    seen.update(k.split("|", 1)[0] for k in mixed_keys)
    expected = {f"BENCH-{i:06d}" for i in range(args.total)}
    hooks = len(after["webhook"]["records"]) - skip["webhook"]

    naive_rate, worker_rate = args.peer / naive_s, args.peer / worker_s
    print(
        f"peer race, {args.peer} webhook notifications; receivers in another process answering "
        f"after {args.latency * 1000:.0f} ms:"
    )
    print(f"  naive one-at-a-time : {naive_rate:8.0f} deliveries/s ({naive_s:.2f} s)")
    print(f"  delivery worker     : {worker_rate:8.0f} deliveries/s ({worker_s:.2f} s)")
    print(f"  ratio worker/naive  : {worker_rate / naive_rate:8.1f}x")
    print(f"mixed burst: {args.total} notifications, {r} robots each of DingTalk/WeCom/Feishu")
    print(f"  outbox after        : {counts}")
    print(f"  elapsed             : {elapsed:.2f} s = {args.total / elapsed:.0f} deliveries/s")
    print(f"  messages sent       : {robot_messages} robot messages + {hooks} webhook calls")
    print(f"  max per robot/60 s  : {worst} (limit 20; none throttled)")
    missing = expected - seen
    print(
        f"  items in a message  : {len(expected & seen)}/{len(expected)} (missing {len(missing)})"
    )
    robot_rows = args.total - plan["hook"]
    print(
        f"  one message per notification at 20/min would take {robot_rows / (3 * r) / 20:.0f} "
        "min for the robot rows"
    )
    limits = {"dingtalk": 20000, "wecom": 4096, "feishu": 20 * 1024}
    digest_ok = digest_counts == {"sent": len(digest_rows)}
    print(f"split daily digest: {args.digest} items to one robot of each kind ({digest_s:.2f} s)")
    for name, channel in (
        ("dingtalk", f"ding{r}"),
        ("wecom", f"wecom{r}"),
        ("feishu", f"feishu{r}"),
    ):
        records = final[name]["records"][len(after[name]["records"]) :]
        accepted = [rec for rec in records if rec["verdict"] == "ok"]
        shown = {s for rec in accepted for s in SKU.findall(rec["text"])}
        biggest = max((len(json.dumps(rec["text"]).encode()) for rec in accepted), default=0)
        fine = len(shown) == args.digest and len(accepted) == len(records)
        digest_ok = digest_ok and fine and biggest <= limits[name]
        print(
            f"  {name:8s}: {len(accepted):3d} messages, {len(shown)}/{args.digest} items shown "
            f"(main's one cut message: {cut[channel]}/{args.digest})"
        )
    ratio = worker_rate / naive_rate
    print(f"{'PASS' if ratio >= 5 else 'FAIL'} worker ≥ 5x the naive sender ({ratio:.1f}x)")
    no_burst = all(v <= 20 for v in worst.values())
    print(f"{'PASS' if no_burst else 'FAIL'} no robot over 20 messages per 60 s ({worst})")
    complete = not missing and counts == {"sent": args.total}
    print(f"{'PASS' if complete else 'FAIL'} every burst item in some accepted message")
    print(f"{'PASS' if digest_ok else 'FAIL'} split digest: every item shown, each message fits")
    if not (ratio >= 5 and no_burst and complete and digest_ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
