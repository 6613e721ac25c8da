"""The optional daily digest per route: every item at risk, most urgent first, once a day.

The router (``RouteTable.daily_digests``) renders one message per route and channel with the
idempotency key ``daily|route|date|channel``; this module decides when to ask for it, gathers
the items at risk from the stored alert states, and enqueues the messages into the outbox. The
outbox ignores a key it already holds, so calling :meth:`DailyDigests.run` again after a crash
or a restart enqueues nothing twice: exactly one digest per route, channel and local day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

from stockwatch.core.model import Item, ItemKey, Notice, NoticeKind, Tier, TierLevels
from stockwatch.ports import OutgoingMessage, Store

LevelsFor = Callable[[ItemKey, Item | None], TierLevels | None]
Enqueue = Callable[[list[tuple[str, OutgoingMessage]], datetime], int]


class DigestRoute(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def digest_at(self) -> time | None: ...

    @property
    def tz(self) -> tzinfo: ...


class DigestRouter(Protocol):
    @property
    def routes(self) -> Sequence[DigestRoute]: ...

    def daily_digests(
        self, now: datetime, at_risk: Sequence[tuple[Notice, Item | None]]
    ) -> list[tuple[str, OutgoingMessage]]: ...


def at_risk(store: Store, levels_for: LevelsFor, now: datetime) -> list[tuple[Notice, Item | None]]:
    """Return a reminder-like notice for every catalogue item whose alert state is T1 or worse.

    An item removed from the catalogue keeps its last alert state, but nobody sells it any
    more: it leaves the digest.
    """
    states = {k: s for k, s in store.alert_states().items() if s.tier > Tier.OK}
    if not states:
        return []
    items = {i.key: i for i in store.items()}  # active items: the current catalogue
    states = {k: s for k, s in states.items() if k in items}
    readings = store.latest_good_readings()  # the shelf beside the position
    out: list[tuple[Notice, Item | None]] = []
    with store.transaction() as tx:  # read only: never committed
        for key, state in sorted(states.items(), key=lambda kv: str(kv[0])):
            item = items[key]
            levels = tx.active_levels(key) or levels_for(key, item)
            if levels is None:
                continue
            notice = Notice(
                key=key,
                kind=NoticeKind.REMINDER,
                tier=state.tier,
                previous_tier=state.tier,
                at=now,
                episode=state.episode,
                seq=state.notice_seq,
                available=state.last_available,
                on_hand=None,
                levels=levels,
                reading_at=state.last_reading_at,
                shelf=reading.reading.shelf if (reading := readings.get(key)) else None,
            )
            out.append((notice, item))
    return out


@dataclass
class DailyDigests:
    """Asks the router for today's digests once each route's digest time has passed."""

    router: DigestRouter
    collect: Callable[[datetime], list[tuple[Notice, Item | None]]]
    enqueue: Enqueue
    done: dict[str, date] = field(default_factory=dict)  # route → local day handled here

    def _routes(self) -> list[tuple[DigestRoute, time]]:
        return [(r, r.digest_at) for r in self.router.routes if r.digest_at is not None]

    def due(self, now: datetime) -> list[str]:
        """Return the routes whose digest time has passed today and were not handled today."""
        names = []
        for route, at in self._routes():
            local = now.astimezone(route.tz)
            if local.time() >= at and self.done.get(route.name) != local.date():
                names.append(route.name)
        return names

    def next_at(self, now: datetime) -> datetime | None:
        """Return the next moment a digest falls due (None: no route has a digest)."""
        moments = []
        due = self.due(now)
        for route, at in self._routes():
            local = now.astimezone(route.tz)
            if route.name in due:
                moments.append(local)
                continue
            moment = datetime.combine(local.date(), at, tzinfo=route.tz)
            if moment <= local:  # today's is done: tomorrow's
                moment = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=route.tz)
            moments.append(moment)
        return min(moments, default=None)

    def run(self, now: datetime) -> int:
        """Enqueue the digests that are due; return how many outbox rows were new."""
        due = self.due(now)
        if not due:
            return 0
        entries = [
            (channel, message)
            for channel, message in self.router.daily_digests(now, self.collect(now))
            if message.payload.get("route") in due
        ]
        added = self.enqueue(entries, now) if entries else 0
        for route, _ in self._routes():
            if route.name in due:
                self.done[route.name] = now.astimezone(route.tz).date()
        return added
