"""The audit vocabulary and the login limit computed from the logged attempts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stockwatch.core.audit import (
    AuditAction,
    LoginAttempt,
    LoginLimit,
    action_label,
    audit_detail,
    audit_target,
    cli_actor,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _failed(user: str, peer: str, seconds: int) -> LoginAttempt:
    return LoginAttempt(NOW + timedelta(seconds=seconds), user, peer, ok=False)


def test_the_limit_blocks_after_the_limit_and_releases_as_failures_age() -> None:
    limit = LoginLimit(limit=3, window=timedelta(minutes=5))
    tries = [_failed("otto", "1.2.3.4", i) for i in range(3)]
    assert limit.retry_after(tries[:2], "otto", "1.2.3.4", NOW + timedelta(seconds=3)) is None
    wait = limit.retry_after(tries, "otto", "1.2.3.4", NOW + timedelta(seconds=3))
    assert wait == timedelta(minutes=5, seconds=-3)
    later = NOW + timedelta(minutes=5, seconds=1)
    assert limit.retry_after(tries, "otto", "1.2.3.4", later) is None


def test_one_address_guessing_many_names_is_blocked_and_so_is_one_name_from_many() -> None:
    limit = LoginLimit(limit=2)
    spray = [_failed("a", "9.9.9.9", 0), _failed("b", "9.9.9.9", 1)]
    assert limit.retry_after(spray, "c", "9.9.9.9", NOW + timedelta(seconds=2)) is not None
    assert limit.retry_after(spray, "c", "8.8.8.8", NOW + timedelta(seconds=2)) is None
    many = [_failed("Otto", "1.1.1.1", 0), _failed("otto", "2.2.2.2", 1)]
    assert limit.retry_after(many, "OTTO", "3.3.3.3", NOW + timedelta(seconds=2)) is not None


def test_a_success_clears_the_count_of_its_name_and_address() -> None:
    limit = LoginLimit(limit=2)
    tries = [
        _failed("a", "1.1.1.1", 0),
        LoginAttempt(NOW + timedelta(seconds=1), "a", "1.1.1.1", ok=True),
        _failed("a", "1.1.1.1", 2),
    ]
    assert limit.retry_after(tries, "a", "1.1.1.1", NOW + timedelta(seconds=3)) is None


def test_the_shell_actor_names_the_os_user() -> None:
    assert cli_actor("mei") == "cli:mei" and cli_actor(None) == "cli:?"


@given(st.lists(st.integers(min_value=0, max_value=600), max_size=30))
def test_never_more_than_limit_failures_pass_inside_one_window(offsets: list[int]) -> None:
    limit = LoginLimit(limit=3, window=timedelta(minutes=5))
    accepted: list[LoginAttempt] = []
    for offset in sorted(offsets):
        at = NOW + timedelta(seconds=offset)
        if limit.retry_after(accepted, "k", "ip", at) is None:
            accepted.append(LoginAttempt(at, "k", "ip", ok=False))
    for attempt in accepted:
        inside = [a for a in accepted if attempt.at <= a.at < attempt.at + timedelta(minutes=5)]
        assert len(inside) <= 3


def test_every_action_reads_in_both_languages_and_an_old_raw_name_shows_as_is() -> None:
    for action in AuditAction:
        zh, en = action_label(action.value, "zh-CN"), action_label(action.value, "en")
        assert zh != action.value and en != action.value and zh != en
    assert action_label("POST", "en") == "POST"


def test_stored_targets_and_details_read_in_zh_cn_and_stay_as_stored_in_english() -> None:
    targets = [
        ("order_placed", "order #10 DESK-LAMP", "采购单 #10 DESK-LAMP"),
        ("outbox_retry", "outbox #7", "通知 #7"),
        ("promotion_deleted", "promotion #2", "促销 #2"),
        ("task_closed", "task #4", "补货任务 #4"),
        ("user_add", "order #1", "order #1"),  # a user's name, as typed
        ("acknowledge", "DESK-LAMP@HZ", "DESK-LAMP@HZ"),
    ]
    for action, text, zh in targets:
        assert audit_target(action, text, "zh-CN") == zh
        assert audit_target(action, text, "en") == text
    details = [
        ("order_placed", "quantity=5 supplier=- task #3", "数量=5 供应商=- 补货任务 #3"),
        ("order_placed", "quantity=9 supplier=义乌龙窑", "数量=9 供应商=义乌龙窑"),
        ("snooze", "hours=2", "小时=2"),
        ("snooze", "for=2h by=mei", "时长=2h 操作人=mei"),
        ("user_role", "role=operator", "角色=操作员（operator）"),
        ("token_add", "scope=write", "权限=读写（write）"),
        ("user_add", "role=owner", "角色=owner"),  # an unknown value: as stored
        ("set_level", "T1/T2/T3=50/30/-", "T1/T2/T3=50/30/-"),  # levels read the same in both
        ("order_received", "all open", "全部未收数量"),
        ("order_replayed", "Idempotency-Key", "同一 Idempotency-Key 的重试"),
        ("promotion_added", "Double 11 for=VIP", "Double 11 for=VIP"),  # a name, as typed
        ("promotion_added", "for=VIP", "for=VIP"),
        ("promotion_added", "all open", "all open"),
        ("task_closed", "supplier out of stock", "supplier out of stock"),  # a typed reason
        ("order_placed", "ordered=5 reorder #2", "ordered=5 reorder #2"),  # unknown: as stored
        ("snooze", "", ""),
    ]
    for action, text, zh in details:
        assert audit_detail(action, text, "zh-CN") == zh
        assert audit_detail(action, text, "en") == text


def test_the_default_close_reason_reads_in_the_readers_language_whichever_it_was_stored_in() -> (
    None
):
    for stored in ("closed by hand", "手动关闭"):
        assert audit_detail("task_closed", stored, "zh-CN") == "手动关闭"
        assert audit_detail("task_closed", stored, "en") == "closed by hand"
