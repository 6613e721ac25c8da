"""``make run`` / ``stockwatch demo``: the whole system on one machine, nothing to configure.

Started in this process, all on 127.0.0.1:
- the 1688 gateway simulator, seeded from the bundled sample (offer/spec ids of ``items.csv``),
  its sales model draining stock in accelerated time (``speed`` simulated seconds per second),
  sending signed push messages (inventory changes, orders) to the daemon's push endpoint;
- fake DingTalk and WeCom robots and a signed-webhook receiver (``devtools.receivers``);
- the daemon on SQLite, polling the simulator through the real ``GatewaySession`` with a token
  obtained through the simulator's authorize page and ``getToken``, delivering through the real
  channels to the fakes and to the console.

The daemon runs on the simulator's clock: readings, pushes and alert times all tell the same
(simulated) time, so a push never looks older or newer than the poll it sits next to.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
import random
import secrets
import socket
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from rich.console import Console

from stockwatch.adapters.alibaba1688.session import GatewaySession
from stockwatch.adapters.alibaba1688.simulator.catalogue import Demand, sample_demand
from stockwatch.adapters.alibaba1688.simulator.push import PushSettings
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator
from stockwatch.config.settings import Config, load_config
from stockwatch.core.review import AlertReview
from stockwatch.devtools.receivers import Receivers
from stockwatch.entrypoints.cli.demo_merchant import Merchant
from stockwatch.entrypoints.cli.demo_texts import (
    BannerFacts,
    SummaryFacts,
    banner_lines,
    summary_lines,
    text,
)
from stockwatch.entrypoints.cli.demo_world import demo_catalogue
from stockwatch.entrypoints.daemon import Daemon, run_daemon
from stockwatch.ports import OAuthTokens
from stockwatch.service.alert_review import ALL_ORDERS, load_review
from stockwatch.wiring.compose import (
    LevelCache,
    build_daemon,
    gateway_settings,
    load_catalog,
    open_store,
    token_store,
)
from stockwatch.wiring.purchasing import purchase_orders

log = logging.getLogger("stockwatch.demo")
out = Console(soft_wrap=True, highlight=False)

DEMO_SECRET = "demoSecret123"  # the simulator's demo app: AppSecret and push signing key
DB_FILES = ("stockwatch.sqlite3", "stockwatch.sqlite3-wal", "stockwatch.sqlite3-shm")
DEMO_FILES = (*DB_FILES, "1688-tokens.json", "daemon.json")
MARKER = ".stockwatch-demo"
AHEAD_POLLS = 2  # how many poll intervals simulated time may run past the slowest actor


@dataclass(frozen=True)
class DemoOptions:
    lang: str | None = None
    cycles: int | None = None  # stop after this many polls (``--once``)
    every: float = 2.0  # real seconds between polls
    port: int = 8686  # the daemon's HTTP port; busy: any free one
    speed: float = 3600.0  # simulated seconds per real second (1 h per second)
    seed: int = 7


def free_port(preferred: int) -> int:
    """Return ``preferred`` if it is free on 127.0.0.1, else a free port (the push URL must
    be known before the daemon starts, so port 0 is resolved here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NotADemoDir(RuntimeError):
    """The data directory holds a database the demo did not create: it is not wiped."""


def fresh_data_dir(data_dir: Path) -> bool:
    """Start from an empty database: the simulated clock restarts at today on every run, and
    readings of a previous run (days ahead in simulated time) would hide the new ones.

    Only a directory the demo made (it leaves a marker) is wiped, never someone's real data.
    Return whether an earlier demo's data was wiped.
    """
    marker = data_dir / MARKER
    ours = marker.exists() or data_dir.name == MARKER  # the default dir is named like it
    if (data_dir / DB_FILES[0]).exists() and not ours:
        raise NotADemoDir(
            f"{data_dir} holds a stockwatch database the demo did not create; "
            "give the demo another --data-dir"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `stockwatch demo`: wiped on every demo run\n", encoding="utf-8")
    earlier = (data_dir / DB_FILES[0]).exists()
    for name in DEMO_FILES:
        (data_dir / name).unlink(missing_ok=True)
    return earlier


def write_items(sample: Path, target: Path, sim: SimulatorHandle) -> int:
    """Copy the sample's items.csv, adding each SKU's 1688 ``sku_id`` (inventory pushes name
    SKUs by skuId only) as the merchant's own mapping would; return how many were mapped."""
    sku_ids = {
        (str(oid), str(s["specId"])): str(s["skuId"])
        for oid, offer in sim.catalogue().items()
        for s in offer.get("skuInfos") or []
    }
    with (sample / "items.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0]) + (["sku_id"] if "sku_id" not in rows[0] else [])
    mapped = 0
    for row in rows:
        sku_id = sku_ids.get((row["offer_id"], row.get("spec_id") or ""))
        row["sku_id"] = sku_id or row.get("sku_id") or ""
        mapped += bool(sku_id)
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(rows)
    return mapped


def _replace(text: str, old: str, new: str) -> str:
    if old not in text:
        raise RuntimeError(f"the sample configuration no longer has {old!r}")
    return text.replace(old, new, 1)


def demo_toml(
    sample_config: Path,
    data_dir: Path,
    lang: str,
    sim_url: str,
    port: int,
    interval: float,
    channel_urls: dict[str, str],
) -> str:
    """The sample configuration, pointed at the demo's data, simulator and fake receivers."""
    text = sample_config.read_text(encoding="utf-8")
    text = _replace(text, 'data_dir = ".stockwatch"', f"data_dir = {json.dumps(str(data_dir))}")
    text = _replace(text, 'lang = "zh-CN"', f'lang = "{lang}"')
    text = _replace(
        text, 'items = "items.csv"', f"items = {json.dumps(str(data_dir / 'items.csv'))}"
    )
    sales = sample_config.parent / "sales.csv"
    text = _replace(text, 'sales = "sales.csv"', f"sales = {json.dumps(str(sales))}")
    # Reminders of a still-open alert once a simulated week (~3 minutes), not every 24 s.
    old_line = next(x for x in text.splitlines() if x.startswith("dedupe_hours = 24 "))
    # The whole line, comment too: "168  # … once per 24 h" would contradict itself.
    text = _replace(
        text,
        old_line,
        "dedupe_hours = 168  # the demo: same item and tier once per 168 h (a simulated week)",
    )
    channels = "\n".join(
        f'[[channels]]\nname = "{name}"\nurl = {json.dumps(url)}\n'
        for name, url in channel_urls.items()
    )
    return f"""{text}

# --- written by `stockwatch demo` ----------------------------------------------------------
[daemon]
push_app_secret = "{DEMO_SECRET}"
deliver_every = 1
[[daemon.groups]]
name = "sample"
interval = "{interval:g}s"   # simulated seconds: one poll every few real seconds
[daemon.http]
port = {port}

[gateway]                    # the built-in simulator
base_url = "{sim_url}"
app_key = "5555555"
app_secret = "{DEMO_SECRET}"
redirect_uri = "{sim_url}/oauth/callback"
seller_read = "list"         # one alibaba.product.list.get for the whole sample
qps = 50
read_timeout = "5s"
backoff_initial = "0.2s"
backoff_max = "2s"

{channels}
[[routes]]
name = "demo"
channels = {json.dumps(list(channel_urls))}
"""


async def authorize(config: Config, sim: SimulatorHandle) -> OAuthTokens:
    """Go through the simulator's OAuth flow as a browser would; store the tokens."""
    clock = sim.gateway.clock.now  # expiry times in simulated time, as the daemon sees them
    async with GatewaySession(gateway_settings(config), token_store(config), clock) as gw:
        async with httpx.AsyncClient(timeout=5) as browser:
            page = await browser.get(gw.oauth.authorize_url(secrets.token_urlsafe(8)))
        location = page.headers.get("location", "")
        code = parse_qs(urlsplit(location).query).get("code", [""])[0]
        if not code:
            raise RuntimeError(f"the simulator's authorize page gave no code: {page.text[:200]}")
        return await gw.tokens.login(code)


class Market(threading.Thread):
    """Buyers at work: advance the sales model now and then, place and pay orders (each
    sends order pushes; a paid order also moves stock, which sends an inventory push).

    The orders are few and small (1-3 units, one every few simulated hours, more often for
    what sells more): the sales history's demand is already the simulator's, and these are on
    top of it, so they must not change what an item sells by more than a few percent.
    """

    def __init__(
        self,
        sim: SimulatorHandle,
        every: float,
        run_file: Path,
        seed: int,
        demand: Mapping[tuple[str, str | None], Demand],
    ) -> None:
        super().__init__(name="demo-market", daemon=True)
        self.sim = sim
        self.every = every
        self.run_file = run_file
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.orders = 0
        self.next_order = sim.gateway.clock.now()
        self.listings = sorted(demand)
        self.weights = [demand[where].daily_mean for where in self.listings]

    def run(self) -> None:
        while not self.run_file.exists():  # first orders once the push endpoint listens
            if self.stop.wait(0.02):
                return
        while not self.stop.is_set():
            try:
                self.step()
            except (httpx.HTTPError, RuntimeError) as exc:  # simulator stopping
                log.debug("market step failed: %s", exc)
            self.stop.wait(self.every)

    def step(self) -> None:
        self.sim.catalogue()  # reading every offer brings the sales model up to date
        now = self.sim.gateway.clock.now()
        if now >= self.next_order and self.listings:
            [(offer_id, spec_id)] = self.rng.choices(self.listings, self.weights)
            order = self.sim.admin(
                "order", offer_id=int(offer_id), spec_id=spec_id, quantity=self.rng.randint(1, 3)
            )
            self.sim.admin("pay", order_id=order["order_id"])
            self.orders += 1
            self.next_order = now + timedelta(hours=self.rng.uniform(2, 10))


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # httpx logs every request at INFO; the simulator every push retry (the daemon is late).
    quiet = ("alembic", "httpx", "httpcore", "stockwatch.adapters.alibaba1688.simulator")
    for noisy in quiet:
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def receivers_running(speed: float) -> Iterator[Receivers]:
    """The fake providers, checking signature times on the wall clock (as the real ones do)
    but counting their rate limits per simulated minute: the delivery worker keeps to its
    send budget in the daemon's simulated time, and an hour of notices fits in a real minute.
    """
    fakes = Receivers.start(robots=1)
    for fake in fakes.all():
        fake.window /= speed
    fakes.dingtalk.block_seconds /= speed
    try:
        yield fakes
    finally:
        fakes.stop()


def run_demo(sample_config: Path, data_dir: Path, options: DemoOptions) -> Daemon:
    """Run simulator, fake receivers and daemon until Ctrl-C (or ``options.cycles`` polls)."""
    _logging()
    data_dir = data_dir.resolve()
    restarted = fresh_data_dir(data_dir)
    sample = sample_config.parent
    lang = options.lang or load_config(sample_config).lang  # run_demo: set by `stockwatch demo`
    if restarted:
        out.print(text("fresh_world", lang))
    port = free_port(options.port or 0)
    push = PushSettings(
        callback_url=f"http://127.0.0.1:{port}/1688/push", retry_delays=(1.0, 3.0, 10.0)
    )
    # The levels are computed as of the day after the sales history ends (the history is all
    # the demo has; a later day would read weeks without sales). The world starts from them.
    sample_cfg = load_config(sample_config)
    sample_catalog = load_catalog(sample_cfg, date.today())
    as_of = (sample_catalog.sales_end or date.today()) + timedelta(days=1)
    start_levels = LevelCache(sample_cfg, as_of)
    start_levels.refresh()
    catalogue = demo_catalogue(
        sample, start_levels.catalog.items, start_levels.levels, options.seed
    )
    demand = sample_demand(sample / "items.csv", sample / "sales.csv")
    year = 365 * 86400.0
    with (
        running_simulator(
            catalogue,
            speed=options.speed,
            qps=None,
            push=push,
            access_ttl=30 * 86400.0,  # a month of simulated time: ~12 minutes at 3600×
            refresh_ttl=10 * year,
            postpone_ttl=10 * year,
            code_ttl=120 * options.speed,  # two real minutes to trade the code for tokens
        ) as sim,
        receivers_running(options.speed) as fakes,
    ):
        # Simulated time stands still until the daemon has polled once and the merchant has
        # looked (then the merchant paces it): starting up takes real seconds, days at 3600×.
        sim.gateway.clock.hold_at(sim.gateway.clock.now())
        for offer_id in sim.offer_ids():
            sim.admin("follow", offer_id=offer_id, member="seller")  # inventory pushes
        write_items(sample, data_dir / "items.csv", sim)
        urls = fakes.channel_urls()
        channel_urls = {
            "console": "console://?stream=stdout",
            "dingtalk": urls["ding0"],
            "wecom": urls["wecom0"],
            "webhook": urls["hook"],
            "tasks": "task://",  # replenishment tasks: `stockwatch tasks`
        }
        channel_urls = {
            name: f"{url}{'&' if '?' in url else '?'}lang={lang}"
            for name, url in channel_urls.items()
        }
        cfg_path = data_dir / "stockwatch.toml"
        cfg_path.write_text(
            demo_toml(
                sample_config,
                data_dir,
                lang,
                sim.base_url,
                port,
                options.every * options.speed,
                channel_urls,
            ),
            encoding="utf-8",
        )
        cfg = load_config(cfg_path)
        tokens = asyncio.run(authorize(cfg, sim))
        clock = sim.gateway.clock.now  # thread-safe: arithmetic on the monotonic clock
        session = GatewaySession(gateway_settings(cfg), token_store(cfg), clock=clock)
        parts = build_daemon(
            cfg,
            source=session.source,
            clock=clock,
            as_of=as_of,
            max_cycles=options.cycles,
            http_port=port,
        )
        parts.closers.append(session.aclose)
        # The scheduler's waits are computed in simulated seconds; wake often enough in real
        # time to keep the poll interval.
        parts.tick = min(1.0, options.every / 4)
        market = Market(sim, options.every / 2, data_dir / "daemon.json", options.seed, demand)
        merchant = Merchant(
            sim,
            f"http://127.0.0.1:{port}",
            data_dir / "items.csv",
            options.every,
            options.seed,
            # A few polls of slack: the world never runs further ahead of a slow daemon or
            # merchant (see demo_merchant).
            ahead=timedelta(seconds=AHEAD_POLLS * options.every * options.speed),
            shares={name: i.share for name, i in cfg.model.items.items() if i.share is not None},
        )
        _banner(cfg_path, data_dir, port, sim, fakes, tokens, options, lang)
        market.start()
        merchant.start()
        try:
            daemon = run_daemon(parts)
        finally:
            market.stop.set()
            merchant.stop.set()
            market.join(timeout=10)
            merchant.join(timeout=10)
        figures = SummaryFacts(
            pushes=_pushes(sim),
            orders=market.orders,
            polls=daemon.cycles,
            accepted={
                f.name: len(f.accepted) for f in (fakes.dingtalk, fakes.wecom, fakes.webhook)
            },
            merchant=(merchant.ordered, merchant.received),
            review=review_figures(demo_review(cfg)),
        )
        out.rule(text("summary_title", lang))
        for line in summary_lines(figures, lang):
            out.print(line)
    return daemon


def demo_review(cfg: Config) -> AlertReview:
    """The review of the demo's whole run (what ``stockwatch review`` shows for it)."""
    store = open_store(cfg)
    try:
        orders = purchase_orders(store.engine).find(limit=ALL_ORDERS)
        return load_review(store, None, orders=orders)
    finally:
        store.engine.dispose()


def review_figures(result: AlertReview) -> dict[str, int]:
    """The review's figures the demo's summary shows."""
    return {
        "episodes": len(result.episodes),
        "stockouts": result.stockouts,
        "in_time": result.warned_in_time,
        "prevented": result.prevented,
        "late": result.warned_late,
        "missed": result.missed,
    }


def _banner(
    cfg_path: Path,
    data_dir: Path,
    port: int,
    sim: SimulatorHandle,
    fakes: Receivers,
    tokens: OAuthTokens,
    options: DemoOptions,
    lang: str,
) -> None:
    facts = BannerFacts(
        base=f"http://127.0.0.1:{port}",
        secret=DEMO_SECRET,
        sim_url=sim.base_url,
        offers=len(sim.offer_ids()),
        speed=options.speed,
        member=tokens.member_id,
        tokens_file=data_dir / "1688-tokens.json",
        ding=fakes.dingtalk.url,
        wecom=fakes.wecom.url,
        hook=fakes.webhook.url,
        data_dir=data_dir,
        cli=_cli_name(),
        config=cfg_path,
    )
    out.rule(text("banner_title", lang))
    for line in banner_lines(facts, lang):
        out.print(line)
    out.rule()


def _cli_name() -> str:
    """How to call the CLI from here: ``make run`` leaves it in .venv/bin, not on PATH."""
    script = Path(sys.executable).parent / "stockwatch"
    if not script.exists():
        return "stockwatch"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _pushes(sim: SimulatorHandle) -> tuple[int, int] | None:
    """The simulator's push figures: acknowledged, kept for compensation (None if gone)."""
    try:
        push = sim.stats()["push"]
    except (httpx.HTTPError, RuntimeError):
        return None
    return int(push["acked"]), len(push["kept"])
