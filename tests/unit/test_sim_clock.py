"""The simulator's clock held by the demo: it stands still, never jumps, never runs back."""

from __future__ import annotations

from datetime import timedelta

from stockwatch.adapters.alibaba1688.simulator.gateway import SimClock


def test_a_held_clock_stands_still_and_runs_on_from_there_when_released() -> None:
    clock = SimClock(speed=1_000_000.0)  # a simulated day every ~0.09 real seconds
    clock.hold_at(clock.now())
    held = clock.now()
    assert clock.now() == held and clock.now() == held
    clock.hold_at(held + timedelta(hours=1))
    later = clock.now()
    assert held < later <= held + timedelta(hours=1)
    clock.hold_at(None)
    free = clock.now()
    # Released, it runs on from where it stood (it does not make up the time it was held).
    assert later <= free < later + timedelta(days=365)


def test_a_hold_behind_the_time_already_told_does_not_turn_the_clock_back() -> None:
    clock = SimClock(speed=1.0)
    told = clock.now()
    clock.hold_at(told - timedelta(days=1))
    assert clock.now() >= told
