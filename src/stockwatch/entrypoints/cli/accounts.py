"""`stockwatch users`, `stockwatch tokens` and `stockwatch audit`: accounts from the shell.

Whoever runs these commands can open the database, so they need no login themselves; each
change is written to the audit log as done by ``cli:<OS user>``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from stockwatch.config.settings import Config
from stockwatch.core.accounts import Role, Scope
from stockwatch.core.audit import (
    AuditAction,
    AuditNote,
    action_label,
    audit_detail,
    audit_target,
    cli_actor,
)
from stockwatch.entrypoints.cli.common import (
    ConfigOpt,
    FormatOpt,
    LangOpt,
    choices,
    fail_with,
    local_time,
    out,
    parse_since,
    setup,
)
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.service.accounts import AccountError, Accounts
from stockwatch.wiring.accounts import build_accounts, os_user
from stockwatch.wiring.compose import open_database
from stockwatch.wiring.stores import database_exists

users_app = typer.Typer(help="Dashboard users: add, list, passwd, remove.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for scripts: add, list, revoke.", no_args_is_help=True)

_T: dict[str, tuple[str, str]] = {
    "added": ("已添加用户 {name}（{role}）。", "Added user {name} ({role})."),
    "removed": ("已删除用户 {name}，其会话已结束。", "Removed user {name}; their sessions ended."),
    "passwd": (
        "已更新 {name} 的密码，其会话已结束。",
        "Password of {name} changed; sessions ended.",
    ),
    "role": ("{name} 的角色已改为 {role}。", "{name} is now {role}."),
    "no_users": (
        "还没有用户：仪表盘在本机（127.0.0.1）上无需登录。",
        "No users: the dashboard on loopback needs no login.",
    ),
    "token_added": (
        "已创建令牌 {name}（{scope}）。它只显示这一次，请立即保存：",
        "Created token {name} ({scope}). It is shown only this once; store it now:",
    ),
    "token_use": ("用法：Authorization: Bearer <令牌>", "Use it as: Authorization: Bearer <token>"),
    "revoked": ("已吊销令牌 {name}。", "Revoked token {name}."),
    "no_tokens": ("没有 API 令牌。", "No API tokens."),
    "no_audit": ("没有操作记录。", "No audit entries."),
    "password": ("{name} 的密码", "Password for {name}"),
    "mismatch": ("两次输入的密码不一致。", "The passwords do not match."),
    "col_name": ("名称", "name"),
    "col_role": ("角色", "role"),
    "col_created": ("创建时间", "created"),
    "col_scope": ("权限", "scope"),
    "col_used": ("最近使用", "last used"),
    "col_revoked": ("吊销时间", "revoked"),
    "col_at": ("时间", "at"),
    "col_actor": ("操作人", "who"),
    "col_action": ("操作", "action"),
    "col_target": ("对象", "target"),
    "col_detail": ("详情", "detail"),
}

RoleOpt = Annotated[str, typer.Option("--role", help="viewer, operator or admin")]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _t(key: str, lang: str, **values: object) -> str:
    zh, en = _T[key]
    return (zh if lang == "zh-CN" else en).format(**values)


def _read_accounts(config: ConfigOpt, lang: LangOpt) -> tuple[Accounts | None, str, Config]:
    """The accounts for a read-only command; None when there is no database yet (looking
    must not create one, nor the data folder): the lists are then empty."""
    cfg, language = setup(config, lang)
    if not database_exists(cfg):
        return None, language, cfg
    return _accounts(config, lang)


def _accounts(config: ConfigOpt, lang: LangOpt) -> tuple[Accounts, str, Config]:
    cfg, language = setup(config, lang)
    try:
        engine = open_database(cfg)
    except Exception as exc:  # an unreachable database is bad input for a CLI command
        raise fail_with("no_database", error=exc) from None
    return build_accounts(engine, cfg.model.daemon.http.session_hours), language, cfg


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(
    accounts: Accounts, action: AuditAction, target: str, at: datetime, detail: str = ""
) -> None:
    accounts.note(cli_actor(os_user()), AuditNote(action, target, detail), at)


def _when(cfg: Config, value: datetime | None) -> str:
    return local_time(cfg, value) or "-"  # the shop's time zone, as the dashboard shows it


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise fail_with(
            "bad_choice",
            option="--role",
            value=text,
            choices=choices("viewer", "operator", "admin"),
        ) from None


def _password(name: str, lang: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt(_t("password", lang, name=name), hide_input=True)
    again: str = typer.prompt(_t("password", lang, name=name), hide_input=True)
    if first != again:
        raise _fail(_t("mismatch", lang))
    return first


@users_app.command("add")
def users_add(
    name: str,
    role: RoleOpt = "operator",
    password_stdin: StdinOpt = False,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Add a user (asks for the password twice; --password-stdin for scripts)."""
    accounts, language, _cfg = _accounts(config, lang)
    wanted = _role(role)
    try:
        accounts.add_user(name, _password(name, language, password_stdin), wanted, _now())
    except ValueError as exc:  # AccountError, or a bad name / short password
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.USER_ADD, name, _now(), f"role={wanted.value}")
    out.print(_t("added", language, name=name, role=wanted.value), highlight=False)


@users_app.command("passwd")
def users_passwd(
    name: str, password_stdin: StdinOpt = False, config: ConfigOpt = None, lang: LangOpt = None
) -> None:
    """Set a user's password; every session of that user ends."""
    accounts, language, _cfg = _accounts(config, lang)
    try:
        accounts.set_password(name, _password(name, language, password_stdin))
    except ValueError as exc:
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.USER_PASSWD, name, _now())
    out.print(_t("passwd", language, name=name), highlight=False)


@users_app.command("role")
def users_role(name: str, role: str, config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Change a user's role (viewer, operator, admin)."""
    accounts, language, _cfg = _accounts(config, lang)
    wanted = _role(role)
    try:
        accounts.set_role(name, wanted)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.USER_ROLE, name, _now(), f"role={wanted.value}")
    out.print(_t("role", language, name=name, role=wanted.value), highlight=False)


@users_app.command("remove")
def users_remove(name: str, config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Remove a user; their sessions end at once."""
    accounts, language, _cfg = _accounts(config, lang)
    try:
        accounts.remove_user(name)
    except AccountError as exc:
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.USER_REMOVE, name, _now())
    out.print(_t("removed", language, name=name), highlight=False)


@users_app.command("list")
def users_list(config: ConfigOpt = None, lang: LangOpt = None, fmt: FormatOpt = "table") -> None:
    """List users and their roles (never their passwords)."""
    accounts, language, cfg = _read_accounts(config, lang)
    users = accounts.users() if accounts else []
    if fmt == "json":
        rows = [
            {"name": u.name, "role": u.role, "created_at": u.created_at.isoformat()} for u in users
        ]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not users:
        out.print(_t("no_users", language), highlight=False)
        return
    table = Table(*(_t(c, language) for c in ("col_name", "col_role", "col_created")))
    for u in users:
        table.add_row(u.name, u.role, _when(cfg, u.created_at))
    out.print(table)


@tokens_app.command("add")
def tokens_add(
    name: str,
    scope: Annotated[str, typer.Option("--scope", help="read (GET only) or write")] = "read",
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    accounts, language, _cfg = _accounts(config, lang)
    try:
        wanted = Scope(scope)
    except ValueError:
        raise fail_with(
            "bad_choice", option="--scope", value=scope, choices=choices("read", "write")
        ) from None
    try:
        raw = accounts.add_token(name, wanted, _now())
    except AccountError as exc:
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.TOKEN_ADD, name, _now(), f"scope={wanted.value}")
    out.print(_t("token_added", language, name=name, scope=wanted.value), highlight=False)
    out.print(raw, highlight=False, markup=False)
    out.print(_t("token_use", language), highlight=False, markup=False)


@tokens_app.command("list")
def tokens_list(config: ConfigOpt = None, lang: LangOpt = None, fmt: FormatOpt = "table") -> None:
    """List API tokens (names, scopes, last use; never the tokens)."""
    accounts, language, cfg = _read_accounts(config, lang)
    tokens = accounts.tokens() if accounts else []
    if fmt == "json":
        rows = [
            {
                "name": t.name,
                "scope": t.scope,
                "created_at": t.created_at.isoformat(),
                "last_used_at": None if t.last_used_at is None else t.last_used_at.isoformat(),
                "revoked_at": None if t.revoked_at is None else t.revoked_at.isoformat(),
            }
            for t in tokens
        ]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not tokens:
        out.print(_t("no_tokens", language), highlight=False)
        return
    cols = ("col_name", "col_scope", "col_created", "col_used", "col_revoked")
    table = Table(*(_t(c, language) for c in cols))
    for t in tokens:
        table.add_row(
            t.name,
            t.scope,
            _when(cfg, t.created_at),
            _when(cfg, t.last_used_at),
            _when(cfg, t.revoked_at),
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: str, config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Revoke an API token: it stops working at once."""
    accounts, language, _cfg = _accounts(config, lang)
    try:
        accounts.revoke_token(name, _now())
    except AccountError as exc:
        raise _fail(str(exc)) from None
    _audit(accounts, AuditAction.TOKEN_REVOKE, name, _now())
    out.print(_t("revoked", language, name=name), highlight=False)


def audit(
    actor: Annotated[str | None, typer.Option("--actor", help="only this user/token")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="ISO time or a span such as 24h, 7d")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="how many rows to show")
    ] = 100,
    config: ConfigOpt = None,
    lang: LangOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Who did what: every dashboard/API action, login and account change, newest first."""
    accounts, language, cfg = _read_accounts(config, lang)
    start = parse_since(cfg, since)
    entries = accounts.audit(limit, actor, start) if accounts else []
    if fmt == "json":
        rows = [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "target": e.target,
                "detail": e.detail,
            }
            for e in entries
        ]
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not entries:
        out.print(_t("no_audit", language), highlight=False)
        return
    cols = ("col_at", "col_actor", "col_action", "col_target", "col_detail")
    table = Table(*(_t(c, language) for c in cols))
    for e in entries:
        table.add_row(
            _when(cfg, e.at),
            e.actor,
            action_label(e.action, language),
            audit_target(e.action, e.target, language),
            audit_detail(e.action, e.detail, language),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.command("audit")(audit)
