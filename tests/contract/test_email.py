"""E-mail over SMTP against aiosmtpd on loopback: AUTH, MIME parts, reply classes."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockwatch.adapters.notify.email import EmailChannel, message_id
from stockwatch.devtools.receivers import FakeSmtp
from stockwatch.ports import DeliveryError
from tests.contract.channel_helpers import send
from tests.notify_factories import HOSTILE, routed


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp({"buyer": "app-code"}) as server:
        yield server


def channel(smtp: FakeSmtp, password: str = "app-code", lang: str = "zh-CN") -> EmailChannel:
    return EmailChannel(
        "mail",
        f"smtp://buyer:{password}@127.0.0.1:{smtp.port}/?from=sw@shop.cn&to=buyer@shop.cn"
        f"&tls=none&timeout=5&lang={lang}",
    )


def test_it_sends_html_and_text_alternatives_with_a_stable_message_id(smtp: FakeSmtp) -> None:
    message = routed(1, title=HOSTILE)[0][1]
    answer = send(channel(smtp), message)
    assert answer.startswith("250 ")
    [mail] = smtp.messages
    assert mail["Message-ID"] == message_id(message.idempotency_key)
    assert "库存预警" in str(mail["Subject"]) or "=?utf-8?" in str(mail["Subject"]).lower()
    parts = {part.get_content_type(): part for part in mail.walk()}
    html = parts["text/html"].get_payload(decode=True).decode()
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "<b>**爆款**</b>" not in html and "&lt;b&gt;" in html  # escaped in HTML
    assert "SKU-TEST-00000" in text and "建议补货" in text


def test_english_mail_uses_english_labels(smtp: FakeSmtp) -> None:
    send(channel(smtp, lang="en"), routed(1, lang="en")[0][1])
    text = next(p for p in smtp.messages[0].walk() if p.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    assert "Suggested reorder" in body and "Days of cover" in body


def test_a_wrong_password_is_a_permanent_535(smtp: FakeSmtp) -> None:
    with pytest.raises(DeliveryError) as caught:
        send(channel(smtp, password="nope"), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "535"


def test_a_451_at_data_is_transient(smtp: FakeSmtp) -> None:
    smtp.fail_next("DATA", "451 4.3.0 try again later")
    with pytest.raises(DeliveryError) as caught:
        send(channel(smtp), routed(1)[0][1])
    assert not caught.value.permanent and caught.value.code == "451"
    assert not smtp.messages


def test_a_refused_mailbox_is_permanent(smtp: FakeSmtp) -> None:
    smtp.fail_next("RCPT", "550 5.1.1 mailbox unavailable")
    with pytest.raises(DeliveryError) as caught:
        send(channel(smtp), routed(1)[0][1])
    assert caught.value.permanent and caught.value.code == "550"


def test_a_closed_port_is_transient() -> None:
    from stockwatch.devtools.receivers import _free_port

    port = _free_port()
    ch = EmailChannel("mail", f"smtp://127.0.0.1:{port}/?from=a@b.cn&to=c@d.cn&tls=none&timeout=2")
    with pytest.raises(DeliveryError) as caught:
        send(ch, routed(1)[0][1])
    assert not caught.value.permanent


DATA = Path(__file__).parent.parent / "data"


def _contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(DATA / "smtp-cert.pem", DATA / "smtp-key.pem")
    client = ssl.create_default_context(cafile=str(DATA / "smtp-cert.pem"))
    return server, client


def test_it_upgrades_with_starttls_before_authenticating() -> None:
    server_ctx, client_ctx = _contexts()
    with FakeSmtp({"buyer": "app-code"}, starttls=server_ctx) as smtp:
        ch = EmailChannel(
            "mail",
            f"smtp://buyer:app-code@127.0.0.1:{smtp.port}/?from=sw@shop.cn&to=b@shop.cn"
            "&tls=starttls&timeout=5",
            ssl_context=client_ctx,
        )
        assert send(ch, routed(1)[0][1]).startswith("250 ")
        assert len(smtp.messages) == 1


def test_it_speaks_implicit_tls_on_smtps() -> None:
    server_ctx, client_ctx = _contexts()
    with FakeSmtp({"buyer": "app-code"}, implicit_tls=server_ctx) as smtp:
        ch = EmailChannel(
            "mail",
            f"smtps://buyer:app-code@127.0.0.1:{smtp.port}/?from=sw@shop.cn&to=b@shop.cn&timeout=5",
            ssl_context=client_ctx,
        )
        assert send(ch, routed(1)[0][1]).startswith("250 ")
        assert len(smtp.messages) == 1
