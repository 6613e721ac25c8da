"""The JSON token file: private, atomic, and clear about damage."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stockwatch.adapters.alibaba1688.token_file import JsonTokenStore, TokenFileError
from stockwatch.ports import OAuthTokens

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def tokens(access: str = "acc-velvet-1") -> OAuthTokens:
    return OAuthTokens(
        "5555555",
        access,
        T0 + timedelta(hours=10),
        "ref-velvet-1",
        T0 + timedelta(days=180),
        member_id="b2b-2209000000002",
        ali_id="2209000000002",
        resource_owner="jinhua_cup_factory",
    )


def test_it_round_trips_tokens_in_a_private_file(tmp_path: Path) -> None:
    store = JsonTokenStore(tmp_path / "data" / "1688-tokens.json")
    assert store.load("5555555") is None
    store.save(tokens())
    assert store.load("5555555") == tokens()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.save(tokens("acc-velvet-2"))
    loaded = store.load("5555555")
    assert loaded is not None and loaded.access_token == "acc-velvet-2"
    assert [p.name for p in store.path.parent.iterdir()] == ["1688-tokens.json"]


def test_a_damaged_file_names_itself_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "1688-tokens.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenFileError, match=r"1688-tokens\.json"):
        JsonTokenStore(path).load("5555555")
    path.write_text('{"5555555": {"access_token": "x"}}', encoding="utf-8")
    with pytest.raises(TokenFileError, match="auth login"):
        JsonTokenStore(path).load("5555555")
