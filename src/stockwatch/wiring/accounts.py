"""Accounts for the CLI and the daemon: the SQL account store with argon2 password hashing,
and the audit entry a shell command writes for what it did."""

from __future__ import annotations

import getpass
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from stockwatch.adapters.db.accounts import SqlAccountStore
from stockwatch.adapters.passwords import Argon2Hasher
from stockwatch.core.audit import AuditAction, AuditNote, cli_actor
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


log = logging.getLogger("stockwatch.audit")


def os_user() -> str | None:
    """The OS account running this command (None when the system cannot tell)."""
    try:
        return getpass.getuser()
    except Exception:  # no $USER/$LOGNAME and no passwd entry (a bare container)
        return None


def record_cli_action(
    engine: Engine, action: AuditAction, target: object, detail: str = ""
) -> None:
    """Audit what a shell command did, as ``cli:<OS user>``.

    The action is done when this runs; a failed audit write is logged, not turned into an
    error that would make the user repeat a command that worked."""
    note = AuditNote(action, str(target)[:2000], detail)
    try:
        SqlAccountStore(engine).record(
            datetime.now(UTC), cli_actor(os_user()), note.action.value, note.target, note.detail
        )
    except Exception:
        log.exception("audit entry not written: %s %s", note.action.value, note.target)
