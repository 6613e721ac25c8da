"""SqlAccountStore and the Accounts service on SQLite and PostgreSQL: secrets rest hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from stockwatch.adapters.db.tables import api_tokens, users, web_sessions
from stockwatch.core.accounts import Role, Scope, Via
from stockwatch.service.accounts import AccountError
from stockwatch.wiring.accounts import build_accounts

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_users_sessions_tokens_and_audit_round_trip(engine: Engine) -> None:
    accounts = build_accounts(engine, 1.0, fast_hash=True)
    assert not accounts.login_required()
    accounts.add_user("mei", "s3cret-pass", Role.OPERATOR, NOW)
    assert accounts.login_required()
    with pytest.raises(AccountError, match="already exists"):
        accounts.add_user("mei", "other-pass", Role.ADMIN, NOW)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored

    assert accounts.login("mei", "wrong-pass", NOW) is None
    assert accounts.login("nobody", "s3cret-pass", NOW) is None
    session = accounts.login("mei", "s3cret-pass", NOW)
    assert session is not None and session.principal.via is Via.SESSION
    with engine.connect() as conn:
        [row] = conn.execute(select(web_sessions)).all()
    assert row.token_hash != session.cookie and session.cookie not in row.token_hash
    live = accounts.session(session.cookie, NOW + timedelta(minutes=59), open_mode=False)
    assert live is not None and live.csrf_token == session.csrf_token
    assert accounts.session(session.cookie, NOW + timedelta(hours=1), open_mode=False) is None
    accounts.logout(session.cookie)
    assert accounts.session(session.cookie, NOW, open_mode=False) is None

    raw = accounts.add_token("erp", Scope.WRITE, NOW)
    with engine.connect() as conn:
        assert raw not in str(conn.execute(select(api_tokens)).all())
    who = accounts.token(raw, NOW)
    assert who is not None and who.role is Role.OPERATOR
    accounts.revoke_token("erp", NOW)
    assert accounts.token(raw, NOW) is None
    again = accounts.add_token("erp", Scope.READ, NOW)  # a revoked name can be reused
    assert accounts.token(again, NOW) is not None

    accounts.record("mei", "POST", "/items/A/ack", NOW, "")
    accounts.record("bo", "POST", "/tasks/1/close", NOW + timedelta(seconds=1), "")
    assert [e.actor for e in accounts.audit(10)] == ["bo", "mei"]
    assert [e.actor for e in accounts.audit(10, actor="mei")] == ["mei"]


def test_open_mode_sessions_stop_counting_once_login_is_required(engine: Engine) -> None:
    accounts = build_accounts(engine, fast_hash=True)
    opened = accounts.open_session(NOW)
    assert accounts.session(opened.cookie, NOW, open_mode=True) is not None
    assert accounts.session(opened.cookie, NOW, open_mode=False) is None
