"""Acknowledge and snooze (service.alerts) on SQLite and PostgreSQL: a state change and one
line in the log, or a clear refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.core.model import ItemKey, Phase
from stockwatch.service.alerts import (
    AlertNotAnnounced,
    AlertNotFound,
    acknowledge_alert,
    snooze_alert,
)
from tests.alert_setup import open_alert
from tests.notify_factories import T0

KEY = ItemKey("BW-500-BK")


def test_an_announced_alert_is_acknowledged_and_logged(engine: Engine) -> None:
    open_alert(engine, KEY, T0)
    state = acknowledge_alert(SqlStore(engine), KEY, "小王", T0)
    assert state.acked
    [ack] = SqlStore(engine).events(KEY, ["ack"])
    assert (ack.actor, ack.episode) == ("小王", state.episode)


def test_a_pending_breach_cannot_be_acknowledged_but_can_be_snoozed(engine: Engine) -> None:
    # Regression: the acknowledgement was taken and logged, then dropped when the breach
    # fired (RAISED starts the episode unacknowledged) or cleared: the merchant was told
    # nothing and reminded all the same.
    open_alert(engine, KEY, T0, phase=Phase.PENDING)
    store = SqlStore(engine)
    with pytest.raises(AlertNotAnnounced, match="has not been sent yet"):
        acknowledge_alert(store, KEY, "小王", T0)
    assert store.events(KEY, ["ack"]) == []
    with store.transaction() as tx:
        assert not tx.alert_state(KEY).acked
    snoozed = snooze_alert(store, KEY, T0 + timedelta(hours=4), "小王", T0)
    assert snoozed.snoozed_until == T0 + timedelta(hours=4)


def test_an_item_without_an_alert_has_nothing_to_acknowledge(engine: Engine) -> None:
    with pytest.raises(AlertNotFound, match="no open alert"):
        acknowledge_alert(SqlStore(engine), KEY, "小王", T0)
