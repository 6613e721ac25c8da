"""``stockwatch worker``: a Celery app whose tasks call the service functions, nothing more.

No-loss settings: a task is acknowledged only after it ran (``acks_late``), a task whose
worker died mid-run goes back to the queue (``reject_on_worker_lost``; on Redis after the
``visibility_timeout``, on RabbitMQ as soon as the connection drops), each worker takes one task
at a time (``prefetch_multiplier = 1``) so a killed worker holds back at most its running
ones. Tasks are idempotent (see service/poll_tasks.py), so running one twice is harmless.
On the Redis broker the unacknowledged tasks are swept back every few seconds, not kombu's
default of every 100 s (``restore_settings``).

Resources: every task runs on the process's one event loop and its shop's long-lived runtime
(1688 session with keep-alive connections, Redis pool, engine, channels; process.py), built
as the worker starts (``warm_up``; else on the first task) and closed at shutdown.

Several shops: each shop is its own configuration (its own database or schema, 1688 tokens,
items, channels; docs/scaling.md) and its own queue. A worker started with several shops
listens on all their queues; every task names its shop (the shop's ``[scale] key_prefix``)
and runs on that shop's runtime, so a task can only ever touch its own shop's database.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

from stockwatch.config.settings import Config, find_config, load_config
from stockwatch.entrypoints.worker.process import WorkerProcess
from stockwatch.service.poll_tasks import poll_batch
from stockwatch.wiring.worker import WorkerRuntime, worker_runtime

POLL_TASK = "stockwatch.poll_batch"
DELIVER_TASK = "stockwatch.deliver"
SHOPS_ENV = "STOCKWATCH_SHOPS"  # the shops' config files, os.pathsep-separated


class UnknownShop(LookupError):
    """A task names a shop this worker was not started for (its queue was misrouted)."""


def shop_id(config: Config) -> str:
    return config.model.scale.key_prefix


def shop_configs() -> list[Config]:
    """The shops this process serves: $STOCKWATCH_SHOPS (``worker --shop``), else the one
    configuration ($STOCKWATCH_CONFIG or the default search)."""
    paths = [Path(p) for p in os.environ.get(SHOPS_ENV, "").split(os.pathsep) if p]
    if paths:
        return [load_config(path) for path in paths]
    single = os.environ.get("STOCKWATCH_CONFIG")
    return [load_config(find_config(Path(single) if single else None))]


def build_runtime(shop: str | None = None) -> WorkerRuntime:
    """The store, evaluator and 1688 session of ``shop`` (None: the first shop; tasks queued
    before tasks named their shop)."""
    configs = shop_configs()
    by_id = {shop_id(c): c for c in configs}
    if shop is not None and shop not in by_id:
        raise UnknownShop(f"this worker does not serve shop {shop!r}")
    return worker_runtime(configs[0] if shop is None else by_id[shop])


# This process's loop and runtimes: built on the first task, kept for the life of the process.
process = WorkerProcess(build_runtime)


def runtime(shop: str | None = None) -> WorkerRuntime:
    return process.runtime(shop)


log = logging.getLogger("stockwatch.worker")


def warm_up(**_: object) -> None:
    """Build every shop's runtime and 1688 session before the worker takes its first task, so
    the catalogue load and connection setup delay no task. A shop that cannot be built now
    (its database down) is built again by its first task, which then reports the error."""

    async def open_gateway(rt: WorkerRuntime) -> None:
        rt.gateway()

    for config in shop_configs():
        try:
            process.run(open_gateway(process.runtime(shop_id(config))))
        except Exception as exc:  # any failure: the first task builds it again and reports
            log.warning("shop %s not ready yet: %s", shop_id(config), exc)


def _after_fork(**_: object) -> None:
    process.after_fork()


def _at_shutdown(**_: object) -> None:
    process.close()


# weak=False: the receivers are module functions, but keep them whatever imports this module.
signals.worker_init.connect(warm_up, weak=False)
signals.worker_process_init.connect(_after_fork, weak=False)
signals.worker_process_shutdown.connect(_at_shutdown, weak=False)
signals.worker_shutdown.connect(_at_shutdown, weak=False)


def queue_name(config: Config) -> str:
    return f"{config.model.scale.key_prefix}.tasks"


def celery_settings(config: Config) -> dict[str, Any]:
    scale = config.model.scale
    broker = scale.broker()
    if not broker:
        raise ValueError("set [scale] broker_url or redis_url (or $STOCKWATCH_BROKER_URL)")
    settings: dict[str, Any] = {
        "broker_url": broker,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": queue_name(config),
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "broker_connection_retry_on_startup": True,
        "worker_hijack_root_logger": False,
        # No remote control (celery inspect/control): nothing uses it, and its per-node
        # exclusive queue on RabbitMQ is one more thing two workers could collide on.
        "worker_enable_remote_control": False,
    }
    if broker.startswith(("redis://", "rediss://")):
        settings["broker_transport_options"] = {
            "visibility_timeout": scale.visibility_timeout,
            "global_keyprefix": f"{scale.broker_key_prefix()}:",
            **restore_settings(scale.visibility_timeout),
        }
    return settings


def restore_settings(visibility_timeout: float) -> dict[str, int]:
    """How often a worker sweeps unacknowledged tasks back to the queue (Redis broker).

    kombu scans only on every 10th call of a 10 s timer: a killed worker's task came back up
    to 100 s after its visibility timeout. One scan (a ZRANGE under a mutex) every
    ``min(10 s, timeout / 2)`` costs each worker a Redis call per few seconds and brings the
    task back within about 1.5 × the timeout.
    """
    return {
        "unacked_restore_interval": max(1, min(10, int(visibility_timeout / 2))),
        "unacked_restore_throttle": 1,
    }


def make_app(config: Config) -> Celery:
    app = Celery("stockwatch")
    app.conf.update(celery_settings(config))

    @app.task(name=POLL_TASK)
    def poll_batch_task(group: str, keys: list[str], shop: str | None = None) -> dict[str, int]:
        rt = runtime(shop)

        async def run() -> dict[str, int]:
            result = await poll_batch(group, keys, rt.source(), rt.evaluator, rt.clock)
            return {
                "readings": result.readings,
                "failed": result.failed,
                "notices": len(result.notices),
            }

        return process.run(run())

    @app.task(name=DELIVER_TASK)
    def deliver_task(shop: str | None = None) -> int:
        rt = runtime(shop)

        async def run() -> int:
            return await rt.deliverer()(rt.clock())

        return process.run(run())

    return app
