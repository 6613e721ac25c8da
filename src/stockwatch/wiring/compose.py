"""The composition root: the one place that turns configuration into adapters and inputs."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from stockwatch.adapters.alibaba1688.settings import GatewaySettings
from stockwatch.adapters.alibaba1688.token_file import JsonTokenStore
from stockwatch.adapters.alibaba1688_push import interpret as interpret_push
from stockwatch.adapters.db import migrate
from stockwatch.adapters.db.engine import database_url, is_sqlite, make_engine
from stockwatch.adapters.db.health import SqlHealthProbe
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.adapters.db.store import SqlStore
from stockwatch.adapters.db.tasks import SqlTaskStore
from stockwatch.adapters.db.threshold_store import SqlThresholdStore, last_computed_at
from stockwatch.adapters.db.token_store import SqlTokenStore
from stockwatch.adapters.files import Loaded, RowProblem, daily_series, read_items, read_sales
from stockwatch.adapters.metrics import PrometheusMetrics
from stockwatch.adapters.recompute_schedule import next_recompute_at
from stockwatch.adapters.stock_file import FileStockSource
from stockwatch.config.daemon import HttpConfig, PollGroupConfig
from stockwatch.config.settings import Config, parse_duration
from stockwatch.core.model import Item, ItemKey, TierLevels
from stockwatch.core.thresholds import Promotion, ThresholdPolicy
from stockwatch.ports import (
    Clock,
    Metrics,
    NoMetrics,
    OAuthFlow,
    PromotionStore,
    PushInterpreter,
    Router,
    StockSource,
    Store,
    TokenStore,
)
from stockwatch.service.accounts import Accounts
from stockwatch.service.alerts import settle_order_acks
from stockwatch.service.broadcast import BroadcastRouter
from stockwatch.service.check import levels_for_items
from stockwatch.service.digest import DailyDigests, at_risk
from stockwatch.service.health import HealthLimits
from stockwatch.service.polling import Evaluator
from stockwatch.service.recompute import NoSalesHistory
from stockwatch.service.routing import RouteTable
from stockwatch.wiring.accounts import build_accounts
from stockwatch.wiring.auth import auth_expiry_watch
from stockwatch.wiring.item_lead_times import with_config_lead_times
from stockwatch.wiring.notify import (
    build_channels,
    build_router,
    build_worker,
    close_channels,
    delivery_settings,
)
from stockwatch.wiring.observe import MeteredNotifier, MeteredRouter
from stockwatch.wiring.orders import OrderSync
from stockwatch.wiring.promotions import PromotionApplier, all_promotions, promotion_store
from stockwatch.wiring.purchase_sync import PurchaseSync
from stockwatch.wiring.purchasing import learned_lead_times
from stockwatch.wiring.sales_levels import (
    import_configured_sales,
    recompute_levels,
    sales_levels_computer,
)
from stockwatch.wiring.warehouse_split import check_split, with_shares


@dataclass
class Catalog:
    """The merchant's items and daily sales, with every row that had to be skipped."""

    items: dict[ItemKey, Item] = field(default_factory=dict)
    sales: dict[str, list[int]] = field(default_factory=dict)
    skipped: list[tuple[Path, RowProblem]] = field(default_factory=list)
    sales_end: date | None = None
    unknown_columns: list[tuple[Path, str]] = field(default_factory=list)  # ignored columns

    def note(self, loaded: Loaded[object]) -> None:
        self.skipped.extend((loaded.path, p) for p in loaded.problems)
        self.unknown_columns.extend((loaded.path, c) for c in loaded.unknown_columns)


def load_catalog(
    config: Config, as_of: date, items_path: Path | None = None, sales_path: Path | None = None
) -> Catalog:
    """Read the item catalogue and the sales history named on the command line or in config."""
    catalog = Catalog()
    items_path = items_path or (
        config.resolve(config.model.catalog.items) if config.model.catalog.items else None
    )
    sales_path = sales_path or (
        config.resolve(config.model.catalog.sales) if config.model.catalog.sales else None
    )
    if items_path is not None:
        loaded_items = read_items(items_path)
        catalog.note(loaded_items)  # type: ignore[arg-type]
        items = {item.key: item for item in loaded_items.rows}
        catalog.items = with_shares(config, with_config_lead_times(config, items))
    if sales_path is not None:
        loaded_sales = read_sales(sales_path)
        catalog.note(loaded_sales)  # type: ignore[arg-type]
        window = max(
            [_window_days(config, item) for item in catalog.items.values()]
            or [config.threshold_policy(None).window_days]
        )
        catalog.sales = daily_series(loaded_sales.rows, as_of, window)
        catalog.sales_end = max((line.day for line in loaded_sales.rows), default=None)
    return catalog


def _window_days(config: Config, item: Item) -> int:
    """Return the item's history window; an item whose settings clash is reported later, per
    item (levels_for_items), so here it just gets the default window."""
    try:
        return config.threshold_policy(item).window_days
    except ValueError:
        return config.threshold_policy(None).window_days


def policy_resolver(config: Config) -> Callable[[Item | None, str], ThresholdPolicy]:
    """Return a function giving each item its resolved threshold policy."""

    def policy_for(item: Item | None, sku: str) -> ThresholdPolicy:
        return config.threshold_policy(item, sku)

    return policy_for


def gateway_settings(config: Config) -> GatewaySettings:
    """The 1688 client's settings from ``[gateway]`` (secrets already expanded)."""
    g = config.model.gateway
    return GatewaySettings(
        app_key=g.app_key,
        app_secret=g.app_secret.get_secret_value(),
        base_url=g.base_url,
        redirect_uri=g.redirect_uri,
        authorize_url=g.authorize_url,
        side=g.side,
        buyer_api=g.buyer_api,
        seller_read=g.seller_read,
        qps=g.qps,
        concurrency=g.concurrency,
        connect_timeout=parse_duration(g.connect_timeout).total_seconds(),
        read_timeout=parse_duration(g.read_timeout).total_seconds(),
        max_attempts=g.max_attempts,
        backoff_initial=parse_duration(g.backoff_initial).total_seconds(),
        backoff_max=parse_duration(g.backoff_max).total_seconds(),
        refresh_margin=parse_duration(g.refresh_margin).total_seconds(),
        refresh_warn_days=g.refresh_warn_days,
        static_access_token=g.access_token.get_secret_value() if g.access_token else None,
    )


def token_store(config: Config, engine: Engine | None = None) -> TokenStore:
    """Where 1688 tokens persist: ``[gateway] token_store`` = file (data dir) or db."""
    if config.model.gateway.token_store == "db":
        if engine is None:
            raise ValueError("[gateway] token_store = 'db' needs a database engine")
        return SqlTokenStore(engine)
    return JsonTokenStore(config.data_dir / "1688-tokens.json")


# --- The watch daemon (issue #5) ---------------------------------------------------------------
#
# build_daemon() is where the daemon's parts are chosen. Plug points:
#   source     a ports.StockSource: stock_source() below picks it (1688 client goes there);
#   router     a ports.Router: BroadcastRouter over [daemon] channels (a [[routes]] router later);
#   deliver    async (now) -> count: log_deliverer() below (the delivery worker later);
#   recompute  async (now) -> object: refreshes the computed levels (bulk recompute later).


Deliver = Callable[[datetime], Awaitable[int]]
Recompute = Callable[[datetime], Awaitable[object]]


@dataclass
class DaemonParts:
    """Everything the daemon runs on; ``build_daemon`` assembles it from config."""

    store: Store
    source: StockSource
    evaluator: Evaluator
    groups: Sequence[PollGroupConfig]
    clock: Clock
    deliver: Deliver
    interpret: PushInterpreter
    recompute: Recompute | None = None
    next_recompute: Callable[[datetime], datetime] | None = None  # when the next one is due
    http_host: str = "127.0.0.1"
    http_port: int | None = 8686  # None: no HTTP server
    push_secret: str | None = None
    webhook_token: str | None = None
    deliver_every: float = 5.0
    retention: tuple[timedelta, timedelta, float] | None = None  # raw_for, keep_for, every (s)
    stale_after: timedelta = timedelta(hours=6)
    run_file: Path | None = None  # daemon.json: pid and URL, for the CLI and tests
    max_cycles: int | None = None  # stop after this many group polls (demo --once, tests)
    on_cycle: Callable[[str, int], None] | None = None  # (group, notices) after each poll
    tick: float = 1.0  # how often early rechecks are looked for
    recheck_gap: float = 2.0  # early re-reads (webhook, order push) at most once per gap
    push_batch_wait: float = 0.2  # pause between passes of the push processor
    checkpoint: Callable[[], None] | None = None  # SQLite WAL checkpoint, run every second
    digests: DailyDigests | None = None  # routes with a daily digest
    lang: str = "zh-CN"  # dashboard default language
    timezone: str = "Asia/Shanghai"  # dashboard times
    web_token: str | None = None  # [daemon.http] token: a shared operator bearer for scripts
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics)  # GET /metrics
    health_probe: Callable[[datetime], None] | None = None  # /healthz: write to the database
    health_limits: HealthLimits = field(default_factory=HealthLimits)
    http: HttpConfig = field(default_factory=HttpConfig)  # allowed hosts, cookies, /metrics
    accounts: Accounts | None = None  # users, sessions, API tokens, audit (None: open mode)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # on stop
    oauth: OAuthFlow | None = None  # /oauth/login and /oauth/callback (polling 1688 only)
    token_watch: Callable[[datetime], int] | None = None  # warns before the refresh token dies
    backtest: Callable[[str, dict[str, str]], Any] | None = None  # the dashboard's /backtest
    review_advice: Callable[[Any, datetime, datetime], Any] | None = None  # /review advice
    promotions: PromotionApplier | None = None  # applies promotions on time
    orders: OrderSync | None = None  # seller orders into sales; the push compensation API
    purchases: PurchaseSync | None = None  # the merchant's 1688 purchase orders (buyer view)
    # Every minute (and on start): the acknowledgements orders left due when a process stopped
    # mid-way, and the open tasks of items whose alert ended without a "recovered" notice.
    order_acks: Callable[[datetime], int] | None = None
    recovered_tasks: Callable[[datetime], int] | None = None
    promotion_store: PromotionStore | None = None  # /api/promotions
    # Catalogue load, levels and item sync: run after the HTTP server is up, before polling.
    prepare: Callable[[], None] | None = None
    promotion_windows: Callable[[], Sequence[Promotion]] | None = None  # item chart windows


def stock_source(
    config: Config, engine: Engine | None = None
) -> tuple[StockSource, Callable[[], Awaitable[None]] | None]:
    """Return the StockSource the daemon polls, and how to close it.

    ``[daemon] stock_file`` (a snapshot an ERP rewrites) wins; otherwise the 1688 gateway of
    ``[gateway]`` (the local simulator by default), with its tokens from ``token_store``.
    """
    daemon = config.model.daemon
    if daemon.stock_file:
        return FileStockSource(config.resolve(daemon.stock_file)), None
    from stockwatch.wiring.scale import gateway_session

    session = gateway_session(config, engine)
    return session.source, session.aclose


def open_database(
    config: Config,
    url: str | None = None,
    *,
    upgrade: bool | None = None,
    autocheckpoint: bool = True,
) -> Engine:
    """Return the engine every command shares: ``url``, else $STOCKWATCH_DATABASE_URL, else
    ``[database] url``, else SQLite in the data dir; migrated when ``auto_upgrade`` is on."""
    db = config.model.database
    engine = make_engine(
        url or database_url(db.url, config.data_dir),
        busy_timeout_ms=db.busy_timeout_ms,
        autocheckpoint=autocheckpoint,
    )
    if db.auto_upgrade if upgrade is None else upgrade:
        migrate.upgrade(engine)
    return engine


def open_store(
    config: Config, *, upgrade: bool | None = None, autocheckpoint: bool = True
) -> SqlStore:
    """Return the store for the configured database, migrated when ``auto_upgrade`` is on."""
    return SqlStore(open_database(config, upgrade=upgrade, autocheckpoint=autocheckpoint))


def batches_at_once(store: SqlStore) -> int:
    """How many batches an Evaluator evaluates at once (see Evaluator): two on PostgreSQL, so
    that this process's Python and the server's statements overlap; one on SQLite, whose
    statements are this process's CPU."""
    return 1 if is_sqlite(store.engine) else 2


class LevelCache:
    """Computed levels per item from config + sales; rebuilt by ``refresh`` (the recompute)."""

    def __init__(
        self, config: Config, as_of: date | None = None, engine: Engine | None = None
    ) -> None:
        self.config = config
        self.as_of = as_of
        # Promotions entered through the API, and received purchase orders (learned lead
        # times), live there.
        self.engine = engine
        self.levels: dict[ItemKey, TierLevels] = {}
        self.catalog = Catalog()
        # Every recompute of the daemon (scheduled, after an order pull, a promotion) holds
        # this from reading the sales to writing the levels: run side by side, one that read no
        # sales yet could write the new-item rule over levels another just computed from them.
        self.recompute_lock = threading.Lock()

    def refresh(self) -> Catalog:
        day = self.as_of or datetime.now(ZoneInfo(self.config.model.general.timezone)).date()
        catalog = load_catalog(self.config, day)
        resolve = policy_resolver(self.config)
        levels, _ = levels_for_items(
            catalog.items,
            catalog.items,
            resolve,
            catalog.sales,
            day,
            all_promotions(self.config, self.engine),
            lead_times=learned_lead_times(self.engine, catalog.items, resolve),
        )
        self.levels, self.catalog = levels, catalog
        return catalog

    def __call__(self, key: ItemKey, item: Item | None) -> TierLevels | None:
        return self.levels.get(key)


def log_deliverer(store: SqlStore, lang: str = "zh-CN") -> Callable[[datetime], Awaitable[int]]:
    """Return a deliver function that writes each claimed outbox row to the log and stdout."""
    out = logging.getLogger("stockwatch.outbox")

    async def deliver(now: datetime) -> int:
        # Rows a killed process left half-sent go back to the queue (at-least-once).
        await asyncio.to_thread(store.release_stale_claims, now, timedelta(minutes=5))
        rows = await asyncio.to_thread(store.claim_pending, now, 100)
        for entry_id, channel, message in rows:
            out.warning("[%s] %s", channel, message.text.replace("\n", " | "))
            await asyncio.to_thread(store.mark_sent, entry_id, now, "logged")
        return len(rows)

    return deliver


def default_router(config: Config) -> Router:
    """Return the ``[[routes]]`` router, or every notice to ``[daemon] channels`` without routes."""
    if config.model.routes:
        return build_router(config)
    return BroadcastRouter(tuple(config.model.daemon.channels), config.lang)


def channel_deliverer(
    config: Config, store: SqlStore, clock: Clock | None = None, metrics: Metrics | None = None
) -> tuple[Deliver, Callable[[], Awaitable[None]]]:
    """Return the delivery worker's pass as a deliver function, and how to close its channels.

    The worker runs on the daemon's ``clock``: outbox rows are due, and send budgets counted,
    in its time (simulated in the demo). The channels keep the wall clock: providers check
    signature timestamps against theirs.
    """
    channels = build_channels(config, store.engine)
    metered = {name: MeteredNotifier(c, metrics or NoMetrics()) for name, c in channels.items()}
    worker = build_worker(
        store.engine,
        channels,
        clock=clock or _utc_now,
        senders=metered,
        settings=delivery_settings(config),
    )

    async def deliver(now: datetime) -> int:
        stats = await worker.run_once()
        return stats.claimed

    async def close() -> None:
        await close_channels(channels)

    return deliver, close


def threshold_recompute(config: Config, store: SqlStore, cache: LevelCache) -> Recompute:
    """Return the scheduled recompute: the bulk path over imported sales into the thresholds
    table (alerting reads the active rows), plus a refresh of the computed fallback levels."""

    def run(now: datetime) -> object:
        with cache.recompute_lock:
            return _locked_run(now)

    def _locked_run(now: datetime) -> object:
        # numpy and pyarrow load only when a recompute actually runs (CLI start-up stays fast).
        from stockwatch.adapters.db.sales import SqlSalesStore

        catalog = cache.refresh()
        sales = SqlSalesStore(store.engine)
        import_configured_sales(config, catalog.items, sales)  # history only in the file
        imported = sales.skus()
        keys = sorted({str(k) for k in catalog.items} or set(imported))
        if not keys:
            return None
        day = cache.as_of or now.astimezone(ZoneInfo(config.model.general.timezone)).date()
        computer = sales_levels_computer(config, catalog.items, store.engine, sales)
        try:
            return recompute_levels(
                keys,
                day,
                computer,
                SqlThresholdStore(store.engine),
                now,
                review_factor=config.model.thresholds.review_factor,
                has_sales=bool(imported),
            )
        except NoSalesHistory as exc:  # the same rule as `thresholds recompute`: skip, say why
            logging.getLogger("stockwatch.recompute").warning("recompute skipped: %s", exc)
            return None

    async def recompute(now: datetime) -> object:
        return await asyncio.to_thread(run, now)

    return recompute


def build_daemon(
    config: Config,
    *,
    source: StockSource | None = None,
    router: Router | None = None,
    deliver: Deliver | None = None,
    recompute: Recompute | None = None,
    clock: Clock | None = None,
    as_of: date | None = None,
    max_cycles: int | None = None,
    http_port: int | None = -1,
    lazy: bool = False,
) -> DaemonParts:
    """Assemble the daemon from configuration; every keyword replaces one default part.

    Plug points: ``source`` (stock_source: the snapshot file, later the 1688 client),
    ``router`` (default_router), ``deliver`` (the delivery worker when ``[[channels]]`` exist,
    else log_deliverer), ``recompute`` (threshold_recompute, on ``[thresholds] recompute``).
    ``lazy``: leave the catalogue load and item sync to the daemon, after its HTTP server is up
    (``stockwatch run``); otherwise they happen here.
    """
    model = config.model
    daemon = model.daemon
    store = open_store(config, autocheckpoint=False)  # checkpoints run off the hot path
    cache = LevelCache(config, as_of, store.engine)
    reads_1688 = source is None and not daemon.stock_file

    def prepare() -> None:
        # Run by the daemon once its HTTP server answers: at 100,000 items reading the
        # catalogue, computing every item's levels and syncing the items table take far longer
        # than a health check waits, and the dashboard can serve from the database meanwhile.
        catalog = cache.refresh()
        items = list(catalog.items.values())
        if reads_1688:  # one offer's stock for several items: an explicit split, never a copy
            check_split(config, items)
        store.sync_items(items, {i.key: daemon.group_of(i) for i in items}, (clock or _utc_now)())

    if not lazy:
        prepare()
    closers: list[Callable[[], Awaitable[None]]] = []
    metrics = PrometheusMetrics()
    client = None
    oauth: OAuthFlow | None = None
    token_watch: Callable[[datetime], int] | None = None
    if source is None and daemon.stock_file:
        source = FileStockSource(config.resolve(daemon.stock_file))
    elif source is None:
        from stockwatch.adapters.alibaba1688.session import GatewaySession

        session = GatewaySession(gateway_settings(config), token_store(config, store.engine))
        source, client = session.source, session.client
        closers.append(session.aclose)
        oauth = OAuthFlow(session.oauth.authorize_url, session.tokens.login)
        token_watch = auth_expiry_watch(config, store, session.tokens.health)
    if deliver is None and model.channels:
        deliver, close = channel_deliverer(config, store, clock, metrics)
        closers.append(close)
    router = router or default_router(config)
    evaluator = Evaluator(
        store=store,
        router=MeteredRouter(router, metrics),  # counts every notice, however it was raised
        policy=config.alert_policy(),
        levels_for=cache,
        levels_read_item=False,  # LevelCache looks levels up by key
        parallel_batches=batches_at_once(store),
    )
    digests = daily_digests(router, store, cache)
    metrics.watch_backlog(store.outbox_backlog)
    supplier = client.stats if client is not None else None
    if supplier is not None:  # the 1688 client's call counters (not for a stock file)
        metrics.watch_supplier(lambda: supplier)
    spec = model.thresholds.recompute
    tz = ZoneInfo(model.general.timezone)
    scheduled = recompute or threshold_recompute(config, store, cache)
    ran: list[datetime] = []  # a run that wrote nothing (no sales yet) still counts as a run

    async def recompute_and_note(moment: datetime) -> object:
        ran.append(moment)
        return await scheduled(moment)

    def next_recompute(moment: datetime) -> datetime:
        last = max([t for t in (last_computed_at(store.engine), *ran[-1:]) if t], default=None)
        return next_recompute_at(spec, last, moment, tz)

    retention = daemon.retention
    web_token = daemon.http.token.get_secret_value() if daemon.http.token else None
    accounts = build_accounts(store.engine, daemon.http.session_hours)
    port = (daemon.http.port if daemon.http.enabled else None) if http_port == -1 else http_port
    if port is not None:
        refuse_open_exposure(daemon.http.host, accounts, web_token)
    promotions = PromotionApplier(config, store, cache)
    o = daemon.orders
    orders = None
    if client is not None and o.enabled is not False:
        orders = OrderSync(
            config,
            store,
            cache,
            client,
            every=daemon.seconds(o.every),
            compensate_every=daemon.seconds(o.compensate_every),
            # by default only a seller's daemon reads its own orders
            pull_orders=o.enabled or model.gateway.side == "seller",
        )
    purchases = None
    if client is not None and daemon.purchases.enabled is not False:
        purchases = PurchaseSync(
            config, store, cache, client, daemon.seconds(daemon.purchases.every)
        )
    return DaemonParts(
        store=store,
        source=source,
        evaluator=evaluator,
        groups=daemon.groups,
        clock=clock or _utc_now,
        deliver=deliver or log_deliverer(store, config.lang),
        interpret=interpret_push,
        recompute=recompute_and_note,
        next_recompute=next_recompute,
        http_host=daemon.http.host,
        http_port=port,
        push_secret=daemon.push_app_secret.get_secret_value() if daemon.push_app_secret else None,
        webhook_token=daemon.webhook_token.get_secret_value() if daemon.webhook_token else None,
        deliver_every=daemon.seconds(daemon.deliver_every),
        recheck_gap=daemon.seconds(daemon.recheck_coalesce),
        retention=(
            timedelta(days=retention.raw_days),
            timedelta(days=retention.keep_days),
            daemon.seconds(retention.run_every),
        ),
        stale_after=config.alert_policy().stale_after,
        run_file=config.data_dir / "daemon.json",
        checkpoint=store.checkpoint,
        max_cycles=max_cycles,
        closers=closers,
        digests=digests,
        lang=config.lang,
        timezone=config.model.general.timezone,
        web_token=web_token,
        metrics=metrics,
        health_probe=SqlHealthProbe(store.engine),
        health_limits=HealthLimits(
            max_poll_age=timedelta(seconds=daemon.seconds(daemon.http.health_max_poll_age)),
            max_backlog_age=timedelta(seconds=daemon.seconds(daemon.http.health_max_backlog_age)),
        ),
        http=daemon.http,
        accounts=accounts,
        prepare=prepare if lazy else None,
        promotion_windows=lambda: all_promotions(config, store.engine),
        oauth=oauth,
        token_watch=token_watch,
        promotions=promotions,
        orders=orders,
        purchases=purchases,
        order_acks=lambda now: settle_order_acks(store, SqlPurchaseOrderStore(store.engine), now),
        recovered_tasks=SqlTaskStore(store.engine).close_recovered,
        promotion_store=promotion_store(store.engine),
        backtest=_lazy_backtest(config, store),
        review_advice=_lazy_advice(config, store),
    )


class OpenExposure(ValueError):
    """The dashboard would listen beyond loopback with nobody able to log in."""


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def refuse_open_exposure(host: str, accounts: Accounts, web_token: str | None) -> None:
    """A non-loopback bind needs a user, an API token or the shared token: else refuse to start.

    On loopback with no user the dashboard stays open (the single-user default of
    ``make run``); anywhere else that would hand the shop to the network.
    """
    if host in LOOPBACK or host.startswith("127."):
        return
    if web_token or accounts.login_required() or accounts.any_token():
        return
    raise OpenExposure(
        f"[daemon.http] host = {host!r} is reachable from the network, but no user or API "
        "token exists, so anyone could use the dashboard. Create one first "
        "(stockwatch users add NAME --role admin, or stockwatch tokens add NAME), or bind "
        "to 127.0.0.1."
    )


def _lazy_backtest(config: Config, store: SqlStore) -> Callable[[str, dict[str, str]], Any]:
    """The /backtest replay; numpy and the backtest load at the first visit, not at start-up."""
    built: list[Callable[[str, dict[str, str]], Any]] = []

    def run(lang: str, params: dict[str, str]) -> Any:
        if not built:
            from stockwatch.wiring.backtest import backtest_page

            built.append(backtest_page(config, store.engine))
        return built[0](lang, params)

    return run


def _lazy_advice(config: Config, store: SqlStore) -> Callable[[Any, datetime, datetime], Any]:
    def run(review: Any, since: datetime, until: datetime) -> Any:
        from stockwatch.wiring.review import review_advice

        return review_advice(config, store.engine, store, review, since, until)

    return run


def daily_digests(router: Router, store: SqlStore, cache: LevelCache) -> DailyDigests | None:
    """Return the daily digest job when a ``[[routes]]`` entry asks for one."""
    if not isinstance(router, RouteTable) or all(r.digest_at is None for r in router.routes):
        return None
    outbox = SqlOutbox(store.engine)
    return DailyDigests(router, lambda now: at_risk(store, cache, now), outbox.add)


def _utc_now() -> datetime:
    return datetime.now(UTC)
