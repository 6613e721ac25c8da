"""The review period keeps whole episodes that started in it (against the in-memory store)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stockwatch.core.model import Item, ItemKey
from stockwatch.ports import AlertEvent
from stockwatch.service.alert_review import load_review
from tests.fakes import InMemoryStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
KITE, ROBOT = ItemKey("PAPER-KITE"), ItemKey("TIN-ROBOT")


def _event(key: ItemKey, kind: str, tier: str, hours: float, episode: int) -> AlertEvent:
    at = T0 + timedelta(hours=hours)
    return AlertEvent(f"{key}|{episode}|{kind}|{hours}", key, kind, tier, "OK", at, episode)


def _store() -> InMemoryStore:
    store = InMemoryStore()
    store.sync_items([Item("PAPER-KITE", lead_time_days=1.0), Item("TIN-ROBOT")], {}, T0)
    with store.transaction() as tx:
        # The kite's episode 1 began a day before the period and ran out inside it.
        tx.add_event(_event(KITE, "raised", "T2", 0, 1))
        tx.add_event(_event(KITE, "worsened", "OUT", 30, 1))
        # Its episode 2 began in the period and ran out 36 hours after the first notice.
        tx.add_event(_event(KITE, "raised", "T1", 48, 2))
        tx.add_event(_event(KITE, "ack", "T1", 49, 2))
        tx.add_event(_event(KITE, "worsened", "OUT", 84, 2))
        # The robot's first notice in the period was already OUT: a miss.
        tx.add_event(_event(ROBOT, "raised", "OUT", 50, 1))
        tx.add_event(_event(ROBOT, "resolved", "OK", 60, 1))
        tx.commit()
    return store


def test_a_period_keeps_only_episodes_that_started_in_it_whole() -> None:
    result = load_review(_store(), since=T0 + timedelta(hours=24))
    assert sorted((str(e.key), e.episode) for e in result.episodes) == [
        ("PAPER-KITE", 2),
        ("TIN-ROBOT", 1),
    ]
    assert (result.stockouts, result.missed, result.warned_in_time) == (2, 1, 1)
    assert result.median_warning == timedelta(hours=36)
    assert result.notices_per_item == {KITE: 2, ROBOT: 1}


def test_without_a_start_every_episode_counts_and_until_closes_the_period() -> None:
    store = _store()
    assert len(load_review(store, since=None).episodes) == 3
    early = load_review(store, since=None, until=T0 + timedelta(hours=49))
    assert [(str(e.key), e.episode) for e in early.episodes] == [
        ("PAPER-KITE", 1),
        ("PAPER-KITE", 2),
    ]


def test_an_item_without_a_lead_time_is_judged_with_the_default() -> None:
    store = InMemoryStore()
    store.sync_items([Item("TIN-ROBOT")], {}, T0)
    with store.transaction() as tx:
        tx.add_event(_event(ROBOT, "raised", "T2", 0, 1))
        tx.add_event(_event(ROBOT, "worsened", "OUT", 24 * 8, 1))  # 8 days later
        tx.commit()
    judged = load_review(store, since=None)  # default: 7 days
    assert judged.warned_in_time == 1 and judged.default_lead == {ROBOT}
    stricter = load_review(store, since=None, default_lead=10.0)
    assert stricter.warned_late == 1
    unjudged = load_review(store, since=None, default_lead=None)
    assert (unjudged.warned_in_time, unjudged.warned_late) == (0, 0)


def test_an_acknowledged_episode_that_ended_quietly_ends_at_its_transition_back_to_ok() -> None:
    # Rule 4: an acknowledged episode sends no RESOLVED; its end is the logged transition to
    # OK. A pending blip's transition to OK (the previous episode's number) ends nothing.
    store = InMemoryStore()
    store.sync_items([Item("PAPER-KITE", lead_time_days=1.0)], {}, T0)
    with store.transaction() as tx:
        tx.add_event(_event(KITE, "raised", "T1", 0, 1))
        tx.add_event(_event(KITE, "ack", "T1", 1, 1))
        ended = _event(KITE, "transition", "OK", 5, 1)
        tx.add_event(replace(ended, detail="firing/T1 → ok/OK"))
        blip = _event(KITE, "transition", "OK", 9, 1)
        tx.add_event(replace(blip, detail="pending/T1 → ok/OK"))
        tx.add_event(_event(KITE, "raised", "T1", 20, 2))
        tx.add_event(replace(_event(KITE, "transition", "OK", 30, 2), detail="pending/T1 → ok/OK"))
        tx.commit()
    first, second = load_review(store, since=None).episodes
    assert first.resolved_at == T0 + timedelta(hours=5)
    assert second.resolved_at is None  # still open: a pending blip is not its end


def test_the_quiet_end_is_read_from_the_transitions_from_phase_whatever_its_wording() -> None:
    # The payload names the phase left; the detail's wording is for people and may change.
    store = InMemoryStore()
    store.sync_items([Item("PAPER-KITE", lead_time_days=1.0)], {}, T0)
    with store.transaction() as tx:
        tx.add_event(_event(KITE, "raised", "T1", 0, 1))
        ended = _event(KITE, "transition", "OK", 5, 1)
        tx.add_event(replace(ended, detail="reworded", payload={"from_phase": "recovering"}))
        tx.add_event(_event(KITE, "raised", "T1", 20, 2))
        blip = _event(KITE, "transition", "OK", 30, 2)
        tx.add_event(replace(blip, detail="firing/T1 → ok/OK", payload={"from_phase": "pending"}))
        tx.commit()
    first, second = load_review(store, since=None).episodes
    assert first.resolved_at == T0 + timedelta(hours=5)
    assert second.resolved_at is None  # the payload, not the detail, says it was pending
