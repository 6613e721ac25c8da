"""Planning one delivery pass: which outbox rows go out together, in how many messages.

Pure: the worker gathers the due rows and each robot's free budget, this module decides.

- Rows a dead worker left in flight come back with the ``batch_key`` of the message that
  carried them: they go out again as that same message (one repeat, not a re-shuffled digest).
- While a robot's budget is comfortable each row is its own message; a burst becomes digests
  of as many rows as the channel takes (``max_digest_items``), cut further until each fits the
  provider's size limit (``fits``).
- A daily digest is one row that may need several messages: it is split into parts that each
  fit, numbered by the items they carry ("items 1–18 of 200"), sent in order; the row records
  how many parts went out, so a crash repeats only the part in flight.
- Only as many messages as the robot's budget has free slots are planned; the other rows wait
  for the next free slot. Nothing is dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from stockwatch.core.messages import check_lang
from stockwatch.ports import ChannelLimits, OutboxEntry, OutgoingMessage

TIER_ORDER = {"OUT": 0, "T3": 1, "T2": 2, "T1": 3, "OK": 4}
SINGLE_ONLY = ("daily_digest", "test")  # never merged with other rows
SPLITTABLE = ("daily_digest",)  # one row, many items: split into parts that fit
_DIGEST_TITLE = {"zh-CN": "【库存预警汇总】{n} 项", "en": "[Low stock digest] {n} items"}
_PART_SUFFIX = {
    "zh-CN": "（第 {first}–{last} 项，共 {total} 项）",
    "en": " (items {first}–{last} of {total})",
}

Fits = Callable[[OutgoingMessage], bool]


@dataclass(frozen=True)
class Planned:
    """One unit of sending: the rows, and the message(s) that carry them, in order."""

    channel: str
    entries: tuple[OutboxEntry, ...]
    messages: tuple[OutgoingMessage, ...]

    @property
    def message(self) -> OutgoingMessage:
        return self.messages[0]

    @property
    def batch_key(self) -> str:
        return batch_key(self.message)

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(e.id for e in self.entries)


def plan_channel(
    channel: str,
    rows: Sequence[OutboxEntry],
    limits: ChannelLimits,
    available: int | None,
    fits: Fits,
) -> tuple[list[Planned], list[OutboxEntry]]:
    """Return (what to send now, most urgent first; the rows that wait for budget).

    ``available``: the robot's free slots now (None: the channel has no rate limit).
    """
    rows = sorted(rows, key=urgency)
    released: dict[str, list[OutboxEntry]] = {}
    fresh: list[OutboxEntry] = []
    for entry in rows:
        if entry.batch_key:  # in flight when its worker died: resend the very same message
            released.setdefault(entry.batch_key, []).append(entry)
        else:
            fresh.append(entry)
    units: list[list[OutboxEntry]] = list(released.values())
    singles = [e for e in fresh if e.message.kind in SINGLE_ONLY]
    mergeable = [e for e in fresh if e.message.kind not in SINGLE_ONLY]
    units.extend([e] for e in singles)
    # Keep half the window's budget for what comes next (a T3 after a burst of T1s).
    comfortable = math.inf if available is None else max(available // 2, 1)
    if len(units) + len(mergeable) <= comfortable:
        units.extend([e] for e in mergeable)
    elif mergeable:
        size = max(limits.max_digest_items, 1)
        count = math.ceil(len(mergeable) / size)
        per = math.ceil(len(mergeable) / count)  # even chunks, most urgent first
        for i in range(0, len(mergeable), per):
            units.extend(_fitting_chunks(mergeable[i : i + per], fits))
    planned: list[Planned] = []
    later: list[OutboxEntry] = []
    slots = math.inf if available is None else available
    split_size = limits.max_digest_items if limits.per_window is not None else None
    for unit in units:
        if slots <= 0:
            later.extend(unit)
            continue
        messages = _messages(unit, fits, split_size)
        planned.append(Planned(channel, tuple(unit), messages))
        slots -= len(messages) - unit[0].parts_sent if len(unit) == 1 else 1
    return planned, later


def _fitting_chunks(chunk: list[OutboxEntry], fits: Fits) -> list[list[OutboxEntry]]:
    """Halve a digest until each half fits the provider's size limit (a lone row always goes)."""
    if len(chunk) <= 1 or fits(combine(chunk)):
        return [chunk]
    half = len(chunk) // 2
    return _fitting_chunks(chunk[:half], fits) + _fitting_chunks(chunk[half:], fits)


def _messages(
    unit: Sequence[OutboxEntry], fits: Fits, split_size: int | None
) -> tuple[OutgoingMessage, ...]:
    if len(unit) == 1 and unit[0].message.kind in SPLITTABLE:
        return tuple(split_notices(unit[0].message, fits, split_size))
    return (combine(unit),)


def split_notices(
    message: OutgoingMessage, fits: Fits, size: int | None = None
) -> list[OutgoingMessage]:
    """Split a many-item message into parts of at most ``size`` items that each ``fits``.

    Deterministic for one message and channel, so a resumed row finds the same parts.
    """
    notices = list(message.payload.get("notices") or [])
    total = len(notices)
    if total <= 1 or ((size is None or total <= size) and fits(message)):
        return [message]
    step = size or total
    count = math.ceil(total / step)
    per = math.ceil(total / count)
    parts: list[OutgoingMessage] = []

    def add(first: int, last: int) -> None:  # 0-based, inclusive
        part = _part(message, notices, first, last)
        if last > first and not fits(part):
            middle = (first + last) // 2
            add(first, middle)
            add(middle + 1, last)
        else:
            parts.append(part)

    for start in range(0, total, per):
        add(start, min(start + per, total) - 1)
    return parts


def _part(message: OutgoingMessage, notices: list[Any], first: int, last: int) -> OutgoingMessage:
    lang = _lang(message)
    total = len(notices)
    suffix = _PART_SUFFIX[lang].format(first=first + 1, last=last + 1, total=total)
    title = message.title + suffix
    return replace(
        message,
        title=title,
        text=title,
        markdown=f"### {title}",
        idempotency_key=f"{message.idempotency_key}|{first + 1}-{last + 1}",
        payload={
            **message.payload,
            "notices": notices[first : last + 1],
            "part": [first + 1, last + 1, total],
        },
    )


def _lang(message: OutgoingMessage) -> str:
    try:
        return check_lang(str(message.payload.get("lang") or "zh-CN"))
    except ValueError:
        return "zh-CN"


def urgency(entry: OutboxEntry) -> tuple[int, float, int]:
    cover = entry.message.payload.get("days_of_cover")
    return (
        TIER_ORDER.get(entry.message.tier, 9),
        math.inf if cover is None else float(cover),
        entry.id,
    )


def _notices(message: OutgoingMessage) -> list[Mapping[str, Any]]:
    if "notices" in message.payload:
        return list(message.payload["notices"])
    return [message.payload]


def batch_key(message: OutgoingMessage) -> str:
    return hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]


def combine(entries: Sequence[OutboxEntry]) -> OutgoingMessage:
    """Return one message for ``entries``: the row's own message, or a digest of all of them.

    The digest's key derives from its rows' keys, so the same rows make the same digest.
    """
    if len(entries) == 1:
        return entries[0].message
    messages = [e.message for e in entries]
    lang = _lang(messages[0])
    notices = [n for m in messages for n in _notices(m)]
    title = _DIGEST_TITLE[lang].format(n=len(notices))
    worst = min((m.tier for m in messages), key=lambda t: TIER_ORDER.get(t, 9))
    keys = sorted(e.idempotency_key for e in entries)
    digest_key = "digest|" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:24]
    return OutgoingMessage(
        title=title,
        text=title + "\n" + "\n".join(f"{i + 1}. {m.title}" for i, m in enumerate(messages)),
        markdown=f"### {title}\n"
        + "\n".join(f"{i + 1}. {m.title}" for i, m in enumerate(messages)),
        idempotency_key=digest_key,
        tier=worst,
        kind="digest",
        payload={
            "kind": "digest",
            "lang": lang,
            "notices": notices,
            "idempotency_keys": keys,
        },
        mention=any(m.mention for m in messages),
    )
