"""tier_counts: PostgreSQL's alert_states trigger fires only for a state outside rank 0

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 14:20:00.000000

The insert/delete trigger of 0011 called its PL/pgSQL function for every new state and tested
the rank inside; the first poll cycle of 70,000 SKUs creates ~65,000 states at rank 0 (OK), and
the calls alone cost ~0.7 s of server CPU. Now one trigger per operation with ``WHEN`` on the
rank, as SQLite's triggers already had; the counts are recounted (``tier_counts.install``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from stockwatch.adapters.db import tier_counts

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        tier_counts.uninstall(bind)
        tier_counts.install(bind)


def downgrade() -> None:
    # The triggers of 0014 count exactly what 0011's did: nothing to take back.
    pass
