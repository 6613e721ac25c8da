"""1688 OAuth through the daemon's pages (/oauth/login, /oauth/callback) against the simulator,
the `auth login` state check, and the channel warning before the refresh token expires."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from stockwatch.adapters.alibaba1688.oauth import TokenHealth
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.store import SqlStore
from stockwatch.config.settings import load_config
from stockwatch.core.model import AlertPolicy
from stockwatch.entrypoints.cli.app import app
from stockwatch.entrypoints.web.app import WebDeps, create_app
from stockwatch.ports import OAuthFlow, OAuthTokens
from stockwatch.service.status import status_report
from stockwatch.wiring.auth import auth_expiry_watch
from stockwatch.wiring.compose import build_daemon
from tests.contract.conftest import MemoryTokenStore
from tests.e2e.daemon_setup import write_shop
from tests.servers import serve

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CALLBACK = "http://127.0.0.1:1/oauth/callback"  # what 1688 is told; the test follows by hand


@pytest.fixture
def web(
    simulator: SimulatorHandle, sqlite_engine: Engine
) -> Iterator[tuple[httpx.Client, MemoryTokenStore]]:
    store = MemoryTokenStore()
    settings = simulator.settings(redirect_uri=CALLBACK)
    pages = GatewaySession(settings, store)  # builds URLs only: no request on its client

    async def login(code: str) -> OAuthTokens:
        # In the daemon the session lives on the server's event loop; here, one per exchange.
        async with GatewaySession(settings, store) as gw:
            return await gw.tokens.login(code)

    sql = SqlStore(sqlite_engine)
    deps = WebDeps(
        store=sql,
        clock=lambda: datetime.now(UTC),
        push_secret=None,
        status=lambda: status_report(sql, {}, NOW, AlertPolicy().stale_after),
        oauth=OAuthFlow(pages.oauth.authorize_url, login),
    )
    with serve(create_app(deps)) as url, httpx.Client(base_url=url) as client:
        yield client, store
    asyncio.run(pages.aclose())


def test_the_daemon_completes_1688_authorization_without_pasting_codes(
    web: tuple[httpx.Client, MemoryTokenStore], simulator: SimulatorHandle
) -> None:
    # Finding 13: nobody should paste codes; the daemon's callback exchanges them.
    client, tokens = web
    start = client.get("/oauth/login")
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(simulator.base_url)
    back = httpx.get(authorize, follow_redirects=False)  # the merchant clicks "authorize"
    query = parse_qs(urlsplit(back.headers["location"]).query)
    answer = client.get("/oauth/callback", params={k: v[0] for k, v in query.items()})
    assert answer.status_code == 200, answer.text
    assert tokens.tokens[simulator.app_key].access_token


def test_a_callback_with_a_state_the_daemon_did_not_issue_is_refused(
    web: tuple[httpx.Client, MemoryTokenStore], simulator: SimulatorHandle
) -> None:
    client, tokens = web
    forged = simulator.gateway.authorize(simulator.app_key, CALLBACK, "attacker-state")
    query = parse_qs(urlsplit(forged).query)
    answer = client.get("/oauth/callback", params={k: v[0] for k, v in query.items()})
    assert answer.status_code == 400
    assert tokens.tokens == {}
    client.get("/oauth/login")  # a state issued once is single-use
    assert client.get("/oauth/callback", params={"code": "x", "state": ""}).status_code == 400


def test_auth_login_refuses_a_redirect_whose_state_it_did_not_generate(tmp_path: Path) -> None:
    # Finding 13: `auth login` ignored the state it generated.
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text('[general]\nlang = "en"\ndata_dir = "data"\n', encoding="utf-8")
    pasted = "http://127.0.0.1:8688/oauth/callback?code=0123abcd&state=someone-else\n"
    result = CliRunner().invoke(app, ["auth", "login", "--config", str(cfg)], input=pasted)
    assert result.exit_code == 1
    assert "state does not match" in result.output
    # and in zh-CN (found verifying #11: the refusal was English in a zh-CN command line)
    args = ["auth", "login", "--config", str(cfg), "--lang", "zh-CN"]
    result = CliRunner().invoke(app, args, input=pasted)
    assert result.exit_code == 1 and "state 与本次授权生成的不一致" in result.output


def test_the_refresh_token_expiry_is_announced_on_the_alert_channels(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    # Finding 13: the warning went to the log only.
    cfg = tmp_path / "stockwatch.toml"
    cfg.write_text(
        '[general]\nlang = "en"\n[gateway]\nredirect_uri = "https://shop.example/oauth/callback"\n'
        '[[channels]]\nname = "ops"\nurl = "console://"\n'
        '[[routes]]\nname = "all"\nchannels = ["ops"]\n',
        encoding="utf-8",
    )
    config = load_config(cfg, env={})
    expires = NOW + timedelta(days=5)
    check = auth_expiry_watch(
        config,
        SqlStore(sqlite_engine),
        lambda: TokenHealth(True, "b2b-1", NOW + timedelta(hours=5), expires),
    )
    assert check(NOW) == 1
    assert check(NOW + timedelta(hours=1)) == 0  # once a day, not every hour
    [entry] = SqlOutbox(sqlite_engine).list(None, 10)
    assert entry.channel == "ops" and entry.message.kind == "auth_expiring"
    assert "5 day(s)" in entry.message.text
    assert "https://shop.example/oauth/login" in entry.message.text
    far = auth_expiry_watch(
        config,
        SqlStore(sqlite_engine),
        lambda: TokenHealth(True, "b2b-1", NOW, NOW + timedelta(days=90)),
    )
    assert far(NOW) == 0


def test_the_daemon_wires_the_oauth_pages_and_the_expiry_watch_when_polling_1688(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    parts = build_daemon(
        load_config(write_shop(tmp_path, gateway=simulator.base_url)), http_port=None
    )
    try:
        assert parts.oauth is not None and parts.token_watch is not None
        assert parts.oauth.authorize_url("s1").startswith(simulator.base_url)
        assert parts.token_watch(datetime.now(UTC)) == 0  # not authorized yet: nothing to warn
    finally:
        for close in parts.closers:
            asyncio.run(close())
        assert isinstance(parts.store, SqlStore)
        parts.store.engine.dispose()
