"""The audit trail's vocabulary and the login limit it feeds (pure: no I/O, ``now`` is passed).

Every action is recorded under a name that says what a person did (``acknowledge``,
``order_placed``), not the HTTP route or the CLI command that did it, so one action reads the
same whether it came from the item page, the JSON API or the shell.

The failed logins are audit entries too, and the limit is computed from them: every process
that shares the database sees the same count (a second daemon or a restart does not reset it).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


class AuditAction(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    SNOOZE = "snooze"
    APPROVE = "approve"
    REJECT = "reject"
    SET_LEVEL = "set_level"
    CLEAR_LEVEL = "clear_level"
    ORDER_PLACED = "order_placed"
    ORDER_REPLAYED = "order_replayed"  # a retried request (Idempotency-Key): nothing new
    ORDER_RECEIVED = "order_received"
    ORDER_CANCELLED = "order_cancelled"
    TASK_CLOSED = "task_closed"
    CHANNEL_ENABLED = "channel_enabled"
    OUTBOX_RETRY = "outbox_retry"
    PROMOTION_ADDED = "promotion_added"
    PROMOTION_DELETED = "promotion_deleted"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_ADD = "user_add"
    USER_PASSWD = "user_passwd"
    USER_ROLE = "user_role"
    USER_REMOVE = "user_remove"
    TOKEN_ADD = "token_add"
    TOKEN_REVOKE = "token_revoke"
    # A successful unsafe request whose route named no action: recorded all the same (with the
    # route as its target) so that nothing goes unaudited; a test keeps the list of these empty.
    UNNAMED = "unnamed"


# Each action as a person reads it (zh-CN, English): the dashboard's /audit and `stockwatch audit`.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "acknowledge": ("确认预警", "Acknowledged"),
    "snooze": ("暂停提醒", "Snoozed"),
    "approve": ("批准预警线变更", "Approved a threshold change"),
    "reject": ("驳回预警线变更", "Rejected a threshold change"),
    "set_level": ("手动设置预警线", "Set a level by hand"),
    "clear_level": ("清除手动预警线", "Cleared a hand-set level"),
    "order_placed": ("记录下单", "Order placed"),
    "order_replayed": (
        "重复的下单请求（返回原采购单，未新建）",
        "Order request repeated (the first order returned)",
    ),
    "order_received": ("记录收货", "Order received"),
    "order_cancelled": ("取消采购单", "Order cancelled"),
    "task_closed": ("关闭补货任务", "Task closed"),
    "channel_enabled": ("重新启用通知渠道", "Channel re-enabled"),
    "outbox_retry": ("重新发送通知", "Notification retried"),
    "promotion_added": ("添加促销", "Promotion added"),
    "promotion_deleted": ("删除促销", "Promotion deleted"),
    "login": ("登录", "Logged in"),
    "login_failed": ("登录失败", "Failed login"),
    "logout": ("退出登录", "Logged out"),
    "user_add": ("添加用户", "User added"),
    "user_passwd": ("修改密码", "Password changed"),
    "user_role": ("修改角色", "Role changed"),
    "user_remove": ("删除用户", "User removed"),
    "token_add": ("创建 API 令牌", "API token created"),
    "token_revoke": ("吊销 API 令牌", "API token revoked"),
    "unnamed": ("未命名操作", "Unnamed action"),
}


def action_label(action: str, lang: str) -> str:
    """An audit action as text; an older entry's raw name (e.g. "POST") is shown as it is."""
    zh, en = ACTION_LABELS.get(action, (action, action))
    return en if lang == "en" else zh


# Targets and details are stored in plain English words (what `--format json` and the API
# give); people read the words below in zh-CN. Only what the code wrote is translated: a
# promotion's name, a reason typed by hand, a user's name stay as typed. Values (numbers,
# SKUs, suppliers) stay as they are; an older or unknown word is shown as stored.
_THINGS_ZH = {"order": "采购单", "task": "补货任务", "outbox": "通知", "promotion": "促销"}
_FIELDS_ZH = {
    "quantity": "数量",
    "supplier": "供应商",
    "hours": "小时",
    "version": "版本",
    "role": "角色",
    "scope": "权限",
    "by": "操作人",
    "for": "时长",
}
_VALUES_ZH = {  # the values of the fields that are the code's own words
    "role": {
        "viewer": "只读（viewer）",
        "operator": "操作员（operator）",
        "admin": "管理员（admin）",
    },
    "scope": {"read": "只读（read）", "write": "读写（write）"},
}
_PHRASES = {  # whole details the code writes: (zh-CN, English)
    "all open": ("全部未收数量", "all open"),
    "test message sent": ("已发送测试消息", "test message sent"),
    "Idempotency-Key": ("同一 Idempotency-Key 的重试", "Idempotency-Key"),
    # `stockwatch tasks close` without --reason stores this in the language it ran in
    "closed by hand": ("手动关闭", "closed by hand"),
    "手动关闭": ("手动关闭", "closed by hand"),
}
_THING = r"(?:" + "|".join(_THINGS_ZH) + r") #\d+"
_WORD = r"(?:[\w/]+=\S*|" + _THING + r")"
_WORDS = re.compile(_WORD + r"(?: " + _WORD + r")*")  # a detail the code wrote, word by word
_LEADING_THING = re.compile(r"^(" + "|".join(_THINGS_ZH) + r") #(\d+)")
_FIELD = re.compile(r"(?<![\w/])(" + "|".join(_FIELDS_ZH) + r")=(\S*)")
_THING_ANYWHERE = re.compile(r"\b(" + "|".join(_THINGS_ZH) + r") #(\d+)")
# Actions whose target is a record the code named ("order #10 DESK-LAMP"); the others name
# an item, a channel, a user or a token as typed.
_NAMED_TARGETS = frozenset(
    {
        "order_placed",
        "order_replayed",
        "order_received",
        "order_cancelled",
        "task_closed",
        "outbox_retry",
        "promotion_added",
        "promotion_deleted",
    }
)
_TYPED_DETAILS = frozenset({"promotion_added", "unnamed"})  # a name, a request's own query


def audit_target(action: str, text: str, lang: str) -> str:
    """A stored audit target as a person reads it: ``order #10 DESK-LAMP`` is
    ``采购单 #10 DESK-LAMP`` in zh-CN."""
    if lang == "en" or action not in _NAMED_TARGETS:
        return text
    return _LEADING_THING.sub(lambda m: f"{_THINGS_ZH[m[1]]} #{m[2]}", text)


def audit_detail(action: str, text: str, lang: str) -> str:
    """A stored audit detail as a person reads it: ``quantity=5 supplier=- task #3`` is
    ``数量=5 供应商=- 补货任务 #3`` in zh-CN; a phrase the code wrote reads in either language."""
    if action in _TYPED_DETAILS:
        return text
    if text in _PHRASES:
        zh, en = _PHRASES[text]
        return en if lang == "en" else zh
    if lang == "en" or not _WORDS.fullmatch(text):
        return text
    text = _THING_ANYWHERE.sub(lambda m: f"{_THINGS_ZH[m[1]]} #{m[2]}", text)
    return _FIELD.sub(
        lambda m: f"{_FIELDS_ZH[m[1]]}={_VALUES_ZH.get(m[1], {}).get(m[2], m[2])}", text
    )


@dataclass(frozen=True)
class AuditNote:
    """What a route or command did, as it goes into the audit log (the actor is added there)."""

    action: AuditAction
    target: str
    detail: str = ""


def cli_actor(os_user: str | None) -> str:
    """Who a shell command acts as: ``cli:<the OS user>`` (``cli:?`` when it cannot be told)."""
    return f"cli:{os_user or '?'}"


@dataclass(frozen=True)
class LoginAttempt:
    """One login from the audit log: who typed which name from where, and whether it worked."""

    at: datetime
    user: str
    peer: str
    ok: bool


def attempt_keys(user: str, peer: str) -> tuple[str, str]:
    """The two counters an attempt counts against: its address and the (case-folded) name."""
    return f"ip:{peer}", f"user:{user.lower()}"


@dataclass(frozen=True)
class LoginLimit:
    """At most ``limit`` failed logins per key within ``window``; then wait until one ages out.

    Keys are the client address and the user name, checked separately, so that neither one
    address guessing many names nor many addresses guessing one name gets far. A successful
    login clears both of its keys' counts.
    """

    limit: int = 5
    window: timedelta = timedelta(minutes=5)

    def retry_after(
        self, attempts: Iterable[LoginAttempt], user: str, peer: str, now: datetime
    ) -> timedelta | None:
        """Return how long to wait before ``user`` may try from ``peer``, or None."""
        wanted = set(attempt_keys(user, peer))
        failures: dict[str, list[datetime]] = {key: [] for key in wanted}
        for attempt in sorted(attempts, key=lambda a: a.at):
            if attempt.at + self.window <= now or attempt.at > now:
                continue
            for key in wanted.intersection(attempt_keys(attempt.user, attempt.peer)):
                if attempt.ok:
                    failures[key].clear()
                else:
                    failures[key].append(attempt.at)
        waits = [
            times[-self.limit] + self.window - now
            for times in failures.values()
            if len(times) >= self.limit
        ]
        return max(waits) if waits else None
