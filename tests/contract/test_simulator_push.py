"""Push messages reach a real HTTP receiver in the platform's form, signed, retried on failure."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from stockwatch.adapters.alibaba1688.signing import verify_push
from stockwatch.adapters.alibaba1688.simulator.push import PushSettings
from stockwatch.adapters.alibaba1688.simulator.server import SimulatorHandle, running_simulator

FAST = (0.02, 0.02, 0.02)


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll a condition that lives in another thread's state (nothing there to await)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class Receiver:
    """A callback endpoint that answers ``fail_first`` requests with HTTP 500, then 204."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, str]] = queue.Queue()
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
                receiver.received.put({**form, "content-type": self.headers["Content-Type"]})
                failing = receiver.fail_first > 0
                receiver.fail_first -= 1
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/1688/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next(self) -> dict[str, str]:
        return self.received.get(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def pushing(receiver: Receiver) -> Iterator[SimulatorHandle]:
    push = PushSettings(callback_url=receiver.url, retry_delays=FAST)
    with running_simulator(offers=3, skus_per_offer=(2, 2), seed=9, qps=None, push=push) as sim:
        yield sim


def first_sku(sim: SimulatorHandle) -> tuple[int, dict[str, Any]]:
    offer_id = sim.offer_ids()[0]
    return offer_id, sim.offer(offer_id)["skuInfos"][0]


def test_an_inventory_change_is_pushed_signed_to_followers(
    pushing: SimulatorHandle, receiver: Receiver
) -> None:
    offer_id, sku = first_sku(pushing)
    pushing.admin("follow", offer_id=offer_id, member="buyer")
    pushing.set_stock(offer_id, sku["amountOnSale"] - 5, sku["specId"])
    form = receiver.next()
    assert form["content-type"].startswith("application/x-www-form-urlencoded")
    assert set(form) == {"message", "_aop_signature", "content-type"}
    assert verify_push({k: form[k] for k in ("message", "_aop_signature")}, pushing.app_secret)
    message = json.loads(form["message"])
    assert message["type"] == "PRODUCT_PRODUCT_INVENTORY_CHANGE"
    assert message["userInfo"] == "b2b-2208000000001"
    (entry,) = message["data"]["OfferInventoryChangeList"]
    assert entry["offerId"] == offer_id and entry["skuId"] == sku["skuId"]
    assert entry["skuOnSale"] == sku["amountOnSale"] - 5 and entry["quantity"] == -5
    assert entry["offerOnSale"] == pushing.offer(offer_id)["saleInfo"]["amountOnSale"]


def test_a_failing_receiver_gets_the_same_message_again(
    pushing: SimulatorHandle, receiver: Receiver
) -> None:
    offer_id, sku = first_sku(pushing)
    pushing.admin("follow", offer_id=offer_id, member="buyer")
    receiver.fail_first = 2
    pushing.set_stock(offer_id, 1, sku["specId"])
    ids = [json.loads(receiver.next()["message"])["msgId"] for _ in range(3)]
    assert len(set(ids)) == 1  # redeliveries keep the msgId
    assert eventually(lambda: pushing.stats()["push"]["acked"] == 1)


def test_after_three_retries_the_message_waits_for_the_compensation_api(
    pushing: SimulatorHandle, receiver: Receiver
) -> None:
    offer_id, sku = first_sku(pushing)
    pushing.admin("follow", offer_id=offer_id, member="buyer")
    receiver.fail_first = 100
    pushing.set_stock(offer_id, 0, sku["specId"])
    for _ in range(4):  # first attempt + 3 retries
        receiver.next()
    with pytest.raises(queue.Empty):
        receiver.received.get(timeout=0.3)
    assert eventually(lambda: len(pushing.stats()["push"]["kept"]) == 1)
    stats = pushing.stats()["push"]
    assert stats["attempts"] == 4 and stats["acked"] == 0


def test_orders_push_both_views_and_move_stock_by_inv_reduce_type(
    pushing: SimulatorHandle, receiver: Receiver
) -> None:
    offer_id, sku = first_sku(pushing)
    reduce_type = pushing.offer(offer_id)["saleInfo"]["invReduceType"]
    order = pushing.admin(
        "order", offer_id=offer_id, spec_id=sku["specId"], quantity=4, member="buyer"
    )
    made = {json.loads(receiver.next()["message"])["type"] for _ in range(2)}
    assert made == {"ORDER_BUYER_MAKE", "ORDER_BUYER_VIEW_BUYER_MAKE"}
    after_make = pushing.offer(offer_id)["skuInfos"][0]["amountOnSale"]
    pushing.admin("pay", order_id=order["order_id"])
    paid = {json.loads(receiver.next()["message"])["type"] for _ in range(2)}
    assert paid == {"ORDER_PAY", "ORDER_BUYER_VIEW_ORDER_PAY"}
    after_pay = pushing.offer(offer_id)["skuInfos"][0]["amountOnSale"]
    if reduce_type == "1":
        assert (after_make, after_pay) == (sku["amountOnSale"] - 4, sku["amountOnSale"] - 4)
    else:
        assert (after_make, after_pay) == (sku["amountOnSale"], sku["amountOnSale"] - 4)
    pushing.admin("close", order_id=order["order_id"])
    closed = {json.loads(receiver.next()["message"])["type"] for _ in range(2)}
    assert "ORDER_ORDER_BUYER_CLOSE" in closed
    assert pushing.offer(offer_id)["skuInfos"][0]["amountOnSale"] == sku["amountOnSale"]


def test_a_delisting_tells_followers(pushing: SimulatorHandle, receiver: Receiver) -> None:
    offer_id, _ = first_sku(pushing)
    pushing.admin("follow", offer_id=offer_id, member="buyer")
    pushing.set_status(offer_id, "member expired")
    message = json.loads(receiver.next()["message"])
    assert message["type"] == "PRODUCT_RELATION_VIEW_PRODUCT_CHANGE"
    assert message["data"]["action"] == "member_expired"
    assert message["data"]["productIds"] == str(offer_id)


def test_the_sales_model_drains_followed_stock_and_pushes_it(receiver: Receiver) -> None:
    push = PushSettings(callback_url=receiver.url, retry_delays=FAST)
    with running_simulator(offers=1, skus_per_offer=(0, 0), seed=2, qps=None, push=push) as sim:
        offer_id = sim.offer_ids()[0]
        sim.set_stock(offer_id, 500)
        sim.admin("follow", offer_id=offer_id, member="buyer")
        sim.admin("advance", hours=48)
        after = int(sim.offer(offer_id)["saleInfo"]["amountOnSale"])
        message = json.loads(receiver.next()["message"])
        (entry,) = message["data"]["OfferInventoryChangeList"]
        assert after < 500
        assert entry["offerOnSale"] == after and entry["quantity"] == after - 500
