"""The delivery outbox in SQL (SQLite and PostgreSQL): rows written with the alert, then claimed.

Claiming stamps a fresh claim token on rows still ``pending``: on PostgreSQL the rows are picked
with ``FOR UPDATE SKIP LOCKED`` (workers never queue behind each other's claims), on SQLite by a
conditional UPDATE inside ``BEGIN IMMEDIATE``. Every later change of a claimed row (sent, retry,
deferral, dead letter, a digest part delivered) matches on that token, not on the status: a
worker whose lease expired and whose rows were swept and claimed again cannot overwrite the live
claim. A worker that dies leaves rows in ``sending`` that :meth:`SqlOutbox.release_stale_claims`
hands back after the lease. Enqueueing is an insert that ignores an idempotency key already
present, so replaying an evaluation adds nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from stockwatch.adapters.db.batch import event_time, rows_param
from stockwatch.adapters.db.tables import deliveries
from stockwatch.ports import OutboxEntry, OutboxStatus, Outcome, OutgoingMessage


def message_to_json(
    message: OutgoingMessage, payload: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The message as JSON-ready data (``payload`` in place of the message's own, if given)."""
    return {
        "title": message.title,
        "text": message.text,
        "markdown": message.markdown,
        "idempotency_key": message.idempotency_key,
        "tier": message.tier,
        "kind": message.kind,
        "payload": dict(message.payload if payload is None else payload),
        "mention": message.mention,
        "not_before": message.not_before.isoformat() if message.not_before else None,
    }


def message_from_json(data: Mapping[str, Any]) -> OutgoingMessage:
    not_before = data.get("not_before")
    return OutgoingMessage(
        title=str(data["title"]),
        text=str(data["text"]),
        markdown=str(data["markdown"]),
        idempotency_key=str(data["idempotency_key"]),
        tier=str(data["tier"]),
        kind=str(data["kind"]),
        payload=dict(data.get("payload") or {}),
        mention=bool(data.get("mention", False)),
        not_before=datetime.fromisoformat(not_before) if not_before else None,
    )


def message_json(message: OutgoingMessage, payload: str) -> str:
    """``message_to_json`` as the JSON column writes it, ``payload`` given already encoded (a
    payload shared by the channels of one route is encoded once)."""
    text = json.dumps(message_to_json(message, {}))
    # The payload is the only mapping in the message, and the only "{}" in its JSON text
    # outside of a string would be that one: splice the encoded payload in there.
    head, sep, tail = text.partition('"payload": {}')
    assert sep, text
    return f'{head}"payload": {payload}{tail}'


_DELIVERY_COLUMNS = (
    "idempotency_key, event_id, channel, message, status, attempts, next_attempt_at,"
    " created_at, last_error, provider_answer, stale_releases, parts_sent"
)
_PG_ENQUEUE = f"""
INSERT INTO deliveries ({_DELIVERY_COLUMNS})
SELECT v->>0, (v->>1)::bigint, v->>2, (v->>3)::json, 'pending', 0, (v->>4)::timestamptz,
       (v->>5)::timestamptz, '', '', 0, 0
FROM jsonb_array_elements(%(rows)s::jsonb) WITH ORDINALITY AS g(v, n)
ORDER BY g.n
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""
_SQLITE_ENQUEUE = f"""
INSERT INTO deliveries ({_DELIVERY_COLUMNS})
SELECT value->>0, value->>1, value->>2, value->>3, 'pending', 0, value->>4, value->>5,
       '', '', 0, 0
FROM json_each(?) WHERE true ORDER BY key
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""


class SqlOutbox:
    """The ``Outbox`` port on SQLAlchemy Core; ``enqueue`` joins the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing ---------------------------------------------------------------------------

    def enqueue(
        self,
        conn: Connection,
        entries: Iterable[tuple[str, OutgoingMessage]],
        now: datetime,
        event_id: int | None = None,
    ) -> int:
        """Insert outbox rows in the caller's transaction; return how many were new."""
        return self.enqueue_many(conn, [(event_id, list(entries))], now)

    def enqueue_many(
        self,
        conn: Connection,
        batches: Sequence[tuple[int | None, Sequence[tuple[str, OutgoingMessage]]]],
        now: datetime,
    ) -> int:
        """``enqueue`` for the notices of many events at once (the batched poll cycle).

        One statement of fixed text with the rows as one JSON parameter (see
        ``batch.add_events``); a message's payload, shared by the channels of one route, is
        encoded once.
        """
        encoded: dict[int, str] = {}
        at = event_time(conn, now)
        rows = []
        for event_id, entries in batches:
            for channel, message in entries:
                payload = encoded.get(id(message.payload))
                if payload is None:
                    payload = encoded[id(message.payload)] = json.dumps(dict(message.payload))
                rows.append(
                    [
                        message.idempotency_key,
                        event_id,
                        channel,
                        message_json(message, payload),
                        at
                        if message.not_before is None or message.not_before <= now
                        else event_time(conn, message.not_before),
                        at,
                    ]
                )
        if not rows:
            return 0
        sql = _PG_ENQUEUE if conn.dialect.name == "postgresql" else _SQLITE_ENQUEUE
        # RETURNING lists only the rows that were new, which tells portably how many were.
        return len(conn.exec_driver_sql(sql, rows_param(conn, rows)).all())

    def add(self, entries: Iterable[tuple[str, OutgoingMessage]], now: datetime) -> int:
        """Enqueue in a transaction of its own (tests, ``notify test``, digests)."""
        with self.engine.begin() as conn:
            return self.enqueue(conn, entries, now)

    # -- the Outbox port -------------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries)
                .where(
                    deliveries.c.status == OutboxStatus.PENDING.value,
                    deliveries.c.next_attempt_at <= now,
                )
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                .limit(limit)
            ).all()
        return [_entry(row._mapping) for row in rows]

    def claim(
        self, ids: Sequence[int], now: datetime, batch_key: str | None = None
    ) -> list[OutboxEntry]:
        return self.claim_many([(ids, batch_key)], now)[0]

    def claim_many(
        self, requests: Sequence[tuple[Sequence[int], str | None]], now: datetime
    ) -> list[list[OutboxEntry]]:
        """Claim several messages' rows in one transaction (a group commit of small claims).

        Each request gets those of its rows still pending and due, stamped with its batch key;
        all share one fresh claim token.
        """
        wanted = [i for ids, _ in requests for i in ids]
        if not wanted:
            return [[] for _ in requests]
        token = uuid.uuid4().hex
        query = select(deliveries.c.id).where(
            deliveries.c.id.in_(wanted),
            deliveries.c.status == OutboxStatus.PENDING.value,
            deliveries.c.next_attempt_at <= now,
        )
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Lock what we take, skip what another worker is taking: no waiting, no overlap.
                query = query.with_for_update(skip_locked=True)
            free = {row.id for row in conn.execute(query)}
            for ids, batch_key in requests:
                mine = [i for i in ids if i in free]
                if mine:
                    conn.execute(
                        update(deliveries)
                        .where(
                            deliveries.c.id.in_(mine),
                            deliveries.c.status == OutboxStatus.PENDING.value,
                        )
                        .values(
                            status=OutboxStatus.SENDING.value,
                            claimed_at=now,
                            claim_token=token,
                            batch_key=batch_key,
                        )
                    )
            rows = conn.execute(select(deliveries).where(deliveries.c.claim_token == token)).all()
        by_id = {int(row.id): _entry(row._mapping) for row in rows}
        return [[by_id[i] for i in ids if i in by_id] for ids, _ in requests]

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutboxEntry]:
        return self._claim(now, None, None, limit=limit)

    def _claim(
        self, now: datetime, batch_key: str | None, among: Any, *, limit: int | None
    ) -> list[OutboxEntry]:
        token = uuid.uuid4().hex
        query = select(deliveries.c.id).where(
            deliveries.c.status == OutboxStatus.PENDING.value,
            deliveries.c.next_attempt_at <= now,
        )
        if among is not None:
            query = query.where(among)
        query = query.order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Lock what we take, skip what another worker is taking: no waiting, no overlap.
                query = query.with_for_update(skip_locked=True)
            ids = [row.id for row in conn.execute(query)]
            if not ids:
                return []
            # Conditional even after the locked select: the status check is the claim on SQLite.
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id.in_(ids),
                    deliveries.c.status == OutboxStatus.PENDING.value,
                )
                .values(
                    status=OutboxStatus.SENDING.value,
                    claimed_at=now,
                    claim_token=token,
                    batch_key=batch_key,
                )
            )
            rows = conn.execute(
                select(deliveries)
                .where(deliveries.c.claim_token == token)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            ).all()
        return [_entry(row._mapping) for row in rows]

    def record(self, outcomes: Sequence[Outcome]) -> int:
        changed = 0
        with self.engine.begin() as conn:
            for o in outcomes:
                values: dict[str, Any] = {
                    "status": o.status.value,
                    "provider_answer": o.answer[:4000],
                    "last_error": o.error[:4000],
                    "claim_token": None,
                }
                if o.attempt:
                    values["attempts"] = deliveries.c.attempts + 1
                if o.status is OutboxStatus.SENT:
                    values.update(sent_at=o.at, batch_key=o.batch_key, failing_since=None)
                elif o.status is OutboxStatus.PENDING:
                    values["next_attempt_at"] = o.next_attempt_at or o.at
                    values["batch_key"] = None  # re-planned freely next time
                    if o.attempt:  # a failure: the retry window starts at the first one
                        values["failing_since"] = func.coalesce(deliveries.c.failing_since, o.at)
                changed += _change_claimed(conn, list(o.entry_ids), o.claim_token, values)
        return changed

    def part_sent(self, entry: OutboxEntry, parts_sent: int, at: datetime, answer: str) -> bool:
        with self.engine.begin() as conn:
            values = {"parts_sent": parts_sent, "provider_answer": answer[:4000]}
            return bool(_change_claimed(conn, [entry.id], entry.claim_token, values))

    def postpone(self, ids: Sequence[int], next_attempt_at: datetime) -> int:
        if not ids:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id.in_(list(ids)),
                    deliveries.c.status == OutboxStatus.PENDING.value,
                    deliveries.c.next_attempt_at < next_attempt_at,
                )
                .values(next_attempt_at=next_attempt_at)
            )
        return int(result.rowcount)

    # -- one claimed row at a time (tests, simple consumers) ------------------------------

    def mark_sent(
        self, entry: OutboxEntry, now: datetime, answer: str, batch_key: str | None = None
    ) -> bool:
        outcome = Outcome(
            (entry.id,),
            OutboxStatus.SENT,
            now,
            answer,
            batch_key=batch_key,
            claim_token=entry.claim_token,
        )
        return bool(self.record([outcome]))

    def mark_retry(
        self,
        entry: OutboxEntry,
        now: datetime,
        next_attempt_at: datetime,
        error: str,
        answer: str = "",
    ) -> bool:
        outcome = Outcome(
            (entry.id,),
            OutboxStatus.PENDING,
            now,
            answer,
            error,
            next_attempt_at,
            claim_token=entry.claim_token,
        )
        return bool(self.record([outcome]))

    def mark_failed(self, entry: OutboxEntry, now: datetime, error: str, answer: str = "") -> bool:
        outcome = Outcome(
            (entry.id,), OutboxStatus.FAILED, now, answer, error, claim_token=entry.claim_token
        )
        return bool(self.record([outcome]))

    def defer(self, entry: OutboxEntry, next_attempt_at: datetime) -> bool:
        """Give a claimed row back untouched (no attempt used)."""
        outcome = Outcome(
            (entry.id,),
            OutboxStatus.PENDING,
            next_attempt_at,
            next_attempt_at=next_attempt_at,
            claim_token=entry.claim_token,
            attempt=False,
        )
        return bool(self.record([outcome]))

    def requeue(self, entry_id: int, now: datetime) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == entry_id,
                    deliveries.c.status.in_([OutboxStatus.FAILED.value, OutboxStatus.SENT.value]),
                )
                .values(
                    status=OutboxStatus.PENDING.value,
                    next_attempt_at=now,
                    attempts=0,
                    claim_token=None,
                    batch_key=None,
                    parts_sent=0,
                    failing_since=None,
                )
            )
        return bool(result.rowcount)

    def release_stale_claims(self, now: datetime, older_than_seconds: float) -> int:
        cutoff = now - timedelta(seconds=older_than_seconds)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.status == OutboxStatus.SENDING.value,
                    deliveries.c.claimed_at <= cutoff,
                )
                .values(
                    status=OutboxStatus.PENDING.value,
                    next_attempt_at=now,
                    claim_token=None,
                    stale_releases=deliveries.c.stale_releases + 1,
                )
            )
        return int(result.rowcount)

    # -- reading (CLI, dashboard, tests) ---------------------------------------------------

    def get(self, entry_id: int) -> OutboxEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.id == entry_id)).first()
        return _entry(row._mapping) if row else None

    def list(
        self, status: OutboxStatus | None = None, limit: int = 100, channel: str | None = None
    ) -> list[OutboxEntry]:
        query = select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(deliveries.c.status == status.value)
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.engine.connect() as conn:
            return [_entry(row._mapping) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            ).all()
        return {str(status): int(n) for status, n in rows}

    def batch_keys(self, ids: Sequence[int]) -> dict[int, str | None]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.id, deliveries.c.batch_key).where(deliveries.c.id.in_(ids))
            ).all()
        return {int(i): b for i, b in rows}


def _change_claimed(
    conn: Connection, ids: list[int], token: str | None, values: dict[str, Any]
) -> int:
    """Change rows only while they still hold ``token``: a swept and re-claimed row is not ours."""
    if token is None or not ids:
        return 0
    result = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id.in_(ids),
            deliveries.c.claim_token == token,
            deliveries.c.status == OutboxStatus.SENDING.value,
        )
        .values(**values)
    )
    return int(result.rowcount)


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=int(row["id"]),
        idempotency_key=str(row["idempotency_key"]),
        channel=str(row["channel"]),
        message=message_from_json(row["message"]),
        status=OutboxStatus(row["status"]),
        attempts=int(row["attempts"]),
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        last_error=str(row["last_error"] or ""),
        provider_answer=str(row["provider_answer"] or ""),
        stale_releases=int(row["stale_releases"] or 0),
        claim_token=row["claim_token"],
        batch_key=row["batch_key"],
        parts_sent=int(row["parts_sent"] or 0),
        failing_since=row["failing_since"],
    )
