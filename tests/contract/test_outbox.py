"""The SQL outbox on SQLite and PostgreSQL: idempotent enqueue, conditional claims, outcomes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from stockwatch.adapters.db.outbox import SqlOutbox, message_to_json
from stockwatch.adapters.db.tables import deliveries
from stockwatch.core.model import Tier
from stockwatch.ports import OutboxStatus
from stockwatch.service.routing import Route, RouterSettings, RouteTable
from tests.notify_factories import T0, item, notice, routed


def test_enqueueing_inside_a_transaction_ignores_keys_already_queued(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    rows = routed(3)
    with engine.begin() as conn:
        assert outbox.enqueue(conn, rows, T0) == 3
    with engine.begin() as conn:
        assert outbox.enqueue(conn, rows, T0) == 0  # replaying the evaluation adds nothing
    assert outbox.counts() == {"pending": 3}


def test_a_rolled_back_alert_transaction_leaves_no_outbox_rows(engine: Engine) -> None:
    outbox = SqlOutbox(engine)

    class Boom(Exception):
        pass

    try:
        with engine.begin() as conn:
            outbox.enqueue(conn, routed(2), T0)
            raise Boom
    except Boom:
        pass
    assert outbox.counts() == {}


def test_two_claims_never_share_a_row(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(5), T0)
    first = outbox.claim_due(T0, 3, 60)
    second = outbox.claim_due(T0, 10, 60)
    assert len(first) == 3 and len(second) == 2
    assert not {e.id for e in first} & {e.id for e in second}
    assert outbox.claim_due(T0, 10, 60) == []


def test_rows_are_not_claimed_before_they_are_due(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(1), T0 + timedelta(minutes=5))
    assert outbox.claim_due(T0, 10, 60) == []
    assert len(outbox.claim_due(T0 + timedelta(minutes=5), 10, 60)) == 1


def test_outcomes_are_recorded_with_the_provider_answer(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(3), T0)
    a, b, c = outbox.claim_due(T0, 10, 60)
    outbox.mark_sent(a, T0, '{"errcode":0}')
    outbox.mark_retry(b, T0, T0 + timedelta(seconds=4), "busy", '{"errcode":-1}')
    outbox.mark_failed(c, T0, "permanent: sign not match", '{"errcode":310000}')
    sent, retry, dead = outbox.get(a.id), outbox.get(b.id), outbox.get(c.id)
    assert sent and sent.status is OutboxStatus.SENT and sent.provider_answer == '{"errcode":0}'
    assert retry and retry.status is OutboxStatus.PENDING and retry.attempts == 1
    assert retry.next_attempt_at == T0 + timedelta(seconds=4)
    assert dead and dead.status is OutboxStatus.FAILED and "310000" in dead.provider_answer
    assert [e.id for e in outbox.list(OutboxStatus.FAILED)] == [c.id]


def test_a_dead_letter_can_be_requeued_once(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(1), T0)
    [entry] = outbox.claim_due(T0, 10, 60)
    outbox.mark_failed(entry, T0, "permanent: token is not exist")
    assert outbox.requeue(entry.id, T0)
    assert not outbox.requeue(entry.id, T0)  # already pending
    [again] = outbox.claim_due(T0, 10, 60)
    assert again.id == entry.id and again.attempts == 0


def test_claims_of_a_dead_worker_return_after_the_lease(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(2), T0)
    claimed = outbox.claim_due(T0, 10, 30)
    assert outbox.release_stale_claims(T0 + timedelta(seconds=10), 30) == 0
    assert outbox.release_stale_claims(T0 + timedelta(seconds=31), 30) == 2
    again = outbox.claim_due(T0 + timedelta(seconds=31), 10, 30)
    assert {e.id for e in again} == {e.id for e in claimed}
    assert all(e.stale_releases == 1 for e in again)


def test_a_late_outcome_from_a_released_claim_does_not_clobber_a_sent_row(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(1), T0)
    [entry] = outbox.claim_due(T0, 10, 30)
    outbox.mark_sent(entry, T0, "ok")
    outbox.mark_retry(entry, T0, T0, "late failure")  # only rows in 'sending' change
    row = outbox.get(entry.id)
    assert row and row.status is OutboxStatus.SENT


def test_postgres_claims_skip_rows_another_worker_has_locked(pg_engine: Engine) -> None:
    outbox = SqlOutbox(pg_engine)
    outbox.add(routed(3), T0)
    first = min(e.id for e in outbox.list())
    with pg_engine.connect() as other:  # another worker, mid-claim, holding row ``first``
        other.execute(
            select(deliveries.c.id).where(deliveries.c.id == first).with_for_update()
        ).all()
        with ThreadPoolExecutor(1) as pool:
            claim = pool.submit(outbox.claim_due, T0, 10, 60)
            try:
                claimed = claim.result(timeout=5)  # main waited here for the other worker
            finally:
                other.rollback()
        assert sorted(e.id for e in claimed) == [first + 1, first + 2]


def test_every_change_of_a_claimed_row_needs_its_claim_token(engine: Engine) -> None:
    outbox = SqlOutbox(engine)
    outbox.add(routed(1), T0)
    [stale] = outbox.claim_due(T0, 10, 30)
    assert outbox.release_stale_claims(T0 + timedelta(seconds=31), 30) == 1
    [live] = outbox.claim_due(T0 + timedelta(seconds=31), 10, 30)
    assert live.claim_token != stale.claim_token
    late = T0 + timedelta(seconds=40)
    assert not outbox.mark_failed(stale, late, "late answer of an expired claim")
    assert not outbox.mark_retry(stale, late, late, "late")
    assert not outbox.defer(stale, late)
    assert not outbox.part_sent(stale, 1, late, "late")
    assert outbox.get(live.id) == live  # untouched: still the live claim
    assert outbox.mark_sent(live, late, "ok")
    row = outbox.get(live.id)
    assert row and row.status is OutboxStatus.SENT and row.claim_token is None


def test_a_message_is_stored_as_the_json_of_its_fields_whatever_its_text(engine: Engine) -> None:
    # The rows travel as one JSON parameter and a payload shared by channels is encoded once
    # and spliced into each message: the stored text must still be json.dumps of the fields.
    rows = routed(2, title='a "payload": {} \\ "b"') + routed(1, channel="d", title="[x](y)")
    later = T0 + timedelta(hours=3)
    rows[1] = (rows[1][0], replace(rows[1][1], not_before=later))  # quiet hours
    both = RouteTable(RouterSettings((Route("r", ("e", "f")),)))
    rows += both.route(notice("SKU-Z", Tier.T3), item("SKU-Z", '"payload": {"x": 1}'))
    assert rows[-1][1].payload is rows[-2][1].payload  # one payload, two channels
    outbox = SqlOutbox(engine)
    with engine.begin() as conn:
        assert outbox.enqueue(conn, rows, T0) == 5
        rows_stored = conn.exec_driver_sql(
            "SELECT idempotency_key, CAST(message AS TEXT) FROM deliveries"
        ).all()
    stored = {str(key): str(text) for key, text in rows_stored}
    for _, message in rows:
        assert stored[message.idempotency_key] == json.dumps(message_to_json(message))
    now = [e.message for e in outbox.due(T0, 10)]
    assert now == [rows[0][1], *(m for _, m in rows[2:])]  # the quiet one waits its hours
    assert sorted(e.message.idempotency_key for e in outbox.due(later, 10)) == sorted(
        m.idempotency_key for _, m in rows
    )
