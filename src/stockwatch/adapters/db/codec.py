"""Turn core values into JSON-ready dicts and rows, and back: alert state, levels, items."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from stockwatch.core.model import (
    COMPUTED_INPUTS,
    RAW_STEPS,
    SS_STEPS,
    AlertState,
    Basis,
    Item,
    ItemClass,
    ItemKey,
    OfferMapping,
    OfferStatus,
    Phase,
    Reading,
    ReadingSource,
    Step,
    Tier,
    TierLevels,
)


def sqlite_time(value: datetime) -> str:
    """Return the text SQLAlchemy's SQLite DateTime stores (UTC, no offset), so they compare."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: stockwatch stores aware timestamps")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def aware_time(value: datetime) -> datetime:
    """Return a timestamp as the PostgreSQL driver takes it (aware, UTC)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: stockwatch stores aware timestamps")
    return value.astimezone(UTC)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def state_to_json(state: AlertState) -> dict[str, Any]:
    """Return the whole alert state as JSON-ready data (tiers by name, times as ISO text)."""
    return {
        "phase": state.phase.value,
        "tier": state.tier.name,
        "since": _time(state.since),
        "breach_readings": state.breach_readings,
        "episode": state.episode,
        "notified": [[tier.name, at.isoformat()] for tier, at in state.notified],
        "last_notice_at": _time(state.last_notice_at),
        "last_notice_available": state.last_notice_available,
        "notice_seq": state.notice_seq,
        "acked": state.acked,
        "goods_seen_at": _time(state.goods_seen_at),
        "ack_covered": state.ack_covered,
        "snoozed_until": _time(state.snoozed_until),
        "failed_reads": state.failed_reads,
        "first_failed_at": _time(state.first_failed_at),
        "stale_notified": state.stale_notified,
        "offer_status": state.offer_status.value,
        "last_reading_at": _time(state.last_reading_at),
        "last_available": state.last_available,
        "version": state.version,
    }


def state_from_json(
    data: dict[str, Any],
    *,
    version: int | None = None,
    last_reading_at: datetime | None = None,
    last_available: int | None = None,
) -> AlertState:
    """The state in ``data``; a field given here (not None) wins over the JSON's."""
    return AlertState(
        phase=Phase(data["phase"]),
        tier=Tier[data["tier"]],
        since=_parse_time(data.get("since")),
        breach_readings=int(data.get("breach_readings", 0)),
        episode=int(data.get("episode", 0)),
        notified=tuple(
            (Tier[name], datetime.fromisoformat(at)) for name, at in data.get("notified", [])
        ),
        last_notice_at=_parse_time(data.get("last_notice_at")),
        last_notice_available=data.get("last_notice_available"),
        notice_seq=int(data.get("notice_seq", 0)),
        acked=bool(data.get("acked", False)),
        goods_seen_at=_parse_time(data.get("goods_seen_at")),
        ack_covered=bool(data.get("ack_covered", False)),
        snoozed_until=_parse_time(data.get("snoozed_until")),
        failed_reads=int(data.get("failed_reads", 0)),
        first_failed_at=_parse_time(data.get("first_failed_at")),
        stale_notified=bool(data.get("stale_notified", False)),
        offer_status=OfferStatus(data.get("offer_status", "active")),
        last_reading_at=(
            _parse_time(data.get("last_reading_at")) if last_reading_at is None else last_reading_at
        ),
        last_available=data.get("last_available") if last_available is None else last_available,
        version=int(data.get("version", 0)) if version is None else version,
    )


def state_from_row(
    data: dict[str, Any],
    version: int,
    last_reading_at: datetime | None,
    available: int | None,
) -> AlertState:
    """Return a saved alert state: its JSON, overlaid with the plain columns that are newer.

    The batched evaluator's calm shortcut (adapters/db/calm.py) stores a calm reading by
    updating only the columns ``version``, ``last_reading_at`` and ``available`` (the state's
    ``last_available``): for a state it picks, that is all ``core.alerting.ok_step`` changes,
    and rewriting the JSON cost more than the rest of the statement. Every other save writes
    the JSON and the columns together, so the columns are never older than the JSON.
    """
    return state_from_json(
        data, version=version, last_reading_at=last_reading_at, last_available=available
    )


def basis_to_json(levels: TierLevels) -> dict[str, Any]:
    """Return the full JSON form of a basis; non-finite numbers become null (JSON has no NaN).

    Only bases that do not fit the compact form (``compact_basis``) are stored like this.
    """
    b = levels.basis
    return {
        "strategy": b.strategy,
        "disabled": levels.disabled,
        "inputs": [[name, _finite(value)] for name, value in b.inputs],
        "steps": [[s.label, s.formula, _finite(s.value)] for s in b.steps],
        "notes": list(b.notes),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def basis_from_json(strategy: str, data: Any) -> Basis:
    """Read a JSON basis written by any stockwatch version (inputs as a dict or as pairs, steps
    as objects or triples, null for a non-finite number)."""
    if not isinstance(data, dict):
        return Basis(strategy)
    raw_inputs = data.get("inputs") or {}
    pairs = raw_inputs.items() if isinstance(raw_inputs, dict) else raw_inputs
    steps = tuple(
        Step(str(s.get("label", "")), str(s.get("formula", "")), _number(s.get("value", 0)))
        if isinstance(s, dict)
        else Step(str(s[0]), str(s[1]), _number(s[2]))
        for s in data.get("steps") or []
    )
    return Basis(
        str(data.get("strategy") or strategy),
        tuple((str(k), _number(v)) for k, v in pairs),
        steps,
        tuple(str(n) for n in data.get("notes") or []),
    )


# The compact form of a computed basis (core.model.COMPUTED_INPUTS, then SS and ROP — NaN when
# the strategy has none, and so no SS/ROP steps — then T1, T2 and T3 before rounding) as
# little-endian float64.
BASIS_INPUTS = COMPUTED_INPUTS
BASIS_NUMBERS = len(BASIS_INPUTS) + len(SS_STEPS) + len(RAW_STEPS)
NUMBERS = struct.Struct(f"<{BASIS_NUMBERS}d")


class CompactBasis(NamedTuple):
    numbers: bytes | None  # NUMBERS packed; None for a basis without inputs and steps
    notes: str | None  # JSON list of the notes; None when there are none


def notes_text(notes: Sequence[str]) -> str | None:
    return json.dumps(list(notes), ensure_ascii=False) if notes else None


def compact_basis(basis: Basis) -> CompactBasis | None:
    """Return the compact form of ``basis``, or None when only the JSON form holds it."""
    notes = notes_text(basis.notes)
    if not basis.inputs and not basis.steps:
        return CompactBasis(None, notes)
    if tuple(name for name, _ in basis.inputs) != BASIS_INPUTS:
        return None  # e.g. learned lead-time inputs appended: kept whole as JSON
    labels = tuple((s.label, s.formula) for s in basis.steps)
    values = [s.value for s in basis.steps]
    if labels == RAW_STEPS:
        ss_rop = [math.nan, math.nan]
    elif labels == SS_STEPS + RAW_STEPS and math.isfinite(values[0]):
        ss_rop, values = values[:2], values[2:]
    else:
        return None
    numbers = [v for _, v in basis.inputs] + ss_rop + values
    # The JSON form read a non-finite number back as NaN; so does this one.
    return CompactBasis(
        NUMBERS.pack(*(v if math.isfinite(v) else math.nan for v in numbers)), notes
    )


def basis_from_numbers(strategy: str, numbers: bytes | None, notes: str | None) -> Basis:
    """Read the compact form (``compact_basis``) back."""
    words = tuple(json.loads(notes)) if notes else ()
    if numbers is None:
        return Basis(strategy, notes=words)
    values = NUMBERS.unpack(bytes(numbers))
    k = len(BASIS_INPUTS)
    inputs = tuple(zip(BASIS_INPUTS, values[:k], strict=True))
    raw = tuple(Step(a, b, v) for (a, b), v in zip(RAW_STEPS, values[k + 2 :], strict=True))
    ss, rop = values[k], values[k + 1]
    steps = raw if math.isnan(ss) else (Step(*SS_STEPS[0], ss), Step(*SS_STEPS[1], rop), *raw)
    return Basis(strategy, inputs, steps, words)


def basis_columns(levels: TierLevels) -> dict[str, Any]:
    """The ``thresholds`` basis columns for ``levels``: compact when it fits, else JSON."""
    compact = compact_basis(levels.basis)
    if compact is None:
        return {"basis": basis_to_json(levels), "numbers": None, "notes": None}
    return {"basis": None, "numbers": compact.numbers, "notes": compact.notes}


def levels_from_row(row: Any) -> TierLevels:
    """Return a ``thresholds`` row's levels (any form of its basis); T3 ≤ 0 is disabled."""
    if row.basis is not None:
        basis = basis_from_json(row.strategy, row.basis)
    else:
        basis = basis_from_numbers(row.strategy, row.numbers, row.notes)
    if row.t3 <= 0:
        return TierLevels.off(basis)
    return TierLevels(row.t1, row.t2, row.t3, float(row.velocity), basis)


def item_to_row(item: Item) -> dict[str, Any]:
    offer = item.offer
    return {
        "key": str(item.key),
        "sku": item.sku,
        "warehouse": item.warehouse,
        "title": item.title,
        "offer_id": offer.offer_id if offer else None,
        "spec_id": offer.spec_id if offer else None,
        "sku_id": offer.sku_id if offer else None,
        "supplier": item.supplier,
        "category": item.category,
        "item_class": item.item_class.value,
        "tags": sorted(item.tags),
        "lead_time_days": item.lead_time_days,
        "lead_time_sd_days": item.lead_time_sd_days,
        "min_order_qty": item.min_order_qty,
        "order_multiple": item.order_multiple,
        "listed_on": item.listed_on,
        "stock_share": offer.share if offer else None,
    }


def item_from_row(row: Any) -> Item:
    listed = row.listed_on
    if isinstance(listed, str):
        listed = date.fromisoformat(listed)
    return Item(
        sku=row.sku,
        title=row.title or "",
        offer=OfferMapping(
            row.sku, row.offer_id, row.spec_id, row.sku_id, getattr(row, "stock_share", None)
        )
        if row.offer_id
        else None,
        supplier=row.supplier or "",
        category=row.category or "",
        item_class=ItemClass(row.item_class),
        tags=frozenset(row.tags or ()),
        warehouse=row.warehouse,
        lead_time_days=row.lead_time_days,
        lead_time_sd_days=row.lead_time_sd_days,
        min_order_qty=row.min_order_qty,
        order_multiple=row.order_multiple,
        listed_on=listed,
    )


def reading_to_row(reading: Reading, received_at: datetime) -> dict[str, Any]:
    return {
        "item_key": str(reading.key),
        "observed_at": reading.observed_at,
        "received_at": received_at,
        "source": reading.source.value,
        "on_hand": reading.on_hand,
        "committed": reading.committed,
        "in_transit": reading.in_transit,
        "offer_status": reading.offer_status.value,
        "error": reading.error,
    }


def reading_from_row(row: Any, observed_at: datetime | None = None) -> Reading:
    """The reading of a ``readings`` row; ``observed_at`` decoded already, if given."""
    return Reading(
        key=ItemKey.parse(row.item_key),
        observed_at=row.observed_at if observed_at is None else observed_at,
        source=ReadingSource(row.source),
        on_hand=row.on_hand,
        committed=row.committed,
        in_transit=row.in_transit,
        offer_status=OfferStatus(row.offer_status),
        error=row.error,
    )
