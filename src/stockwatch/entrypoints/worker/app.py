"""``stockwatch worker``: a Celery app whose tasks call the service functions, nothing more.

No-loss settings: a task is acknowledged only after it ran (``acks_late``), a task whose
worker died mid-run goes back to the queue (``reject_on_worker_lost``; on Redis after the
``visibility_timeout``, on RabbitMQ as soon as the connection drops), each worker takes one task
at a time (``prefetch_multiplier = 1``) so a killed worker holds back at most its running
ones. Tasks are idempotent (see service/poll_tasks.py), so running one twice is harmless.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from celery import Celery

from stockwatch.config.settings import Config, find_config, load_config
from stockwatch.service.poll_tasks import poll_batch
from stockwatch.wiring.worker import WorkerRuntime, worker_runtime

POLL_TASK = "stockwatch.poll_batch"
DELIVER_TASK = "stockwatch.deliver"

_runtime: WorkerRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> WorkerRuntime:
    """This process's store, evaluator and gateway settings, built on the first task."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            path = os.environ.get("STOCKWATCH_CONFIG")
            _runtime = worker_runtime(load_config(find_config(Path(path) if path else None)))
        return _runtime


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
    }
    if broker.startswith(("redis://", "rediss://")):
        settings["broker_transport_options"] = {
            "visibility_timeout": scale.visibility_timeout,
            "global_keyprefix": f"{scale.key_prefix}:",
        }
    return settings


def make_app(config: Config) -> Celery:
    app = Celery("stockwatch")
    app.conf.update(celery_settings(config))

    @app.task(name=POLL_TASK)
    def poll_batch_task(group: str, keys: list[str]) -> dict[str, int]:
        rt = runtime()

        async def run() -> dict[str, int]:
            source, close = rt.source()
            try:
                result = await poll_batch(group, keys, source, rt.evaluator, rt.clock)
            finally:
                await close()
            return {
                "readings": result.readings,
                "failed": result.failed,
                "notices": len(result.notices),
            }

        return asyncio.run(run())

    @app.task(name=DELIVER_TASK)
    def deliver_task() -> int:
        rt = runtime()

        async def run() -> int:
            deliver, close = rt.deliverer()
            try:
                return await deliver(rt.clock())
            finally:
                await close()

        return asyncio.run(run())

    return app
