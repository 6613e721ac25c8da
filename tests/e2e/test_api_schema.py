"""schemathesis over the daemon's API, with and without credentials (#11 finding 7).

Every operation in /openapi.json is called with generated data; a 5xx, an undocumented status
code, a wrong content type or a body that does not match its schema fails the test. Kept to a
few examples per operation so that the whole run stays near a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tables import metadata
from stockwatch.core.accounts import Role, Scope
from stockwatch.core.model import AlertPolicy, Item, ItemKey, Reading, ReadingSource, TierLevels
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.entrypoints.web.security import WebSecurity
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.polling import Evaluator
from stockwatch.service.status import status_report
from stockwatch.wiring.accounts import build_accounts
from tests.conftest import sqlite_engine_at
from tests.servers import serve

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def daemon_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    path: Path = tmp_path_factory.mktemp("schema") / "stockwatch.sqlite3"
    engine = sqlite_engine_at(path)
    metadata.create_all(engine)
    store = SqlStore(engine)
    store.sync_items([Item("SNOW-GLOBE"), Item("TEE/XL")], {}, NOW)
    evaluator = Evaluator(
        store, BroadcastRouter(), AlertPolicy(), lambda k, i: TierLevels(50, 30, 10)
    )
    for key in (ItemKey("SNOW-GLOBE"), ItemKey("TEE/XL")):
        store.add_readings([Reading(key, NOW, ReadingSource.POLL, 2)], NOW)
        evaluator.evaluate_item(key, NOW)
    accounts = build_accounts(engine, fast_hash=True)
    accounts.add_user("owner", "owner-password", Role.ADMIN, NOW)
    token = accounts.add_token("schemathesis", Scope.WRITE, NOW)
    deps = WebDeps(
        store=store,
        clock=lambda: NOW,
        push_secret="pushSecret1",
        status=lambda: status_report(store, {"default": None}, NOW, AlertPolicy().stale_after),
        webhook_token="hook-token-1",
        security=WebSecurity(accounts=accounts, clock=lambda: NOW),
    )
    with serve(create_app(deps)) as url:
        yield url, token
    engine.dispose()


def _fuzz(url: str, token: str, headers: dict[str, str]) -> int:
    """Run every operation of the live schema; return how many operations were tried.

    The loop is ours (schemathesis' pytest plugin does not load under pytest 9): one
    hypothesis run of a few examples per operation.
    """
    loaded = schemathesis.openapi.from_url(
        f"{url}/openapi.json", headers={"Authorization": f"Bearer {token}"}
    )
    tried = 0
    for result in loaded.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FAST
        def run(case: Any) -> None:
            response = case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)
            if not headers and not case.path.startswith(PUBLIC):
                assert response.status_code == 401, (case.method, case.formatted_path)

        run()
        tried += 1
    return tried


PUBLIC = ("/healthz", "/metrics", "/hooks/")
FAST = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def test_with_a_write_token(daemon_api: tuple[str, str]) -> None:
    url, token = daemon_api
    headers = {"Authorization": f"Bearer {token}", "X-Stockwatch-Token": "hook-token-1"}
    assert _fuzz(url, token, headers) >= 15


def test_without_credentials(daemon_api: tuple[str, str]) -> None:
    url, token = daemon_api
    assert _fuzz(url, token, {}) >= 15


def test_each_route_documents_only_the_statuses_it_can_answer(
    daemon_api: tuple[str, str],
) -> None:
    url, token = daemon_api
    doc = httpx.get(f"{url}/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()

    def codes(path: str, method: str) -> set[str]:
        return set(doc["paths"][path][method]["responses"])

    assert codes("/api/status", "get") == {"200", "400", "401"}  # no 404/409/403 of its own
    assert codes("/api/alerts/{item}/ack", "post") == {"200", "400", "401", "403", "404"}
    assert "409" not in codes("/api/tasks/{task_id}/close", "post")
    assert "409" in codes("/api/outbox/{entry_id}/retry", "post")
    assert "404" not in codes("/api/items", "get") and "404" in codes("/api/items/{key}", "get")
    assert "422" not in codes("/api/tasks/export", "get")  # format is free text, checked by 400
    reads = [(p, m) for p, item in doc["paths"].items() for m in item if m == "get"]
    assert reads and all("403" not in codes(p, m) for p, m in reads)  # everyone may read
