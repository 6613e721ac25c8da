"""Reviewing how well alerts worked, from a log produced by the real state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stockwatch.core.alerting import evaluate
from stockwatch.core.model import (
    AlertPolicy,
    AlertState,
    ItemKey,
    NoticeKind,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)
from stockwatch.core.review import EventRecord, OrderSpan, review

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LEVELS = TierLevels(100, 60, 20, velocity=10)
DAY = timedelta(days=1)


def log_of(key: ItemKey, series: list[tuple[timedelta, int]]) -> list[EventRecord]:
    """Run the state machine over (time offset, stock) and return its notices as log rows."""
    state, out = AlertState(), []
    for offset, qty in series:
        now = T0 + offset
        state, notices = evaluate(
            state, Reading(key, now, ReadingSource.POLL, qty), LEVELS, AlertPolicy(), now
        )
        out.extend(EventRecord(n.key, n.kind, n.tier, n.at, n.episode) for n in notices)
    return out


CLOCK = ItemKey("RETRO-CLOCK")
CABLE = ItemKey("USB-CABLE")
LAMP = ItemKey("DESK-LAMP")


def test_a_warning_a_lead_time_before_the_stockout_counts_as_in_time() -> None:
    # T2 at day 0 (after the 15 min debounce), out of stock 8 days later, lead time 7 days.
    events = log_of(CLOCK, [(timedelta(0), 50), (timedelta(minutes=20), 50), (8 * DAY, 0)])
    result = review(events, {CLOCK: 7})
    (episode,) = result.episodes
    assert episode.first_tier is Tier.T2 and episode.worst_tier is Tier.OUT
    assert episode.warning == 8 * DAY - timedelta(minutes=20)
    assert episode.early_enough is True
    assert (result.stockouts, result.warned_in_time, result.missed) == (1, 1, 0)


def test_a_late_warning_and_a_miss_are_told_apart() -> None:
    late = log_of(CABLE, [(timedelta(0), 10), (2 * DAY, 0)])  # T3 two days before: late
    missed = log_of(LAMP, [(timedelta(0), 500), (DAY, 0)])  # straight to OUT: a miss
    result = review([*late, *missed], {CABLE: 7, LAMP: 5})
    by_key = {e.key: e for e in result.episodes}
    assert by_key[CABLE].early_enough is False
    assert by_key[LAMP].missed and by_key[LAMP].early_enough is None
    assert (result.warned_late, result.missed, result.stockouts) == (1, 1, 2)


def test_quick_recoveries_that_never_got_serious_are_likely_noise() -> None:
    events = log_of(
        CLOCK,
        [
            (timedelta(0), 90),
            (timedelta(minutes=40), 90),
            (timedelta(hours=3), 500),
            (2 * DAY, 90),
            (2 * DAY + timedelta(minutes=40), 90),
            (5 * DAY, 500),
        ],
    )
    result = review(events)
    assert len(result.episodes) == 2
    assert result.likely_noise == 1  # the second episode lasted 3 days
    assert result.notices_per_item[CLOCK] == 2


def test_no_events_gives_an_empty_review() -> None:
    result = review([])
    assert result.episodes == () and result.median_warning is None


def test_the_median_warning_ignores_misses() -> None:
    a = log_of(CLOCK, [(timedelta(0), 10), (4 * DAY, 0)])
    b = log_of(CABLE, [(timedelta(0), 10), (2 * DAY, 0)])
    c = log_of(LAMP, [(timedelta(0), 0)])
    assert review([*a, *b, *c]).median_warning == 4 * DAY
    assert [e.kind for e in c] == [NoticeKind.RAISED]


def test_an_episode_whose_stockout_an_order_prevented_counts_as_warned_in_time() -> None:
    # Finding 20: the demo's merchant ordered on every T1 and nothing ran out, yet the review
    # said "warned in time 0" (and called the quick recoveries noise).
    events = log_of(CLOCK, [(timedelta(0), 90), (timedelta(minutes=40), 90), (DAY, 500)])
    ordered = OrderSpan(CLOCK, T0 + timedelta(hours=1), None)
    result = review(events, {CLOCK: 7}, orders=[ordered])
    (episode,) = result.episodes
    assert episode.on_order and episode.prevented and episode.early_enough is True
    assert (result.warned_in_time, result.prevented, result.likely_noise) == (1, 1, 0)
    # The same episode without goods on order is judged as before: undecided, likely noise.
    alone = review(events, {CLOCK: 7})
    assert alone.episodes[0].early_enough is None
    assert (alone.warned_in_time, alone.prevented, alone.likely_noise) == (0, 0, 1)


def test_an_order_received_before_the_episode_or_placed_after_it_prevented_nothing() -> None:
    events = log_of(CLOCK, [(timedelta(0), 90), (timedelta(minutes=40), 90), (DAY, 500)])
    before = OrderSpan(CLOCK, T0 - 10 * DAY, T0 - DAY)
    after = OrderSpan(CLOCK, T0 + 2 * DAY, None)
    other = OrderSpan(CABLE, T0, None)
    result = review(events, {CLOCK: 7}, orders=[before, after, other])
    assert result.prevented == 0 and result.episodes[0].on_order is False


def test_a_stockout_with_goods_on_order_is_still_a_stockout() -> None:
    events = log_of(CLOCK, [(timedelta(0), 50), (timedelta(minutes=20), 50), (2 * DAY, 0)])
    result = review(events, {CLOCK: 7}, orders=[OrderSpan(CLOCK, T0, None)])
    assert result.prevented == 0 and result.warned_late == 1 and result.stockouts == 1
