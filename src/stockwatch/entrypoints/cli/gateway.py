"""CLI for 1688: ``stockwatch simulate-gateway`` and ``stockwatch auth login|status|postpone``."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

import typer
from rich.console import Console

from stockwatch.adapters.alibaba1688.errors import GatewayError
from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.simulator.faults import FaultRule, parse_fault
from stockwatch.adapters.alibaba1688.simulator.gateway import SimOptions
from stockwatch.adapters.alibaba1688.simulator.push import PushSettings
from stockwatch.adapters.alibaba1688.simulator.server import build_catalogue, serve_forever
from stockwatch.adapters.alibaba1688.token_file import TokenFileError
from stockwatch.config.settings import Config, ConfigError, find_config, load_config, mask
from stockwatch.entrypoints.cli.common import (
    config_failure,
    fail,
    fail_with,
    lang_of,
    local_time,
    shown_lang,
)
from stockwatch.wiring.compose import gateway_settings, token_store

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
auth_app = typer.Typer(help="1688 authorization (OAuth) commands.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="stockwatch.toml (default: ./stockwatch.toml)")
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh-CN (default) or en")]

_TEXTS: dict[str, tuple[str, str]] = {
    "sim_ready": (
        "1688 网关模拟器已启动：{url}（AppKey {key}，AppSecret {secret}，{offers} 个商品）",
        "1688 gateway simulator listening on {url} "
        "(AppKey {key}, AppSecret {secret}, {offers} offers)",
    ),
    "range_form": (
        "{text!r}：请用 N 或 LOW..HIGH，例如 1..6",
        "{text!r}: use N or LOW..HIGH, e.g. 1..6",
    ),
    "range_order": ("{text!r}：需要 0 ≤ LOW ≤ HIGH", "{text!r}: need 0 ≤ LOW ≤ HIGH"),
    "sim_stop": ("按 Ctrl-C 停止。", "Press Ctrl-C to stop."),
    "open_url": (
        "请在浏览器中打开以下地址并授权，然后粘贴回调地址中的 code：",
        "Open this URL in a browser, authorize, then paste the code from the redirect:",
    ),
    "code_prompt": ("授权码（或完整回调地址）", "Authorization code (or the whole redirect URL)"),
    "logged_in": (
        "授权成功：会员 {member}；访问令牌（access token）有效至 {access}，"
        "刷新令牌（refresh token）有效至 {refresh}。",
        "Authorized: member {member}; access token valid until {access}, "
        "refresh token until {refresh}.",
    ),
    "state_mismatch": (
        "粘贴的回调地址中的 state 与本次授权生成的不一致；"
        "请重新运行 `stockwatch auth login` 并使用它给出的地址",
        "the redirect's state does not match the one this login generated; "
        "start `stockwatch auth login` again and use its URL",
    ),
    "not_authorized": (
        "尚未授权：请运行 `stockwatch auth login`。",
        "Not authorized yet: run `stockwatch auth login`.",
    ),
    "status": (
        "会员 {member}\n访问令牌（access token）到期：{access}\n"
        "刷新令牌（refresh token）到期：{refresh}",
        "Member {member}\naccess token expires: {access}\nrefresh token expires: {refresh}",
    ),
    "postponed": (
        "刷新令牌（refresh token）已延期至 {refresh}。",
        "Refresh token extended to {refresh}.",
    ),
}


def _t(name: str, lang: str, **values: object) -> str:
    zh, en = _TEXTS[name]
    return (zh if lang == "zh-CN" else en).format(**values)


def _fail(message: str) -> typer.Exit:
    return fail(message)  # "错误：" or "error: " in this command line's language


def _load(path: Path | None, lang: str | None) -> tuple[Config, str]:
    try:
        cfg = load_config(find_config(path))
    except ConfigError as exc:
        raise config_failure(exc) from None
    return cfg, lang_of(cfg, lang)


def _range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("..")
    try:
        pair = (int(low), int(high if sep else low))
    except ValueError:
        raise typer.BadParameter(_t("range_form", shown_lang(), text=text)) from None
    if pair[0] < 0 or pair[0] > pair[1]:
        raise typer.BadParameter(_t("range_order", shown_lang(), text=text))
    return pair


def simulate_gateway(
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = any free port)")] = 8688,
    offers: Annotated[int, typer.Option(help="generated offers (besides the sample's)")] = 200,
    skus_per_offer: Annotated[str, typer.Option(help="SKUs per offer, LOW..HIGH (0 = no SKUs)")] = (
        "0..4"
    ),
    seed: Annotated[int, typer.Option(help="random seed of the catalogue and sales model")] = 42,
    sample: Annotated[
        bool, typer.Option(help="also serve the bundled sample's offers 610000000001..")
    ] = True,
    qps: Annotated[float, typer.Option(help="throttle above this many requests/s (0 = off)")] = 10,
    burst: Annotated[float, typer.Option(help="throttling burst size")] = 20,
    daily_quota: Annotated[int | None, typer.Option(help="calls before gw.NoUsageLeftError")] = (
        None
    ),
    speed: Annotated[float, typer.Option(help="simulated seconds per real second")] = 60.0,
    churn: Annotated[bool, typer.Option(help="random delisting/relisting of offers")] = True,
    callback_url: Annotated[str | None, typer.Option(help="push messages go here")] = None,
    retry_delays: Annotated[str, typer.Option(help="push retry delays, seconds")] = "60,300,1800",
    fault: Annotated[
        list[str] | None,
        typer.Option(help="KIND[:RATE][:DURATION], repeatable: 5xx:0.05, latency:1:200ms, ..."),
    ] = None,
    member: Annotated[str, typer.Option(help="who authorizes in /oauth/authorize")] = "seller",
    app_key: Annotated[str, typer.Option(help="the simulated app's AppKey")] = "5555555",
    app_secret: Annotated[str, typer.Option(help="the simulated app's secret")] = "demoSecret123",
    lang: LangOpt = None,
) -> None:
    """Run a local 1688 gateway simulator (same URLs, signatures, errors, pushes)."""
    language = lang_of(None, lang)  # no configuration here: the command line, else zh-CN
    try:
        rules: list[FaultRule] = [parse_fault(f) for f in fault or []]
        delays = tuple(float(x) for x in retry_delays.split(",") if x.strip())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    sample_dir = Path(str(resources.files("stockwatch") / "sample")) if sample else None
    catalogue = build_catalogue(offers, _range(skus_per_offer), seed, sample_dir, churn)
    options = SimOptions(
        app_key=app_key,
        app_secret=app_secret,
        qps=qps or None,
        burst=burst,
        daily_quota=daily_quota,
        speed=speed,
        authorize_member=member,
        faults=rules,
        push=PushSettings(callback_url=callback_url, retry_delays=delays),
    )

    def ready(url: str) -> None:
        out.print(
            _t(
                "sim_ready",
                language,
                url=url,
                key=app_key,
                secret=mask(app_secret),
                offers=len(catalogue),
            ),
            highlight=False,
        )
        out.print(_t("sim_stop", language))

    try:
        serve_forever(catalogue, options, port=port, on_ready=ready)
    except OSError as exc:
        raise fail_with("cannot_listen", port=port, error=exc) from None


class StateMismatch(ValueError):
    """The pasted redirect does not carry the ``state`` this login generated."""


def _code_from(text: str, state: str | None = None) -> str:
    """Return the code in a pasted redirect URL (checking its ``state``) or the bare code."""
    text = text.strip()
    if "code=" in text:
        query = parse_qs(urlsplit(text).query or text)
        values = query.get("code")
        if values:
            # A redirect from another login attempt (or a link someone sent) carries another
            # state: exchanging its code would authorize whoever started that one (CSRF).
            if state is not None and query.get("state") != [state]:
                raise StateMismatch(
                    "the redirect's state does not match the one this login generated; "
                    "start `stockwatch auth login` again and use its URL"
                )
            return values[0]
    return text


def _when(cfg: Config, value: datetime | None) -> str:
    """A token's expiry in the shop's time zone, as every other table shows times."""
    return "-" if value is None else f"{local_time(cfg, value)} ({cfg.model.general.timezone})"


@auth_app.command("login")
def auth_login(
    code: Annotated[str | None, typer.Option(help="the authorization code, if you have it")] = None,
    config: ConfigOpt = None,
    lang: LangOpt = None,
) -> None:
    """Print the 1688 authorization URL, take the code and store the tokens."""
    cfg, language = _load(config, lang)
    settings = gateway_settings(cfg)

    async def run() -> str:
        async with GatewaySession(settings, token_store(cfg)) as gw:
            given, state = code, None
            if given is None:
                state = secrets.token_urlsafe(16)
                out.print(_t("open_url", language))
                out.print(gw.oauth.authorize_url(state), highlight=False)
                given = typer.prompt(_t("code_prompt", language))
            tokens = await gw.tokens.login(_code_from(given, state))
            return _t(
                "logged_in",
                language,
                member=tokens.member_id or "?",
                access=_when(cfg, tokens.access_expires_at),
                refresh=_when(cfg, tokens.refresh_expires_at),
            )

    try:
        out.print(asyncio.run(run()), highlight=False)
    except StateMismatch:
        raise _fail(_t("state_mismatch", language)) from None
    except (GatewayError, TokenFileError, ValueError) as exc:
        raise _fail(str(exc)) from None


@auth_app.command("status")
def auth_status(config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Show who is authorized and when the tokens expire."""
    cfg, language = _load(config, lang)

    async def run() -> None:
        async with GatewaySession(gateway_settings(cfg), token_store(cfg)) as gw:
            health = gw.tokens.health()
        if not health.authorized:
            out.print(_t("not_authorized", language))
            raise typer.Exit(1)
        out.print(
            _t(
                "status",
                language,
                member=health.member_id or "?",
                access=_when(cfg, health.access_expires_at),
                refresh=_when(cfg, health.refresh_expires_at),
            ),
            highlight=False,
        )
        if health.warning:
            err.print(f"[yellow]warning:[/] {health.warning}", highlight=False)

    try:
        asyncio.run(run())
    except (TokenFileError, ValueError) as exc:
        raise _fail(str(exc)) from None


@auth_app.command("postpone")
def auth_postpone(config: ConfigOpt = None, lang: LangOpt = None) -> None:
    """Extend the refresh token (1688 allows it in its last 30 days)."""
    cfg, language = _load(config, lang)

    async def run() -> str:
        async with GatewaySession(gateway_settings(cfg), token_store(cfg)) as gw:
            tokens = await gw.tokens.postpone()
        return _t("postponed", language, refresh=_when(cfg, tokens.refresh_expires_at))

    try:
        out.print(asyncio.run(run()), highlight=False)
    except (GatewayError, TokenFileError, ValueError) as exc:
        raise _fail(str(exc)) from None
