"""The SQL TokenStore over ``oauth_tokens`` on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from stockwatch.adapters.db.tables import oauth_tokens
from stockwatch.adapters.db.token_store import SqlTokenStore
from stockwatch.ports import OAuthTokens

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_it_keeps_one_row_per_app_key_with_aware_expiries(engine: Engine) -> None:
    store = SqlTokenStore(engine)
    assert store.load("5555555") is None
    first = OAuthTokens(
        "5555555",
        "acc-lemon-1",
        T0 + timedelta(hours=10),
        "ref-lemon-1",
        T0 + timedelta(days=180),
        member_id="b2b-2209000000002",
        ali_id="2209000000002",
    )
    store.save(first)
    store.save(
        replace(first, access_token="acc-lemon-2", access_expires_at=T0 + timedelta(hours=20))
    )
    store.save(replace(first, app_key="7777777"))
    loaded = store.load("5555555")
    assert loaded is not None
    assert loaded.access_token == "acc-lemon-2"
    assert loaded.access_expires_at == T0 + timedelta(hours=20)
    assert loaded.refresh_expires_at.tzinfo is not None
    assert loaded.member_id == "b2b-2209000000002"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(oauth_tokens)).scalar() == 2
