"""The pure account rules: roles, token scopes, name/password checks, the login throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.accounts import (
    LoginThrottle,
    Role,
    Scope,
    check_password,
    check_user_name,
    token_principal,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_roles_are_ordered_viewer_operator_admin() -> None:
    assert Role.ADMIN.at_least(Role.OPERATOR) and Role.OPERATOR.at_least(Role.VIEWER)
    assert not Role.VIEWER.at_least(Role.OPERATOR)


def test_a_read_token_is_a_viewer_and_a_write_token_an_operator_never_an_admin() -> None:
    assert token_principal("ci", Scope.READ).role is Role.VIEWER
    writer = token_principal("erp", Scope.WRITE)
    assert writer.role is Role.OPERATOR and not writer.may(Role.ADMIN)
    assert writer.name == "token:erp"


def test_names_and_passwords_are_checked() -> None:
    assert check_user_name("li.wei@shop") == "li.wei@shop"
    for bad in ("", "has space", "x" * 65, "名字"):
        with pytest.raises(ValueError, match="user name"):
            check_user_name(bad)
    with pytest.raises(ValueError, match="too short"):
        check_password("")
    assert check_password("12345678") == "12345678"


def test_the_throttle_blocks_after_the_limit_and_releases_as_failures_age() -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=5))
    keys = ["ip:1.2.3.4", "user:otto"]
    for i in range(3):
        assert throttle.retry_after(keys, NOW + timedelta(seconds=i)) is None
        throttle.failed(keys, NOW + timedelta(seconds=i))
    wait = throttle.retry_after(keys, NOW + timedelta(seconds=3))
    assert wait == timedelta(minutes=5, seconds=-3)
    assert throttle.retry_after(keys, NOW + timedelta(minutes=5, seconds=1)) is None


def test_one_address_guessing_many_names_is_blocked_too() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed(["ip:9.9.9.9", "user:a"], NOW)
    throttle.failed(["ip:9.9.9.9", "user:b"], NOW)
    assert throttle.retry_after(["ip:9.9.9.9", "user:c"], NOW) is not None
    assert throttle.retry_after(["ip:8.8.8.8", "user:c"], NOW) is None


def test_a_success_clears_the_count() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed(["user:a"], NOW)
    throttle.succeeded(["user:a"])
    throttle.failed(["user:a"], NOW)
    assert throttle.retry_after(["user:a"], NOW) is None


@given(st.lists(st.integers(min_value=0, max_value=600), max_size=30))
def test_never_more_than_limit_failures_pass_inside_one_window(offsets: list[int]) -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=5))
    accepted: list[datetime] = []
    for offset in sorted(offsets):
        at = NOW + timedelta(seconds=offset)
        if throttle.retry_after(["k"], at) is None:
            throttle.failed(["k"], at)
            accepted.append(at)
    for at in accepted:
        inside = [a for a in accepted if at <= a < at + timedelta(minutes=5)]
        assert len(inside) <= 3
