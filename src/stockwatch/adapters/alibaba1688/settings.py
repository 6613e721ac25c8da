"""What the 1688 adapter needs to know, as a plain frozen dataclass (config builds it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

REAL_GATEWAY = "https://gw.open.1688.com"
REAL_AUTHORIZE = "https://auth.1688.com/oauth/authorize"
SIMULATOR_URL = "http://127.0.0.1:8688"

Side = Literal["seller", "buyer"]
BuyerApi = Literal["fenxiao", "crossborder", "cross"]
SellerRead = Literal["get", "list"]


@dataclass(frozen=True)
class GatewaySettings:
    """Connection, credentials and pacing of the 1688 client."""

    app_key: str
    app_secret: str = field(repr=False)
    base_url: str = SIMULATOR_URL
    redirect_uri: str = SIMULATOR_URL + "/oauth/callback"
    authorize_url: str | None = None  # default: auth.1688.com, or the simulator's page
    side: Side = "seller"
    buyer_api: BuyerApi = "fenxiao"
    seller_read: SellerRead = "get"
    qps: float | None = 5.0  # None: no budget (benchmarks only)
    burst: float | None = None  # limiter capacity; default 50 ms of budget, ≥ 1
    concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_attempts: int = 5
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    refresh_margin: float = 600.0  # refresh the access token this many seconds before expiry
    refresh_warn_days: float = 30.0  # warn this long before the refresh token dies
    static_access_token: str | None = field(default=None, repr=False)  # console "multi-user" mode

    def __post_init__(self) -> None:
        if not self.app_key:
            raise ValueError("app_key must not be empty")
        if self.qps is not None and self.qps <= 0:
            raise ValueError("qps must be > 0")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be ≥ 1")

    @property
    def gateway(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def authorize_endpoint(self) -> str:
        if self.authorize_url:
            return self.authorize_url
        if urlsplit(self.base_url).hostname == "gw.open.1688.com":
            return REAL_AUTHORIZE
        return self.gateway + "/oauth/authorize"

    @property
    def is_loopback(self) -> bool:
        return urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost", "::1")

    @property
    def limiter_capacity(self) -> float:
        if self.qps is None:
            return 0.0
        return self.burst if self.burst is not None else max(1.0, self.qps * 0.05)
