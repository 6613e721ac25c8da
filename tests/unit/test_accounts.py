"""The pure account rules: roles, token scopes, name/password checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stockwatch.core.accounts import (
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
