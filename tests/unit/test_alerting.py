"""The alert state machine: one test per rule, then hypothesis properties over random sequences."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from stockwatch.core.alerting import (
    acknowledge,
    calm_bounds,
    drop_factor,
    evaluate,
    observed_tier,
    ok_step,
    recheck_at,
    snooze,
    stays_ok,
)
from stockwatch.core.model import (
    GOODS_IN,
    AlertPolicy,
    AlertState,
    DebounceRule,
    ItemKey,
    Notice,
    NoticeKind,
    OfferStatus,
    OnOrder,
    Phase,
    Reading,
    ReadingSource,
    Tier,
    TierLevels,
)

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
KEY = ItemKey("RETRO-CLOCK")
LEVELS = TierLevels(t1=100, t2=60, t3=20, velocity=10)
POLICY = AlertPolicy()
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def reading(qty: int | None, at: datetime, **kw: object) -> Reading:
    if qty is None:
        return Reading.failed(KEY, at, ReadingSource.POLL, "timeout")
    return Reading(KEY, at, ReadingSource.POLL, qty, **kw)  # type: ignore[arg-type]


class Feed:
    """Feed readings through evaluate() and keep every notice."""

    def __init__(self, policy: AlertPolicy = POLICY, levels: TierLevels = LEVELS) -> None:
        self.state = AlertState()
        self.policy = policy
        self.levels = levels
        self.now = T0
        self.notices: list[Notice] = []

    def at(self, qty: int | None, after: timedelta = HOUR, **kw: object) -> tuple[Notice, ...]:
        self.now += after
        self.state, out = evaluate(
            self.state, reading(qty, self.now, **kw), self.levels, self.policy, self.now
        )
        self.notices.extend(out)
        return out

    def kinds(self) -> list[tuple[str, str]]:
        return [(n.kind.value, n.tier.name) for n in self.notices]


def test_stock_above_t1_stays_quiet() -> None:
    feed = Feed()
    assert feed.at(150) == ()
    assert feed.state.phase is Phase.OK


def test_a_t1_breach_waits_out_its_debounce_before_the_first_notice() -> None:
    feed = Feed()
    assert feed.at(90) == ()
    assert feed.state.phase is Phase.PENDING
    assert recheck_at(feed.state, POLICY) == feed.now + timedelta(minutes=30)
    (notice,) = feed.at(90, after=30 * MIN)
    assert (notice.kind, notice.tier) == (NoticeKind.RAISED, Tier.T1)
    assert notice.available == 90 and notice.levels == LEVELS


def test_t3_and_out_notify_immediately() -> None:
    feed = Feed()
    (notice,) = feed.at(10)
    assert (notice.kind, notice.tier) == (NoticeKind.RAISED, Tier.T3)
    feed2 = Feed()
    assert feed2.at(0)[0].tier is Tier.OUT
    assert Feed().at(-5)[0].tier is Tier.OUT  # oversold


def test_a_blip_that_clears_inside_the_debounce_is_never_announced() -> None:
    feed = Feed()
    feed.at(80)
    feed.at(150, after=10 * MIN)
    feed.at(150, after=10 * HOUR)
    assert feed.notices == []
    assert feed.state.phase is Phase.OK


def test_debounce_by_consecutive_readings() -> None:
    rules = (
        (Tier.T1, DebounceRule(readings=3)),
        (Tier.T2, DebounceRule()),
        (Tier.T3, DebounceRule()),
    )
    feed = Feed(AlertPolicy(debounce=rules))
    assert feed.at(90, after=MIN) == ()
    assert feed.at(90, after=MIN) == ()
    assert feed.at(90, after=MIN)[0].kind is NoticeKind.RAISED


def test_the_same_tier_is_not_repeated_within_24_hours() -> None:
    feed = Feed()
    feed.at(50)
    feed.at(50, after=15 * MIN)
    assert feed.kinds() == [("raised", "T2")]
    for _ in range(23):
        assert feed.at(50) == ()
    (reminder,) = feed.at(50)  # 24 h after the first notice
    assert (reminder.kind, reminder.tier) == (NoticeKind.REMINDER, Tier.T2)


def test_a_worse_tier_is_announced_at_once_whatever_the_window() -> None:
    feed = Feed()
    feed.at(50)
    feed.at(50, after=15 * MIN)
    (notice,) = feed.at(15, after=MIN)
    assert (notice.kind, notice.tier, notice.previous_tier) == (
        NoticeKind.WORSENED,
        Tier.T3,
        Tier.T2,
    )
    (out,) = feed.at(0, after=MIN)
    assert (out.kind, out.tier) == (NoticeKind.WORSENED, Tier.OUT)


def test_a_worse_tier_already_announced_within_the_window_is_not_repeated() -> None:
    feed = Feed()
    feed.at(10)  # T3 raised
    feed.at(40)  # quietly better: T2 (margin cleared: 40 > 20 + 2)
    assert feed.state.tier is Tier.T2
    assert feed.at(10) == ()  # back to T3 within 24 h of its notice
    assert feed.kinds() == [("raised", "T3")]


def test_recovery_above_t1_plus_margin_re_arms_the_item() -> None:
    feed = Feed()
    feed.at(10)
    assert feed.at(105) == ()  # above T1 but inside the 10 % margin: still firing
    assert feed.state.phase is Phase.FIRING
    (resolved,) = feed.at(111)
    assert (resolved.kind, resolved.previous_tier) == (NoticeKind.RESOLVED, Tier.T1)
    assert feed.state.phase is Phase.OK
    (again,) = feed.at(10, after=MIN)  # re-armed: notifies again at once
    assert again.kind is NoticeKind.RAISED and again.episode == resolved.episode + 1


def test_hysteresis_keeps_stock_hovering_at_a_boundary_quiet() -> None:
    feed = Feed()
    feed.at(60)
    feed.at(60, after=15 * MIN)
    for qty in (61, 60, 62, 59, 63, 60):
        feed.at(qty, after=MIN)
    assert feed.kinds() == [("raised", "T2")]
    assert feed.state.tier is Tier.T2


def test_exit_debounce_holds_recovery_until_it_lasts() -> None:
    feed = Feed(AlertPolicy(recover_for=timedelta(minutes=30)))
    feed.at(10)
    assert feed.at(200, after=MIN) == ()
    assert feed.state.phase is Phase.RECOVERING
    assert feed.at(200, after=10 * MIN) == ()
    (resolved,) = feed.at(200, after=20 * MIN)
    assert resolved.kind is NoticeKind.RESOLVED


def test_a_dip_during_recovery_returns_to_firing_without_a_new_episode() -> None:
    feed = Feed(AlertPolicy(recover_for=timedelta(minutes=30)))
    feed.at(50)
    feed.at(50, after=15 * MIN)
    episode = feed.state.episode
    feed.at(200, after=MIN)
    assert feed.at(50, after=MIN) == ()
    assert feed.state.phase is Phase.FIRING and feed.state.episode == episode


def test_no_resolved_notice_when_nothing_was_announced() -> None:
    feed = Feed()
    feed.state = snooze(feed.state, T0 + 10 * HOUR)
    feed.at(90)
    feed.at(90, after=30 * MIN)  # fires, but snoozed: nothing sent
    assert feed.state.phase is Phase.FIRING
    assert feed.at(200) == ()
    assert feed.state.phase is Phase.OK


def test_a_snoozed_raise_goes_out_after_the_snooze() -> None:
    feed = Feed()
    feed.state = snooze(feed.state, T0 + 3 * HOUR)
    feed.at(50)
    feed.at(50, after=15 * MIN)
    assert feed.notices == []
    (raised,) = feed.at(50, after=2 * HOUR)
    assert raised.kind is NoticeKind.RAISED


def test_acknowledge_stops_reminders_but_not_escalations() -> None:
    feed = Feed()
    feed.at(50)
    feed.at(50, after=15 * MIN)
    feed.state = acknowledge(feed.state)
    assert feed.at(50, after=30 * HOUR) == ()
    (worse,) = feed.at(5, after=MIN)
    assert worse.kind is NoticeKind.WORSENED


def test_an_acknowledgement_given_while_pending_goes_with_the_blip() -> None:
    # Regression: the item stayed acknowledged while OK after its pending breach cleared.
    feed = Feed()
    assert feed.at(90) == ()  # T1 pending its 30-minute debounce
    feed.state = acknowledge(feed.state, on_order=True)
    assert feed.at(400, after=MIN) == ()
    assert (feed.state.phase, feed.state.acked, feed.state.goods_seen_at) == (
        Phase.OK,
        False,
        None,
    )


def test_an_acknowledged_episode_ends_without_a_resolved_notice() -> None:
    # The merchant ordered from the T1 notice and acknowledged it: the next reading counts the
    # order in the position (above T1 + margin), and "stock recovered" would only restate it.
    feed = Feed()
    assert feed.at(90) == ()  # T1 waits for its debounce
    (raised,) = feed.at(90, after=HOUR)
    assert raised.kind is NoticeKind.RAISED
    feed.state = acknowledge(feed.state)
    assert feed.at(400, after=HOUR) == ()
    assert feed.state.phase is Phase.OK  # re-armed all the same
    feed.at(90, after=2 * HOUR)
    (again,) = feed.at(90, after=HOUR)
    assert again.kind is NoticeKind.RAISED and again.episode == raised.episode + 1


def test_an_escalation_after_the_acknowledgement_is_resolved_again() -> None:
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state)
    (worse,) = feed.at(5, after=MIN)  # a worse tier clears the acknowledgement
    assert worse.kind is NoticeKind.WORSENED and not feed.state.acked
    (resolved,) = feed.at(400, after=HOUR)
    assert (resolved.kind, resolved.previous_tier) == (NoticeKind.RESOLVED, Tier.T3)


def test_an_empty_shelf_while_the_acknowledged_order_comes_is_announced_once() -> None:
    # Rule 3b. Ordered from the T1 notice and acknowledged; the shelf empties before the goods
    # come. OUT is announced at once, but the order still covers the position: the
    # acknowledgement holds, so the empty shelf is not re-announced daily while they come.
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state, on_order=True)
    (out,) = feed.at(0, after=HOUR, in_transit=200)  # position 200, shelf 0
    assert (out.kind, out.tier) == (NoticeKind.WORSENED, Tier.OUT)
    assert feed.state.acked
    for _ in range(3):
        assert feed.at(0, after=24 * HOUR, in_transit=200) == ()
    assert feed.at(200, after=24 * HOUR) == ()  # in: the acknowledged episode ends quietly
    assert feed.state.phase is Phase.OK


def test_an_order_cut_after_the_empty_shelf_was_announced_is_reminded_again() -> None:
    # Found in review: once rule 3b held the acknowledgement at OUT, no tier is worse, so a
    # cut order (position 5, far below T1 100) stayed quiet while anything was on order.
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state, on_order=True)
    (out,) = feed.at(0, after=HOUR, in_transit=200)
    assert out.kind is NoticeKind.WORSENED and feed.state.ack_covered
    assert feed.at(0, after=HOUR, in_transit=5) == ()  # inside the dedupe window
    (again,) = feed.at(0, after=24 * HOUR, in_transit=5)
    assert (again.kind, again.tier) == (NoticeKind.REMINDER, Tier.OUT)
    assert not feed.state.acked and not feed.state.ack_covered


def test_an_escalation_of_the_position_clears_an_acknowledgement_resting_on_goods() -> None:
    # The order no longer covers the position (a big sale): the merchant must order more, so
    # the reminders come back.
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state, on_order=True)
    (worse,) = feed.at(0, after=HOUR, in_transit=30)  # position 30: T2 by the position itself
    assert worse.kind is NoticeKind.WORSENED and not feed.state.acked
    (reminder,) = feed.at(0, after=24 * HOUR, in_transit=30)
    assert reminder.kind is NoticeKind.REMINDER


def test_an_empty_shelf_whose_order_was_cut_is_reminded_daily() -> None:
    # Found in review: the episode was at T3 by its shelf; the order was cut to 5 and the
    # shelf emptied. The position (5) is far below T1: the acknowledgement must not hold.
    feed = Feed()
    (t3,) = feed.at(15)
    assert t3.tier is Tier.T3
    feed.state = acknowledge(feed.state, on_order=True)
    (out,) = feed.at(0, after=HOUR, in_transit=5)
    assert out.kind is NoticeKind.WORSENED and not feed.state.acked
    (again,) = feed.at(0, after=24 * HOUR, in_transit=5)
    assert (again.kind, again.tier) == (NoticeKind.REMINDER, Tier.OUT)


def test_an_acknowledgement_that_waited_for_goods_lapses_when_they_are_in_and_still_short() -> None:
    # Rule 4b. The merchant ordered from the T1 notice and acknowledged it; the order did not
    # lift the position above T1, and once the goods are in (a lumpy sale ate them) the item
    # is short with nothing on the way: it is asked for again.
    feed = Feed()
    feed.at(90)
    (raised,) = feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state)
    assert feed.at(40, after=30 * HOUR, in_transit=50) == ()  # position 90: goods on the way
    assert feed.state.acked and feed.state.goods_seen_at == feed.now
    (again,) = feed.at(85, after=30 * HOUR)  # received: 85 on the shelf, nothing on order
    assert (again.kind, again.tier, again.episode, again.detail) == (
        NoticeKind.REMINDER,
        Tier.T1,
        raised.episode,
        GOODS_IN,
    )
    assert not feed.state.acked and feed.state.goods_seen_at is None


def test_the_lapse_waits_for_the_dedupe_window_and_keeps_the_acknowledgement_till_then() -> None:
    feed = Feed()
    feed.at(90)
    (raised,) = feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state, on_order=True)  # ordered from the notice
    assert feed.state.goods_seen_at == raised.at
    # In after 13 h (past goods_in_grace), still short, but the raise is only 13 h old.
    assert feed.at(85, after=13 * HOUR) == ()
    assert feed.state.acked  # not lapsed in silence: a recovery now would still be quiet
    (again,) = feed.at(85, after=11 * HOUR)
    assert again.kind is NoticeKind.REMINDER and again.at - raised.at >= POLICY.dedupe_window


def test_a_receipt_booked_before_the_stock_shows_the_goods_pages_nobody() -> None:
    # OUT, ordered and acknowledged; three days later the receipt is booked, but the next poll
    # still reads the old shelf of 0: inside goods_in_grace that is no reason to remind, and
    # when the stock shows the goods the acknowledged episode ends quietly (rule 4).
    feed = Feed()
    (out,) = feed.at(0)
    assert out.tier is Tier.OUT
    feed.state = acknowledge(feed.state, on_order=True)
    assert feed.at(0, after=3 * 24 * HOUR, in_transit=150) == ()
    assert feed.at(0, after=HOUR) == ()  # booked in, the shop's stock not yet updated
    assert feed.at(150, after=HOUR) == ()
    assert feed.state.phase is Phase.OK and feed.notices == [out]


def test_goods_that_leave_the_item_inside_the_recovery_margin_are_not_reminded() -> None:
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state, on_order=True)
    assert feed.at(40, after=30 * HOUR, in_transit=50) == ()
    # 105 is above T1 100, short of the 110 a recovery needs: still T1 by hysteresis, not short.
    assert feed.at(105, after=30 * HOUR) == ()
    assert feed.state.tier is Tier.T1 and feed.state.acked


def test_goods_seen_and_received_during_a_snooze_are_reminded_after_it() -> None:
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = snooze(acknowledge(feed.state), feed.now + 4 * 24 * HOUR)
    assert feed.state.goods_seen_at is None  # acknowledged by hand, nothing seen on order yet
    assert feed.at(40, after=24 * HOUR, in_transit=50) == ()
    assert feed.state.goods_seen_at == feed.now  # marked while snoozed
    assert feed.at(85, after=48 * HOUR) == ()  # in, short, still snoozed
    (again,) = feed.at(85, after=48 * HOUR)
    assert again.kind is NoticeKind.REMINDER


def test_purchase_orders_mark_the_acknowledgement_like_an_in_transit_column() -> None:
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    state = acknowledge(feed.state)
    at = feed.now + HOUR
    due = at + 2 * 24 * HOUR
    state, out = evaluate(state, reading(40, at), LEVELS, POLICY, at, OnOrder(50, due))
    assert out == () and state.goods_seen_at == at
    state = acknowledge(state)  # acknowledged again by hand: the mark stays
    assert state.goods_seen_at == at


def test_an_acknowledgement_without_goods_on_order_keeps_reminders_quiet() -> None:
    # Acknowledged by hand with nothing recorded on order: the merchant said they have it in
    # hand, and nothing arriving can tell otherwise.
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    feed.state = acknowledge(feed.state)
    for _ in range(5):
        assert feed.at(85, after=30 * HOUR) == ()
    assert feed.state.acked and feed.state.goods_seen_at is None


def test_opt_in_renotify_when_stock_falls_a_further_percentage() -> None:
    feed = Feed(AlertPolicy(renotify_drop_ratio=0.3))
    feed.at(58)
    feed.at(58, after=15 * MIN)
    assert feed.at(45, after=MIN) == ()  # 22 % lower
    (dropped,) = feed.at(40, after=MIN)  # 31 % lower than the last notice
    assert (dropped.kind, dropped.tier) == (NoticeKind.DROPPED, Tier.T2)


def test_a_failed_read_is_never_stock_zero() -> None:
    feed = Feed()
    feed.at(150)
    assert feed.at(None) == ()
    assert feed.state.phase is Phase.OK and feed.state.tier is Tier.OK


def test_many_failed_reads_raise_one_stale_notice() -> None:
    feed = Feed()
    feed.at(150)
    feed.at(None)
    feed.at(None)
    (stale,) = feed.at(None)
    assert stale.kind is NoticeKind.STALE and stale.detail == "timeout"
    assert feed.at(None) == ()
    feed.at(150)
    feed.at(None), feed.at(None)
    assert feed.at(None)[0].kind is NoticeKind.STALE  # a new streak may raise it again


def test_stale_after_a_long_time_without_data() -> None:
    feed = Feed(AlertPolicy(stale_after_reads=100, stale_after=timedelta(hours=6)))
    feed.at(None)
    assert feed.at(None, after=7 * HOUR)[0].kind is NoticeKind.STALE


def test_out_of_order_and_replayed_readings_are_ignored() -> None:
    feed = Feed()
    feed.at(10)
    state = feed.state
    old = reading(500, feed.now - MIN)
    assert evaluate(state, old, LEVELS, POLICY, feed.now) == (state, ())
    same = reading(10, feed.now)
    assert evaluate(state, same, LEVELS, POLICY, feed.now) == (state, ())


def test_a_delisted_offer_is_its_own_notice_not_low_stock() -> None:
    feed = Feed()
    feed.at(150)
    (notice,) = feed.at(0, offer_status=OfferStatus.DELISTED)
    assert notice.kind is NoticeKind.UNAVAILABLE and notice.detail == "delisted"
    assert feed.state.phase is Phase.OK  # stock was not evaluated
    assert feed.at(0, offer_status=OfferStatus.DELISTED) == ()
    assert feed.at(150) == ()


def test_a_sharp_drop_is_reported_even_above_t1_when_enabled() -> None:
    feed = Feed(AlertPolicy(sharp_drop_ratio=0.5))
    feed.at(1000)
    (notice,) = feed.at(400)
    assert notice.kind is NoticeKind.SHARP_DROP and notice.detail == "1000→400"
    assert Feed().at(1000) == () and Feed().at(400) == ()


def test_the_available_position_nets_committed_and_in_transit() -> None:
    feed = Feed()
    (notice,) = feed.at(30, committed=25, in_transit=0)
    assert notice.available == 5 and notice.on_hand == 30 and notice.tier is Tier.T3
    # Goods on the way lift the position above T1 (no order needed), not the shelf.
    assert Feed().at(80, committed=25, in_transit=500) == ()
    (shelf_low,) = Feed().at(30, committed=25, in_transit=500)
    assert shelf_low.tier is Tier.T3 and shelf_low.available == 505 and shelf_low.shelf == 5


def test_disabled_levels_never_alert_even_at_zero() -> None:
    feed = Feed(levels=TierLevels.off())
    assert feed.at(0) == () and feed.at(-3) == ()


def test_idempotency_keys_are_unique_per_decision() -> None:
    feed = Feed()
    for qty in (50, 50, 10, 0, 200, 10, 200):
        feed.at(qty, after=20 * MIN)
    keys = [n.idempotency_key for n in feed.notices]
    assert len(keys) == len(set(keys)) >= 5


def test_hysteresis_needs_the_margin_to_improve() -> None:
    firing = replace(AlertState(), phase=Phase.FIRING, tier=Tier.T2)
    assert observed_tier(firing, 61, LEVELS, POLICY) is Tier.T2
    assert observed_tier(firing, 67, LEVELS, POLICY) is Tier.T1
    assert observed_tier(firing, 111, LEVELS, POLICY) is Tier.OK
    assert observed_tier(firing, 15, LEVELS, POLICY) is Tier.T3


# ---- properties over random reading sequences -------------------------------------------------

steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=26 * 60),  # minutes since the previous reading
        st.one_of(st.none(), st.integers(min_value=-5, max_value=160)),  # None: a failed read
    ),
    min_size=1,
    max_size=60,
)
policies = st.builds(
    AlertPolicy,
    dedupe_window=st.sampled_from([timedelta(hours=24), timedelta(hours=2), timedelta(0)]),
    recover_for=st.sampled_from([timedelta(0), timedelta(minutes=30)]),
    recover_margin_ratio=st.sampled_from([0.0, 0.1, 0.3]),
    stale_after_reads=st.integers(min_value=1, max_value=4),
)


def run(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> list[tuple[Reading, AlertState, AlertState, tuple[Notice, ...]]]:
    state, now, trace = AlertState(), T0, []
    for minutes, qty in seq:
        now += timedelta(minutes=minutes)
        r = reading(qty, now)
        new, out = evaluate(state, r, LEVELS, policy, now)
        trace.append((r, state, new, out))
        state = new
    return trace


TIER_NOTICES = {NoticeKind.RAISED, NoticeKind.WORSENED, NoticeKind.REMINDER}


@given(policies, steps)
@settings(max_examples=400)
def test_same_episode_and_tier_notices_are_a_dedupe_window_apart(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    last: dict[tuple[int, Tier], datetime] = {}
    for _, _, _, out in run(policy, seq):
        for n in out:
            if n.kind in TIER_NOTICES:
                key = (n.episode, n.tier)
                assert key not in last or n.at - last[key] >= policy.dedupe_window
                last[key] = n.at


@given(policies, steps)
@settings(max_examples=400)
def test_at_most_one_notice_per_evaluation_and_determinism(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    first = run(policy, seq)
    assert all(len(out) <= 1 for *_, out in first)
    assert first == run(policy, seq)


@given(policies, steps)
@settings(max_examples=400)
def test_resolved_only_follows_an_episode_that_sent_something(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    sent: dict[int, int] = {}
    for _, _, _, out in run(policy, seq):
        for n in out:
            if n.kind in TIER_NOTICES:
                sent[n.episode] = sent.get(n.episode, 0) + 1
            if n.kind is NoticeKind.RESOLVED:
                assert sent.get(n.episode, 0) > 0


acking_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=26 * 60),
        st.integers(min_value=-5, max_value=160),
        st.booleans(),  # the merchant acknowledges the alert after this reading
    ),
    min_size=1,
    max_size=60,
)


@given(policies, acking_steps)
@settings(max_examples=400)
def test_resolved_goes_out_exactly_for_announced_unacknowledged_episodes(
    policy: AlertPolicy, seq: list[tuple[int, int, bool]]
) -> None:
    state, now = AlertState(), T0
    for minutes, qty, ack in seq:
        now += timedelta(minutes=minutes)
        new, out = evaluate(state, reading(qty, now), LEVELS, policy, now)
        ended = state.phase in (Phase.FIRING, Phase.RECOVERING) and new.phase is Phase.OK
        resolved = [n for n in out if n.kind is NoticeKind.RESOLVED]
        announced = state.last_notice_at is not None
        assert bool(resolved) == (ended and announced and not state.acked)
        state = acknowledge(new) if ack and new.phase is not Phase.OK else new


ordering_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=26 * 60),
        st.integers(min_value=-5, max_value=160),  # on hand
        st.sampled_from([0, 0, 30]),  # on order
        st.sampled_from(["", "", "ack", "ordered", "snooze"]),  # what the merchant does after
    ),
    min_size=1,
    max_size=60,
)


@given(policies, ordering_steps)
@settings(max_examples=600)
def test_acknowledgements_resting_on_goods_hold_while_they_come_and_lapse_after(
    policy: AlertPolicy, seq: list[tuple[int, int, int, str]]
) -> None:
    state, now = AlertState(), T0
    for minutes, qty, in_transit, act in seq:
        now += timedelta(minutes=minutes)
        r = reading(qty, now, in_transit=in_transit)
        new, out = evaluate(state, r, LEVELS, policy, now)
        kinds = {n.kind for n in out}
        if state.acked and in_transit > 0 and not state.ack_covered:
            assert NoticeKind.REMINDER not in kinds  # goods on the way: nobody is reminded
        if NoticeKind.REMINDER in kinds and state.acked and in_transit > 0:
            # ... unless rule 3b held it and the goods no longer lift the position above T1
            assert state.ack_covered and (r.available or 0) <= LEVELS.t1
        if NoticeKind.RESOLVED in kinds:
            assert not state.acked  # rule 4 holds with 4b: an acknowledged episode ends quietly
        if NoticeKind.WORSENED in kinds and new.acked:
            # rule 3b: only the shelf worsened; the acknowledged goods come and are enough
            assert state.goods_seen_at is not None and in_transit > 0
            assert (r.available or 0) > LEVELS.t1
        seen = state.goods_seen_at
        still_short = LEVELS.classify_stock(r.available or 0, r.shelf) is not Tier.OK
        if (
            state.phase is Phase.FIRING
            and state.acked
            and seen is not None
            and in_transit == 0
            and still_short
            and new.phase is Phase.FIRING
            and new.tier <= state.tier
            and (state.snoozed_until is None or now >= state.snoozed_until)
            and state.last_notice_at is not None
            and now - state.last_notice_at >= policy.dedupe_window
            and now - seen >= policy.goods_in_grace
        ):
            # ... and never sits quiet once they are in and it is still short
            assert kinds == {NoticeKind.REMINDER} and not new.acked
        if new.acked and in_transit > 0 and new.phase in (Phase.FIRING, Phase.RECOVERING):
            assert new.goods_seen_at == now
        if act and new.phase is not Phase.OK:
            if act == "snooze":
                new = snooze(new, now + timedelta(hours=30))
            else:
                new = acknowledge(new, on_order=act == "ordered")
        state = new


@given(policies, steps)
@settings(max_examples=400)
def test_failed_reads_never_change_the_alert_and_only_raise_stale(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    for r, before, after, out in run(policy, seq):
        if r.is_failed:
            assert (after.phase, after.tier, after.episode) == (
                before.phase,
                before.tier,
                before.episode,
            )
            assert all(n.kind is NoticeKind.STALE for n in out)


@given(policies, steps)
@settings(max_examples=400)
def test_a_worse_tier_is_announced_in_the_evaluation_that_confirms_it(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    for r, before, _, out in run(policy, seq):
        if r.is_failed or before.phase not in (Phase.FIRING, Phase.RECOVERING):
            continue
        observed = LEVELS.classify(r.available or 0)
        if observed > before.tier:
            last = before.notified_at(observed)
            if last is None or r.observed_at - last >= policy.dedupe_window:
                assert [(n.kind, n.tier) for n in out] == [(NoticeKind.WORSENED, observed)]


@given(policies, steps)
@settings(max_examples=400)
def test_feeding_the_same_reading_again_emits_nothing(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    for r, _, after, _ in run(policy, seq):
        assert evaluate(after, r, LEVELS, policy, r.observed_at) == (after, ())


@given(
    st.integers(min_value=61, max_value=99),
    st.lists(st.integers(min_value=1, max_value=14), min_size=1, max_size=5),
)
def test_a_t1_blip_shorter_than_its_debounce_is_never_announced(qty: int, gaps: list[int]) -> None:
    if sum(gaps) >= 30:
        return
    feed = Feed()
    feed.at(150)
    for gap in gaps:
        feed.at(qty, after=timedelta(minutes=gap))
    feed.at(150, after=MIN)
    assert feed.notices == []


@given(policies, steps)
@settings(max_examples=300)
def test_after_recovery_a_new_breach_is_a_new_episode(
    policy: AlertPolicy, seq: list[tuple[int, int | None]]
) -> None:
    episodes = [
        n.episode for *_, out in run(policy, seq) for n in out if n.kind is NoticeKind.RAISED
    ]
    assert episodes == sorted(set(episodes))


def test_recheck_at_covers_pending_and_recovering_only() -> None:
    policy = AlertPolicy(recover_for=timedelta(minutes=45))
    feed = Feed(policy)
    assert recheck_at(feed.state, policy) is None
    feed.at(10)
    assert recheck_at(feed.state, policy) is None  # firing
    feed.at(200)
    assert feed.state.phase is Phase.RECOVERING
    assert recheck_at(feed.state, policy) == feed.now + timedelta(minutes=45)


# ---- the batched evaluator's shortcut: stays_ok / ok_step must be exactly evaluate ------------

calm_steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=26 * 60),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=400)),
        st.integers(min_value=0, max_value=30),  # committed
        st.integers(min_value=0, max_value=80),  # in transit
        st.sampled_from([OfferStatus.ACTIVE] * 6 + [OfferStatus.DELISTED]),
        st.sampled_from(["none", "ack", "snooze"]),  # what the merchant does after it
    ),
    min_size=1,
    max_size=40,
)
shortcut_policies = st.builds(
    AlertPolicy,
    dedupe_window=st.sampled_from([timedelta(hours=24), timedelta(0)]),
    recover_for=st.sampled_from([timedelta(0), timedelta(minutes=30)]),
    recover_margin_ratio=st.sampled_from([0.0, 0.1]),
    stale_after_reads=st.integers(min_value=1, max_value=4),
    sharp_drop_ratio=st.sampled_from([0.0, 0.5, 0.3]),  # 1 - 0.3 is not exact in binary
)


@given(shortcut_policies, calm_steps, st.booleans())
@settings(max_examples=400)
def test_stays_ok_holds_exactly_when_evaluate_would_only_store_the_reading(
    policy: AlertPolicy, seq: list[tuple[int, int | None, int, int, OfferStatus, str]], off: bool
) -> None:
    levels = TierLevels.off() if off else LEVELS
    state, now = AlertState(), T0
    for minutes, qty, committed, transit, status, act in seq:
        now += timedelta(minutes=minutes)
        if qty is None:
            r = reading(None, now)
        else:
            r = reading(qty, now, committed=committed, in_transit=transit, offer_status=status)
        new, out = evaluate(state, r, levels, policy, now)
        if not r.is_failed and r.offer_status is OfferStatus.ACTIVE:
            assert r.available is not None and r.shelf is not None
            quiet = stays_ok(
                state.phase, state.tier, state.last_available, r.available, r.shelf, levels, policy
            )
            if quiet:
                assert (new, out) == (ok_step(state, r), ())
                if state.failed_reads == 0 and state.offer_status is OfferStatus.ACTIVE:
                    # What the database's shortcut writes: the plain columns, not the JSON.
                    assert new == replace(
                        state,
                        last_reading_at=r.observed_at,
                        last_available=r.available,
                        version=state.version + 1,
                    )
            elif state.phase is Phase.OK and state.tier is Tier.OK:
                # The only other way out of a calm state: a tier, or a reported sharp drop.
                assert out or new.phase is not Phase.OK
        state = new
        if act == "ack":
            state = acknowledge(state)
        elif act == "snooze":
            state = snooze(state, now + 2 * HOUR)


def test_stays_ok_for_calm_stock_and_not_for_a_tier_a_drop_or_a_breach() -> None:
    calm = AlertState()
    drop = AlertPolicy(sharp_drop_ratio=0.5)
    assert stays_ok(Phase.OK, Tier.OK, None, 150, 150, LEVELS, POLICY)
    assert not stays_ok(Phase.OK, Tier.OK, None, 100, 150, LEVELS, POLICY)  # T1 position
    assert not stays_ok(Phase.OK, Tier.OK, None, 150, 20, LEVELS, POLICY)  # T3 shelf
    assert not stays_ok(Phase.OK, Tier.OK, 400, 150, 150, LEVELS, drop)  # fell by over half
    assert stays_ok(Phase.OK, Tier.OK, 250, 150, 150, LEVELS, drop)
    assert not stays_ok(Phase.PENDING, Tier.T1, None, 150, 150, LEVELS, POLICY)
    r = reading(150, T0)
    assert evaluate(calm, r, LEVELS, POLICY, T0) == (ok_step(calm, r), ())


tier_levels = st.tuples(
    st.integers(min_value=1, max_value=200),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
).map(lambda t: TierLevels(t[0] + t[1] + t[2], t[0] + t[1], t[0]))


@given(tier_levels, st.integers(-10, 600), st.integers(-10, 600), st.booleans())
def test_calm_bounds_say_exactly_when_stock_shows_no_tier(
    levels: TierLevels, position: int, shelf: int, off: bool
) -> None:
    # The database compares the numbers; classify_stock is the rule they must reproduce.
    if off:
        levels = TierLevels.off()
    bounds = calm_bounds(levels)
    calm = bounds is None or (position > bounds[0] and shelf > bounds[1])
    assert calm == (levels.classify_stock(position, shelf) is Tier.OK)


def test_drop_factor_is_the_share_evaluate_compares_with() -> None:
    assert drop_factor(AlertPolicy(sharp_drop_ratio=0.0)) is None
    assert drop_factor(AlertPolicy(sharp_drop_ratio=0.5)) == 0.5
    factor = drop_factor(AlertPolicy(sharp_drop_ratio=0.3))
    assert factor == 1 - 0.3  # the very float evaluate computes, not 0.7
    policy = AlertPolicy(sharp_drop_ratio=0.3)
    last = AlertState(last_available=100)
    _, out = evaluate(last, reading(70, T0), LEVELS_LOW, policy, T0)
    assert [n.kind for n in out] == [NoticeKind.SHARP_DROP]  # 70 <= 100 × (1 - 0.3)
    assert not stays_ok(Phase.OK, Tier.OK, 100, 70, 70, LEVELS_LOW, policy)
    assert stays_ok(Phase.OK, Tier.OK, 100, 71, 71, LEVELS_LOW, policy)


LEVELS_LOW = TierLevels(t1=10, t2=5, t3=2)


def test_the_state_machines_copy_is_dataclasses_replace() -> None:
    # alerting._with skips replace's field walk; it must build the same state for every field.
    from dataclasses import fields

    from stockwatch.core.alerting import _with

    assert all(f.init for f in fields(AlertState)) and not hasattr(AlertState, "__post_init__")
    full = AlertState(
        phase=Phase.FIRING,
        tier=Tier.T2,
        since=T0,
        breach_readings=2,
        episode=3,
        notified=((Tier.T1, T0),),
        last_notice_at=T0 + MIN,
        last_notice_available=7,
        notice_seq=4,
        acked=True,
        goods_seen_at=T0 + 2 * HOUR,
        ack_covered=True,
        snoozed_until=T0 + HOUR,
        failed_reads=1,
        first_failed_at=T0,
        stale_notified=True,
        offer_status=OfferStatus.DELISTED,
        last_reading_at=T0 + HOUR,
        last_available=5,
        version=9,
    )
    assert all(getattr(full, f.name) != getattr(AlertState(), f.name) for f in fields(full))
    for f in fields(AlertState):
        for start in (AlertState(), full):
            value = getattr(AlertState() if start is full else full, f.name)
            assert _with(start, **{f.name: value}) == replace(start, **{f.name: value})
    assert _with(full) == full and _with(full) is not full


def test_goods_booked_in_but_not_yet_on_the_shelf_count_in_the_position() -> None:
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    booked = OnOrder(arriving=80)  # received, the shop's stock not yet updated
    state, out = evaluate(AlertState(), reading(40, at), LEVELS, POLICY, at, booked)
    assert out == () and state.phase is Phase.OK and state.last_available == 120
    state, out = evaluate(AlertState(), reading(40, at), LEVELS, POLICY, at, OnOrder())
    assert state.phase is not Phase.OK and state.last_available == 40  # without it: a breach


def test_goods_booked_in_do_not_renew_the_grace_of_an_acknowledgement_on_goods_on_order() -> None:
    # Found in review: booked-in units kept marking the acknowledgement as resting on goods on
    # order, so it lapsed a day after the receipt rather than goods_in_grace.
    feed = Feed()
    feed.at(90)
    feed.at(90, after=HOUR)
    state = acknowledge(feed.state)
    at = feed.now + HOUR
    state, _ = evaluate(state, reading(40, at), LEVELS, POLICY, at, OnOrder(arriving=50))
    assert state.acked and state.goods_seen_at is None  # 90: still short, still acknowledged
    state, _ = evaluate(
        state, reading(40, at + HOUR), LEVELS, POLICY, at + HOUR, OnOrder(50, at + 48 * HOUR)
    )
    assert state.goods_seen_at == at + HOUR  # goods on order do


def test_a_notice_says_which_of_its_goods_are_booked_in_rather_than_on_the_way() -> None:
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    due = at + 48 * HOUR
    _, out = evaluate(AlertState(), reading(0, at), LEVELS, POLICY, at, OnOrder(30, due, 100))
    [empty] = out  # an empty shelf is OUT, whatever is coming
    assert (empty.tier, empty.on_order, empty.booked_in, empty.due) == (Tier.OUT, 130, 100, due)
    _, out = evaluate(AlertState(), reading(0, at), LEVELS, POLICY, at, OnOrder(30, due))
    assert out[0].booked_in == 0
