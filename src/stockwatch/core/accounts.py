"""Who may do what on the dashboard and the API: roles, token scopes, names and passwords.

Pure rules (no I/O, no clock: ``now`` is a parameter). A request is made by a ``Principal``:
a logged-in user (role), an API token (scope) or, in the open single-user mode, "local".
Reading needs the viewer role or a read token; acting needs operator or a write token.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


class Role(enum.StrEnum):
    VIEWER = "viewer"  # reads everything, changes nothing
    OPERATOR = "operator"  # acknowledges, snoozes, approves, retries, closes
    ADMIN = "admin"  # operator, plus whatever manages accounts

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class Scope(enum.StrEnum):
    READ = "read"  # GET/HEAD only
    WRITE = "write"  # also the actions


class Via(enum.StrEnum):
    SESSION = "session"
    TOKEN = "token"
    LOCAL = "local"  # open mode: loopback, no user exists yet


@dataclass(frozen=True)
class Principal:
    """Who makes a request; ``name`` goes into the audit log and alert events."""

    name: str
    role: Role
    via: Via

    def may(self, needed: Role) -> bool:
        return self.role.at_least(needed)


def token_principal(name: str, scope: Scope) -> Principal:
    """A write token acts as an operator, a read token as a viewer; tokens never administer."""
    role = Role.OPERATOR if scope is Scope.WRITE else Role.VIEWER
    return Principal(f"token:{name}", role, Via.TOKEN)


LOCAL = Principal("local", Role.ADMIN, Via.LOCAL)


def check_user_name(name: str) -> str:
    """Return ``name`` or raise ValueError saying what a user name may contain."""
    if not USER_NAME.match(name):
        raise ValueError(f"user name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-'")
    return name


def check_password(password: str) -> str:
    """An empty or short password is refused (an empty secret is an error)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password too short: at least {MIN_PASSWORD} characters")
    return password
