"""`stockwatch users|tokens|audit` against a real SQLite file; a network bind needs a login."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockwatch.config.settings import load_config
from stockwatch.entrypoints.cli.app import app
from stockwatch.wiring.accounts import build_accounts, os_user
from stockwatch.wiring.compose import OpenExposure, open_database, refuse_open_exposure


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "stockwatch.toml"
    path.write_text('[general]\ndata_dir = "data"\nlang = "en"\n', encoding="utf-8")
    return path


def _run(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(config)], input=stdin)
    return result.exit_code, result.output


def test_users_are_added_listed_changed_and_removed(config: Path) -> None:
    code, out = _run(
        config,
        "users",
        "add",
        "mei",
        "--role",
        "admin",
        "--password-stdin",
        stdin="long-enough-pw\n",
    )
    assert code == 0 and "Added user mei (admin)" in out
    code, out = _run(config, "users", "add", "bo", "--password-stdin", stdin="short\n")
    assert code == 1 and "too short" in out
    code, out = _run(config, "users", "add", "mei", "--password-stdin", stdin="another-pw-1\n")
    assert code == 1 and "already exists" in out
    code, out = _run(config, "users", "list", "-f", "json")
    assert '"name": "mei"' in out and '"role": "admin"' in out and "long-enough" not in out
    assert _run(config, "users", "role", "mei", "viewer")[0] == 0
    assert (
        _run(config, "users", "passwd", "mei", "--password-stdin", stdin="new-password-2\n")[0] == 0
    )
    assert _run(config, "users", "remove", "mei")[0] == 0
    code, out = _run(config, "users", "remove", "mei")
    assert code == 1 and "no user" in out
    code, out = _run(config, "audit", "-f", "json")
    actions = [line for line in out.splitlines() if '"action"' in line]
    assert len(actions) == 4 and '"user_remove"' in actions[0]
    assert f'"cli:{os_user()}"' in out  # the OS user who ran the commands
    assert '"detail": "role=admin"' in out  # stored in plain words; read in zh-CN below
    code, out = _run(config, "audit", "--lang", "zh-CN")
    assert code == 0 and "角色=管理员（admin）" in out and "role=admin" not in out


def test_a_token_is_shown_once_and_listed_without_its_secret(config: Path) -> None:
    code, out = _run(config, "tokens", "add", "erp", "--scope", "write")
    assert code == 0
    [raw] = [w for w in out.split() if w.startswith("swt_")]
    code, listed = _run(config, "tokens", "list", "-f", "json")
    assert '"scope": "write"' in listed and raw not in listed
    assert _run(config, "tokens", "add", "x", "--scope", "admin")[0] == 1
    assert _run(config, "tokens", "revoke", "erp")[0] == 0
    code, out = _run(config, "tokens", "revoke", "erp")
    assert code == 1 and "no active token" in out


def test_a_network_bind_with_nobody_to_log_in_is_refused(config: Path) -> None:
    cfg = load_config(config)
    accounts = build_accounts(open_database(cfg), fast_hash=True)
    refuse_open_exposure("127.0.0.1", accounts, None)  # loopback: the open single-user mode
    with pytest.raises(OpenExposure, match="stockwatch users add"):
        refuse_open_exposure("0.0.0.0", accounts, None)
    refuse_open_exposure("0.0.0.0", accounts, "shared-token")
    config.write_text(
        '[general]\ndata_dir = "data"\nlang = "en"\n[daemon.http]\nhost = "0.0.0.0"\nport = 0\n',
        encoding="utf-8",
    )
    code, out = _run(config, "run", "--max-cycles", "1")
    assert code == 1 and "reachable from the network" in out
