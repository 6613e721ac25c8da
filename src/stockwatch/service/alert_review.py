"""The alert review over a period, read from the store's event log and item lead times.

A period holds the episodes that *started* in it, each reviewed whole: an episode that began
before the period is left out rather than cut in half (its first notice in the period would
look like a late or missed warning).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from stockwatch.core.model import ItemKey, NoticeKind, Phase, Tier
from stockwatch.core.purchasing import OrderStatus, PurchaseOrder
from stockwatch.core.replenishment import DEFAULT_LEAD_TIME_DAYS
from stockwatch.core.review import AlertReview, EventRecord, OrderSpan, review
from stockwatch.ports import AlertEvent, Store

_KINDS = {k.value for k in NoticeKind}
_ALL = 10_000_000  # the review reads the whole period, not a page
ALL_ORDERS = 10_000_000  # what a caller asks the purchase orders for
LOOKBACK = timedelta(days=90)  # episodes open longer than this before the period look new


def _quiet_end(event: AlertEvent) -> bool:
    """A logged transition from an announced episode (firing or recovering) back to OK."""
    if event.kind != "transition" or event.tier != Tier.OK.name:
        return False
    was = event.payload.get("from_phase")
    if was is None:  # logged before the payload named it: its detail "firing/T1 → ok/OK"
        was = event.detail.partition("/")[0]
    return any(phase.announced and phase.value == was for phase in Phase)


def load_review(
    store: Store,
    since: datetime | None,
    until: datetime | None = None,
    noise_after: timedelta = timedelta(hours=24),
    default_lead: float | None = DEFAULT_LEAD_TIME_DAYS,
    orders: Iterable[PurchaseOrder] = (),
) -> AlertReview:
    """Review the episodes that started in [since, until); ack/snooze lines are not notices.

    Items without a lead time are judged with ``default_lead`` days (the configured default).
    ``orders``: the purchase orders (an episode with goods on order that ended without a
    stockout counts as prevented).
    """
    start = None if since is None else since - LOOKBACK
    records = [
        EventRecord(e.item_key, NoticeKind(e.kind), Tier.parse(e.tier), e.at, e.episode)
        if e.kind in _KINDS
        # An acknowledged episode ends without a RESOLVED notice (alert rule 4): its logged
        # transition back to OK is its end, or the review never saw it end.
        else EventRecord(e.item_key, NoticeKind.RESOLVED, Tier.OK, e.at, e.episode)
        for e in store.events(since=start, limit=_ALL)
        if e.kind in _KINDS or _quiet_end(e)
    ]
    lead_times = {i.key: i.lead_time_days for i in store.items() if i.lead_time_days is not None}
    spans = [
        OrderSpan(o.key, o.ordered_at, o.received_at)
        for o in orders
        if o.status is not OrderStatus.CANCELLED
    ]
    whole = review(records, lead_times, noise_after, default_lead, spans)
    kept = tuple(
        e
        for e in whole.episodes
        if (since is None or e.started >= since) and (until is None or e.started < until)
    )
    per_item: dict[ItemKey, int] = {}
    for e in kept:
        per_item[e.key] = per_item.get(e.key, 0) + e.notices
    defaulted = frozenset(e.key for e in kept if e.key in whole.default_lead)
    return replace(whole, episodes=kept, notices_per_item=per_item, default_lead=defaulted)
