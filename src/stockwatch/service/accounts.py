"""Accounts use cases: users and passwords, browser sessions, API tokens, the audit trail.

Secrets never rest in clear: passwords go through the ``PasswordHasher`` (argon2 in
production); session cookies and API tokens are random 256-bit values stored as their SHA-256
(a high-entropy value needs no slow hash). A new API token is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from stockwatch.core.accounts import (
    LOCAL,
    Principal,
    Role,
    Scope,
    Via,
    check_password,
    check_user_name,
    token_principal,
)
from stockwatch.core.audit import AuditAction, AuditNote, LoginAttempt, LoginLimit
from stockwatch.ports import AccountStore, AuditEntry, PasswordHasher, TokenRecord, UserRecord

TOKEN_PREFIX = "swt_"  # recognisable in a leaked paste, and tells a token from a session id
TOKEN_NAME_MAX = 64


class AccountError(ValueError):
    """A refused account change (unknown user, name taken, short password); the text says why."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", errors="surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    cookie: str  # goes to the browser; only its digest is stored
    csrf_token: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    expires_at: datetime


class Accounts:
    """The one entry to accounts for the CLI and the web."""

    def __init__(
        self,
        store: AccountStore,
        hasher: PasswordHasher,
        session_lifetime: timedelta = timedelta(hours=12),
        login_limit: LoginLimit | None = None,
    ) -> None:
        self.store = store
        self.login_limit = login_limit or LoginLimit()
        self.hasher = hasher
        self.session_lifetime = session_lifetime
        self._decoy: str | None = None  # made at the first unknown name: start-up stays fast

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, password: str, role: Role, now: datetime) -> UserRecord:
        check_user_name(name)
        check_password(password)
        if not self.store.add_user(name, self.hasher.hash(password), role.value, now):
            raise AccountError(f"user {name!r} already exists")
        user = self.store.user(name)
        assert user is not None
        return user

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        if not self.store.update_user(name, password_hash=self.hasher.hash(password)):
            raise AccountError(f"no user {name!r}")
        self.store.end_sessions_of(name)  # a changed password logs every browser out

    def set_role(self, name: str, role: Role) -> None:
        if not self.store.update_user(name, role=role.value):
            raise AccountError(f"no user {name!r}")

    def remove_user(self, name: str) -> None:
        if not self.store.remove_user(name):
            raise AccountError(f"no user {name!r}")
        self.store.end_sessions_of(name)

    def users(self) -> list[UserRecord]:
        return self.store.users()

    def login_required(self) -> bool:
        """Once any user exists, every browser must log in."""
        return self.store.any_user()

    # -- sessions --------------------------------------------------------------------------

    def login(self, name: str, password: str, now: datetime) -> NewSession | None:
        """Return a new session for the right password, else None (no hint which was wrong)."""
        user = self.store.user(name)
        if user is None:
            # Verifying against a throwaway hash keeps the answer time the same, so timing
            # does not tell which user names exist.
            if self._decoy is None:
                self._decoy = self.hasher.hash(secrets.token_hex(16))
            self.hasher.verify(self._decoy, password)
            return None
        if not self.hasher.verify(user.password_hash, password):
            return None
        return self._new_session(user.name, Principal(user.name, Role(user.role), Via.SESSION), now)

    def open_session(self, now: datetime) -> NewSession:
        """A browser session in the open single-user mode: it carries the CSRF token."""
        return self._new_session(None, LOCAL, now)

    def _new_session(self, user: str | None, who: Principal, now: datetime) -> NewSession:
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + self.session_lifetime
        self.store.add_session(digest(cookie), user, csrf, now, expires)
        return NewSession(cookie, csrf, who, expires)

    def session(self, cookie: str, now: datetime, *, open_mode: bool) -> ActiveSession | None:
        """Return the live session behind a cookie; expired, ended or foreign ones are None.

        An open-mode session stops counting as soon as login is required (a user was added).
        """
        if not cookie or len(cookie) > 128:
            return None
        found = self.store.session(digest(cookie), now)
        if found is None:
            return None
        if found.user_name is None:
            return ActiveSession(LOCAL, found.csrf_token, found.expires_at) if open_mode else None
        user = self.store.user(found.user_name)
        if user is None:
            return None
        who = Principal(user.name, Role(user.role), Via.SESSION)
        return ActiveSession(who, found.csrf_token, found.expires_at)

    def logout(self, cookie: str) -> None:
        """End the session on the server: the cookie is worthless from now on."""
        if cookie:
            self.store.end_session(digest(cookie))

    # -- API tokens ------------------------------------------------------------------------

    def add_token(self, name: str, scope: Scope, now: datetime) -> str:
        """Create a token and return it: the only time it is ever shown."""
        if not name or len(name) > TOKEN_NAME_MAX or not name.isprintable():
            raise AccountError(f"token name {name!r}: 1-{TOKEN_NAME_MAX} printable characters")
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        if not self.store.add_token(name, digest(raw), scope.value, now):
            raise AccountError(f"a token named {name!r} already exists")
        return raw

    def tokens(self) -> list[TokenRecord]:
        return self.store.tokens()

    def revoke_token(self, name: str, now: datetime) -> None:
        if not self.store.revoke_token(name, now):
            raise AccountError(f"no active token {name!r}")

    def token(self, raw: str, now: datetime) -> Principal | None:
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
            return None
        found = self.store.token_by_hash(digest(raw))
        if found is None or found.revoked_at is not None:
            return None
        if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
            self.store.touch_token(found.id, now)  # at most a write a minute per token
        return token_principal(found.name, Scope(found.scope))

    def any_token(self) -> bool:
        return any(t.revoked_at is None for t in self.store.tokens())

    # -- audit -----------------------------------------------------------------------------

    def record(self, who: str, action: str, target: str, now: datetime, detail: str = "") -> None:
        self.store.record(now, who, action[:128], target[:2000], detail[:2000])

    def audit(
        self, limit: int = 100, actor: str | None = None, since: datetime | None = None
    ) -> list[AuditEntry]:
        return self.store.audit(limit, actor, since)

    def note(self, who: str, note: AuditNote, now: datetime) -> None:
        """Record a named action (what a route or a command did) by ``who``."""
        self.record(who, note.action.value, note.target, now, note.detail)

    # -- the login limit (counted from the audit log: shared by every process) --------------

    def login_wait(self, user: str, peer: str, now: datetime) -> timedelta | None:
        """How long ``user`` must wait before trying again from ``peer``; None: go ahead."""
        limit = self.login_limit
        entries = self.store.login_entries(user, peer, now - limit.window)
        attempts = [
            LoginAttempt(e.at, e.actor, e.target, e.action == AuditAction.LOGIN.value)
            for e in entries
        ]
        return limit.retry_after(attempts, user, peer, now)

    def login_attempted(self, user: str, peer: str, ok: bool, now: datetime) -> None:
        """Record a login (``ok``) or a failed one: the audit entry is the limit's count."""
        action = AuditAction.LOGIN if ok else AuditAction.LOGIN_FAILED
        self.record(user[:64] or "?", action.value, peer, now)
