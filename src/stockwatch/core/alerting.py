"""The alert state machine: one pure function from (state, reading) to (new state, notices).

Rules (architecture.md §5, the seed's 避免骚扰):
1. A breach must survive its tier's debounce (duration and consecutive readings) before the
   first notice; T3 and OUT are immediate by default. A blip that clears is never announced.
2. Same item, same tier: at most one notice per ``dedupe_window`` (24 h) within an episode.
3. A worse tier is announced at once, whatever the window (unless that tier was itself
   announced inside the window). It clears the acknowledgement, except when only the shelf
   worsened while acknowledged goods are on the way and they keep the position above T1
   (3b): the notice says the shelf is empty and when the goods are due, and what is on order
   is still enough, so daily reminders of that shelf until the goods come would only repeat
   it (rule 4b takes over once they are in). A position at or below T1 (the order was cut,
   a big sale) clears it, at the escalation or, once held, with a reminder a dedupe window
   after the last notice: the merchant must order more.
4. Recovery above T1 by the hysteresis margin (held for ``recover_for``) ends the episode and
   re-arms the item; RESOLVED goes out only if the episode announced something and nobody
   acknowledged it: an acknowledged episode (the merchant ordered, or acked by hand) was taken
   in hand, and "recovered" the day after an order is placed only restates the order.
4b. An acknowledgement that rests on goods on order (the merchant acknowledged because they
   ordered, or a reading showed goods on order while acknowledged) lapses with a reminder when
   nothing has been on order for ``goods_in_grace`` (a receipt is often booked before the
   shop's stock shows the goods), the item is still short by the plain levels (not merely
   inside a recovery margin), and the episode's last notice is a dedupe window old: the goods
   came and did not lift it above T1 (a lumpy sale ate them, a partial delivery) or the order
   was cancelled. A hand acknowledgement that never saw goods on order keeps holding.
5. A failed read changes nothing but the failure count; enough of them raise one STALE.
6. Readings older than (or as old as) the last one are ignored: replays and out-of-order pushes.
At most one notice per evaluation; the new state is computed first, then the notice chosen.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from stockwatch.core.model import (
    GOODS_IN,
    AlertPolicy,
    AlertState,
    Notice,
    NoticeKind,
    OfferStatus,
    OnOrder,
    Phase,
    Reading,
    Tier,
    TierLevels,
)

DAY = timedelta(days=1)


def _with(state: AlertState, **changes: Any) -> AlertState:
    """``dataclasses.replace(state, **changes)`` without its per-field introspection.

    The state machine copies the state two to four times per reading, and ``replace`` walking
    the 18 fields each time cost a tenth of a poll cycle's CPU. AlertState has only plain
    ``__init__`` fields (tests/unit/test_alerting.py checks that this equals ``replace``).
    """
    return AlertState(**{**state.__dict__, **changes})


def observed_tier(
    state: AlertState,
    available: int,
    levels: TierLevels,
    policy: AlertPolicy,
    shelf: int | None = None,
) -> Tier:
    """Return the tier a reading shows, with hysteresis when it would improve the current tier.

    ``available`` is the inventory position and ``shelf`` what customers can buy now (the
    position when omitted): T1/T2 come from the position, T3/OUT also from the shelf. To count
    as better than the current tier, stock must clear each boundary by the recovery margin, so
    stock hovering at a threshold does not flap.
    """
    on_shelf = available if shelf is None else shelf
    plain = levels.classify_stock(available, on_shelf)
    current = state.tier if state.phase.announced else Tier.OK
    if plain >= current or levels.disabled:
        return plain
    shifted = TierLevels(
        levels.t1 + policy.recover_margin(levels.t1),
        levels.t2 + policy.recover_margin(levels.t2),
        levels.t3 + policy.recover_margin(levels.t3),
    )
    out_margin = policy.recover_margin(0)
    if available <= out_margin or on_shelf <= out_margin:
        with_margin = Tier.OUT
    else:
        with_margin = shifted.classify_stock(available, on_shelf)
    return min(current, max(plain, with_margin))


def recheck_at(state: AlertState, policy: AlertPolicy) -> datetime | None:
    """Return when a pending breach or recovery should be read again, or None."""
    if state.since is None:
        return None
    if state.phase is Phase.PENDING:
        return state.since + policy.debounce_for(state.tier).duration
    if state.phase is Phase.RECOVERING:
        return state.since + policy.recover_for
    return None


def acknowledge(state: AlertState, on_order: bool = False) -> AlertState:
    """Stop reminders for the current episode; escalations still go out.

    ``on_order``: the merchant acknowledges because goods are on order (they just ordered):
    the acknowledgement rests on them as of the last reading (rule 4b). An evaluation that
    sees goods on order while acknowledged marks it so too; acknowledging again keeps a mark.
    """
    seen = state.last_reading_at if on_order else None
    return _with(
        state, acked=True, goods_seen_at=seen or state.goods_seen_at, version=state.version + 1
    )


def snooze(state: AlertState, until: datetime) -> AlertState:
    """Hold back raises and reminders until ``until``; escalations still go out."""
    return _with(state, snoozed_until=until, version=state.version + 1)


def calm_bounds(levels: TierLevels) -> tuple[int, int] | None:
    """Return (position floor, shelf floor): a reading above both shows no tier at ``levels``.

    ``classify_stock`` is OK exactly when the position is above T1 (hence above T2, T3 and 0,
    since T1 ≥ T2 ≥ T3 > 0) and the shelf is above T3 (hence above 0). None for disabled
    levels: every stock figure is OK. Plain numbers, so that a database can compare a whole
    batch of readings with them in one statement (``stays_ok`` is written with them too).
    """
    if levels.disabled:
        return None
    return levels.t1, levels.t3


def drop_factor(policy: AlertPolicy) -> float | None:
    """Return the share of the last position at or below which a reading is a sharp drop.

    None when sharp drops are not reported. A reading at ``position <= last * factor`` (last
    > 0) is one, the same product ``evaluate`` computes.
    """
    ratio = policy.sharp_drop_ratio
    return 1 - ratio if ratio > 0 else None


def stays_ok(
    phase: Phase,
    tier: Tier,
    last_available: int | None,
    position: int,
    shelf: int,
    levels: TierLevels,
    policy: AlertPolicy,
) -> bool:
    """Return True when a good reading of an active offer leaves a calm item calm.

    The item is in phase OK (no breach pending, nothing firing), the reading shows no tier and
    no sharp drop, and there are no purchase orders to account for (nor a negative in-transit
    figure, which the on-order view would raise to 0): ``evaluate`` then announces nothing, logs
    no transition and returns ``ok_step`` of the state. The batched evaluator lets the database
    apply this rule to a whole batch at once (``calm_bounds`` and ``drop_factor`` as numbers),
    so that the great majority of a poll cycle never loads, decodes and re-encodes a state; a
    hypothesis property holds it to ``evaluate``.
    """
    if phase is not Phase.OK or tier is not Tier.OK:
        return False
    bounds = calm_bounds(levels)
    if bounds is not None and not (position > bounds[0] and shelf > bounds[1]):
        return False
    factor = drop_factor(policy)
    return not (
        factor is not None
        and last_available is not None
        and last_available > 0
        and position <= last_available * factor
    )


def ok_step(state: AlertState, reading: Reading) -> AlertState:
    """Return the state after a reading for which ``stays_ok`` holds (what ``evaluate`` returns)."""
    return _with(
        state,
        phase=Phase.OK,
        tier=Tier.OK,
        since=None,
        breach_readings=0,
        failed_reads=0,
        first_failed_at=None,
        stale_notified=False,
        offer_status=OfferStatus.ACTIVE,
        last_reading_at=reading.observed_at,
        last_available=reading.available,
        version=state.version + 1,
    )


def evaluate(
    state: AlertState,
    reading: Reading,
    levels: TierLevels,
    policy: AlertPolicy,
    now: datetime,
    on_order: OnOrder | None = None,
) -> tuple[AlertState, tuple[Notice, ...]]:
    """Return the new state and at most one notice for a reading of the item.

    ``on_order`` is the open quantity of the item's purchase orders. It is the on-order part of
    the position; a reading's own in-transit figure (a CSV snapshot column) is taken instead
    when larger, so a shop that reports both is not counted twice. Goods booked in that the
    reading does not show yet (``OnOrder.arriving``) count with it: a receipt booked before
    the stock source catches up must not look like a stockout.
    """
    if state.last_reading_at is not None and reading.observed_at <= state.last_reading_at:
        return state, ()
    ordered = reading.in_transit if on_order is None else max(reading.in_transit, on_order.quantity)
    coming = ordered + (0 if on_order is None else on_order.arriving)
    if coming > reading.in_transit:
        reading = replace(reading, in_transit=coming)
    new_state, notices = _evaluate(
        state, reading, levels, policy, now, _shelf_view(reading, levels, on_order, now), ordered
    )
    if on_order is not None and on_order.due is not None and reading.in_transit > 0:
        notices = tuple(replace(n, due=on_order.due) for n in notices)
    booked_in = reading.in_transit - ordered  # what the position counts beyond the orders
    if booked_in > 0:
        notices = tuple(replace(n, booked_in=booked_in) for n in notices)
    return new_state, notices


def _shelf_view(
    reading: Reading, levels: TierLevels, on_order: OnOrder | None, now: datetime
) -> int | None:
    """Return the shelf figure T3 is judged on.

    A low shelf is not an imminent stockout when the goods on order are due before it runs out
    (at the current rate): T3 then waits, so an on-time order does not page anyone. An empty
    shelf is OUT whatever is on the way.
    """
    shelf = reading.shelf
    if (
        shelf is None
        or shelf <= 0
        or on_order is None
        or on_order.quantity <= 0
        or on_order.due is None
        or levels.velocity <= 0
    ):
        return shelf
    if on_order.due <= now:
        return shelf  # overdue: nobody knows when it comes
    days_left = shelf / levels.velocity
    if days_left * DAY >= on_order.due - now:
        return reading.available  # lasts until the goods come: judge T3 on the position
    return shelf


def _evaluate(
    state: AlertState,
    reading: Reading,
    levels: TierLevels,
    policy: AlertPolicy,
    now: datetime,
    shelf_view: int | None = None,
    ordered: int | None = None,
) -> tuple[AlertState, tuple[Notice, ...]]:
    """``ordered``: the units on order within the reading's in-transit figure (the rest are
    booked in, not yet on the shelf); None: all of it."""
    if reading.is_failed:
        return _failed_read(state, reading, levels, policy, now)
    active = reading.offer_status is OfferStatus.ACTIVE
    # An active offer is set in the same copy (this runs for every reading); an unavailable
    # one is judged by _unavailable, which records its status.
    base = _with(
        state,
        failed_reads=0,
        first_failed_at=None,
        stale_notified=False,
        last_reading_at=reading.observed_at,
        version=state.version + 1,
        **({"offer_status": OfferStatus.ACTIVE} if active else {}),
    )
    if not active:
        return _unavailable(base, reading, levels, now)
    available = reading.available
    assert available is not None
    new_state, notice = _transition(base, available, reading, levels, policy, now, shelf_view)
    on_order = reading.in_transit if ordered is None else ordered
    if new_state.acked and on_order > 0 and new_state.phase.announced:
        # The acknowledgement rests on these goods (rule 4b), snoozed or not; goods already
        # booked in are not on order: its grace runs from the receipt.
        new_state = _with(new_state, goods_seen_at=reading.observed_at)
    if notice is None and policy.sharp_drop_ratio > 0:
        notice = _sharp_drop(state, available, reading, levels, policy, now, new_state)
        if notice is not None:
            new_state = _with(new_state, notice_seq=notice.seq)
    new_state = _with(new_state, last_available=available)
    return new_state, (notice,) if notice else ()


def _transition(
    state: AlertState,
    available: int,
    reading: Reading,
    levels: TierLevels,
    policy: AlertPolicy,
    now: datetime,
    shelf_view: int | None = None,
) -> tuple[AlertState, Notice | None]:
    shelf = reading.shelf if shelf_view is None else shelf_view
    observed = observed_tier(state, available, levels, policy, shelf)
    phase = state.phase
    if phase is Phase.OK or phase is Phase.PENDING:
        if observed is Tier.OK:
            # Row 5: a pending blip that cleared is absorbed, never announced; an
            # acknowledgement given while it was pending goes with it. (An OK item stays as
            # ok_step leaves it: the batched calm path applies that rule in SQL.)
            calm = _with(state, phase=Phase.OK, tier=Tier.OK, since=None, breach_readings=0)
            if phase is Phase.PENDING:
                calm = _with(calm, acked=False, goods_seen_at=None, ack_covered=False)
            return calm, None
        tier = observed if phase is Phase.OK else max(state.tier, observed)
        since = now if phase is Phase.OK or state.since is None else state.since
        count = 1 if phase is Phase.OK else state.breach_readings + 1
        rule = policy.debounce_for(tier)
        if now - since < rule.duration or count < rule.readings:
            return _with(
                state, phase=Phase.PENDING, tier=tier, since=since, breach_readings=count
            ), None
        fired = _with(
            state,
            phase=Phase.FIRING,
            tier=tier,
            since=None,
            breach_readings=0,
            episode=state.episode + 1,
            notified=(),
            last_notice_at=None,
            last_notice_available=None,
            notice_seq=0,
            acked=False,
            goods_seen_at=None,
            ack_covered=False,
        )
        if _snoozed(fired, now):
            return fired, None
        return _notify(fired, NoticeKind.RAISED, tier, Tier.OK, reading, levels, now)

    # FIRING or RECOVERING
    if observed is Tier.OK:
        since = state.since if phase is Phase.RECOVERING and state.since else now
        if now - since >= policy.recover_for:
            return _resolve(state, reading, levels, now)
        return _with(state, phase=Phase.RECOVERING, since=since), None
    previous = state.tier
    firing = _with(state, phase=Phase.FIRING, tier=observed, since=None)
    if observed > previous:
        last = firing.notified_at(observed)
        if last is None or now - last >= policy.dedupe_window:
            if _order_still_covers(firing, available, reading, levels):
                firing = _with(firing, ack_covered=True)
            else:
                firing = _with(firing, acked=False, goods_seen_at=None, ack_covered=False)
            return _notify(firing, NoticeKind.WORSENED, observed, previous, reading, levels, now)
        return firing, None
    if _snoozed(firing, now):
        return firing, None
    last_notice = firing.last_notice_at
    if last_notice is None:
        # A raise held back by a snooze goes out at the first reading after it ends.
        return _notify(firing, NoticeKind.RAISED, observed, Tier.OK, reading, levels, now)
    if (
        firing.acked
        and firing.ack_covered
        and now - last_notice >= policy.dedupe_window
        and levels.classify(available) is not Tier.OK
    ):
        # Rule 3b's hold ends: what is on order no longer keeps the position above T1 (the
        # order was cut, a big sale): order more.
        firing = _with(firing, acked=False, goods_seen_at=None, ack_covered=False)
        return _notify(firing, NoticeKind.REMINDER, observed, previous, reading, levels, now)
    if firing.acked:
        seen = firing.goods_seen_at
        if (
            seen is None  # a hand acknowledgement that never saw goods on order
            or reading.in_transit > 0
            or now - seen < policy.goods_in_grace
            or now - last_notice < policy.dedupe_window
            or levels.classify_stock(available, available if shelf is None else shelf) is Tier.OK
        ):
            return firing, None
        firing = _with(firing, acked=False, goods_seen_at=None, ack_covered=False)  # rule 4b
        reminded = (NoticeKind.REMINDER, observed, previous, reading, levels, now, GOODS_IN)
        return _notify(firing, *reminded)
    if now - last_notice >= policy.dedupe_window:
        return _notify(firing, NoticeKind.REMINDER, observed, previous, reading, levels, now)
    last_qty = firing.last_notice_available
    if (
        policy.renotify_drop_ratio > 0
        and last_qty is not None
        and available < last_qty
        and available <= last_qty * (1 - policy.renotify_drop_ratio)
    ):
        return _notify(firing, NoticeKind.DROPPED, observed, previous, reading, levels, now)
    return firing, None


def _order_still_covers(
    state: AlertState, available: int, reading: Reading, levels: TierLevels
) -> bool:
    """Rule 3b: the escalation is the shelf's alone: the acknowledged goods still come and
    keep the position above T1 (the test ``acknowledge_for_order`` acknowledges by)."""
    return (
        state.acked
        and state.goods_seen_at is not None
        and reading.in_transit > 0
        and levels.classify(available) is Tier.OK
    )


def _snoozed(state: AlertState, now: datetime) -> bool:
    return state.snoozed_until is not None and now < state.snoozed_until


def _notify(
    state: AlertState,
    kind: NoticeKind,
    tier: Tier,
    previous: Tier,
    reading: Reading,
    levels: TierLevels,
    now: datetime,
    detail: str = "",
) -> tuple[AlertState, Notice]:
    seq = state.notice_seq + 1
    notified = (*tuple((t, at) for t, at in state.notified if t != tier), (tier, now))
    new_state = _with(
        state,
        notified=notified,
        last_notice_at=now,
        last_notice_available=reading.available,
        notice_seq=seq,
    )
    notice = _notice(new_state, kind, tier, previous, reading, levels, now, seq, detail)
    return new_state, notice


def _notice(
    state: AlertState,
    kind: NoticeKind,
    tier: Tier,
    previous: Tier,
    reading: Reading,
    levels: TierLevels,
    now: datetime,
    seq: int,
    detail: str = "",
) -> Notice:
    return Notice(
        key=reading.key,
        kind=kind,
        tier=tier,
        previous_tier=previous,
        at=now,
        episode=state.episode,
        seq=seq,
        available=reading.available,
        on_hand=reading.on_hand,
        levels=levels,
        reading_at=reading.observed_at,
        detail=detail,
        shelf=reading.shelf,
        on_order=reading.in_transit,
    )


def _resolve(
    state: AlertState, reading: Reading, levels: TierLevels, now: datetime
) -> tuple[AlertState, Notice | None]:
    # An acknowledged episode ends quietly: someone already acted on it (rule 4).
    announced = state.last_notice_at is not None and not state.acked
    seq = state.notice_seq + 1 if announced else state.notice_seq
    resolved = _with(
        state,
        phase=Phase.OK,
        tier=Tier.OK,
        since=None,
        breach_readings=0,
        notified=(),
        last_notice_at=None,
        last_notice_available=None,
        notice_seq=seq,
        acked=False,
        goods_seen_at=None,
        ack_covered=False,
    )
    if not announced:
        return resolved, None
    return resolved, _notice(
        resolved, NoticeKind.RESOLVED, Tier.OK, state.tier, reading, levels, now, seq
    )


def _failed_read(
    state: AlertState, reading: Reading, levels: TierLevels, policy: AlertPolicy, now: datetime
) -> tuple[AlertState, tuple[Notice, ...]]:
    first = state.first_failed_at or now
    failed = _with(
        state,
        failed_reads=state.failed_reads + 1,
        first_failed_at=first,
        last_reading_at=reading.observed_at,
        version=state.version + 1,
    )
    stale = failed.failed_reads >= policy.stale_after_reads or now - first >= policy.stale_after
    if not stale or state.stale_notified:
        return failed, ()
    seq = failed.notice_seq + 1
    failed = _with(failed, stale_notified=True, notice_seq=seq)
    notice = _notice(
        failed,
        NoticeKind.STALE,
        failed.tier,
        failed.tier,
        reading,
        levels,
        now,
        seq,
        detail=reading.error or "",
    )
    return failed, (notice,)


def _unavailable(
    state: AlertState, reading: Reading, levels: TierLevels, now: datetime
) -> tuple[AlertState, tuple[Notice, ...]]:
    if state.offer_status is reading.offer_status:
        return state, ()
    seq = state.notice_seq + 1
    new_state = _with(state, offer_status=reading.offer_status, notice_seq=seq)
    notice = _notice(
        new_state,
        NoticeKind.UNAVAILABLE,
        state.tier,
        state.tier,
        reading,
        levels,
        now,
        seq,
        detail=reading.offer_status.value,
    )
    return new_state, (notice,)


def _sharp_drop(
    before: AlertState,
    available: int,
    reading: Reading,
    levels: TierLevels,
    policy: AlertPolicy,
    now: datetime,
    after: AlertState,
) -> Notice | None:
    last = before.last_available
    if last is None or last <= 0 or available > last * (1 - policy.sharp_drop_ratio):
        return None
    return _notice(
        after,
        NoticeKind.SHARP_DROP,
        after.tier,
        after.tier,
        reading,
        levels,
        now,
        after.notice_seq + 1,
        detail=f"{last}→{available}",
    )
