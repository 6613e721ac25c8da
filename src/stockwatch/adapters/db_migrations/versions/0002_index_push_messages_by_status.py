"""index push messages by status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 11:22:02.813907
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_push_messages_status", "push_messages", ["status", "gmt_born"])


def downgrade() -> None:
    op.drop_index("ix_push_messages_status", table_name="push_messages")
