"""SQL storage of users, browser sessions, API tokens and the audit log (ports.AccountStore)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from stockwatch.adapters.db.tables import api_tokens, audit_log, users, web_sessions
from stockwatch.core.audit import AuditAction
from stockwatch.ports import AuditEntry, SessionRecord, TokenRecord, UserRecord

LOGIN_ACTIONS = (AuditAction.LOGIN.value, AuditAction.LOGIN_FAILED.value)


class SqlAccountStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, password_hash: str, role: str, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(users).values(
                        name=name, password_hash=password_hash, role=role, created_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def user(self, name: str) -> UserRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return (
            None
            if row is None
            else UserRecord(row.name, row.role, row.created_at, row.password_hash)
        )

    def users(self) -> list[UserRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).all()
        return [UserRecord(r.name, r.role, r.created_at) for r in rows]

    def any_user(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(select(exists().select_from(users))).scalar())

    def update_user(
        self, name: str, *, password_hash: str | None = None, role: str | None = None
    ) -> bool:
        values: dict[str, str] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if role is not None:
            values["role"] = role
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.name == name).values(**values))
        return done.rowcount > 0

    def remove_user(self, name: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(delete(users).where(users.c.name == name))
        return done.rowcount > 0

    # -- sessions --------------------------------------------------------------------------

    def add_session(
        self,
        token_hash: str,
        user_name: str | None,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(web_sessions).values(
                    token_hash=token_hash,
                    user_name=user_name,
                    csrf_token=csrf_token,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    def session(self, token_hash: str, now: datetime) -> SessionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(web_sessions).where(
                    web_sessions.c.token_hash == token_hash, web_sessions.c.expires_at > now
                )
            ).first()
        return None if row is None else SessionRecord(row.user_name, row.csrf_token, row.expires_at)

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))

    def end_sessions_of(self, user_name: str) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(delete(web_sessions).where(web_sessions.c.user_name == user_name))
        return done.rowcount

    def purge_sessions(self, now: datetime) -> int:
        with self.engine.begin() as conn:
            done = conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
        return done.rowcount

    # -- API tokens ------------------------------------------------------------------------

    def add_token(self, name: str, token_hash: str, scope: str, now: datetime) -> bool:
        try:
            with self.engine.begin() as conn:
                # A revoked token's name may be used again: the old row gives way.
                conn.execute(
                    delete(api_tokens).where(
                        api_tokens.c.name == name, api_tokens.c.revoked_at.is_not(None)
                    )
                )
                conn.execute(
                    insert(api_tokens).values(
                        name=name, token_hash=token_hash, scope=scope, created_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_tokens).where(api_tokens.c.token_hash == token_hash)
            ).first()
        return None if row is None else _token(row)

    def tokens(self) -> list[TokenRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(api_tokens).order_by(api_tokens.c.name)).all()
        return [_token(r) for r in rows]

    def touch_token(self, token_id: int, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
            )

    def revoke_token(self, name: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return done.rowcount > 0

    # -- audit -----------------------------------------------------------------------------

    def record(self, at: datetime, actor: str, action: str, target: str, detail: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(audit_log).values(
                    at=at, actor=actor, action=action, target=target, detail=detail
                )
            )

    def audit(
        self, limit: int, actor: str | None = None, since: datetime | None = None
    ) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.detail) for r in rows]

    def login_entries(self, user: str, peer: str, since: datetime) -> list[AuditEntry]:
        # The ix_audit_log_at index narrows this to the window (minutes of entries).
        query = (
            select(audit_log)
            .where(
                audit_log.c.at >= since,
                audit_log.c.action.in_(LOGIN_ACTIONS),
                or_(func.lower(audit_log.c.actor) == user.lower(), audit_log.c.target == peer),
            )
            .order_by(audit_log.c.at, audit_log.c.id)
            .limit(10_000)  # a blocked attempt is not recorded: a window holds a few per key
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.detail) for r in rows]

    def count_audit(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar() or 0)


def _token(row: object) -> TokenRecord:
    r = row  # a Row: attribute access by column name
    return TokenRecord(
        r.id,  # type: ignore[attr-defined]
        r.name,  # type: ignore[attr-defined]
        r.scope,  # type: ignore[attr-defined]
        r.created_at,  # type: ignore[attr-defined]
        r.last_used_at,  # type: ignore[attr-defined]
        r.revoked_at,  # type: ignore[attr-defined]
    )
