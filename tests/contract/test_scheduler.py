"""The scheduler against real Redis (the Celery broker) and SQLite: a poll task the broker lost
is queued again for the items it did not read, once, and not for the items that were read."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from pathlib import Path

import redis
from celery import Celery

from stockwatch.config.settings import load_config
from stockwatch.core.model import ItemKey, Reading, ReadingSource
from stockwatch.entrypoints.worker.app import POLL_TASK, celery_settings, queue_name
from stockwatch.entrypoints.worker.scheduler import run_scheduler
from stockwatch.wiring.compose import open_store
from stockwatch.wiring.worker import scheduler_lock, worker_runtime
from tests.conftest import require_redis


def _shop(root: Path, run: str) -> Path:
    (root / "items.csv").write_text(
        "sku,title,offer_id\nMUG,杯子,610001\nBOWL,碗,610002\n", encoding="utf-8"
    )
    config = root / "stockwatch.toml"
    config.write_text(
        f"""
[general]
data_dir = "data"
lang = "en"
[catalog]
items = "items.csv"
[thresholds]
strategy = "fixed"
threshold = 10
[database]
url = "sqlite:///{root / "shop.db"}"
[gateway]
base_url = "http://127.0.0.1:9"
access_token = "never-used-by-the-scheduler"
[daemon]
channels = ["console"]
deliver_every = "1h"
[[daemon.groups]]
name = "all"
interval = "1h"
[scale]
redis_url = "{require_redis()}"
key_prefix = "{run}"
offers_per_task = 1
visibility_timeout = 0.5
""",
        encoding="utf-8",
    )
    return config


def _queued(client: redis.Redis, key: str) -> list[list[str]]:
    """The item keys of every poll task waiting in the Redis list ``key``."""
    found = []
    for raw in client.lrange(key, 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] != POLL_TASK:
            continue  # the delivery task
        body = json.loads(base64.b64decode(message["body"]))
        found.append(body[0][1])  # (args, kwargs, embed); args = [group, keys]
    return found


def test_a_lost_poll_task_is_queued_again_for_the_items_it_did_not_read(tmp_path: Path) -> None:
    run = f"t{uuid.uuid4().hex[:8]}"
    cfg = load_config(_shop(tmp_path, run))
    open_store(cfg).engine.dispose()  # migrated
    # The scheduler only sends tasks; an app of its own registers no task names (make_app's
    # would clash with another test's app in this process, which Celery warns about).
    app = Celery("scheduler-test")
    app.conf.update(celery_settings(cfg))
    rt = worker_runtime(cfg)
    client = redis.Redis.from_url(require_redis())
    key = f"{run}:{queue_name(cfg)}"  # the broker's list, under the broker key prefix
    said: list[str] = []
    both_queued, lost_queued = threading.Event(), threading.Event()

    def say(line: str) -> None:
        said.append(line)
        if "2 task(s) queued" in line:
            both_queued.set()
        if "not read, queued again" in line:
            lost_queued.set()

    stop = threading.Event()
    lock = scheduler_lock(cfg, rt.store)
    thread = threading.Thread(
        target=run_scheduler, args=(cfg, app, rt, lock, stop), kwargs={"tick": 0.05, "say": say}
    )
    thread.start()
    try:
        assert both_queued.wait(20), said
        assert sorted(_queued(client, key)) == [["BOWL"], ["MUG"]]
        # A worker takes both and dies with them: gone from the broker. MUG's was done first.
        client.delete(key)
        rt.store.add_readings(
            [Reading(ItemKey.parse("MUG"), rt.clock(), ReadingSource.POLL, 40)], rt.clock()
        )
        assert lost_queued.wait(20), said
        assert _queued(client, key) == [["BOWL"]]
        assert [line for line in said if "queued again" in line] == [
            "scheduler: all: 1 item(s) not read, queued again"
        ]
    finally:
        stop.set()
        thread.join(10)
        client.delete(key)
        client.close()
        # Its broker connections: a later test counts this process's Redis sockets.
        app.pool.force_close_all()
        app.close()
        rt.store.engine.dispose()
