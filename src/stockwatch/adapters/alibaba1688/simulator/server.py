"""Run the simulator: in the foreground (CLI) or in a background thread for tests and the demo.

``with running_simulator(offers=50, seed=1) as sim:`` starts uvicorn on 127.0.0.1, port 0,
and gives ``sim.base_url``, the app credentials, ``sim.settings(...)`` for a client,
``sim.mint_token()`` and admin helpers (faults, stock, status, orders, clock) that go
through the admin endpoint.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.simulator.app import ADMIN_HEADER, build_app
from stockwatch.adapters.alibaba1688.simulator.catalogue import Catalogue, sample_rows
from stockwatch.adapters.alibaba1688.simulator.gateway import Gateway, SimOptions
from stockwatch.ports import OAuthTokens


def build_catalogue(
    offers: int = 0,
    skus_per_offer: tuple[int, int] = (0, 4),
    seed: int = 42,
    sample: Path | None = None,
    churn: bool = True,
) -> Catalogue:
    """A generated catalogue, or one seeded from a sample directory (items.csv + stock.csv)."""
    if sample is not None:
        cat = Catalogue.from_sample(
            sample_rows(sample / "items.csv", sample / "stock.csv"), seed=seed
        )
        if offers:
            extra = Catalogue.generate(offers, skus_per_offer, seed, churn=churn)
            for offer in extra:
                cat.add(offer)
        return cat
    return Catalogue.generate(offers, skus_per_offer, seed, churn=churn)


def _config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
    )


async def _serve(
    gateway: Gateway, sock: socket.socket, on_ready: Callable[[uvicorn.Server], None]
) -> None:
    server = uvicorn.Server(_config(build_app(gateway)))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    on_ready(server)
    try:
        await task
    finally:
        gateway.stopping.set()
        await gateway.push.aclose()


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections (it checks proto);
    # without it every response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def serve_forever(
    catalogue: Catalogue,
    options: SimOptions,
    host: str = "127.0.0.1",
    port: int = 8688,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run in the foreground until Ctrl-C (the CLI and the benchmark's child process)."""
    sock = bind(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"
    gateway = Gateway(catalogue, options)

    def ready(_server: uvicorn.Server) -> None:
        if on_ready is not None:
            on_ready(url)

    try:
        asyncio.run(_serve(gateway, sock, ready))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


class SimulatorHandle:
    """A running simulator: where it is, its credentials and the admin helpers."""

    def __init__(self, base_url: str, options: SimOptions, gateway: Gateway) -> None:
        self.base_url = base_url
        self.options = options
        self.gateway = gateway  # read-only from other threads: use the admin helpers to change
        self._http = httpx.Client(base_url=base_url, timeout=10)

    @property
    def app_key(self) -> str:
        return self.options.app_key

    @property
    def app_secret(self) -> str:
        return self.options.app_secret

    def settings(self, **changes: Any) -> GatewaySettings:
        """Client settings pointing here, fast by default (no budget, short backoff)."""
        base = GatewaySettings(
            app_key=self.app_key,
            app_secret=self.app_secret,
            base_url=self.base_url,
            redirect_uri=self.base_url + "/oauth/callback",
            qps=None,
            concurrency=8,
            connect_timeout=2.0,
            read_timeout=2.0,
            max_attempts=4,
            backoff_initial=0.01,
            backoff_max=0.05,
        )
        return replace(base, **changes)

    def admin(self, action: str, **payload: Any) -> Any:
        response = self._http.post(
            f"/_admin/{action}", json=payload, headers={ADMIN_HEADER: self.app_secret}
        )
        if response.status_code != 200:
            raise RuntimeError(f"simulator admin {action}: {response.text}")
        return response.json()

    def mint_token(self, member: str = "seller", access_ttl: float | None = None) -> OAuthTokens:
        """Tokens for ``member`` ("seller" or "buyer") without the browser round trip."""
        body = self.admin("token", member=member, access_ttl=access_ttl)
        now = datetime.now(UTC)
        refresh_expires = now + timedelta(seconds=self.options.refresh_ttl)
        return OAuthTokens(
            app_key=self.app_key,
            access_token=body["access_token"],
            access_expires_at=now + timedelta(seconds=float(body["expires_in"])),
            refresh_token=body["refresh_token"],
            refresh_expires_at=refresh_expires,
            member_id=body["memberId"],
            ali_id=body["aliId"],
            resource_owner=body["resource_owner"],
        )

    def fault(self, kind: str, count: int = 1, api: str | None = None, **more: Any) -> None:
        self.admin("fault", kind=kind, count=count, api=api, **more)

    def set_stock(self, offer_id: int | str, amount: int, spec_id: str | None = None) -> Any:
        return self.admin("stock", offer_id=int(offer_id), amount=amount, spec_id=spec_id)

    def set_status(self, offer_id: int | str, status: str) -> None:
        self.admin("status", offer_id=int(offer_id), status=status)

    def offer(self, offer_id: int | str) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("offer", offer_id=int(offer_id))
        return result

    def offer_ids(self) -> list[int]:
        return list(self.admin("offers")["offer_ids"])

    def catalogue(self) -> dict[int, dict[str, Any]]:
        """Every offer as ``alibaba.product.get`` would show it, by offer id (one request)."""
        offers = self.admin("catalogue")["offers"]
        return {int(o["productID"]): o for o in offers}

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.admin("stats")
        return result

    def close(self) -> None:
        self._http.close()


@contextmanager
def running_simulator(
    catalogue: Catalogue | None = None,
    *,
    offers: int = 20,
    skus_per_offer: tuple[int, int] = (0, 4),
    seed: int = 42,
    sample: Path | None = None,
    churn: bool = False,
    **options: Any,
) -> Iterator[SimulatorHandle]:
    """Run a simulator on 127.0.0.1 (free port) in a background thread for the block's duration.

    Keyword ``options`` are :class:`SimOptions` fields (``qps``, ``burst``, ``faults``,
    ``push``, ``access_ttl``...). Churn (random delisting) is off by default so tests decide.
    """
    cat = catalogue or build_catalogue(offers, skus_per_offer, seed, sample, churn)
    opts = SimOptions(**options)
    gateway = Gateway(cat, opts)
    sock = bind()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    started = threading.Event()
    holder: dict[str, Any] = {}

    def ready(server: uvicorn.Server) -> None:
        holder["server"] = server
        holder["loop"] = asyncio.get_running_loop()
        started.set()

    def run() -> None:
        try:
            asyncio.run(_serve(gateway, sock, ready))
        except BaseException as exc:  # surfaced to the caller below
            holder["error"] = exc
            started.set()

    thread = threading.Thread(target=run, name="1688-simulator", daemon=True)
    thread.start()
    started.wait(15)
    if "server" not in holder:
        sock.close()
        raise RuntimeError(f"simulator did not start: {holder.get('error')!r}")
    handle = SimulatorHandle(url, opts, gateway)
    try:
        yield handle
    finally:
        handle.close()
        loop: asyncio.AbstractEventLoop = holder["loop"]
        loop.call_soon_threadsafe(gateway.stopping.set)
        holder["server"].should_exit = True
        thread.join(15)
        sock.close()
