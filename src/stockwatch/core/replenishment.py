"""Replenishment suggestions: how much to order and by when, from the threshold inputs.

Never an order: the numbers feed a task that a person reviews. Quantities follow the seed's
reorder logic: bring the available position back up to T1 plus the demand of one lead time,
then round up to what the supplier sells (minimum order quantity, order multiple) and take a
larger price break when it costs no more in total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_LEAD_TIME_DAYS = 7.0


@dataclass(frozen=True)
class PriceBreak:
    """From ``min_qty`` units on, each unit costs ``unit_price`` (1688 priceRanges)."""

    min_qty: int
    unit_price: float


@dataclass(frozen=True)
class Suggestion:
    quantity: int  # units to order; 0 when the position is already healthy
    raw_quantity: float  # before supplier rounding
    order_by: date  # place the order by this day so stock arrives before running out
    lead_time_days: float
    reason: str  # how the quantity was rounded, for people


def unit_price(breaks: Sequence[PriceBreak], qty: int) -> float | None:
    price = None
    for brk in sorted(breaks, key=lambda b: b.min_qty):
        if qty >= brk.min_qty:
            price = brk.unit_price
    return price


def round_to_supplier(
    qty: float, min_order_qty: int = 1, order_multiple: int = 1, breaks: Sequence[PriceBreak] = ()
) -> tuple[int, str]:
    """Round ``qty`` up to the supplier's MOQ and multiple, then to a cheaper price break."""
    if qty <= 0:
        return 0, "no order needed"
    multiple = max(order_multiple, 1)
    units = max(math.ceil(qty), max(min_order_qty, 1))
    units = math.ceil(units / multiple) * multiple
    reasons = [f"needed {math.ceil(qty)}"]
    if units != math.ceil(qty):
        reasons.append(f"MOQ {min_order_qty} / multiple {multiple} → {units}")
    base_price = unit_price(breaks, units)
    if base_price is not None:
        best_units, best_total = units, units * base_price
        for brk in breaks:
            candidate = math.ceil(max(brk.min_qty, units) / multiple) * multiple
            price = unit_price(breaks, candidate)
            # A bigger order that costs no more in total is strictly better.
            if price is not None and candidate > units and candidate * price <= best_total:
                best_units, best_total = candidate, candidate * price
        if best_units != units:
            reasons.append(f"price break {best_units} costs no more in total")
            units = best_units
    return units, "; ".join(reasons)


def suggest(
    *,
    available: int | None,
    t1: int,
    velocity: float,
    today: date,
    lead_time_days: float | None,
    min_order_qty: int = 1,
    order_multiple: int = 1,
    breaks: Sequence[PriceBreak] = (),
    order_rate: float | None = None,
    cycle_days: float = 0.0,
) -> Suggestion:
    """Return the order quantity and order-by date for one item at ``available`` units.

    The quantity tops the position up to T1 plus a lead time of demand at ``order_rate``
    (``TierLevels.order_rate``: the recent clean mean, no promotion uplift; the velocity when
    None), and covers at least ``cycle_days`` of that demand when an order is due (the
    policy's ``order_cycle_days``, the Q a fill-rate target is sized for). The order-by date
    uses the velocity: how soon the shelf runs out is the recent rate.
    """
    lead = DEFAULT_LEAD_TIME_DAYS if lead_time_days is None else max(lead_time_days, 0.0)
    # An oversold (negative) position is a backorder the order must also cover (§2.4).
    position = available or 0
    rate = velocity if order_rate is None else order_rate
    target = t1 + rate * lead
    raw = max(target - position, 0.0)
    if position <= t1 and cycle_days > 0:
        raw = max(raw, rate * cycle_days)
    if raw == 0 and position <= 0:
        raw = float(max(min_order_qty, 1))  # out of stock with no sales data: at least the MOQ
    qty, reason = round_to_supplier(raw, min_order_qty, order_multiple, breaks)
    if velocity > 0:
        slack = max(position, 0) / velocity - lead  # days left before the order must go out
        order_by = today + timedelta(days=max(math.floor(slack), 0))
    else:
        order_by = today
    return Suggestion(qty, raw, order_by, lead, reason)
