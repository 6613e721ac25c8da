"""Poll a 20,000-offer simulator catalogue at SKU level through the 1688 client.

1. Budgeted: the client at ``--budget`` requests/s against a simulator throttling at the same
   rate. Reports cycle time ÷ (requests ÷ budget) (target ≤ 1.10) and throttling errors (target 0).
2. Unbudgeted: the concurrent client vs a sequential baseline client (one request at a time), on
   ``--free-offers`` offers of the same catalogue, both measured in this run; prints the ratio.
   Once on bare loopback (where both processes are CPU-bound and concurrency buys little) and
   once with ``--rtt-ms`` of simulated gateway latency, closer to a real call to gw.open.1688.com.

The simulator runs in a child process so that server and client do not share one GIL.
Usage: python -m benchmarks.poll_gateway [--offers 20000 --budget 400 --concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from stockwatch.adapters.alibaba1688.client import GatewayClient
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.simulator.app import ADMIN_HEADER
from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue
from stockwatch.adapters.alibaba1688.simulator.gateway import SimOptions
from stockwatch.adapters.alibaba1688.simulator.server import serve_forever
from stockwatch.adapters.alibaba1688.stock import Alibaba1688StockSource
from stockwatch.core.model import Item, OfferMapping
from stockwatch.ports import OAuthTokens

KEY, SECRET = "5555555", "demoSecret123"
SKUS = (1, 6)


def _child(offers: int, seed: int, qps: float, burst: float, urls: Any) -> None:
    catalogue = Catalogue.generate(offers, SKUS, seed, churn=False)
    options = SimOptions(app_key=KEY, app_secret=SECRET, qps=qps, burst=burst)
    serve_forever(catalogue, options, port=0, on_ready=urls.put)


class MemoryStore:
    def __init__(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens

    def load(self, app_key: str) -> OAuthTokens | None:
        return self.tokens

    def save(self, tokens: OAuthTokens) -> None:
        self.tokens = tokens


def admin(url: str, action: str, **payload: Any) -> Any:
    response = httpx.post(
        f"{url}/_admin/{action}", json=payload, headers={ADMIN_HEADER: SECRET}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def tokens(url: str) -> OAuthTokens:
    body = admin(url, "token", member="seller")
    now = datetime.now(UTC)
    from datetime import timedelta

    return OAuthTokens(
        KEY,
        body["access_token"],
        now + timedelta(seconds=float(body["expires_in"])),
        body["refresh_token"],
        now + timedelta(days=180),
        member_id=body["memberId"],
    )


def sku_items(catalogue: Catalogue, limit: int | None = None) -> list[Item]:
    items = []
    for offer in list(catalogue)[:limit]:
        for sku in offer.skus:
            name = f"BENCH-{sku.sku_id}"
            items.append(Item(name, offer=OfferMapping(name, str(offer.offer_id), sku.spec_id)))
    return items


def settings(url: str, qps: float | None, concurrency: int) -> GatewaySettings:
    return GatewaySettings(
        app_key=KEY,
        app_secret=SECRET,
        base_url=url,
        qps=qps,
        concurrency=concurrency,
        read_timeout=30,
        backoff_initial=0.5,
        backoff_max=5,
    )


async def poll(url: str, items: list[Item], qps: float | None, concurrency: int) -> Any:
    async with GatewaySession(settings(url, qps, concurrency), MemoryStore(tokens(url))) as gw:
        started = time.perf_counter()
        readings = await gw.source.read(items, datetime.now(UTC))
        elapsed = time.perf_counter() - started
        return elapsed, gw.client.stats, sum(r.is_failed for r in readings), len(readings)


async def sequential(url: str, items: list[Item]) -> Any:
    """The baseline: the same client, one request after the other."""
    client = GatewayClient(settings(url, None, 1))
    session_tokens = tokens(url)

    class Fixed:
        async def token(self) -> str:
            return session_tokens.access_token

        async def refresh_after_rejection(self, rejected: str) -> str:
            raise RuntimeError("token rejected in the benchmark")

    client.tokens = Fixed()
    source = Alibaba1688StockSource(client)
    offer_ids = list(dict.fromkeys(i.offer.offer_id for i in items if i.offer))
    started = time.perf_counter()
    failed = 0
    for offer_id in offer_ids:
        failed += isinstance(await source.read_offer(offer_id), Exception)
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed, client.stats, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=20000)
    parser.add_argument("--budget", type=float, default=400.0, help="requests per second")
    parser.add_argument("--concurrency", type=int, default=4, help="budgeted run")
    parser.add_argument("--free-concurrency", type=int, default=16, help="unbudgeted run")
    parser.add_argument("--free-offers", type=int, default=2000)
    parser.add_argument("--rtt-ms", type=float, default=30.0, help="simulated gateway latency")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    ctx = mp.get_context("spawn")
    urls = ctx.Queue()
    # The simulator throttles at the budget with a 0.1 s burst; the client keeps 0.05 s.
    burst = max(20.0, args.budget / 10)
    child = ctx.Process(
        target=_child, args=(args.offers, args.seed, args.budget, burst, urls), daemon=True
    )
    child.start()
    try:
        url = urls.get(timeout=120)
        catalogue = Catalogue.generate(args.offers, SKUS, args.seed, churn=False)
        items = sku_items(catalogue)
        print(
            f"catalogue: {args.offers} offers, {len(items)} SKUs (1..6 per offer); "
            f"simulator throttles at {args.budget:g} req/s (burst {burst:g})"
        )
        elapsed, stats, failed, count = asyncio.run(poll(url, items, args.budget, args.concurrency))
        ideal = stats.requests / args.budget
        sim_errors = admin(url, "stats")["errors"]
        print(
            f"budgeted poll (concurrency {args.concurrency}): {count} readings ({failed} failed), "
            f"{stats.requests} requests in "
            f"{elapsed:.1f} s; ideal {ideal:.1f} s; cycle/(requests/budget) = "
            f"{elapsed / ideal:.3f} (target ≤ 1.10)"
        )
        throttled = sim_errors.get("gw.QosAppFrequencyLimit", 0)
        print(
            f"throttling errors: client saw {stats.throttled}, simulator sent {throttled} "
            "(target 0)"
        )

        admin(url, "qos", qps=None)
        subset = sku_items(catalogue, args.free_offers)
        for rtt in (0.0, args.rtt_ms):
            admin(url, "clear_faults")
            if rtt:
                admin(url, "fault", kind="latency", rate=1.0, seconds=rtt / 1000)
            seq_time, seq_stats, seq_failed = asyncio.run(sequential(url, subset))
            seq_rps = seq_stats.requests / seq_time
            print(
                f"no budget, {args.free_offers} offers, +{rtt:g} ms gateway latency: "
                f"sequential baseline {seq_rps:.0f} req/s ({seq_failed} failed)"
            )
            for concurrency in sorted({args.concurrency, args.free_concurrency}):
                free_time, free_stats, free_failed, _ = asyncio.run(
                    poll(url, subset, None, concurrency)
                )
                free_rps = free_stats.requests / free_time
                print(
                    f"  concurrent client (concurrency {concurrency}): {free_rps:.0f} req/s "
                    f"({free_failed} failed); ratio to the baseline {free_rps / seq_rps:.2f}x"
                )
    finally:
        child.terminate()
        child.join(10)


if __name__ == "__main__":
    main()
