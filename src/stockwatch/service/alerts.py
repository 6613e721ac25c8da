"""Acknowledge and snooze alerts: a version-checked state change plus one line in the log."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from stockwatch.core.alerting import acknowledge, snooze
from stockwatch.core.model import AlertState, ItemKey, Phase, Tier
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.ports import AlertEvent, PurchaseOrderStore, Store, Transaction

log = logging.getLogger(__name__)


class AlertNotFound(LookupError):
    """The item has no open alert to acknowledge or snooze."""


class AlertNotAnnounced(AlertNotFound):
    """The item's breach is still waiting out its debounce: nothing has been sent to
    acknowledge (it would be dropped when the breach fires or clears); a snooze holds it."""


def _change(
    store: Store,
    key: ItemKey,
    kind: str,
    actor: str,
    now: datetime,
    until: datetime | None = None,
) -> AlertState:
    with store.transaction() as tx:
        state = tx.alert_state(key)
        if state.version == 0 or state.phase is Phase.OK:
            raise AlertNotFound(f"{key}: no open alert")
        if kind == "ack" and state.phase is Phase.PENDING:
            raise AlertNotAnnounced(
                f"{key}: its alert has not been sent yet (the breach is waiting out its "
                "debounce): nothing to acknowledge; snooze it to hold it back"
            )
        new = acknowledge(state) if kind == "ack" else snooze(state, until or now)
        if not tx.save_alert_state(key, new, state.version, now):
            raise RuntimeError(f"{key}: alert changed meanwhile; try again")
        detail = f"until {until.isoformat()}" if until else ""
        extra: dict[str, object] = {"until": until.isoformat() if until else None}
        tx.add_event(_event(key, kind, state, new, now, actor, now.isoformat(), detail, extra))
        tx.commit()
    return new


def _event(
    key: ItemKey,
    kind: str,
    before: AlertState,
    after: AlertState,
    now: datetime,
    actor: str,
    unique: str,
    detail: str,
    extra: dict[str, object],
) -> AlertEvent:
    """The log line of a person's change to an alert; ``unique`` tells repeats of it apart."""
    return AlertEvent(
        idempotency_key=f"{key}|e{before.episode}|{kind}|{unique}",
        item_key=key,
        kind=kind,
        tier=after.tier.name,
        previous_tier=before.tier.name,
        at=now,
        episode=before.episode,
        available=before.last_available,
        detail=detail,
        actor=actor,
        payload={"phase": after.phase.value, **extra},
    )


def acknowledge_alert(store: Store, key: ItemKey, actor: str, now: datetime) -> AlertState:
    """Stop reminders for the item's current episode (escalations still go out)."""
    return _change(store, key, "ack", actor, now)


def acknowledge_for_order(
    store: Store, key: ItemKey, order_id: int | None, quantity: int, actor: str, now: datetime
) -> AlertState | None:
    """The merchant ordered ``quantity`` of the item: acknowledge its announced alert, resting
    on the goods on order (core.alerting rule 4b). Reminders stop while the goods come, the
    episode ends without a "recovered" that would only restate the order, and the
    acknowledgement lapses with a reminder if they come in and it is still short.

    Nothing is acknowledged (None) when no alert has been announced (a pending breach may clear
    with the order, or fires and asks), when the orders on record do not lift the position
    above T1 (too small: reminders go on), when the order was received or cancelled meanwhile,
    when polls kept changing the state, or when the order's acknowledgement is no longer due
    (another process did it: ``settle_order_acks``); the order stands either way. The order
    is stored before this runs, its acknowledgement marked due; the same transaction that
    acknowledges, or finds nothing to acknowledge, clears the mark, so a crash between the two
    leaves the mark for ``settle_order_acks``."""
    for _ in range(3):
        with store.transaction() as tx:
            orders = tx.open_orders(key)
            if order_id is not None:
                if not tx.take_order_ack(order_id):
                    return None  # done already (a retry racing the daemon's settling)
                if order_id not in {o.id for o in orders}:
                    tx.commit()  # received or cancelled meanwhile: nothing on order to rest on
                    return None
            state = tx.alert_state(key)
            if state.version == 0 or not state.phase.announced:
                tx.commit()  # nothing to act on: the mark is cleared
                return None
            levels = tx.active_levels(key)
            position = _position_now(tx, key, state, quantity, orders)
            if (
                levels is not None
                and position is not None
                and levels.classify(position) is not Tier.OK  # at or below T1 (levels on)
            ):
                tx.commit()
                return None  # too small to rest on, even with the orders on record
            new = acknowledge(state, on_order=True)
            if not tx.save_alert_state(key, new, state.version, now):
                continue  # a poll changed the state meanwhile: read it again (mark kept)
            unique, detail = f"order:{order_id}", f"order #{order_id}"
            extra: dict[str, object] = {"order": order_id}
            tx.add_event(_event(key, "ack", state, new, now, actor, unique, detail, extra))
            tx.commit()
            return new
    log.warning(
        "%s: order #%s placed; its alert kept changing and is not acknowledged yet",
        key,
        order_id,
    )
    return None


def settle_order_acks(store: Store, orders: PurchaseOrderStore, now: datetime) -> int:
    """Finish the acknowledgements that orders left due: a process stopped between storing an
    order and acting on its alert (the daemon runs this on start and every minute or so). An
    order closed meanwhile acknowledges nothing; one that fails is logged and left due, and
    the rest go on. Return how many acknowledged an alert."""
    acknowledged = 0
    for order, actor in orders.awaiting_ack():
        if order.id is None:
            continue
        try:
            new = acknowledge_for_order(store, order.key, order.id, order.open_quantity, actor, now)
        except Exception:
            log.exception("order #%s for %s: acting on its alert failed", order.id, order.key)
            continue
        acknowledged += new is not None
    return acknowledged


def _position_now(
    tx: Transaction,
    key: ItemKey,
    state: AlertState,
    quantity: int,
    orders: Sequence[PurchaseOrder],
) -> int | None:
    """The item's position with the orders on record now: the shelf of the reading the state
    last judged (the newest good one; a failed read changes nothing) plus what is on order
    (the open orders, or that reading's own in-transit figure when larger, as ``evaluate``
    counts it). Not the last position plus this order: a poll may have counted it already (an
    imported order, a hand order linked to one). Without such a reading (thinned away), the
    last position plus this order."""
    at = state.last_reading_at
    judged = tx.last_good_reading(key, at) if at is not None else None
    if judged is not None and judged.shelf is not None:
        on_order = sum(o.open_quantity for o in orders)  # the item's open orders
        return judged.shelf + max(on_order, judged.in_transit)
    return None if state.last_available is None else state.last_available + quantity


def snooze_alert(
    store: Store, key: ItemKey, until: datetime, actor: str, now: datetime
) -> AlertState:
    """Hold back raises and reminders until ``until``."""
    if until <= now:
        raise ValueError("snooze end must be in the future")
    return _change(store, key, "snooze", actor, now, until)
