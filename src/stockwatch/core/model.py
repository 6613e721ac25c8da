"""Domain values: items and their 1688 mapping, stock readings, tiers, levels, alert state, notices.

Everything here is a frozen dataclass or an enum from the standard library, so the core stays
pure: no I/O, no clock, no globals. Time is always passed in by the caller.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


class Tier(enum.IntEnum):
    """Alert severity; a larger value is worse."""

    OK = 0
    T1 = 1  # 提醒关注 attention
    T2 = 2  # 紧急补货 urgent reorder
    T3 = 3  # 即将断货 imminent stockout
    OUT = 4  # 已断货 stock 0 or oversold

    @classmethod
    def parse(cls, text: str) -> Tier:
        """Return the tier named by ``text`` (``"t2"``, ``"T2"``, ``"out"``)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(t.name for t in cls)
            raise ValueError(f"unknown tier {text!r}; expected one of {names}") from None


ALERT_TIERS: tuple[Tier, ...] = (Tier.T1, Tier.T2, Tier.T3, Tier.OUT)


class ReadingSource(enum.StrEnum):
    POLL = "poll"
    PUSH = "push"
    MANUAL = "manual"
    IMPORT = "import"


class ItemClass(enum.StrEnum):
    """ABC class: A sells most and gets the highest service level."""

    A = "A"
    B = "B"
    C = "C"


class OfferStatus(enum.StrEnum):
    """Whether the 1688 offer behind an item can still be bought."""

    ACTIVE = "active"
    DELISTED = "delisted"  # 下架
    EXPIRED = "expired"
    GONE = "gone"  # deleted or never existed


@dataclass(frozen=True, order=True)
class ItemKey:
    """Identity of a watched position: the merchant's SKU, optionally per warehouse."""

    sku: str
    warehouse: str | None = None

    def __str__(self) -> str:
        return self.sku if self.warehouse is None else f"{self.sku}@{self.warehouse}"

    @classmethod
    def parse(cls, text: str) -> ItemKey:
        """Return the key for ``"SKU"`` or ``"SKU@WAREHOUSE"``."""
        sku, sep, warehouse = text.partition("@")
        if not sku.strip():
            raise ValueError(f"empty SKU in item key {text!r}")
        return cls(sku.strip(), warehouse.strip() or None if sep else None)

    def meaning(self, kept: Iterable[ItemKey]) -> tuple[ItemKey, ...]:
        """The catalogue's items this key names, given the ``kept`` keys of its SKU: itself
        when kept; a bare SKU kept in warehouses only names those (one: that item; several:
        ask which); nothing (an unknown item)."""
        keys = set(kept)
        if self in keys:
            return (self,)
        if self.warehouse is not None:
            return ()
        return tuple(sorted((k for k in keys if k.sku == self.sku and k.warehouse), key=str))


@dataclass(frozen=True)
class OfferMapping:
    """The merchant's SKU code mapped to a 1688 offer and, for multi-spec offers, its SKU/spec."""

    sku: str
    offer_id: str
    spec_id: str | None = None  # 1688 specId of one skuInfos[] entry
    sku_id: str | None = None  # 1688 numeric skuId, when known
    # This item's share of the offer/spec's stock when 1688's one figure stands for several
    # items (the SKU in two warehouses): ``[items."SKU@WH"] share``; None = all of it.
    share: float | None = None

    def own(self, on_sale: int) -> int:
        """Return this item's part of the offer/spec's 1688 stock: ``floor(stock × share)``,
        so rounding never shows more than there is (all of it without a share)."""
        if self.share is None:
            return on_sale
        return math.floor(on_sale * self.share + 1e-9)

    @property
    def offer_url(self) -> str:
        return f"https://detail.1688.com/offer/{self.offer_id}.html"


@dataclass(frozen=True)
class Item:
    """A product the merchant watches, with what the threshold maths needs to know about it."""

    sku: str
    title: str = ""
    offer: OfferMapping | None = None
    supplier: str = ""
    category: str = ""
    item_class: ItemClass = ItemClass.B
    tags: frozenset[str] = frozenset()
    warehouse: str | None = None
    lead_time_days: float | None = None
    lead_time_sd_days: float | None = None
    min_order_qty: int = 1
    order_multiple: int = 1
    listed_on: date | None = None

    @property
    def key(self) -> ItemKey:
        return ItemKey(self.sku, self.warehouse)


@dataclass(frozen=True)
class Reading:
    """One observation of an item's stock; a failed read carries no quantity at all."""

    key: ItemKey
    observed_at: datetime
    source: ReadingSource
    on_hand: int | None
    committed: int = 0  # locked by unpaid or unshipped orders
    in_transit: int = 0  # ordered from the supplier, not yet received
    offer_status: OfferStatus = OfferStatus.ACTIVE
    error: str | None = None

    @classmethod
    def failed(
        cls, key: ItemKey, observed_at: datetime, source: ReadingSource, error: str
    ) -> Reading:
        """Return a failed read: it never counts as stock 0."""
        return cls(key, observed_at, source, None, error=error)

    @property
    def is_failed(self) -> bool:
        return self.on_hand is None

    @property
    def available(self) -> int | None:
        """Return the inventory position: on hand − committed + in transit (on order)."""
        if self.on_hand is None:
            return None
        return self.on_hand - self.committed + self.in_transit

    @property
    def shelf(self) -> int | None:
        """Return what a customer can buy now: on hand − committed (goods on the way excluded)."""
        if self.on_hand is None:
            return None
        return self.on_hand - self.committed


@dataclass(frozen=True)
class OnOrder:
    """Goods ordered from the supplier and not yet received: the on-order part of the position."""

    quantity: int = 0
    due: datetime | None = None  # the earliest expected arrival of an open order
    # Units booked in (received) that the stock source does not show yet: a receipt is often
    # booked before the shop's stock catches up; they stay in the position meanwhile
    # (``purchasing.booked_not_shelved``).
    arriving: int = 0


@dataclass(frozen=True)
class Step:
    """One line of a threshold explanation: what was computed, how, and the value."""

    label: str
    formula: str
    value: float


@dataclass(frozen=True)
class Basis:
    """Why a threshold has its value: strategy, inputs and the computation steps."""

    strategy: str
    inputs: tuple[tuple[str, float], ...] = ()
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()

    def input(self, name: str) -> float | None:
        for key, value in self.inputs:
            if key == name:
                return value
        return None


# The inputs of every computed basis, in this order (core.thresholds and the numpy bulk path
# list them alike; learned lead times append more), and its steps: SS and ROP when the strategy
# has a safety stock, then the three levels before rounding. The database stores a basis of
# this shape as numbers (adapters/db/codec.compact_basis) instead of JSON.
COMPUTED_INPUTS = (
    "d",
    "sd",
    "L",
    "sL",
    "R",
    "service_level",
    "Z",
    "k",
    "history_days",
    "velocity7",
    "d_order",
)
SS_STEPS = (("SS", "safety stock"), ("ROP", "reorder point"))
RAW_STEPS = (
    ("T1 raw", "before rounding"),
    ("T2 raw", "before rounding"),
    ("T3 raw", "before rounding"),
)


@dataclass(frozen=True)
class TierLevels:
    """Quantity levels: an item is at a tier when its available position is ≤ that tier's level.

    Ordered t1 ≥ t2 ≥ t3 > 0. ``disabled`` levels never alert (a manual threshold of 0).
    ``velocity`` is the demand rate (units/day) used for days of cover; 0 means unknown/none.
    """

    t1: int
    t2: int
    t3: int
    velocity: float = 0.0
    basis: Basis = field(default_factory=lambda: Basis("fixed"))
    disabled: bool = False

    def __post_init__(self) -> None:
        if not self.disabled and not (self.t1 >= self.t2 >= self.t3 > 0):
            raise ValueError(
                f"tier levels must satisfy T1 ≥ T2 ≥ T3 > 0, got "
                f"T1={self.t1}, T2={self.t2}, T3={self.t3}"
            )

    @property
    def order_rate(self) -> float:
        """Return d_order, the demand rate orders are sized from (units/day): the recent clean
        mean the computation stored, else (levels from before it, set by hand) the velocity."""
        found = self.basis.input("d_order")
        return self.velocity if found is None else found

    @property
    def order_cycle_days(self) -> float:
        """Return the days of demand an order covers at least (0: top up by one lead time)."""
        return self.basis.input("order_cycle_days") or 0.0

    @classmethod
    def off(cls, basis: Basis | None = None) -> TierLevels:
        return cls(0, 0, 0, basis=basis or Basis("disabled"), disabled=True)

    def level(self, tier: Tier) -> int:
        """Return the quantity at or below which ``tier`` applies."""
        return {Tier.T1: self.t1, Tier.T2: self.t2, Tier.T3: self.t3, Tier.OUT: 0}[tier]

    def classify_stock(self, position: int, shelf: int) -> Tier:
        """Return the tier of an item from its inventory position and its shelf.

        T1/T2 say when to order, so they look at the position (goods on the way count). T3 and
        OUT say what a customer sees, so they also look at the shelf: an empty shelf is OUT even
        with goods on the way.
        """
        if self.disabled:
            return Tier.OK
        return max(self.classify(position), self.shelf_tier(shelf))

    def shelf_tier(self, shelf: int) -> Tier:
        """Return OUT, T3 or OK from the shelf alone."""
        if self.disabled:
            return Tier.OK
        if shelf <= 0:
            return Tier.OUT
        return Tier.T3 if shelf <= self.t3 else Tier.OK

    def classify(self, available: int) -> Tier:
        """Return the tier of an available position (OUT at 0 or oversold)."""
        if self.disabled:
            return Tier.OK
        if available <= 0:
            return Tier.OUT
        if available <= self.t3:
            return Tier.T3
        if available <= self.t2:
            return Tier.T2
        if available <= self.t1:
            return Tier.T1
        return Tier.OK

    def days_of_cover(self, available: int) -> float | None:
        """Return days until empty at the current velocity; None when velocity is 0 (∞)."""
        if self.velocity <= 0:
            return None
        return max(available, 0) / self.velocity


class Phase(enum.StrEnum):
    OK = "ok"
    PENDING = "pending"  # breached, waiting out the debounce
    FIRING = "firing"
    RECOVERING = "recovering"  # back above T1, waiting out the exit debounce

    @property
    def announced(self) -> bool:
        """Past its debounce (firing, or waiting out its recovery): announced, unless a snooze
        still holds its first notice back (``AlertState.last_notice_at`` is None then)."""
        return self is Phase.FIRING or self is Phase.RECOVERING


class NoticeKind(enum.StrEnum):
    RAISED = "raised"  # first notice of an episode
    WORSENED = "worsened"  # escalation to a worse tier
    REMINDER = "reminder"  # same tier, after the de-duplication window
    DROPPED = "dropped"  # same tier, stock fell a further X % (opt-in)
    RESOLVED = "resolved"  # recovered above T1 + margin
    STALE = "stale"  # many failed reads in a row
    SHARP_DROP = "sharp_drop"  # stock fell sharply between two readings, even above T1 (opt-in)
    UNAVAILABLE = "unavailable"  # the 1688 offer was delisted, expired or is gone
    LATE_SUPPLIER = "late_supplier"  # a purchase order is past its expected arrival


# What the alert event log holds: the notices, and the transitions and people's changes
# (acknowledge, snooze) that sent nothing.
EVENT_KINDS: tuple[str, ...] = (*(k.value for k in NoticeKind), "transition", "ack", "snooze")


@dataclass(frozen=True)
class AlertState:
    """Everything the state machine remembers about one item between readings."""

    phase: Phase = Phase.OK
    tier: Tier = Tier.OK
    since: datetime | None = None  # start of PENDING or RECOVERING
    breach_readings: int = 0  # consecutive breaching readings while PENDING
    episode: int = 0
    notified: tuple[tuple[Tier, datetime], ...] = ()  # this episode: tier → last notice time
    last_notice_at: datetime | None = None
    last_notice_available: int | None = None
    notice_seq: int = 0  # notices sent in this episode; part of the idempotency key
    acked: bool = False
    # The last reading that showed goods on order while acknowledged: the acknowledgement rests
    # on them, and lapses once they are in and the item is still short (core.alerting rule 4b).
    goods_seen_at: datetime | None = None
    # Rule 3b held the acknowledgement through an escalation because the goods on order kept
    # the position above T1: it lapses, with a reminder, once the position is at or below T1.
    ack_covered: bool = False
    snoozed_until: datetime | None = None
    failed_reads: int = 0
    first_failed_at: datetime | None = None
    stale_notified: bool = False
    offer_status: OfferStatus = OfferStatus.ACTIVE
    last_reading_at: datetime | None = None
    last_available: int | None = None
    version: int = 0

    def notified_at(self, tier: Tier) -> datetime | None:
        for t, at in self.notified:
            if t == tier:
                return at
        return None


@dataclass(frozen=True)
class DebounceRule:
    """A breach must last ``duration`` and ``readings`` consecutive readings before notifying."""

    duration: timedelta = timedelta(0)
    readings: int = 1


# The detail of a reminder sent because an acknowledgement resting on goods on order lapsed
# (core.alerting rule 4b); core.messages words it for people.
GOODS_IN = "the goods on order are in and the item is still short"


@dataclass(frozen=True)
class AlertPolicy:
    """Anti-harassment rules; the defaults follow the seed article and the architecture guide."""

    dedupe_window: timedelta = timedelta(hours=24)
    debounce: tuple[tuple[Tier, DebounceRule], ...] = (
        (Tier.T1, DebounceRule(timedelta(minutes=30))),
        (Tier.T2, DebounceRule(timedelta(minutes=15))),
        (Tier.T3, DebounceRule()),
        (Tier.OUT, DebounceRule()),
    )
    recover_margin_ratio: float = 0.10
    recover_margin_min: int = 1
    recover_for: timedelta = timedelta(0)
    renotify_drop_ratio: float = 0.0  # 0 = off; 0.3 re-notifies after a further 30 % fall
    stale_after_reads: int = 3
    stale_after: timedelta = timedelta(hours=6)
    sharp_drop_ratio: float = 0.0  # 0 = off; 0.5 reports a fall of half the stock between reads
    late_tolerance: timedelta = timedelta(days=1)  # a purchase order later than this is late
    # How long after goods were last seen on order an acknowledgement resting on them may lapse
    # (rule 4b): a receipt is often booked before the shop's stock on 1688 shows the goods.
    goods_in_grace: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if self.dedupe_window < timedelta(0):
            raise ValueError("dedupe_window must not be negative")
        if not 0 <= self.recover_margin_ratio < 1:
            raise ValueError("recover_margin_ratio must be in [0, 1)")
        if self.recover_margin_min < 0:
            raise ValueError("recover_margin_min must not be negative")
        if not 0 <= self.renotify_drop_ratio < 1:
            raise ValueError("renotify_drop_ratio must be in [0, 1)")
        if not 0 <= self.sharp_drop_ratio < 1:
            raise ValueError("sharp_drop_ratio must be in [0, 1)")
        if self.late_tolerance < timedelta(0):
            raise ValueError("late_tolerance must not be negative")
        if self.goods_in_grace < timedelta(0):
            raise ValueError("goods_in_grace must not be negative")
        if self.stale_after_reads < 1:
            raise ValueError("stale_after_reads must be at least 1")
        for tier, rule in self.debounce:
            if rule.readings < 1 or rule.duration < timedelta(0):
                raise ValueError(f"debounce for {tier.name} must be ≥ 0 s and ≥ 1 reading")

    def debounce_for(self, tier: Tier) -> DebounceRule:
        for t, rule in self.debounce:
            if t == tier:
                return rule
        return DebounceRule()

    def recover_margin(self, level: int) -> int:
        """Return how far above ``level`` stock must be to count as recovered from it."""
        return max(int(self.recover_margin_ratio * level), self.recover_margin_min)


@dataclass(frozen=True)
class LateOrder:
    """A purchase order past its expected arrival, as a late-supplier notice reports it."""

    order_ref: str  # the order's id (and 1688 order number) for people
    supplier: str
    ordered_at: datetime
    expected_at: datetime
    open_quantity: int
    days_late: float
    shelf_days: float | None  # how long the shelf lasts at the current rate; None = ∞
    escalated: bool  # the shelf runs out before the order can arrive


@dataclass(frozen=True)
class Notice:
    """A decision to tell someone something; delivery is someone else's job.

    ``available`` is the inventory position (on hand − committed + on order), ``shelf`` what
    customers can buy now (on hand − committed); ``due`` is when goods on the way are expected.
    """

    key: ItemKey
    kind: NoticeKind
    tier: Tier
    previous_tier: Tier
    at: datetime
    episode: int
    seq: int
    available: int | None
    on_hand: int | None
    levels: TierLevels
    reading_at: datetime | None = None
    detail: str = ""
    shelf: int | None = None
    on_order: int = 0
    due: datetime | None = None
    late: LateOrder | None = None
    # Of ``on_order``, the units already booked in that the shelf does not show yet
    # (``OnOrder.arriving``): received, not on the way.
    booked_in: int = 0

    @property
    def idempotency_key(self) -> str:
        """Return a key unique per notice decision; replaying an evaluation yields the same key.

        A late-supplier notice is unique per order and severity, whatever the alert episode.
        """
        if self.late is not None:
            severity = "escalated" if self.late.escalated else "late"
            return f"{self.key}|po:{self.late.order_ref}|{self.kind.value}|{severity}"
        return f"{self.key}|e{self.episode}|n{self.seq}|{self.kind.value}|{self.tier.name}"

    @property
    def days_of_cover(self) -> float | None:
        """Return how long the shelf lasts (the position when the shelf is not known)."""
        stock = self.shelf if self.shelf is not None else self.available
        return None if stock is None else self.levels.days_of_cover(stock)


@dataclass(frozen=True)
class SalesDay:
    """Units sold of one item on one business day (Asia/Shanghai)."""

    sku: str
    day: date
    quantity: int
    promo: bool = False
    stockout: bool = False
