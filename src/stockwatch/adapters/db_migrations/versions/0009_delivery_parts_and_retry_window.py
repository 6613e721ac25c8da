"""deliveries: parts of a split digest already sent, and when the current failure streak began

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 21:40:00.000000

``parts_sent`` lets a daily digest split into several robot messages resume after the last part
delivered (a crash repeats only the part in flight). ``failing_since`` starts the retry window:
transient failures are retried for a duration, not a number of tries.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("failing_since")
        batch.drop_column("parts_sent")
