"""The demo shop's merchant: acts on stockwatch's alerts as a person would.

Every few seconds it looks at the open replenishment tasks (``GET /api/tasks``) and marks each
one ordered (``POST /api/tasks/{id}/order``: the suggested quantity, the item's supplier); the
supplier delivers after the item's lead time in simulated time, now and then much later than
promised (the late-supplier notice goes out), and the merchant then books the goods in
(``POST /api/orders/{id}/receive``) and puts them on the 1688 shelf (the simulator's stock).
So the demo's review shows stockouts prevented, not only announced.
"""

from __future__ import annotations

import csv
import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle

log = logging.getLogger("stockwatch.demo")

LATE_SHARE = 0.2  # one delivery in five takes half as long again as promised


@dataclass(frozen=True)
class Listing:
    offer_id: str
    spec_id: str | None
    lead_days: float


@dataclass
class Delivery:
    order_id: int
    sku: str
    quantity: int
    arrives: datetime


def listings(items_csv: Path) -> dict[str, Listing]:
    """Return each SKU's 1688 offer/spec and declared lead time from the demo's items.csv."""
    with items_csv.open(encoding="utf-8", newline="") as f:
        return {
            row["sku"]: Listing(
                row["offer_id"], row.get("spec_id") or None, float(row.get("lead_time_days") or 7)
            )
            for row in csv.DictReader(f)
        }


class Merchant(threading.Thread):
    def __init__(
        self, sim: SimulatorHandle, api: str, items_csv: Path, every: float, seed: int
    ) -> None:
        super().__init__(name="demo-merchant", daemon=True)
        self.sim = sim
        self.api = api
        self.items = listings(items_csv)
        self.every = every
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.on_the_way: list[Delivery] = []
        self.ordered = 0
        self.received = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.api, timeout=10) as client:
            while not self.stop.wait(self.every):
                try:
                    self.step(client)
                except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
                    log.debug("merchant step failed: %s", exc)  # the daemon is stopping

    def step(self, client: httpx.Client) -> None:
        now = self.sim.gateway.clock.now()
        for task in client.get("/api/tasks").json():
            listing = self.items.get(str(task["sku"]))
            if listing is None:
                continue
            placed = client.post(f"/api/tasks/{task['id']}/order", json={})
            if placed.status_code != 201:
                continue
            order = placed.json()
            days = listing.lead_days * (1.5 if self.rng.random() < LATE_SHARE else 1.0)
            arrives = now + timedelta(days=days)
            self.on_the_way.append(Delivery(order["id"], task["sku"], order["quantity"], arrives))
            self.ordered += 1
        for delivery in [d for d in self.on_the_way if d.arrives <= now]:
            self.on_the_way.remove(delivery)
            self._restock(delivery)
            client.post(f"/api/orders/{delivery.order_id}/receive")
            self.received += 1

    def _restock(self, delivery: Delivery) -> None:
        listing = self.items[delivery.sku]
        offer = self.sim.offer(listing.offer_id)
        if listing.spec_id:
            have = next(
                int(s["amountOnSale"])
                for s in offer.get("skuInfos") or []
                if s["specId"] == listing.spec_id
            )
        else:
            have = int(float(offer["saleInfo"]["amountOnSale"]))
        self.sim.set_stock(listing.offer_id, have + delivery.quantity, listing.spec_id)
