"""Lead times learned from received purchase orders, and lead-time demand over their spread.

Each received order gives one observed lead time (ordered → received, in days). With enough
orders for the item (else for its supplier) they are blended with the declared ``L``/``σL``:
"enough" for the item alone means enough to see the slow tail the reorder point is read from
(``MIN_ITEM_ORDERS``): with fewer, one slow delivery weighs more than 1 − α and the α-quantile
becomes that single delivery, so the supplier's orders (the item's among them) are used instead.
the declared figures count as ``PRIOR_ORDERS`` orders. The blend is a distribution, not only
a mean and σ: the observed lead times each weigh ``w/n`` and the declared lead time the rest
(as two points L ± σL), so a supplier "usually on time but sometimes twice as slow" keeps its
slow tail (σL may exceed L).

The reorder point is then the α-quantile of demand over that distribution: lead-time demand
is normal given the lead time ℓ (mean d̄·(ℓ+R), variance σ²·(ℓ+R)), mixed over ℓ. Solved by
bisection with a fixed number of steps, so the numpy bulk path can repeat it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from stockwatch.core.model import Item, ItemKey
from stockwatch.core.purchasing import PurchaseOrder

# An item's own orders replace its supplier's from this many on: each then weighs under
# 1/(20 + 2) < 5 %, so one slow delivery alone cannot set a 95 % reorder point.
MIN_ITEM_ORDERS = 20
MIN_SUPPLIER_ORDERS = 3
MIN_OWN_ORDERS = 3  # an item with no (or too thin a) supplier record learns from this many
PRIOR_ORDERS = 2.0  # the declared lead time weighs as much as this many orders
BISECTION_STEPS = 64
SPREAD = 8.0  # search the quantile up to this many σ above the slowest lead time
SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LOSS_TAIL = 40.0


@dataclass(frozen=True)
class LearnedLeadTime:
    """The lead-time distribution of one item: (days, weight) points whose weights sum to 1."""

    points: tuple[tuple[float, float], ...]
    orders: int  # how many received orders it was learned from
    scope: str  # "item" (its own orders) or "supplier" (all of the supplier's orders)
    observed_mean: float
    observed_sd: float

    @property
    def mean(self) -> float:
        return sum(lead * w for lead, w in self.points)

    @property
    def sd(self) -> float:
        mean = self.mean
        return math.sqrt(max(sum(w * (lead - mean) ** 2 for lead, w in self.points), 0.0))


def _moments(samples: Sequence[float]) -> tuple[float, float]:
    n = len(samples)
    mean = sum(samples) / n
    var = sum((s - mean) ** 2 for s in samples) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def blend(
    samples: Sequence[float],
    declared_lead: float,
    declared_sd: float,
    scope: str,
    prior_orders: float = PRIOR_ORDERS,
) -> LearnedLeadTime:
    """Return the distribution of ``samples`` blended with the declared lead time."""
    if not samples:
        raise ValueError("no observed lead times to learn from")
    if any(s < 0 or not math.isfinite(s) for s in samples):
        raise ValueError("observed lead times must be finite and ≥ 0")
    n = len(samples)
    w = n / (n + prior_orders)
    points = [(float(s), w / n) for s in sorted(samples)]
    if w < 1.0:
        rest = 1.0 - w
        if declared_sd > 0:
            points += [
                (max(declared_lead - declared_sd, 0.0), rest / 2),
                (declared_lead + declared_sd, rest / 2),
            ]
        else:
            points.append((declared_lead, rest))
    mean, sd = _moments(samples)
    return LearnedLeadTime(tuple(points), n, scope, mean, sd)


def learn(
    received: Iterable[PurchaseOrder],
    items: Mapping[ItemKey, Item],
    declared: Mapping[ItemKey, tuple[float, float]],
    min_item_orders: int = MIN_ITEM_ORDERS,
    min_supplier_orders: int = MIN_SUPPLIER_ORDERS,
) -> dict[ItemKey, LearnedLeadTime]:
    """Return each item's learned lead time: its own orders when it has ``min_item_orders``,
    else its supplier's (all of them, the item's too) when they are ``min_supplier_orders``,
    else its own from ``MIN_OWN_ORDERS`` on; items with too few keep their declared figures
    (absent here).

    ``declared`` gives each item's declared (L, σL); the supplier is the item's, else the one
    named on its orders.
    """
    by_item: dict[ItemKey, list[float]] = {}
    by_supplier: dict[str, list[float]] = {}
    for order in received:
        lead = order.lead_time_days
        if lead is None:
            continue
        by_item.setdefault(order.key, []).append(lead)
        supplier = _supplier(items.get(order.key)) or order.supplier
        if supplier:
            by_supplier.setdefault(supplier, []).append(lead)
    out: dict[ItemKey, LearnedLeadTime] = {}
    for key, (lead, sd) in declared.items():
        own = by_item.get(key, [])
        if len(own) >= min_item_orders:
            out[key] = blend(own, lead, sd, "item")
            continue
        supplier = _supplier(items.get(key))
        theirs = by_supplier.get(supplier, []) if supplier else []
        if len(theirs) >= min_supplier_orders and len(theirs) > len(own):
            out[key] = blend(theirs, lead, sd, "supplier")
        elif len(own) >= min(MIN_OWN_ORDERS, min_item_orders):
            out[key] = blend(own, lead, sd, "item")
    return out


def _supplier(item: Item | None) -> str:
    return item.supplier if item is not None else ""


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / SQRT2))


def mixture_cdf(
    x: float, rate: float, sd: float, review: float, points: Sequence[tuple[float, float]]
) -> float:
    """Return P(lead-time demand ≤ x) over the lead-time points (sequential sum, bulk-exact)."""
    total = 0.0
    for lead, weight in points:
        span = lead + review
        mean = rate * span
        scale = sd * math.sqrt(span)
        if scale > 0:
            total += weight * _phi((x - mean) / scale)
        elif x >= mean:
            total += weight
    return total


def demand_quantile(
    rate: float,
    sd: float,
    review: float,
    points: Sequence[tuple[float, float]],
    service_level: float,
) -> float:
    """Return the ``service_level`` quantile of demand over the lead-time distribution."""
    hi = 0.0
    for lead, _ in points:
        span = lead + review
        hi = max(hi, rate * span + SPREAD * sd * math.sqrt(span))
    hi += 1.0
    lo = 0.0
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if mixture_cdf(mid, rate, sd, review, points) >= service_level:
            hi = mid
        else:
            lo = mid
    return hi


def normal_loss(z: float) -> float:
    """G(z) = φ(z) − z·(1 − Φ(z)): the expected shortage of a standard normal beyond z
    (inventory-math §2.6), from ``math.exp`` and ``math.erf`` so the bulk path repeats it."""
    if z > LOSS_TAIL:  # far into a tail G is 0 or −z to the last bit, and z² may overflow
        return 0.0
    if z < -LOSS_TAIL:
        return -z
    return math.exp(-0.5 * z * z) * INV_SQRT_2PI - z * (1.0 - _phi(z))


def lead_time_parts(
    rate: float, sd: float, review: float, points: Sequence[tuple[float, float]]
) -> list[tuple[float, float, float]]:
    """Return lead-time demand as normal parts (mean, σ, weight), one per lead-time point."""
    parts = []
    for lead, weight in points:
        span = lead + review
        parts.append((rate * span, sd * math.sqrt(span), weight))
    return parts


def expected_shortage(x: float, parts: Sequence[tuple[float, float, float]]) -> float:
    """Return E[(D − x)⁺] for lead-time demand D mixed from normal ``parts`` (mean, σ, weight):
    the units short in one order cycle when the order goes out at ``x`` (sequential sum)."""
    total = 0.0
    for mean, scale, weight in parts:
        if scale > 0:
            total += weight * (scale * normal_loss((x - mean) / scale))
        elif mean > x:
            total += weight * (mean - x)
    return total


def fill_rate_level(parts: Sequence[tuple[float, float, float]], allowed: float) -> float:
    """Return the lowest level whose expected shortage per order cycle is at most ``allowed``
    units (a fill rate β with orders of Q allows (1 − β)·Q); bisection, bulk-exact."""
    hi = 0.0
    for mean, scale, _ in parts:
        hi = max(hi, mean + SPREAD * scale)
    hi += 1.0
    lo = 0.0
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        if expected_shortage(mid, parts) <= allowed:
            hi = mid
        else:
            lo = mid
    return hi
