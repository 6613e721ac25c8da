"""The delivery CLI end to end: notify test, outbox list/retry/work, tasks list/close/export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockwatch.adapters.db.channel_status import SqlChannelStatus
from stockwatch.adapters.db.outbox import SqlOutbox
from stockwatch.adapters.db.purchase_orders import SqlPurchaseOrderStore
from stockwatch.core.model import ItemKey
from stockwatch.core.purchasing import PurchaseOrder
from stockwatch.devtools.receivers import Receivers
from stockwatch.entrypoints.cli.app import app
from stockwatch.ports import OutboxStatus
from stockwatch.wiring.notify import open_engine
from tests.e2e.notify_env import write_config
from tests.notify_factories import T0, routed

runner = CliRunner()


@pytest.fixture
def fakes() -> Iterator[Receivers]:
    receivers = Receivers.start()
    yield receivers
    receivers.stop()


@pytest.fixture
def config(tmp_path: Path, fakes: Receivers) -> Path:
    bad = f"dingtalk://ding-0@/?secret=SECwrong&keyword=库存&endpoint={fakes.dingtalk.url}"
    return write_config(tmp_path, fakes, {"bad-ding": bad})


def db(tmp_path: Path) -> str:
    return f"sqlite+pysqlite:///{tmp_path / 'data' / 'stockwatch.sqlite3'}"


def test_notify_test_prints_the_providers_answer_verbatim(config: Path, fakes: Receivers) -> None:
    result = runner.invoke(app, ["notify", "test", "ding0", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert '{"errcode": 0, "errmsg": "ok"}' in result.output
    assert "SEC0123456789abcdef" not in result.output  # the URL shown is redacted
    [record] = fakes.dingtalk.accepted
    assert "测试消息" in record.data["markdown"]["text"]


def test_notify_test_reports_a_rejection_with_the_answer(config: Path) -> None:
    result = runner.invoke(app, ["notify", "test", "bad-ding", "-c", str(config), "--lang", "en"])
    assert result.exit_code == 1
    assert "sign not match" in result.output and "permanent" in result.output


def test_notify_test_names_the_channels_when_one_is_unknown(config: Path) -> None:
    result = runner.invoke(app, ["notify", "test", "pager", "-c", str(config)])
    assert result.exit_code == 1 and "ding0" in result.output


def test_a_dead_letter_is_listed_retried_and_then_delivered(
    config: Path, tmp_path: Path, fakes: Receivers
) -> None:
    outbox = SqlOutbox(open_engine(db(tmp_path)))
    outbox.add(routed(1, channel="hook"), T0)
    fakes.webhook.fail_next("http403")  # forbidden: the endpoint, not this message
    work = ["outbox", "work", "-c", str(config), "--until-idle"]
    assert runner.invoke(app, work).exit_code == 0
    listed = runner.invoke(app, ["outbox", "list", "--failed", "-c", str(config), "-f", "json"])
    [row] = json.loads(listed.output)
    assert row["status"] == "failed" and "HTTP 403" in row["last_error"]
    assert "bad gateway" in row["provider_answer"]
    retried = runner.invoke(app, ["outbox", "retry", str(row["id"]), "-c", str(config)])
    assert retried.exit_code == 0
    # The permanent error disabled the channel: the retry is dead-lettered without a call.
    assert runner.invoke(app, work).exit_code == 0
    [again] = outbox.list(OutboxStatus.FAILED)
    assert again.last_error.startswith("channel disabled: ") and len(fakes.webhook.records) == 1
    enabled = runner.invoke(app, ["notify", "enable", "hook", "-c", str(config), "--lang", "en"])
    assert enabled.exit_code == 0 and "re-enabled" in enabled.output
    assert runner.invoke(app, ["outbox", "retry", str(row["id"]), "-c", str(config)]).exit_code == 0
    assert runner.invoke(app, work).exit_code == 0
    assert outbox.counts() == {"sent": 1}
    assert len(fakes.webhook.accepted) == 1
    missing = runner.invoke(app, ["outbox", "retry", "999", "-c", str(config)])
    assert missing.exit_code == 1
    outbox.engine.dispose()


def test_a_successful_notify_test_re_enables_a_disabled_channel(
    config: Path, tmp_path: Path, fakes: Receivers
) -> None:
    engine = open_engine(db(tmp_path))
    status = SqlChannelStatus(engine)
    status.disable("ding0", "dingtalk: 310000 keywords not in content", T0)
    listed = runner.invoke(app, ["notify", "status", "-c", str(config), "--lang", "en"])
    assert listed.exit_code == 0
    [line] = [row for row in listed.output.splitlines() if "ding0" in row]
    assert "disabled" in line and "310000" in line
    result = runner.invoke(app, ["notify", "test", "ding0", "-c", str(config), "--lang", "en"])
    assert result.exit_code == 0 and "re-enabled" in result.output
    assert status.disabled() == {}
    engine.dispose()


def test_tasks_are_created_listed_exported_and_closed(config: Path, tmp_path: Path) -> None:
    engine = open_engine(db(tmp_path))
    SqlOutbox(engine).add(routed(2, channel="tasks", prefix="SKU-CUP"), T0)
    engine.dispose()
    assert runner.invoke(app, ["outbox", "work", "-c", str(config), "--until-idle"]).exit_code == 0
    listed = runner.invoke(app, ["tasks", "-c", str(config)])
    assert "SKU-CUP-00000" in listed.output and "义乌杯业" in listed.output
    exported = runner.invoke(app, ["tasks", "export", "-c", str(config), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert [r["sku"] for r in rows] == ["SKU-CUP-00000", "SKU-CUP-00001"]
    assert all(int(r["quantity"]) % 10 == 0 and int(r["quantity"]) >= 50 for r in rows)
    first = next(r["task_id"] for r in rows if r["sku"] == "SKU-CUP-00000")
    closed = runner.invoke(app, ["tasks", "close", first, "-c", str(config)])
    assert closed.exit_code == 0
    after = runner.invoke(app, ["tasks", "export", "-c", str(config), "--format", "json"])
    [group] = json.loads(after.output)["suppliers"]
    assert [line["sku"] for line in group["lines"]] == ["SKU-CUP-00001"]
    # Ordered: off the purchase list, and shown as such in zh-CN (it read "ordered").
    engine = open_engine(db(tmp_path))
    SqlPurchaseOrderStore(engine).add(
        PurchaseOrder(ItemKey("SKU-CUP-00001"), "义乌杯业", 50, T0, T0), T0
    )
    engine.dispose()
    every = runner.invoke(app, ["tasks", "list", "--all", "-c", str(config), "--lang", "zh-CN"])
    [line] = [row for row in every.output.splitlines() if "SKU-CUP-00001" in row]
    assert "已下单" in line and "ordered" not in line
