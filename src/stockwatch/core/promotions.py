"""Promotions: dated windows of higher (or lower) demand, and what they do to the levels.

A ``demand`` promotion raises the demand expected on its own days only. At ``as_of`` the levels
protect the days ``[as_of, as_of + L + R)`` (the protection window); each of those days gets the
multiplier of the promotion running on it (1 outside any), and the lead-time demand and its
variance are built from that calendar (inventory-math §4.9, calendar form):

    lead-time demand = d̄ · Σ wᵢ·mᵢ          variance = σ² · Σ wᵢ·mᵢ²

where wᵢ is the share of day i inside the window (the last day of a fractional window counts
partly). Expressed as multipliers of d̄ and σ over the whole window this is
``d̄ × Σwm / H`` and ``σ × √(Σwm² / H)`` with ``H = L + R``, so the existing formulas stay as
they are and a promotion covering the whole window gives exactly ``× m`` on both. The effect
starts by itself when the promotion's first day enters the window (at ``start − H``) and ends
after its last day (``end``). ``threshold`` promotions multiply the levels themselves from
``start − L`` to ``end``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from stockwatch.core.model import Item

EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Promotion:
    """A dated window that multiplies expected demand or the thresholds of the items it names."""

    name: str
    start: date
    end: date
    multiplier: float
    target: str = "demand"  # or "threshold"
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a promotion needs a name")
        if self.end < self.start:
            raise ValueError(f"promotion {self.name!r} ends before it starts")
        if self.start < EARLIEST_DAY or self.end > LATEST_DAY:
            # year 9999 overflowed the item page and the daily re-application (500s)
            raise ValueError(f"promotion {self.name!r} dates must lie in the years 1970-2999")
        if not math.isfinite(self.multiplier) or self.multiplier <= 0:
            raise ValueError(f"promotion {self.name!r} multiplier must be > 0")
        if self.target not in ("demand", "threshold"):
            raise ValueError(f"promotion {self.name!r} target must be 'demand' or 'threshold'")
        if not (self.skus or self.categories or self.tags):
            raise ValueError(f"promotion {self.name!r} names no items, categories or tags")

    def applies_to(self, item: Item) -> bool:
        """True for the item's SKU (or its ``SKU@WAREHOUSE`` key), category or tags."""
        return (
            item.sku in self.skus
            or str(item.key) in self.skus
            or (bool(item.category) and item.category in self.categories)
            or bool(self.tags & item.tags)
        )

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end

    def active_on(self, day: date, lead_days: float) -> bool:
        """Return True from ``start − L`` (demand must be covered early) until ``end``."""
        return self.start - timedelta(days=math.ceil(lead_days)) <= day <= self.end


def promotion_multiplier(
    item: Item | None, promotions: Sequence[Promotion], day: date, lead_days: float, target: str
) -> tuple[float, str | None]:
    """Return the largest active multiplier for ``target`` and the promotion's name."""
    best, name = 1.0, None
    for promo in promotions:
        if (
            promo.target == target
            and item is not None
            and promo.applies_to(item)
            and promo.active_on(day, lead_days)
            and (name is None or promo.multiplier > best)
        ):
            best, name = promo.multiplier, promo.name
    return best, name


@dataclass(frozen=True)
class Uplift:
    """What the demand promotions inside one protection window do to d̄ and σ."""

    names: tuple[str, ...]  # the promotions that run on some day of the window
    promo_days: float  # how much of the window (in days) runs under a promotion
    horizon: float  # H = L + R, the protection window in days
    rate: float  # d̄ multiplier: Σ wᵢ·mᵢ / H
    sd: float  # σ multiplier: √(Σ wᵢ·mᵢ² / H)

    def note(self) -> str:
        names = ", ".join(repr(n) for n in self.names)
        return (
            f"promotion {names}: {self.promo_days:g} of the {self.horizon:g} protection-window "
            f"days under promotion; demand × {self.rate:.4g}, σ × {self.sd:.4g}"
        )


def promotion_uplift(
    item: Item | None, promotions: Sequence[Promotion], as_of: date, horizon: float
) -> Uplift | None:
    """Return the calendar uplift of the demand promotions on the window's days, or None.

    ``horizon`` is L + R (> 0). Day i of the window (``as_of + i``) weighs min(1, H − i); where
    several promotions run on one day the largest multiplier counts.
    """
    if item is None or horizon <= 0:
        return None
    mine = [p for p in promotions if p.target == "demand" and p.applies_to(item)]
    last = as_of + timedelta(days=math.ceil(horizon) - 1)
    mine = [p for p in mine if p.start <= last and p.end >= as_of]
    if not mine:
        return None
    s1 = s2 = promo_days = 0.0
    names: list[str] = []
    for i in range(math.ceil(horizon)):
        weight = min(1.0, horizon - i)
        day = as_of + timedelta(days=i)
        m = 1.0
        running = [p for p in mine if p.covers(day)]
        if running:
            best = max(running, key=lambda p: p.multiplier)
            m = best.multiplier
            promo_days += weight
            for p in running:
                if p.name not in names:
                    names.append(p.name)
        s1 += weight * m
        s2 += weight * m * m
    return Uplift(tuple(names), promo_days, horizon, s1 / horizon, math.sqrt(s2 / horizon))
