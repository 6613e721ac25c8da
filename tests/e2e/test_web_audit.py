"""Every dashboard and API action lands in the audit log under its name, with who did it.

The shop is ``test_dashboard``'s (seeded by the real services), served behind the guard with
an account store: a user who logs in and a write token for the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore
from stockwatch.core.accounts import Role, Scope
from stockwatch.core.model import Basis, TierLevels
from stockwatch.entrypoints.web.app import create_app
from stockwatch.entrypoints.web.security import WebSecurity
from stockwatch.ports import NewThreshold, ThresholdStatus
from stockwatch.service.accounts import Accounts
from stockwatch.wiring.accounts import build_accounts
from tests.e2e.test_dashboard import DRAGON, DUCK, GLOBE, LAMP, Clock, _deps, shop
from tests.servers import serve

__all__ = ["shop"]
PASSWORD = "correct horse battery"
Site = tuple[str, Accounts, str]


@pytest.fixture
def site(shop: tuple[SqlStore, Clock], sqlite_engine: Engine) -> Iterator[Site]:
    store, clock = shop
    accounts = build_accounts(sqlite_engine, fast_hash=True)
    accounts.add_user("mei", PASSWORD, Role.OPERATOR, clock())
    token = accounts.add_token("erp", Scope.WRITE, clock())
    held = TierLevels(200, 120, 40, 16.0, Basis("fixed"))
    SqlThresholdStore(sqlite_engine).save(
        [NewThreshold(k, held, ThresholdStatus.REVIEW, "T2 ×4") for k in (GLOBE, DUCK)], clock()
    )
    deps = replace(_deps(store, clock), security=WebSecurity(accounts=accounts, clock=clock))
    with serve(create_app(deps)) as url:
        yield url, accounts, token


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_item_page_and_api_actions_are_recorded_by_name_with_who_and_what(site: Site) -> None:
    url, accounts, token = site
    with httpx.Client(base_url=url) as c:
        assert c.post("/login", data={"user": "mei", "password": PASSWORD}).status_code == 303
        csrf = _csrf(c.get(f"/items/{DRAGON}").text)

        def post(path: str, **data: str) -> None:
            answer = c.post(path, data={"csrf_token": csrf, **data})
            assert answer.status_code == 303, (path, answer.text)

        post(f"/items/{DRAGON}/ack")
        post(f"/items/{GLOBE}/snooze", hours="2")
        post(f"/items/{LAMP}/level", t2="300")
        post(f"/items/{LAMP}/level/clear")
        held = re.search(rf'value="({GLOBE}:\d+)"', c.get("/thresholds/review").text)
        assert held is not None
        post("/thresholds/review", action="approve", pick=held.group(1))
        post("/thresholds/review", action="reject", every="true")
        post("/channels/wecom/enable")
        dead = c.get("/api/outbox", params={"status": "failed"}).json()
        post(f"/outbox/{dead[0]['id']}/retry")
        tasks = {t["sku"]: t["id"] for t in c.get("/api/tasks").json()}
        post(f"/tasks/{tasks[DUCK]}/close")
        post(f"/tasks/{tasks[DRAGON]}/order", quantity="40")
        order = c.get("/api/orders").json()[0]
        post(f"/orders/{order['id']}/receive")
        assert c.post("/logout", data={"csrf_token": csrf}).status_code == 303
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=bearer) as api:
        assert api.post(f"/api/alerts/{GLOBE}/ack").status_code == 200
        placed = api.post("/api/orders", json={"item": LAMP, "quantity": 5})
        assert placed.status_code == 201
        assert api.post(f"/api/orders/{placed.json()['id']}/cancel").status_code == 200
        entries = api.get("/api/audit", params={"limit": 100}).json()
    done = [(e["actor"], e["action"], e["target"]) for e in reversed(entries)]
    assert done == [
        ("mei", "login", "127.0.0.1"),
        ("mei", "acknowledge", DRAGON),
        ("mei", "snooze", GLOBE),
        ("mei", "set_level", LAMP),
        ("mei", "clear_level", LAMP),
        ("mei", "approve", GLOBE),
        ("mei", "reject", DUCK),
        ("mei", "channel_enabled", "wecom"),
        ("mei", "outbox_retry", f"outbox #{dead[0]['id']}"),
        ("mei", "task_closed", f"task #{tasks[DUCK]}"),
        ("mei", "order_placed", f"order #{order['id']} {DRAGON}"),
        ("mei", "order_received", f"order #{order['id']} {DRAGON}"),
        ("mei", "logout", "mei"),
        ("token:erp", "acknowledge", GLOBE),
        ("token:erp", "order_placed", f"order #{placed.json()['id']} {LAMP}"),
        ("token:erp", "order_cancelled", f"order #{placed.json()['id']} {LAMP}"),
    ]
    details = {e["action"]: e["detail"] for e in entries}
    assert details["snooze"] == "hours=2" and details["set_level"] == "T1/T2/T3=-/300/-"
    assert details["order_placed"].startswith("quantity=40 ")
    assert f"task #{tasks[DRAGON]}" in details["order_placed"]
    assert all(csrf not in e["detail"] for e in entries)
    # Nothing was recorded under the HTTP route or as "dashboard".
    assert not [e for e in entries if e["action"] in ("unnamed", "POST")]
    assert accounts.audit(100, actor="dashboard") == []
    # Since a time (it was ignored): the entries at or after it, a bad one named. (The site's
    # clock stands still: every entry has the same time.)
    at = datetime.fromisoformat(entries[0]["at"])
    with httpx.Client(base_url=url, headers=bearer) as api:
        same = api.get("/api/audit", params={"since": at.isoformat()}).json()
        assert len(same) == len(entries)
        later = (at + timedelta(seconds=1)).isoformat()
        assert api.get("/api/audit", params={"since": later}).json() == []
        bad = api.get("/api/audit", params={"since": "yesterday"})
        assert bad.status_code == 400 and "since" in bad.json()["detail"]


def test_the_json_api_actions_are_named_too(site: Site) -> None:
    url, accounts, token = site
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=bearer) as api:
        assert api.post(f"/api/alerts/{DRAGON}/snooze", params={"hours": 3}).status_code == 200
        dead = api.get("/api/outbox", params={"status": "failed"}).json()
        assert api.post(f"/api/outbox/{dead[0]['id']}/retry").status_code == 200
        tasks = {t["sku"]: t["id"] for t in api.get("/api/tasks").json()}
        assert api.post(f"/api/tasks/{tasks[DUCK]}/close").status_code == 200
        placed = api.post(f"/api/tasks/{tasks[GLOBE]}/order", json={"quantity": 9})
        assert placed.status_code == 201
        order = placed.json()["id"]
        assert api.post(f"/api/orders/{order}/receive", json={"quantity": 4}).status_code == 200
        # A refused action (a 4xx) is not recorded: nothing happened.
        assert api.post(f"/api/tasks/{tasks[DUCK]}/close").status_code == 404
    done = [(e.actor, e.action, e.target, e.detail) for e in reversed(accounts.audit(100))]
    assert done == [
        ("token:erp", "snooze", DRAGON, "hours=3"),
        ("token:erp", "outbox_retry", f"outbox #{dead[0]['id']}", ""),
        ("token:erp", "task_closed", f"task #{tasks[DUCK]}", ""),
        (
            "token:erp",
            "order_placed",
            f"order #{order} {GLOBE}",
            f"quantity=9 supplier=义乌龙窑 task #{tasks[GLOBE]}",
        ),
        ("token:erp", "order_received", f"order #{order} {GLOBE}", "quantity=4"),
    ]
