"""``/api/promotions``: promotions entered through the JSON API (GET, POST, DELETE).

A new or deleted promotion takes effect without waiting for the scheduled recompute: the
daemon's ``on_change`` hook recomputes the items it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request, params
from pydantic import BaseModel, ConfigDict, Field

from stockwatch.core.audit import AuditAction
from stockwatch.core.promotions import Promotion
from stockwatch.entrypoints.web.openapi_doc import errors
from stockwatch.entrypoints.web.web_common import audited
from stockwatch.ports import Clock, PromotionStore, StoredPromotionRecord


class PromotionIn(BaseModel):
    """A promotion as the API takes it; unknown fields are a client error."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    start: date
    end: date
    multiplier: float = Field(gt=0, le=1000)
    target: str = "demand"
    skus: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


def promotion_json(record: StoredPromotionRecord) -> dict[str, Any]:
    p = record.promotion
    return {
        "id": record.id,
        "name": p.name,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "multiplier": p.multiplier,
        "target": p.target,
        "skus": sorted(p.skus),
        "categories": sorted(p.categories),
        "tags": sorted(p.tags),
        "created_at": record.created_at.isoformat(),
    }


def promotions_router(
    store: PromotionStore,
    clock: Clock,
    guard: Sequence[params.Depends],
    on_change: Callable[[], None] = lambda: None,
) -> APIRouter:
    router = APIRouter(prefix="/api/promotions", dependencies=list(guard))

    @router.get("")
    async def list_promotions() -> list[dict[str, Any]]:
        return [promotion_json(r) for r in await asyncio.to_thread(store.list)]

    @router.post("", status_code=201, responses=errors({400: "an invalid promotion"}))
    async def add_promotion(request: Request, body: PromotionIn) -> dict[str, Any]:
        try:
            promo = Promotion(
                name=body.name.strip(),
                start=body.start,
                end=body.end,
                multiplier=body.multiplier,
                target=body.target,
                skus=frozenset(body.skus),
                categories=frozenset(body.categories),
                tags=frozenset(body.tags),
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        now = clock()
        new_id = await asyncio.to_thread(store.add, promo, now)
        on_change()
        audited(request, AuditAction.PROMOTION_ADDED, f"promotion #{new_id}", promo.name[:200])
        return promotion_json(StoredPromotionRecord(new_id, promo, now))

    @router.delete("/{promo_id}", responses=errors({404: "no such promotion"}))
    async def delete_promotion(request: Request, promo_id: int) -> dict[str, Any]:
        if promo_id < 1 or promo_id > 2**63 - 1:
            raise HTTPException(404, f"no promotion {promo_id}")
        if not await asyncio.to_thread(store.delete, promo_id):
            raise HTTPException(404, f"no promotion {promo_id}")
        on_change()
        audited(request, AuditAction.PROMOTION_DELETED, f"promotion #{promo_id}")
        return {"ok": True, "deleted": promo_id}

    return router
