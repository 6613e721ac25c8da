"""The simulated sellers' offers, their SKUs and a sales model that drains and restocks them.

Time moves in one-hour steps of simulated time. An offer is brought up to date lazily when it
is read or changed, step by step with its own random stream seeded by (seed, offer), so a
catalogue of any size costs nothing until it is touched and the same seed always tells the same
story, however often it is read.
Patterns: steady (Poisson), intermittent (rare lumpy orders), promo (a spike day each week);
every pattern restocks some hours after falling under its reorder point (unless restocking is
off: then only someone else, e.g. the demo's merchant, puts goods back). Offers are delisted
(``member expired``) and relisted now and then; a few expire or are deleted for good.
A SKU (or SKU-less offer) may instead carry its own :class:`Demand` (daily mean and standard
deviation, e.g. taken from a sales history): it then sells that, and nothing else.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

STEP = timedelta(hours=1)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
PATTERNS = ("steady", "steady", "intermittent", "promo")
SELLER = "b2b-2209000000002"
BUYER = "b2b-2208000000001"
MEMBERS_BY_ROLE = {"seller": SELLER, "buyer": BUYER}
COLOURS = ("黑色", "白色", "红色", "蓝色", "灰色", "粉色", "绿色", "黄色")
NOUNS = ("保温杯", "数据线", "手机壳", "灯带", "瑜伽垫", "钥匙扣", "台灯", "闹钟", "毛绒熊")


@dataclass(frozen=True)
class Demand:
    """Units sold per simulated day: mean and standard deviation, drawn hour by hour.

    Each hour sells a Poisson count; when the day-to-day spread is wider than Poisson's
    (sd² > mean) the hourly rate is itself gamma-distributed (a negative binomial), so that the
    24 hours of a day add up to the same mean and standard deviation as the history.
    """

    daily_mean: float
    daily_sd: float

    def draw(self, rng: random.Random) -> int:
        mean = self.daily_mean / 24
        variance = self.daily_sd**2 / 24
        if mean <= 0:
            return 0
        if variance <= mean:
            return _poisson(rng, mean)
        shape = mean * mean / (variance - mean)
        return _poisson(rng, rng.gammavariate(shape, mean / shape))


@dataclass
class Sku:
    sku_id: int
    spec_id: str
    amount: int
    colour: str
    demand: Demand | None = None  # its own sales; None: a share of the offer's


@dataclass
class Offer:
    offer_id: int
    subject: str
    skus: list[Sku]
    amount: int  # offers without SKUs keep their stock here
    pattern: str
    rate: float  # mean units sold per simulated hour
    reorder_at: int
    restock_to: int
    status: str = "published"
    inv_reduce_type: str = "2"
    created: datetime = EPOCH
    modified: datetime = EPOCH
    step: int = 0  # last simulated step applied
    restock_due: int | None = None
    restocks: bool = True  # False: the seller never restocks by itself
    demand: Demand | None = None  # a SKU-less offer's own sales (see Sku.demand)
    followers: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def total(self) -> int:
        return sum(s.amount for s in self.skus) if self.skus else self.amount


@dataclass(frozen=True)
class StockChange:
    """One SKU's (or SKU-less offer's) stock moved: what the inventory push carries."""

    offer_id: int
    sku_id: int | None
    sku_on_sale: int | None
    offer_on_sale: int
    quantity: int  # signed delta
    at: datetime


@dataclass(frozen=True)
class StatusChange:
    offer_id: int
    old: str
    new: str
    at: datetime


Change = StockChange | StatusChange
Listener = Callable[[Offer, list[Change]], None]


def step_of(at: datetime) -> int:
    return int((at - EPOCH) / STEP)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _spec_id(offer_id: int, index: int) -> str:
    return hashlib.md5(f"{offer_id}:{index}".encode()).hexdigest()


class Catalogue:
    """Offers by id plus the sales model; ``listener`` hears every stock and status change."""

    def __init__(self, seed: int = 42, churn: bool = True) -> None:
        self.seed = seed
        self.churn = churn  # random delisting / relisting / expiry
        self.offers: dict[int, Offer] = {}
        self.listener: Listener | None = None

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def generate(
        cls,
        offers: int,
        skus_per_offer: tuple[int, int] = (0, 4),
        seed: int = 42,
        start_id: int = 620000000001,
        now: datetime | None = None,
        churn: bool = True,
    ) -> Catalogue:
        cat = cls(seed, churn)
        rng = random.Random(seed)
        step = step_of(now or datetime.now(UTC))
        for n in range(offers):
            oid = start_id + n
            count = rng.randint(*skus_per_offer)
            pattern = rng.choice(PATTERNS)
            skus = [
                Sku(
                    5104790000000 + (oid % 10_000_000) * 10 + i,
                    _spec_id(oid, i),
                    rng.randint(0, 400),
                    COLOURS[i % len(COLOURS)],
                )
                for i in range(count)
            ]
            rate = rng.uniform(0.2, 6.0) * (0.3 if pattern == "intermittent" else 1.0)
            cat.add(
                Offer(
                    oid,
                    f"{rng.choice(NOUNS)} 款式{n % 97}",
                    skus,
                    0 if skus else rng.randint(0, 800),
                    pattern,
                    rate,
                    reorder_at=rng.randint(20, 80),
                    restock_to=rng.randint(150, 600),
                    inv_reduce_type=rng.choice(("1", "2")),
                    step=step,
                )
            )
        return cat

    @classmethod
    def from_sample(
        cls,
        rows: list[tuple[str, str | None, int]],
        seed: int = 42,
        now: datetime | None = None,
        *,
        restock: bool = True,
        demand: Mapping[tuple[str, str | None], Demand] | None = None,
    ) -> Catalogue:
        """Build offers from (offer_id, spec_id or None, stock) rows, e.g. the bundled sample.

        ``restock=False``: the seller never restocks by itself (the demo's merchant does).
        ``demand``: each (offer_id, spec_id)'s own daily sales (see :func:`sample_demand`);
        offers not in it sell a random 0.5–3 units an hour.
        """
        demand = demand or {}
        cat = cls(seed, churn=False)
        rng = random.Random(seed)
        step = step_of(now or datetime.now(UTC))
        grouped: dict[int, list[tuple[str | None, int]]] = {}
        for offer_id, spec_id, stock in rows:
            grouped.setdefault(int(offer_id), []).append((spec_id, stock))
        for oid, specs in grouped.items():
            skus = [
                Sku(
                    5104790000000 + (oid % 10_000_000) * 10 + i,
                    spec,
                    stock,
                    COLOURS[i % 8],
                    demand.get((str(oid), spec)),
                )
                for i, (spec, stock) in enumerate(specs)
                if spec is not None
            ]
            plain = sum(stock for spec, stock in specs if spec is None)
            cat.add(
                Offer(
                    oid,
                    f"样品商品 {oid}",
                    skus,
                    0 if skus else plain,
                    "steady",
                    rng.uniform(0.5, 3.0),
                    reorder_at=30,
                    restock_to=max(200, plain * 2),
                    step=step,
                    restocks=restock,
                    demand=None if skus else demand.get((str(oid), None)),
                )
            )
        return cat

    def add(self, offer: Offer) -> None:
        # One stream per offer, consumed step by step in order: reads never change the story.
        offer.rng = random.Random(self.seed * 1_000_003 + offer.offer_id)
        self.offers[offer.offer_id] = offer

    def __len__(self) -> int:
        return len(self.offers)

    def __iter__(self) -> Iterator[Offer]:
        return iter(self.offers.values())

    # -- the sales model --------------------------------------------------------------------
    def get(self, offer_id: int, now: datetime) -> Offer | None:
        offer = self.offers.get(offer_id)
        if offer is not None:
            self.advance(offer, now)
        return offer

    def advance(self, offer: Offer, now: datetime) -> None:
        target = step_of(now)
        if target <= offer.step:
            return
        changes: list[Change] = []
        for step in range(offer.step + 1, target + 1):
            changes.extend(self._step(offer, step))
        offer.step = target
        if changes and self.listener is not None:
            self.listener(offer, changes)

    def _step(self, offer: Offer, step: int) -> list[Change]:
        rng = offer.rng
        at = EPOCH + STEP * step
        changes: list[Change] = []
        if self.churn and offer.status != "deleted":
            changes.extend(self._churn(offer, rng, at))
        if offer.status != "published":
            return changes
        if offer.demand is not None or any(s.demand is not None for s in offer.skus):
            changes.extend(self._sell_own_demand(offer, rng, at))
        else:
            for _ in range(self._demand(offer, rng, step)):
                changes.extend(self._sell_one(offer, rng, at))
        if not offer.restocks:
            return changes
        if offer.restock_due is None and offer.total <= offer.reorder_at:
            offer.restock_due = step + rng.randint(12, 96)  # supplier lead time in hours
        if offer.restock_due is not None and step >= offer.restock_due:
            offer.restock_due = None
            changes.extend(self._restock(offer, at))
        return changes

    def _demand(self, offer: Offer, rng: random.Random, step: int) -> int:
        if offer.pattern == "intermittent":
            return rng.randint(5, 40) if rng.random() < 0.04 else 0
        rate = offer.rate
        if offer.pattern == "promo" and (step // 24) % 7 == offer.offer_id % 7:
            rate *= 6  # one promotion day a week
        return _poisson(rng, rate)

    def _sell_one(self, offer: Offer, rng: random.Random, at: datetime) -> list[Change]:
        if offer.skus:
            stocked = [s for s in offer.skus if s.amount > 0]
            if not stocked:
                return []
            sku = rng.choice(stocked)
            return [self.set_amount(offer, sku, sku.amount - 1, at)]
        if offer.amount <= 0:
            return []
        return [self.set_amount(offer, None, offer.amount - 1, at)]

    def _sell_own_demand(self, offer: Offer, rng: random.Random, at: datetime) -> list[Change]:
        """One hour of each SKU's own demand, as one stock change per SKU that sold."""
        changes: list[Change] = []
        if offer.demand is not None and not offer.skus:
            sold = min(offer.demand.draw(rng), offer.amount)
            if sold:
                changes.append(self.set_amount(offer, None, offer.amount - sold, at))
        for sku in offer.skus:
            if sku.demand is None:
                continue
            sold = min(sku.demand.draw(rng), sku.amount)
            if sold:
                changes.append(self.set_amount(offer, sku, sku.amount - sold, at))
        return changes

    def _restock(self, offer: Offer, at: datetime) -> list[Change]:
        if not offer.skus:
            return [self.set_amount(offer, None, max(offer.amount, offer.restock_to), at)]
        share = max(1, offer.restock_to // len(offer.skus))
        return [self.set_amount(offer, s, max(s.amount, share), at) for s in offer.skus]

    def _churn(self, offer: Offer, rng: random.Random, at: datetime) -> list[Change]:
        roll = rng.random()
        new = offer.status
        if offer.status == "published":
            if roll < 0.0005:
                new = "deleted"
            elif roll < 0.0015:
                new = "expired"
            elif roll < 0.0065:
                new = "member expired"  # 下架
        elif roll < 0.06:
            new = "published"  # relisted (重新上架)
        if new == offer.status:
            return []
        return [self.set_status(offer, new, at)]

    # -- changes (also used by the admin endpoint) ------------------------------------------
    def set_amount(self, offer: Offer, sku: Sku | None, amount: int, at: datetime) -> StockChange:
        amount = max(0, amount)
        before = sku.amount if sku else offer.amount
        if sku is not None:
            sku.amount = amount
        else:
            offer.amount = amount
        offer.modified = at
        return StockChange(
            offer.offer_id,
            sku.sku_id if sku else None,
            sku.amount if sku else None,
            offer.total,
            amount - before,
            at,
        )

    def set_status(self, offer: Offer, status: str, at: datetime) -> StatusChange:
        old, offer.status = offer.status, status
        offer.modified = at
        return StatusChange(offer.offer_id, old, status, at)

    def notify(self, offer: Offer, changes: list[Change]) -> None:
        if changes and self.listener is not None:
            self.listener(offer, changes)


def sample_rows(items_csv: Path, stock_csv: Path | None) -> list[tuple[str, str | None, int]]:
    """Read (offer_id, spec_id, stock) from the bundled sample's items and stock CSVs."""
    import csv

    stock: dict[str, int] = {}
    if stock_csv is not None and stock_csv.exists():
        with stock_csv.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                try:
                    stock[row["sku"]] = stock.get(row["sku"], 0) + int(row["on_hand"])
                except (KeyError, ValueError):
                    continue
    rows: list[tuple[str, str | None, int]] = []
    seen: set[tuple[str, str | None]] = set()
    with items_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            offer_id = (row.get("offer_id") or "").strip()
            if not offer_id.isdigit():
                continue
            spec = (row.get("spec_id") or "").strip() or None
            if (offer_id, spec) in seen:
                continue
            seen.add((offer_id, spec))
            rows.append((offer_id, spec, stock.get(row.get("sku", ""), 100)))
    return rows


def sample_demand(items_csv: Path, sales_csv: Path) -> dict[tuple[str, str | None], Demand]:
    """Each sample offer/spec's daily demand as its sales history tells it.

    Days without a row count as 0, from the SKU's first sale to the file's last day (the
    days stockwatch's own window reads), so the simulator sells what the levels expect: the
    same mean and day-to-day standard deviation. SKUs without a row get nothing here.
    """
    import csv
    import statistics
    from datetime import date

    daily: dict[str, dict[date, int]] = {}
    with sales_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                day, quantity = date.fromisoformat(row["date"]), int(row["quantity"])
            except (KeyError, ValueError):
                continue  # the sample is clean; a hand-edited row must not stop the demo
            days = daily.setdefault(row.get("sku", ""), {})
            days[day] = days.get(day, 0) + quantity
    if not daily:
        return {}
    last = max(max(days) for days in daily.values())
    demand: dict[tuple[str, str | None], Demand] = {}
    with items_csv.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            history = daily.get(row.get("sku", ""))
            offer_id = (row.get("offer_id") or "").strip()
            if not history or not offer_id.isdigit():
                continue
            first = min(history)
            span = range((last - first).days + 1)
            series = [history.get(first + timedelta(n), 0) for n in span]
            spread = statistics.stdev(series) if len(series) > 1 else math.sqrt(series[0])
            spec = (row.get("spec_id") or "").strip() or None
            demand[(offer_id, spec)] = Demand(statistics.fmean(series), spread)
    return demand
