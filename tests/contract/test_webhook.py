"""Generic webhook against a verifying receiver: HMAC signature, idempotency key, statuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stockwatch.adapters.notify.webhook import WebhookChannel, signature
from stockwatch.devtools.receivers import FakeWebhook
from stockwatch.ports import DeliveryError
from tests.contract.channel_helpers import send
from tests.notify_factories import routed


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook("s3cret") as server:
        yield server  # type: ignore[misc]


def channel(hook: FakeWebhook, secret: str = "s3cret") -> WebhookChannel:
    host = hook.url.removeprefix("http://")
    return WebhookChannel("hook", f"webhook+http://{host}/in?secret={secret}")


def test_the_body_is_signed_and_carries_every_input(hook: FakeWebhook) -> None:
    message = routed(1)[0][1]
    assert send(channel(hook), message).startswith("HTTP 200")
    [record] = hook.accepted
    ts = record.headers["x-stockwatch-timestamp"]
    assert record.headers["x-stockwatch-signature"] == signature("s3cret", ts, record.body)
    assert record.headers["x-stockwatch-delivery"] == message.idempotency_key
    assert record.headers["x-stockwatch-event"] == "alert"
    [notice] = record.data["notifications"]
    assert notice["levels"] == {
        "T1": 60,
        "T2": 30,
        "T3": 10,
        "velocity": 4.0,
        "strategy": "fixed",
        "disabled": False,
    }
    assert notice["reading"]["available"] == 5
    assert notice["item"]["lead_time_days"] == 5.0
    assert notice["suggestion"]["quantity"] == 80


def test_a_receiver_rejects_a_forged_signature(hook: FakeWebhook) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(hook, secret="forged"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "http_401"


@pytest.mark.parametrize("fault", ["http503", "http502", "reset", "429"])
def test_server_errors_and_429_are_transient(hook: FakeWebhook, fault: str) -> None:
    hook.fail_next(fault)
    with pytest.raises(DeliveryError) as caught:
        send(channel(hook), routed(1)[0][1])
    assert not caught.value.permanent


def test_a_429_honours_retry_after(hook: FakeWebhook) -> None:
    hook.fail_next("429")
    with pytest.raises(DeliveryError) as caught:
        send(channel(hook), routed(1)[0][1])
    assert caught.value.retry_after == 2.0


def test_a_resend_carries_the_same_key_so_the_receiver_can_drop_it(hook: FakeWebhook) -> None:
    message = routed(1)[0][1]
    send(channel(hook), message)
    send(channel(hook), message)
    assert hook.duplicates == [message.payload["idempotency_key"]]
