"""``stockwatch worker`` and ``stockwatch scheduler``: the scale-out processes (docs/scaling.md)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from stockwatch.config.settings import Config
from stockwatch.entrypoints.cli.common import ConfigOpt, err, lang_of, out
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import load as _load

TEXTS = {
    "mixed_brokers": (
        "一个 worker 服务的各店铺必须使用同一个任务队列（[scale] broker_url）和同一个 "
        "[scale] broker_prefix：{a} 与 {b} 不同",
        "the shops one worker serves must share one task queue ([scale] broker_url) and one "
        "[scale] broker_prefix: {a} and {b} differ",
    ),
    "same_shop": (
        "{a} 与 {b} 的 [scale] key_prefix 相同（{prefix}）：每个店铺需要自己的 key_prefix",
        "{a} and {b} have the same [scale] key_prefix ({prefix}): each shop needs its own",
    ),
    "no_broker": (
        "没有任务队列：请设置 [scale] redis_url 或 broker_url（或环境变量 STOCKWATCH_BROKER_URL）",
        "no task queue: set [scale] redis_url or broker_url (or $STOCKWATCH_BROKER_URL)",
    ),
}


def _t(key: str, lang: str, **values: object) -> str:
    zh, en = TEXTS[key]
    return (en if lang == "en" else zh).format(**values)


def _shops(paths: list[Path]) -> list[Config]:
    """Load every shop's configuration; they must share a broker and differ in key_prefix."""
    configs = [_load(p) for p in paths]
    first, lang = configs[0], lang_of(configs[0], None)
    seen: dict[str, Path] = {}
    for path, cfg in zip(paths, configs, strict=True):
        scale, base = cfg.model.scale, first.model.scale
        if not scale.broker():
            raise _fail(f"{path}: {_t('no_broker', lang)}")
        if (scale.broker(), scale.broker_key_prefix()) != (
            base.broker(),
            base.broker_key_prefix(),
        ):
            raise _fail(_t("mixed_brokers", lang, a=paths[0], b=path))
        if scale.key_prefix in seen:
            raise _fail(
                _t("same_shop", lang, a=seen[scale.key_prefix], b=path, prefix=scale.key_prefix)
            )
        seen[scale.key_prefix] = path
    return configs


def worker(
    config: ConfigOpt = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="tasks run at once in this process (threads)")
    ] = 4,
    shop: Annotated[
        list[Path] | None,
        typer.Option(
            "--shop",
            help="serve this shop's config (repeat for several shops; default: --config)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run a Celery worker that polls batches of offers and delivers the outbox."""
    from stockwatch.entrypoints.worker.app import SHOPS_ENV, make_app, queue_name

    if shop:
        configs = _shops([p.resolve() for p in shop])
        os.environ[SHOPS_ENV] = os.pathsep.join(str(p.resolve()) for p in shop)
    else:
        configs = [_load(config)]
        if not configs[0].model.scale.broker():
            raise _fail(_t("no_broker", lang_of(configs[0], None)))
        if config is not None:
            os.environ["STOCKWATCH_CONFIG"] = str(config)  # the tasks load the same file
    app = make_app(configs[0])
    # Threads: the tasks wait on 1688 and the database, not on the CPU.
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency}",
            f"--queues={','.join(queue_name(c) for c in configs)}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            # A node name of its own: several workers on one host would otherwise share
            # "celery@host", and on RabbitMQ all but one die on its exclusive control queue.
            f"--hostname=stockwatch-{os.getpid()}@%h",
        ]
    )


def scheduler(
    config: ConfigOpt = None,
    tick: Annotated[float, typer.Option("--tick", help="seconds between checks")] = 1.0,
) -> None:
    """Run the scheduler (one leader per deployment; start a second one as a standby)."""
    cfg = _load(config)
    if not cfg.model.scale.broker():
        raise _fail(_t("no_broker", lang_of(cfg, None)))
    from stockwatch.entrypoints.worker.app import make_app
    from stockwatch.entrypoints.worker.scheduler import run_scheduler
    from stockwatch.wiring.worker import scheduler_lock, worker_runtime

    app = make_app(cfg)
    rt = worker_runtime(cfg)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    err.print("scheduler: standing by for the leader lock", highlight=False)
    run_scheduler(
        cfg,
        app,
        rt,
        scheduler_lock(cfg, rt.store),
        stop,
        tick=tick,
        say=lambda line: out.print(line, highlight=False),
    )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("scheduler")(scheduler)
