"""The daemon's HTTP API through ``create_app``: push receiver, order webhook, alerts, events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from stockwatch.adapters.alibaba1688_push import push_signature
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.core.model import AlertPolicy, Item, ItemKey, Reading, ReadingSource, TierLevels
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from stockwatch.service.status import status_report
from tests.conftest import sqlite_engine_at
from tests.servers import serve

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
SECRET = "demoSecret123"
GLOBE = ItemKey("SNOW-GLOBE")


@pytest.fixture
def store(sqlite_engine: Engine) -> SqlStore:
    store = SqlStore(sqlite_engine)
    store.sync_items([Item("SNOW-GLOBE"), Item("TIN-ROBOT")], {}, NOW)
    return store


@pytest.fixture
def wakes() -> list[str]:
    return []


@pytest.fixture
def client(store: SqlStore, wakes: list[str]) -> Iterator[httpx.Client]:
    deps = WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret=SECRET,
        status=lambda: status_report(store, {"default": None}, NOW, AlertPolicy().stale_after),
        on_push=lambda: wakes.append("push"),
        on_recheck=lambda: wakes.append("recheck"),
        webhook_token="s3cret",
    )
    with serve(create_app(deps)) as url, httpx.Client(base_url=url) as c:
        yield c


def _signed(envelope: dict[str, object], secret: str = SECRET) -> dict[str, str]:
    text = json.dumps(envelope, separators=(",", ":"))
    return {"message": text, "_aop_signature": push_signature({"message": text}, secret)}


ENVELOPE = {"msgId": 42, "type": "PRODUCT_PRODUCT_INVENTORY_CHANGE", "gmtBorn": 1735689600456}


def test_a_signed_push_is_stored_before_it_is_acknowledged(
    client: httpx.Client, store: SqlStore, wakes: list[str]
) -> None:
    answer = client.post("/1688/push", data=_signed(ENVELOPE))
    assert answer.status_code == 200
    assert answer.json() == {"ok": True, "msgId": "42", "duplicate": False}
    [stored] = store.push_messages()
    assert (stored.msg_id, stored.status, stored.payload["type"]) == (
        "42",
        "received",
        "PRODUCT_PRODUCT_INVENTORY_CHANGE",
    )
    assert wakes == ["push"]


def test_a_redelivered_push_is_acknowledged_and_stored_once(
    client: httpx.Client, store: SqlStore, wakes: list[str]
) -> None:
    client.post("/1688/push", data=_signed(ENVELOPE))
    again = client.post("/1688/push", data=_signed(ENVELOPE))
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(store.push_messages()) == 1
    assert wakes == ["push"]


def test_a_forged_push_gets_401_a_log_line_and_changes_nothing(
    client: httpx.Client, store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    forged = _signed(ENVELOPE, secret="guessed")
    answer = client.post("/1688/push", data=forged)
    assert answer.status_code == 401
    assert "bad _aop_signature" in caplog.text
    assert store.push_messages() == []


def test_a_signed_but_malformed_push_gets_400(client: httpx.Client, store: SqlStore) -> None:
    answer = client.post("/1688/push", data=_signed({"type": "X"}))
    assert answer.status_code == 400
    assert store.push_messages() == []


def test_the_order_webhook_asks_for_an_immediate_re_read(
    client: httpx.Client, store: SqlStore, wakes: list[str]
) -> None:
    headers = {"X-Stockwatch-Token": "s3cret"}
    answer = client.post("/hooks/order-created", json={"items": ["SNOW-GLOBE"]}, headers=headers)
    assert answer.json() == {"ok": True, "rechecking": 1}
    assert store.due_items(NOW) == [GLOBE]
    assert wakes == ["recheck"]
    assert client.post("/hooks/order-created", json={}, headers=headers).json()["rechecking"] == 2


def test_the_order_webhook_refuses_a_wrong_token_and_bad_bodies(
    client: httpx.Client, store: SqlStore
) -> None:
    assert client.post("/hooks/order-created", json={}).status_code == 401
    headers = {"X-Stockwatch-Token": "s3cret"}
    assert (
        client.post("/hooks/order-created", json={"items": [1]}, headers=headers).status_code == 400
    )
    # A body that is not a JSON object re-read every item, as `{}` asks (found verifying #11).
    for body in ("null", "[]", '"SNOW-GLOBE"', "3", "[[[[]]]]"):
        answer = client.post(
            "/hooks/order-created",
            content=body,
            headers=headers | {"Content-Type": "application/json"},
        )
        assert answer.status_code == 400, body
    assert store.due_items(NOW) == []


def _raise_alert(store: SqlStore) -> None:
    evaluator = Evaluator(
        store, BroadcastRouter(), AlertPolicy(), lambda k, i: TierLevels(50, 30, 10)
    )
    store.add_readings([Reading(GLOBE, NOW, ReadingSource.POLL, 2)], NOW)
    evaluator.evaluate_item(GLOBE, NOW)


def test_alerts_can_be_listed_acknowledged_and_snoozed(
    client: httpx.Client, store: SqlStore
) -> None:
    _raise_alert(store)
    [alert] = client.get("/api/alerts").json()
    assert (alert["item"], alert["tier"], alert["phase"], alert["acked"]) == (
        "SNOW-GLOBE",
        "T3",
        "firing",
        False,
    )
    assert client.post("/api/alerts/SNOW-GLOBE/ack", params={"actor": "小王"}).json()["acked"]
    snoozed = client.post("/api/alerts/SNOW-GLOBE/snooze", params={"hours": 2}).json()
    assert snoozed["snoozed_until"] == "2026-11-24T03:00:00+00:00"
    kinds = [(e["kind"], e["actor"]) for e in client.get("/api/events").json()]
    # The actor is who is logged in ("local" in the open single-user mode), never a parameter.
    assert kinds == [("snooze", "local"), ("ack", "local"), ("raised", None)]
    assert client.post("/api/alerts/TIN-ROBOT/ack").status_code == 404


def test_events_filter_by_item_and_kind(client: httpx.Client, store: SqlStore) -> None:
    _raise_alert(store)
    assert [e["kind"] for e in client.get("/api/events", params={"kind": "raised"}).json()] == [
        "raised"
    ]
    assert client.get("/api/events", params={"item": "TIN-ROBOT"}).json() == []


def test_status_and_health(client: httpx.Client, store: SqlStore) -> None:
    _raise_alert(store)
    assert client.get("/healthz").json() == {"status": "ok"}
    status = client.get("/api/status").json()
    assert status["outbox"]["pending"] == 1
    assert [a["item"] for a in status["open_alerts"]] == ["SNOW-GLOBE"]
    assert [s["item"] for s in status["stale"]] == ["TIN-ROBOT"]  # never read


def test_an_oversized_push_is_refused_with_413_before_it_is_read_whole(
    client: httpx.Client, store: SqlStore
) -> None:
    # Finding 4: a 500 MB unsigned POST was read into memory before the signature check.
    big = b"message=" + b"x" * (3 << 20)
    assert client.post("/1688/push", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must hold while streaming
        for _ in range(64):
            yield b"x" * (64 << 10)

    assert client.post("/1688/push", content=chunks()).status_code == 413
    assert store.push_messages() == []


def _signed_text(text: str) -> dict[str, str]:
    return {"message": text, "_aop_signature": push_signature({"message": text}, SECRET)}


def test_hostile_pushes_get_a_4xx_never_a_5xx(client: httpx.Client, store: SqlStore) -> None:
    # Finding 5: 100,000-deep JSON was a RecursionError (500); a lone surrogate in msgId could
    # not be stored and answered 503, so 1688 would have re-sent it for ever.
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/1688/push", data=_signed_text(deep)).status_code == 400
    surrogate = '{"msgId":"\\ud800","type":"PRODUCT_PRODUCT_INVENTORY_CHANGE","gmtBorn":1}'
    assert client.post("/1688/push", data=_signed_text(surrogate)).status_code == 400
    assert store.push_messages() == []


def test_hostile_order_webhooks_get_a_4xx_never_a_5xx(
    client: httpx.Client, store: SqlStore
) -> None:
    # Finding 5: a lone surrogate in a SKU and 500,000 SKUs in one call both answered 500.
    headers = {"X-Stockwatch-Token": "s3cret", "Content-Type": "application/json"}
    lone = b'{"items": ["SNOW-GLOBE", "\\ud800"]}'
    assert client.post("/hooks/order-created", content=lone, headers=headers).status_code == 400
    many = json.dumps({"items": [f"S{i}" for i in range(500_000)]}).encode()
    assert client.post("/hooks/order-created", content=many, headers=headers).status_code == 413
    deep = b"[" * 100_000 + b"]" * 100_000
    assert client.post("/hooks/order-created", content=deep, headers=headers).status_code == 400
    assert store.due_items(NOW) == []


def test_the_order_webhook_answers_503_while_the_database_is_unwritable(tmp_path: Path) -> None:
    # Finding 5: a read-only database made the webhook answer 500 with a traceback.
    path = tmp_path / "stockwatch.sqlite3"
    writable = SqlStore(sqlite_engine_at(path))
    metadata.create_all(writable.engine)
    writable.sync_items([Item("SNOW-GLOBE")], {}, NOW)
    writable.engine.dispose()
    read_only = SqlStore(create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true"))
    deps = WebDeps(
        store=read_only,
        clock=lambda: NOW,
        push_secret=SECRET,
        status=lambda: status_report(read_only, {}, NOW, AlertPolicy().stale_after),
    )
    with serve(create_app(deps)) as url, httpx.Client(base_url=url) as c:
        answer = c.post("/hooks/order-created", json={"items": ["SNOW-GLOBE"]})
    read_only.engine.dispose()
    assert answer.status_code == 503
    assert "database" in answer.json()["detail"]
