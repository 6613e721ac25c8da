"""``stockwatch scheduler``: the one process per deployment that turns schedules into tasks.

Run two (or more) for availability: the one holding the leader lock (a PostgreSQL advisory lock,
or a file lock on SQLite) plans each poll group into batches of offers and queues them; the
others wait and try the lock every ``tick``. When the holder dies its lock goes with its
database session, so a standby takes over within about one tick. A batch not read twice the
broker's visibility timeout after it was queued is queued again (``BatchLedger``: a broker can
lose a task with the worker that took it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import Celery

from stockwatch.config.settings import Config
from stockwatch.entrypoints.worker.app import DELIVER_TASK, POLL_TASK, queue_name, shop_id
from stockwatch.service.poll_tasks import BatchLedger, plan_batches
from stockwatch.wiring.worker import LeaderLock, WorkerRuntime

log = logging.getLogger("stockwatch.scheduler")


def run_scheduler(
    config: Config,
    app: Celery,
    rt: WorkerRuntime,
    lock: LeaderLock,
    stop: threading.Event,
    *,
    tick: float = 1.0,
    say: Callable[[str], None] = print,
) -> None:
    daemon = config.model.daemon
    deliver_every = daemon.seconds(daemon.deliver_every)
    queue = queue_name(config)
    shop = {"shop": shop_id(config)}  # a worker serving several shops runs it on this one's
    offers = config.model.scale.offers_per_task
    resend_after = timedelta(seconds=2 * config.model.scale.visibility_timeout + 5 * tick)
    while not stop.is_set():
        if not lock.try_acquire():
            stop.wait(tick)
            continue
        say(f"scheduler: leader, {rt.sync_catalog()} item(s) watched")
        due: dict[str, datetime] = {g.name: rt.clock() for g in daemon.groups}
        next_delivery = rt.clock()
        ledger = BatchLedger(resend_after)  # a new leader starts with every group due
        try:
            while not stop.is_set() and lock.still_held():
                now = rt.clock()
                for group in daemon.groups:
                    if now < due[group.name]:
                        continue
                    batches = plan_batches(rt.group_items(group.name), offers)
                    for keys in batches:
                        app.send_task(POLL_TASK, args=[group.name, keys], kwargs=shop, queue=queue)
                    ledger.queued(group.name, batches, now)
                    due[group.name] = group.next_after(now)
                    say(f"scheduler: {group.name}: {len(batches)} task(s) queued")
                for lost in ledger.overdue(now):
                    read = rt.store.keys_read_since(lost.keys, lost.queued_at)
                    unread = [k for k in lost.keys if k not in read]
                    if unread:
                        app.send_task(
                            POLL_TASK, args=[lost.group, unread], kwargs=shop, queue=queue
                        )
                        say(
                            f"scheduler: {lost.group}: {len(unread)} item(s) not read, queued again"
                        )
                if now >= next_delivery:
                    app.send_task(DELIVER_TASK, kwargs=shop, queue=queue)
                    next_delivery = now.fromtimestamp(now.timestamp() + deliver_every, now.tzinfo)
                stop.wait(tick)
        finally:
            lock.release()
        if not stop.is_set():
            say("scheduler: lost the lock, standing by")
