"""Warn through the channels (not only the log) before the 1688 refresh token expires.

When it expires, polling stops for good until someone authorizes again, so the merchant hears
of it where alerts arrive: weekly while more than a week is left, daily in the last week. The
idempotency key holds the day (or week), so a restart or a second pass enqueues nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from stockwatch.core.messages import auth_expiring_text
from stockwatch.ports import OutgoingMessage


def auth_expiry_messages(
    refresh_expires_at: datetime | None,
    now: datetime,
    warn_days: float,
    channels: Sequence[str],
    login_url: str,
    lang: str = "zh-CN",
    tz: tzinfo | None = None,
) -> list[tuple[str, OutgoingMessage]]:
    """Return one message per channel when the refresh token expires within ``warn_days``."""
    if refresh_expires_at is None or not channels:
        return []
    left = refresh_expires_at - now
    if left > timedelta(days=warn_days):
        return []
    local = now.astimezone(tz) if tz else now
    days = max(0, left.days)
    # Weekly while there is time, daily in the last week (and once it has expired).
    bucket = local.strftime("%G-W%V") if left > timedelta(days=7) else local.date().isoformat()
    expires = refresh_expires_at.astimezone(tz) if tz else refresh_expires_at
    title, text = auth_expiring_text(expires.strftime("%Y-%m-%d %H:%M"), days, login_url, lang)
    key = f"auth-expiry|{refresh_expires_at.date().isoformat()}|{bucket}"
    return [
        (
            channel,
            OutgoingMessage(
                title=title,
                text=text,
                markdown=f"**{title}**\n\n{text}",
                idempotency_key=f"{key}|{channel}",
                tier="T2",
                kind="auth_expiring",
                payload={"kind": "auth_expiring", "expires_at": refresh_expires_at.isoformat()},
            ),
        )
        for channel in channels
    ]
