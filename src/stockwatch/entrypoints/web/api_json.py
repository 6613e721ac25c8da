"""JSON shapes of the dashboard's API (items, outbox entries, tasks, the review, events)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from stockwatch.core.review import AlertReview
from stockwatch.core.review_advice import describe
from stockwatch.entrypoints.web.item_rows import ItemRow
from stockwatch.ports import AlertEvent, OutboxEntry
from stockwatch.wiring.web import ReplenishmentTask


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def row_json(row: ItemRow) -> dict[str, Any]:
    return {
        "item": str(row.key),
        "title": row.title,
        "supplier": row.supplier,
        "tier": row.tier.name,
        "phase": row.phase.value,
        "available": row.available,
        "on_hand": row.on_hand,
        "levels": None
        if row.levels is None
        else dict(zip(("T1", "T2", "T3"), row.levels, strict=True)),
        "velocity": row.velocity,
        "days_of_cover": None if row.days_of_cover is None else round(row.days_of_cover, 2),
        "last_reading_at": iso(row.last_reading_at),
        "failed_reads": row.failed_reads,
        "stale": row.stale,
        "acked": row.acked,
        "snoozed_until": iso(row.snoozed_until),
        "task_id": row.task_id,
    }


def outbox_json(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "channel": entry.channel,
        "status": entry.status.value,
        "title": entry.message.title,
        "item": entry.message.payload.get("item"),
        "tier": entry.message.tier,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "provider_answer": entry.provider_answer,
        "created_at": iso(entry.created_at),
        "next_attempt_at": iso(entry.next_attempt_at),
    }


def task_json(task: ReplenishmentTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "item": task.item_key,
        "sku": task.sku,
        "title": task.title,
        "supplier": task.supplier,
        "offer_url": task.offer_url,
        "quantity": task.suggested_qty,
        "order_by": iso(task.due_date),
        "tier": task.tier,
        "status": task.status,
        "created_at": iso(task.created_at),
        "closed_at": iso(task.closed_at),
        "close_reason": task.close_reason,
    }


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def review_json(result: AlertReview) -> dict[str, Any]:
    return {
        "episodes": len(result.episodes),
        "stockouts": result.stockouts,
        "warned_in_time": result.warned_in_time,
        "prevented": result.prevented,
        "warned_late": result.warned_late,
        "missed": result.missed,
        "likely_noise": result.likely_noise,
        "median_warning_hours": _hours(result.median_warning),
        "noise_after_hours": _hours(result.noise_after),
        "notices_per_item": {
            str(k): n
            for k, n in sorted(result.notices_per_item.items(), key=lambda p: (-p[1], str(p[0])))
        },
        "episode_list": [
            {
                "item": str(e.key),
                "episode": e.episode,
                "started": e.started.isoformat(),
                "first_tier": e.first_tier.name,
                "worst_tier": e.worst_tier.name,
                "notices": e.notices,
                "stockout_at": iso(e.stockout_at),
                "resolved_at": iso(e.resolved_at),
                "warning_hours": _hours(e.warning),
                "lead_time_hours": _hours(e.lead_time),
                "missed": e.missed,
                "early_enough": e.early_enough,
                "prevented": e.prevented,
            }
            for e in result.episodes
        ],
    }


def item_event_json(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "tier": event.tier,
        "previous_tier": event.previous_tier,
        "at": event.at.isoformat(),
        "episode": event.episode,
        "available": event.available,
        "levels": list(event.levels) if event.levels else None,
        "detail": event.detail,
        "actor": event.actor,
    }


def advice_json(advice: Any, lang: str) -> dict[str, Any]:
    """The review's advice (wiring.review.ReviewAdvice): found stockouts, tiers, suggestions."""
    return {
        "detected_stockouts": [
            {
                "item": d.item,
                "first": iso(d.first),
                "last": iso(d.last),
                "days": d.days,
                "reason": d.reason,
            }
            for d in advice.stockouts
        ],
        "tiers": [
            {
                "tier": s.tier.name,
                "notices": s.notices,
                "median_warning_hours": _hours(s.median_warning),
                "worst_warning_hours": _hours(s.worst_warning),
                "median_ack_hours": _hours(s.median_ack),
                "acks": s.acks,
            }
            for s in advice.tiers
        ],
        "suggestions": [
            {
                "kind": s.kind,
                "items": list(s.items),
                "text": describe(s, lang),
                "effect": None
                if s.effect is None
                else {
                    "stockout_days_before": s.effect.stockout_days_before,
                    "stockout_days_after": s.effect.stockout_days_after,
                    "stock_days_change": s.effect.stock_days_change,
                    "notices_before": s.effect.notices_before,
                    "notices_after": s.effect.notices_after,
                },
            }
            for s in advice.suggestions
        ],
        "judged_with_default_lead_time": list(advice.default_lead),
        "note": advice.note,
    }
