"""Promotions entered through the JSON API, in SQL (``promotions``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select

from stockwatch.adapters.db.tables import promotions
from stockwatch.core.promotions import Promotion
from stockwatch.ports import StoredPromotionRecord as StoredPromotion


class SqlPromotionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, promo: Promotion, now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                promotions.insert().values(
                    name=promo.name,
                    start_day=promo.start,
                    end_day=promo.end,
                    multiplier=promo.multiplier,
                    target=promo.target,
                    skus=sorted(promo.skus),
                    categories=sorted(promo.categories),
                    tags=sorted(promo.tags),
                    created_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def list(self) -> list[StoredPromotion]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(promotions).order_by(promotions.c.id)).all()
        return [
            StoredPromotion(
                int(r.id),
                Promotion(
                    name=r.name,
                    start=r.start_day,
                    end=r.end_day,
                    multiplier=float(r.multiplier),
                    target=r.target,
                    skus=frozenset(r.skus or ()),
                    categories=frozenset(r.categories or ()),
                    tags=frozenset(r.tags or ()),
                ),
                r.created_at,
            )
            for r in rows
        ]

    def delete(self, promo_id: int) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(delete(promotions).where(promotions.c.id == promo_id))
        return bool(result.rowcount)
