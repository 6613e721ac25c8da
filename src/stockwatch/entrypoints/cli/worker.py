"""``stockwatch worker`` and ``stockwatch scheduler``: the scale-out processes (docs/scaling.md)."""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated

import typer

from stockwatch.entrypoints.cli.common import ConfigOpt, err, out
from stockwatch.entrypoints.cli.common import fail as _fail
from stockwatch.entrypoints.cli.common import load as _load

TEXTS = {
    "no_broker": (
        "没有任务队列：请设置 [scale] redis_url 或 broker_url（或环境变量 STOCKWATCH_BROKER_URL）",
        "no task queue: set [scale] redis_url or broker_url (or $STOCKWATCH_BROKER_URL)",
    ),
}


def _t(key: str, lang: str) -> str:
    zh, en = TEXTS[key]
    return en if lang == "en" else zh


def worker(
    config: ConfigOpt = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="tasks run at once in this process (threads)")
    ] = 4,
) -> None:
    """Run a Celery worker that polls batches of offers and delivers the outbox."""
    cfg = _load(config)
    if not cfg.model.scale.broker():
        raise _fail(_t("no_broker", cfg.lang))
    if config is not None:
        os.environ["STOCKWATCH_CONFIG"] = str(config)  # the tasks load the same file
    from stockwatch.entrypoints.worker.app import make_app, queue_name

    app = make_app(cfg)
    # Threads: the tasks wait on 1688 and the database, not on the CPU.
    app.worker_main(
        [
            "worker",
            "--pool=threads",
            f"--concurrency={concurrency}",
            f"--queues={queue_name(cfg)}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def scheduler(
    config: ConfigOpt = None,
    tick: Annotated[float, typer.Option("--tick", help="seconds between checks")] = 1.0,
) -> None:
    """Run the scheduler (one leader per deployment; start a second one as a standby)."""
    cfg = _load(config)
    if not cfg.model.scale.broker():
        raise _fail(_t("no_broker", cfg.lang))
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
