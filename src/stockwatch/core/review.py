"""Review how well alerts worked, from the alert event log (the article's 日志与复盘).

For every episode (one alert from first notice to recovery) it answers what a buyer asks:
- did we warn before the item ran out, and by how much (warning time vs lead time)?
- did an item run out with no warning at all (a miss)?
- how many episodes ended quickly without ever getting serious (likely noise: cry-wolf)?
- how many notices did each item send (harassment)?
- which warnings prevented a stockout: goods were on order while the item was at risk, and
  the episode ended without the item running out. Such a warning came in time by the only
  measure there is (nobody ran out), and it is not noise (someone acted on it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stockwatch.core.model import ItemKey, NoticeKind, Tier


@dataclass(frozen=True)
class EventRecord:
    """One row of the alert event log, as the review needs it."""

    key: ItemKey
    kind: NoticeKind
    tier: Tier
    at: datetime
    episode: int


@dataclass(frozen=True)
class EpisodeReview:
    key: ItemKey
    episode: int
    started: datetime
    first_tier: Tier
    worst_tier: Tier
    notices: int
    stockout_at: datetime | None
    resolved_at: datetime | None
    lead_time: timedelta | None
    on_order: bool = False  # a purchase order for the item was open during the episode

    @property
    def warning(self) -> timedelta | None:
        """Return the time between the first notice and the stockout, if it ran out."""
        return None if self.stockout_at is None else self.stockout_at - self.started

    @property
    def missed(self) -> bool:
        """The first thing anyone heard was that the item was already out."""
        return self.first_tier is Tier.OUT

    @property
    def prevented(self) -> bool:
        """Goods were on order while the item was at risk and it ended without running out."""
        return self.on_order and self.stockout_at is None and self.resolved_at is not None

    @property
    def early_enough(self) -> bool | None:
        """Whether the warning came at least one lead time before the stockout, or early
        enough that the goods ordered on it prevented the stockout; None: not decided (still
        open, or it ended without an order and without a stockout)."""
        if self.prevented:
            return True
        if self.warning is None or self.lead_time is None or self.missed:
            return None
        return self.warning >= self.lead_time


@dataclass(frozen=True)
class AlertReview:
    episodes: tuple[EpisodeReview, ...]
    noise_after: timedelta
    notices_per_item: Mapping[ItemKey, int] = field(default_factory=dict)
    default_lead: frozenset[ItemKey] = frozenset()  # items judged with the default lead time

    @property
    def stockouts(self) -> int:
        return sum(1 for e in self.episodes if e.stockout_at is not None)

    @property
    def missed(self) -> int:
        return sum(1 for e in self.episodes if e.missed)

    @property
    def warned_in_time(self) -> int:
        return sum(1 for e in self.episodes if e.early_enough)

    @property
    def prevented(self) -> int:
        """Episodes whose stockout the goods on order prevented (counted in warned_in_time)."""
        return sum(1 for e in self.episodes if e.prevented)

    @property
    def warned_late(self) -> int:
        return sum(1 for e in self.episodes if e.early_enough is False)

    @property
    def likely_noise(self) -> int:
        """Episodes that resolved within ``noise_after`` and never went past T1, with no
        goods on order (one that ended because the merchant ordered was acted on, not noise)."""
        return sum(
            1
            for e in self.episodes
            if e.resolved_at is not None
            and not e.on_order
            and e.worst_tier <= Tier.T1
            and e.resolved_at - e.started < self.noise_after
        )

    @property
    def median_warning(self) -> timedelta | None:
        warnings = sorted(
            e.warning for e in self.episodes if e.warning is not None and not e.missed
        )
        return warnings[len(warnings) // 2] if warnings else None


_TIER_NOTICES = {NoticeKind.RAISED, NoticeKind.WORSENED, NoticeKind.REMINDER, NoticeKind.DROPPED}


@dataclass(frozen=True)
class OrderSpan:
    """One purchase order's time on order: placed, and received (None: still open)."""

    key: ItemKey
    ordered_at: datetime
    received_at: datetime | None


def _on_order(spans: Iterable[OrderSpan], started: datetime, ended: datetime | None) -> bool:
    """Whether one of the item's orders was open at some moment of [started, ended]."""
    return any(
        (ended is None or s.ordered_at <= ended)
        and (s.received_at is None or s.received_at >= started)
        for s in spans
    )


def review(
    events: Iterable[EventRecord],
    lead_times: Mapping[ItemKey, float] | None = None,
    noise_after: timedelta = timedelta(hours=24),
    default_lead: float | None = None,
    orders: Iterable[OrderSpan] = (),
) -> AlertReview:
    """Return the review of every episode in the event log.

    An item without a lead time is judged against ``default_lead`` days when given (and is
    listed in ``default_lead``), instead of not being judged at all. ``orders``: the purchase
    orders, to tell the episodes whose stockout goods on order prevented.
    """
    lead_times = lead_times or {}
    spans: dict[ItemKey, list[OrderSpan]] = {}
    for span in orders:
        spans.setdefault(span.key, []).append(span)
    defaulted: set[ItemKey] = set()
    grouped: dict[tuple[ItemKey, int], list[EventRecord]] = {}
    per_item: dict[ItemKey, int] = {}
    for event in sorted(events, key=lambda e: (str(e.key), e.episode, e.at)):
        if event.kind in _TIER_NOTICES or event.kind is NoticeKind.RESOLVED:
            grouped.setdefault((event.key, event.episode), []).append(event)
        if event.kind in _TIER_NOTICES:
            per_item[event.key] = per_item.get(event.key, 0) + 1
    episodes = []
    for (key, episode), rows in grouped.items():
        tier_rows = [r for r in rows if r.kind in _TIER_NOTICES]
        if not tier_rows:
            continue  # a RESOLVED without notices cannot happen; ignore log damage
        stockout = next((r.at for r in tier_rows if r.tier is Tier.OUT), None)
        resolved = next((r.at for r in rows if r.kind is NoticeKind.RESOLVED), None)
        lead = lead_times.get(key)
        if lead is None and default_lead is not None:
            lead = default_lead
            defaulted.add(key)
        episodes.append(
            EpisodeReview(
                key=key,
                episode=episode,
                started=tier_rows[0].at,
                first_tier=tier_rows[0].tier,
                worst_tier=max(r.tier for r in tier_rows),
                notices=len(tier_rows),
                stockout_at=stockout,
                resolved_at=resolved,
                lead_time=None if lead is None else timedelta(days=lead),
                on_order=_on_order(spans.get(key, ()), tier_rows[0].at, resolved),
            )
        )
    episodes.sort(key=lambda e: e.started)
    return AlertReview(tuple(episodes), noise_after, per_item, frozenset(defaulted))
