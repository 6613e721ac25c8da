"""Accounts for the CLI and the daemon: the SQL account store with argon2 password hashing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.accounts import SqlAccountStore
from stockwatch.adapters.passwords import Argon2Hasher
from stockwatch.service.accounts import Accounts


def build_accounts(
    engine: Engine, session_hours: float = 12.0, *, fast_hash: bool = False
) -> Accounts:
    """``fast_hash`` lowers argon2's cost: tests only (a login then takes ~1 ms, not ~50 ms)."""
    return Accounts(
        SqlAccountStore(engine),
        Argon2Hasher(fast=fast_hash),
        session_lifetime=timedelta(hours=session_hours),
    )
