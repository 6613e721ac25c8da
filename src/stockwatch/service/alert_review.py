"""The alert review over a period, read from the store's event log and item lead times."""

from __future__ import annotations

from datetime import datetime, timedelta

from stockwatch.core.model import NoticeKind, Tier
from stockwatch.core.review import AlertReview, EventRecord, review
from stockwatch.ports import Store

_KINDS = {k.value for k in NoticeKind}
_ALL = 10_000_000  # the review reads the whole period, not a page


def load_review(
    store: Store,
    since: datetime | None,
    until: datetime | None = None,
    noise_after: timedelta = timedelta(hours=24),
) -> AlertReview:
    """Review every episode with events in [since, until); ack/snooze lines are not notices."""
    records = [
        EventRecord(e.item_key, NoticeKind(e.kind), Tier.parse(e.tier), e.at, e.episode)
        for e in store.events(since=since, limit=_ALL)
        if e.kind in _KINDS and (until is None or e.at < until)
    ]
    lead_times = {i.key: i.lead_time_days for i in store.items() if i.lead_time_days is not None}
    return review(records, lead_times, noise_after)
