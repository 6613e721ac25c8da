"""The item page's chart data for ECharts: stock, the levels as they were, alerts, sales.

The levels drawn at a moment are the ones in force then, not today's across the whole history:
each alert event recorded the levels it was evaluated against, and each threshold version says
from when it applied. Together they give a step line per tier; today's levels close it.
Times are epoch milliseconds (ECharts' time axis), quantities plain numbers; the template
embeds the result with ``tojson`` (which escapes ``<``, ``>`` and ``&``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from stockwatch.core.model import NoticeKind
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.ports import AlertEvent, StoredReading, StoredThreshold, ThresholdStatus

TIERS = ("T1", "T2", "T3")
MARKED_KINDS = frozenset(k.value for k in NoticeKind) | {"ack", "snooze"}


@dataclass(frozen=True)
class LevelPoint:
    at: datetime
    levels: tuple[int, int, int] | None  # None: alerts switched off from then on
    source: str  # "version", "event" or "now"


def level_history(
    versions: Sequence[StoredThreshold],
    events: Sequence[AlertEvent],
    current: tuple[int, int, int] | None,
    now: datetime,
) -> list[LevelPoint]:
    """The levels in force over time, oldest first.

    Versions that only waited for review (never in force) are left out; a version that was
    approved kept its review reason but is or was active, so "active" ones always count.
    """
    points: list[LevelPoint] = []
    for v in versions:
        in_force = v.status is ThresholdStatus.ACTIVE or (
            v.status is ThresholdStatus.SUPERSEDED and not v.review_reason
        )
        if in_force:
            lv = v.levels
            points.append(
                LevelPoint(v.computed_at, None if lv.disabled else (lv.t1, lv.t2, lv.t3), "version")
            )
    for e in events:
        if e.levels is not None:
            points.append(LevelPoint(e.at, e.levels[:3], "event"))
    points.sort(key=lambda p: p.at)
    points.append(LevelPoint(now, current, "now"))
    # Keep a point only where the levels change: the step line needs no repeats.
    out: list[LevelPoint] = []
    for p in points:
        if not out or p.levels != out[-1].levels or p is points[-1]:
            out.append(p)
    return out


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def chart_data(
    readings: Sequence[StoredReading],
    versions: Sequence[StoredThreshold],
    events: Sequence[AlertEvent],
    current: tuple[int, int, int] | None,
    now: datetime,
    sales: Sequence[tuple[date, int]] = (),
    labels: dict[str, str] | None = None,
    promotions: Sequence[tuple[str, datetime, datetime]] = (),
    orders: Sequence[PurchaseOrder] = (),
) -> dict[str, Any]:
    """Everything the item chart draws, JSON-ready."""
    stock = [
        [_ms(r.reading.observed_at), r.reading.available]
        for r in readings
        if r.reading.available is not None
    ]
    history = level_history(versions, events, current, now)
    levels: dict[str, list[list[int | None]]] = {name: [] for name in TIERS}
    for p in history:
        for i, name in enumerate(TIERS):
            levels[name].append([_ms(p.at), None if p.levels is None else p.levels[i]])
    alerts = [
        {
            "at": _ms(e.at),
            "available": e.available,
            "tier": e.tier,
            "kind": e.kind,
            "detail": e.detail,
        }
        for e in events
        if e.kind in MARKED_KINDS
    ]
    return {
        "stock": stock,
        "levels": levels,
        "alerts": alerts,
        "sales": [[d.isoformat(), q] for d, q in sales],
        "promotions": [[name, _ms(start), _ms(end)] for name, start, end in promotions],
        "orders": [
            {
                "id": o.id,
                "quantity": o.quantity,
                "received_qty": o.received_qty,
                "status": o.status.value,
                "ordered_at": _ms(o.ordered_at),
                "expected_at": _ms(o.expected_at),
                "received_at": None if o.received_at is None else _ms(o.received_at),
            }
            for o in orders
        ],
        "labels": labels or {},
    }
