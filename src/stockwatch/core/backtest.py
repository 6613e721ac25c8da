"""Backtest: replay one item's daily history under a policy (the per-item reference).

A small inventory simulation at daily granularity, pure and stdlib-only. The numpy twin in
``stockwatch.bulk.backtest`` runs the same rules over many (item, policy) rows at once and must
give exactly the same numbers; property tests compare the two.

Each simulated day ``t``:
1. stock ordered earlier arrives (an order placed on day ``s`` with lead time ``L`` arrives at
   the start of day ``s + L``, before that day's sales; ``L`` is at least 1 day);
2. the day's demand (the sales that really happened) is served from stock; what stock cannot
   cover is lost (lost sales, no backorders) and the day counts as a stockout day;
3. the end-of-day reading is classified on the *position* (on hand + on order), as the alert
   engine does with the available position: OUT at 0, then T3, T2, T1;
4. notices follow the alert state machine at one reading a day: a breach must last
   ``debounce_t1``/``debounce_t2`` readings before the first notice (T3 and OUT at once); a worse
   tier is announced at once unless it was announced within ``dedupe_days`` in the episode;
   while the breach lasts and nobody acted, a reminder goes out every ``dedupe_days``; recovery
   above T1 ends the episode;
5. when the position is at T2 or worse and the episode has been announced, the merchant orders
   what the replenishment task says (core/replenishment.py): up to T1 + d̄·L, rounded up to the
   supplier's minimum order quantity and order multiple. Ordering acknowledges the episode
   (no more reminders; escalations still go out) until nothing is on order any more: goods in
   that leave the item short are reminded again (core.alerting rule 4b).

Levels can change during the replay (``changes``): the real system recomputes them on a
schedule, so a replay does too, from the start of the day of each recompute; the episode in
progress carries on under the new levels, as the alert engine's does.

Price breaks are not simulated (they change the order size only when a larger order costs no
more, which the merchant decides). Hysteresis margins are not simulated: a daily reading rarely
sits on the boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

OK, T1, T2, T3, OUT = range(5)
DAYS_PER_MONTH = 30.0


@dataclass(frozen=True)
class SimParams:
    """One item under one policy: its levels, order rule and anti-harassment settings."""

    t1: int
    t2: int
    t3: int
    order_up_to: float  # T1 + d̄·L: the task's target position
    min_order_qty: int = 1
    order_multiple: int = 1
    debounce_t1: int = 1  # daily readings a T1 breach must last before its first notice
    debounce_t2: int = 1
    dedupe_days: int = 1  # same tier at most once per this many days in an episode
    disabled: bool = False

    def __post_init__(self) -> None:
        if min(self.debounce_t1, self.debounce_t2, self.dedupe_days) < 1:
            raise ValueError("debounce and dedupe must be at least 1 day")
        if self.min_order_qty < 0 or self.order_multiple < 0:
            raise ValueError("min_order_qty and order_multiple must be ≥ 0")
        if not self.disabled and not (self.t1 >= self.t2 >= self.t3 >= 1):
            raise ValueError(
                f"levels must satisfy T1 ≥ T2 ≥ T3 ≥ 1, got {self.t1, self.t2, self.t3}"
            )
        if not math.isfinite(self.order_up_to):
            raise ValueError("order_up_to must be finite")


@dataclass(frozen=True)
class SimOutcome:
    """What happened to one item under one policy over the replayed days."""

    days: int
    demand: int
    sold: int
    lost: int
    stockout_days: int
    notices: int
    orders: int
    units_ordered: int
    stock_sum: int  # sum of end-of-day on-hand stock (units × days)
    on_hand: tuple[int, ...] = ()  # end-of-day stock, only when asked for a trace

    @property
    def fill_rate(self) -> float:
        """β: the share of demand served from stock (1 when there was no demand)."""
        return 1.0 if self.demand == 0 else self.sold / self.demand

    @property
    def mean_stock(self) -> float:
        return self.stock_sum / self.days if self.days else 0.0

    @property
    def stock_days(self) -> float | None:
        """Average stock held in days of demand; None when nothing was demanded."""
        if self.demand == 0 or self.days == 0:
            return None
        return self.mean_stock / (self.demand / self.days)

    @property
    def notices_per_month(self) -> float:
        return self.notices / self.days * DAYS_PER_MONTH if self.days else 0.0


def order_quantity(order_up_to: float, position: int, min_order_qty: int, multiple: int) -> int:
    """Return the task's order quantity (``replenishment.round_to_supplier`` without price
    breaks): the shortfall to the target, at least the MOQ, rounded up to the multiple."""
    raw = order_up_to - position
    if raw <= 0:
        if position > 0:
            return 0
        raw = float(max(min_order_qty, 1))  # out with no sales data: at least the MOQ
    units = max(math.ceil(raw), max(min_order_qty, 1))
    step = max(multiple, 1)
    return -(-units // step) * step


def classify(position: int, p: SimParams) -> int:
    if p.disabled:
        return OK
    if position <= 0:
        return OUT
    if position <= p.t3:
        return T3
    if position <= p.t2:
        return T2
    if position <= p.t1:
        return T1
    return OK


def simulate(
    demand: Sequence[int],
    lead_days: Sequence[int],
    start_on_hand: int,
    p: SimParams,
    *,
    trace: bool = False,
    changes: Sequence[tuple[int, SimParams]] = (),
) -> SimOutcome:
    """Replay ``demand`` (units per day, oldest first) under ``p``.

    ``lead_days[t]`` is the lead time of an order placed on day ``t`` (the supplier's observed
    lead time, or a seeded draw from its distribution); values below 1 count as 1.
    ``changes`` gives (day, params) pairs: from that day on (its reading included) the levels
    and order target are those params' (a recompute); the notice settings stay ``p``'s.
    """
    if len(lead_days) < len(demand):
        raise ValueError("lead_days needs one lead time per simulated day")
    recomputed = dict(changes)
    notice_rules = p
    on_hand = max(start_on_hand, 0)
    on_order = 0
    arrivals: dict[int, int] = {}
    never = -(10**9)
    tier = OK  # current tier of the episode (OK: no episode)
    announced = False
    acked = False
    streak = 0
    last_notice = never
    notified = [never] * 5  # day each tier was last announced in this episode
    lost_total = sold_total = demand_total = stockout_days = 0
    notices = orders = units_ordered = stock_sum = 0
    levels: list[int] = []
    for t, wanted in enumerate(demand):
        if t in recomputed:
            p = replace(
                recomputed[t],
                debounce_t1=notice_rules.debounce_t1,
                debounce_t2=notice_rules.debounce_t2,
                dedupe_days=notice_rules.dedupe_days,
            )
        arrived = arrivals.pop(t, 0)
        on_hand += arrived
        on_order -= arrived
        wanted = max(int(wanted), 0)
        sold = min(on_hand, wanted)
        on_hand -= sold
        demand_total += wanted
        sold_total += sold
        if wanted > sold:
            lost_total += wanted - sold
            stockout_days += 1
        position = on_hand + on_order
        observed = classify(position, p)
        if observed == OK:
            tier, announced, acked, streak = OK, False, False, 0
            notified = [never] * 5
        else:
            streak += 1
            if not announced:
                tier = max(tier, observed)
                need = p.debounce_t1 if tier == T1 else p.debounce_t2 if tier == T2 else 1
                if streak >= need:
                    announced = True
                    notices += 1
                    last_notice = notified[tier] = t
            elif observed > tier:
                tier = observed
                if t - notified[tier] >= p.dedupe_days:
                    acked = False
                    notices += 1
                    last_notice = notified[tier] = t
            else:
                tier = observed
                remind_due = t - last_notice >= p.dedupe_days
                if acked and on_order == 0 and remind_due:
                    acked = False  # core.alerting rule 4b: the goods are in, still short
                if not acked and remind_due:
                    notices += 1
                    last_notice = notified[tier] = t
            if announced and tier >= T2:
                qty = order_quantity(p.order_up_to, position, p.min_order_qty, p.order_multiple)
                if qty > 0:
                    due = t + max(int(lead_days[t]), 1)
                    arrivals[due] = arrivals.get(due, 0) + qty
                    on_order += qty
                    orders += 1
                    units_ordered += qty
                    acked = True
        stock_sum += on_hand
        if trace:
            levels.append(on_hand)
    return SimOutcome(
        days=len(demand),
        demand=demand_total,
        sold=sold_total,
        lost=lost_total,
        stockout_days=stockout_days,
        notices=notices,
        orders=orders,
        units_ordered=units_ordered,
        stock_sum=stock_sum,
        on_hand=tuple(levels),
    )
