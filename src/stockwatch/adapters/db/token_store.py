"""``TokenStore`` over the ``oauth_tokens`` table (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from stockwatch.adapters.db.tables import oauth_tokens
from stockwatch.ports import OAuthTokens


class SqlTokenStore:
    """One row per app key; a save replaces the row in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, app_key: str) -> OAuthTokens | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(oauth_tokens).where(oauth_tokens.c.app_key == app_key)
            ).one_or_none()
        if row is None:
            return None
        return OAuthTokens(
            app_key=row.app_key,
            access_token=row.access_token,
            access_expires_at=row.access_expires_at,
            refresh_token=row.refresh_token,
            refresh_expires_at=row.refresh_expires_at,
            member_id=row.member_id,
            ali_id=row.ali_id,
        )

    def save(self, tokens: OAuthTokens) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(oauth_tokens).where(oauth_tokens.c.app_key == tokens.app_key))
            conn.execute(
                insert(oauth_tokens).values(
                    app_key=tokens.app_key,
                    member_id=tokens.member_id,
                    ali_id=tokens.ali_id,
                    access_token=tokens.access_token,
                    access_expires_at=tokens.access_expires_at,
                    refresh_token=tokens.refresh_token,
                    refresh_expires_at=tokens.refresh_expires_at,
                    updated_at=datetime.now(UTC),
                )
            )
