"""The demo shop's merchant: acts on stockwatch's alerts as a person would.

Every few seconds it looks at the open replenishment tasks (``GET /api/tasks``) and marks each
one ordered (``POST /api/tasks/{id}/order``: the suggested quantity, the item's supplier); the
supplier delivers after the item's lead time in simulated time, now and then much later than
promised (the late-supplier notice goes out), and the merchant then books the goods in
(``POST /api/orders/{id}/receive``) and puts them on the 1688 shelf (the simulator's stock).
An item still at T1 or worse with nothing on order and no task (its last task closed when the
previous order arrived, while the new shortfall had already begun) is re-ordered by hand
(``POST /api/orders``) in the quantity last ordered, as a merchant reading the alert would.
So the demo's review shows stockouts prevented, not only announced.

The merchant also paces the simulated world: after each look it lets the simulator's clock run
at most ``ahead`` past the older of its own look and the daemon's last finished poll. On a
loaded machine the world then slows down instead of running on while the daemon or the
merchant has not caught up (an hour of simulated sales between two looks is harmless; a week
would turn every warning into a stockout nobody could have prevented).
"""

from __future__ import annotations

import csv
import logging
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle

log = logging.getLogger("stockwatch.demo")

LATE_SHARE = 0.1  # one delivery in ten takes half as long again as promised


@dataclass(frozen=True)
class Listing:
    offer_id: str
    spec_id: str | None
    lead_days: float
    supplier: str = ""
    share: float = 1.0  # a warehouse's share of the offer's one 1688 stock figure


@dataclass
class Delivery:
    order_id: int
    item: str  # SKU or SKU@WAREHOUSE
    quantity: int
    arrives: datetime


def listings(items_csv: Path, shares: Mapping[str, float]) -> dict[str, Listing]:
    """Return each item's (``SKU`` or ``SKU@WAREHOUSE``) 1688 offer/spec, declared lead time
    and stock share from the demo's items.csv and the config's shares."""
    found = {}
    with items_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = f"{row['sku']}@{row['warehouse']}" if row.get("warehouse") else row["sku"]
            found[key] = Listing(
                row["offer_id"],
                row.get("spec_id") or None,
                float(row.get("lead_time_days") or 7),
                row.get("supplier") or "",
                shares.get(key, 1.0),
            )
    return found


class Merchant(threading.Thread):
    def __init__(
        self,
        sim: SimulatorHandle,
        api: str,
        items_csv: Path,
        every: float,
        seed: int,
        ahead: timedelta,
        shares: Mapping[str, float],
    ) -> None:
        super().__init__(name="demo-merchant", daemon=True)
        self.sim = sim
        self.ahead = ahead
        self.usual: dict[str, int] = {}  # item → the quantity last ordered
        self.api = api
        self.items = listings(items_csv, shares)
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
        self._pace(client, now)
        tasked = set()
        for task in client.get("/api/tasks").json():
            tasked.add(str(task["item"]))
            if task["status"] == "open":
                self._order(client, f"/api/tasks/{task['id']}/order", {}, now)
        on_order = {str(o["item"]) for o in client.get("/api/orders").json()}
        for alert in client.get("/api/alerts").json():
            item = str(alert["item"])
            if alert["phase"] != "firing" or item in tasked or item in on_order:
                continue
            listing = self.items.get(item)
            if item in self.usual and listing:  # an item's first order comes from a task
                body = {"item": item, "quantity": self.usual[item], "supplier": listing.supplier}
                self._order(client, "/api/orders", body, now)
        for delivery in [d for d in self.on_the_way if d.arrives <= now]:
            self.on_the_way.remove(delivery)
            self._restock(delivery)
            client.post(f"/api/orders/{delivery.order_id}/receive")
            self.received += 1

    def _order(
        self, client: httpx.Client, path: str, body: dict[str, object], now: datetime
    ) -> None:
        placed = client.post(path, json=body)
        if placed.status_code != 201:
            return
        order = placed.json()
        item = str(order["item"])
        listing = self.items.get(item)
        if listing is None:
            return
        days = listing.lead_days * (1.5 if self.rng.random() < LATE_SHARE else 1.0)
        arrives = now + timedelta(days=days)
        self.on_the_way.append(Delivery(order["id"], item, order["quantity"], arrives))
        self.usual[item] = int(order["quantity"])
        self.ordered += 1

    def _pace(self, client: httpx.Client, now: datetime) -> None:
        """Let the world run on to ``ahead`` past the slower of this look and the last poll."""
        finished = [g["last_finished_at"] for g in client.get("/api/status").json()["groups"]]
        if not finished or None in finished:  # the daemon has not finished its first poll yet
            return
        polls = [datetime.fromisoformat(at) for at in finished]
        self.sim.gateway.clock.hold_at(min([now, *polls]) + self.ahead)

    def _restock(self, delivery: Delivery) -> None:
        listing = self.items[delivery.item]
        # A warehouse sees its share of the one 1688 figure: raise the figure so that its
        # share grows by what it received.
        added = math.ceil(delivery.quantity / listing.share)
        offer = self.sim.offer(listing.offer_id)
        if listing.spec_id:
            have = next(
                int(s["amountOnSale"])
                for s in offer.get("skuInfos") or []
                if s["specId"] == listing.spec_id
            )
        else:
            have = int(float(offer["saleInfo"]["amountOnSale"]))
        self.sim.set_stock(listing.offer_id, have + added, listing.spec_id)
