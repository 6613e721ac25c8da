"""E-mail over SMTP: STARTTLS or implicit TLS, AUTH, HTML and plain-text alternatives.

``smtp://user:pass@host:587/?from=a@x&to=b@y,c@z&tls=starttls`` or ``smtps://…:465/…``.
Replies are classified by RFC 5321: 4xx and connection errors retry, 5xx (and 535 auth) stop.
The Message-ID is derived from the idempotency key, so a resend after a crash is recognisable.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Any, ClassVar

from stockwatch.adapters.notify.base import Channel
from stockwatch.adapters.notify.render import render
from stockwatch.ports import DeliveryError, OutgoingMessage


def message_id(idempotency_key: str) -> str:
    return f"<notif-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}@stockwatch.local>"


class EmailChannel(Channel):
    scheme: ClassVar[str] = "smtp"

    @classmethod
    def aliases(cls) -> tuple[str, ...]:
        return ("smtps",)

    def __init__(
        self, *args: Any, ssl_context: ssl.SSLContext | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.implicit_tls = self.url.scheme == "smtps"
        self.starttls = self.url.get("tls", "starttls" if not self.implicit_tls else "") == (
            "starttls"
        )
        self.port = self.url.port or (465 if self.implicit_tls else 587)
        self.sender = self.url.get("from")
        self.recipients = self.url.get_list("to")
        self.subject_prefix = self.url.get("subject_prefix")
        self.ssl_context = ssl_context or ssl.create_default_context()

    def build(self, message: OutgoingMessage) -> EmailMessage:
        lang = self.lang_for(message)
        text = render(message, "txt", escape="text", lang=lang)
        html = render(message, "html", lang=lang)
        mail = EmailMessage()
        subject = f"{self.subject_prefix} {text.title}".strip()
        mail["Subject"] = " ".join(subject.split())  # no header injection through titles
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(message.idempotency_key)
        mail["X-Stockwatch-Delivery"] = message.idempotency_key[:200]
        mail.set_content(text.body)
        mail.add_alternative(html.body, subtype="html")
        return mail

    def _send_blocking(self, mail: EmailMessage) -> str:
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(
                self.url.host, self.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            smtp = smtplib.SMTP(self.url.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if self.url.user:
                smtp.login(self.url.user, self.url.password)
            # Step by step rather than send_message: we want the server's DATA reply verbatim.
            code, resp = smtp.mail(self.sender)
            if code != 250:
                smtp.rset()
                raise smtplib.SMTPSenderRefused(code, resp, self.sender)
            refused: dict[str, tuple[int, bytes]] = {}
            for rcpt in self.recipients:
                code, resp = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, resp)
            if len(refused) == len(self.recipients):
                smtp.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, resp = smtp.data(mail.as_bytes(policy=SMTP_POLICY))  # CRLF line ends
            if code != 250:  # smtplib returns the final DATA reply without checking it
                raise smtplib.SMTPDataError(code, resp)
        answer = f"{code} {resp.decode(errors='replace')}"
        if refused:
            answer += f"; refused {sorted(refused)}"
        return answer

    async def send(self, message: OutgoingMessage) -> str:
        mail = self.build(message)
        try:
            return await asyncio.to_thread(self._send_blocking, mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                f"{self.name}: every recipient refused: {exc.recipients}",
                permanent=all(c >= 500 for c in codes),
                message_only=True,  # these recipients, not the mail server
                code=str(codes[0]) if codes else None,
                answer=str(exc.recipients),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raw = exc.smtp_error
            detail = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw or "")
            raise DeliveryError(
                f"{self.name}: SMTP {exc.smtp_code} {detail}"
                + (
                    " (authentication failed: check the app password)"
                    if exc.smtp_code == 535
                    else ""
                ),
                permanent=exc.smtp_code >= 500,
                # 535 (authentication) is the server for every message; 550-554 are this one.
                message_only=exc.smtp_code in (550, 551, 552, 553, 554),
                code=str(exc.smtp_code),
                answer=f"{exc.smtp_code} {detail}",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            # Connection refused or reset, TLS failures, timeouts: transient.
            raise DeliveryError(
                f"{self.name}: {type(exc).__name__}: {exc}", permanent=False, code="transport"
            ) from None
