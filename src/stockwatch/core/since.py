"""The range a typed ``since`` (dashboard, API, CLI) may take.

A moment near the ends of the calendar parses (``0001-01-01``, ``9999-12-31``) but the review
looks back 90 days before it and its advice replays days after it: both overflowed into a
500 or a traceback. Nothing stockwatch stores is older than 1970 or later than 2999.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def bounded_since(moment: datetime) -> datetime:
    """Return ``moment`` (timezone-aware) in UTC; ValueError when outside 1970–2999."""
    try:
        utc = moment.astimezone(UTC)  # year 1 in UTC+8 is before year 1 in UTC
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("out of range")
    return utc
