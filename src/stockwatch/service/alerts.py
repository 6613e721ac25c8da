"""Acknowledge and snooze alerts: a version-checked state change plus one line in the log."""

from __future__ import annotations

from datetime import datetime

from stockwatch.core.alerting import acknowledge, snooze
from stockwatch.core.model import AlertState, ItemKey, Phase
from stockwatch.ports import AlertEvent, Store


class AlertNotFound(LookupError):
    """The item has no open alert to acknowledge or snooze."""


def _change(
    store: Store,
    key: ItemKey,
    kind: str,
    actor: str,
    now: datetime,
    until: datetime | None = None,
    detail: str = "",
    on_order: bool = False,
) -> AlertState:
    with store.transaction() as tx:
        state = tx.alert_state(key)
        if state.version == 0 or state.phase is Phase.OK:
            raise AlertNotFound(f"{key}: no open alert")
        new = acknowledge(state, on_order) if kind == "ack" else snooze(state, until or now)
        if not tx.save_alert_state(key, new, state.version, now):
            raise RuntimeError(f"{key}: alert changed meanwhile; try again")
        detail = f"until {until.isoformat()}" if until else detail
        tx.add_event(
            AlertEvent(
                idempotency_key=f"{key}|e{state.episode}|{kind}|{now.isoformat()}",
                item_key=key,
                kind=kind,
                tier=new.tier.name,
                previous_tier=state.tier.name,
                at=now,
                episode=state.episode,
                available=state.last_available,
                detail=detail,
                actor=actor,
                payload={"phase": new.phase.value, "until": until.isoformat() if until else None},
            )
        )
        tx.commit()
    return new


def acknowledge_alert(store: Store, key: ItemKey, actor: str, now: datetime) -> AlertState:
    """Stop reminders for the item's current episode (escalations still go out)."""
    return _change(store, key, "ack", actor, now)


def acknowledge_for_order(
    store: Store, key: ItemKey, order_id: int | None, actor: str, now: datetime
) -> AlertState | None:
    """The merchant ordered the item: acknowledge its open alert, resting on the goods on order
    (core.alerting rule 4b). Reminders stop while the goods come, the episode ends without a
    "recovered" that would only restate the order, and the acknowledgement lapses with a
    reminder if the goods come in and the item is still short. None when no alert is open (or
    it kept changing: the order stands either way)."""
    for _ in range(3):
        try:
            detail = f"order #{order_id}"
            return _change(store, key, "ack", actor, now, detail=detail, on_order=True)
        except AlertNotFound:
            return None
        except RuntimeError:
            continue  # a poll changed the state meanwhile: read it again
    return None


def snooze_alert(
    store: Store, key: ItemKey, until: datetime, actor: str, now: datetime
) -> AlertState:
    """Hold back raises and reminders until ``until``."""
    if until <= now:
        raise ValueError("snooze end must be in the future")
    return _change(store, key, "snooze", actor, now, until)
