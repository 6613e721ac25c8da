"""thresholds: the basis as numbers and notes, and indexes on the live versions only

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:10:00.000000

Writing a recompute of a million items was dominated by the per-version JSON basis (~600 bytes
a row) and by two indexes over every version ever written. The usual computed basis is now 16
float64 (``numbers``) plus its notes as JSON text (``notes``, NULL when none); bases that do not
fit (learned lead times, hand-set levels, tier specs) keep the JSON ``basis``, now nullable.
``ix_thresholds_status`` (item_key, status) and ``ix_thresholds_by_status`` (status, item_key)
give way to partial indexes on the active and the pending versions: readers look up only those
(the primary key serves an item's history). Existing rows are converted here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from stockwatch.adapters.db.codec import (
    basis_from_json,
    basis_from_numbers,
    basis_to_json,
    compact_basis,
)
from stockwatch.core.model import TierLevels

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 5_000


def _levels(strategy: str, t1: int, t2: int, t3: int, velocity: float, basis: Any) -> TierLevels:
    data = json.loads(basis) if isinstance(basis, str) else basis
    parsed = basis_from_json(strategy, data)
    if t3 <= 0:
        return TierLevels.off(parsed)
    return TierLevels(t1, t2, t3, float(velocity), parsed)


def _pages(bind: sa.Connection, where: str) -> Any:
    """Rows of ``thresholds`` matching ``where``, a page at a time in key order."""
    after: tuple[str, int] = ("", -1)
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT item_key, version, strategy, t1, t2, t3, velocity, basis, numbers, notes"
                f" FROM thresholds WHERE {where}"
                " AND (item_key > :k OR (item_key = :k AND version > :v))"
                " ORDER BY item_key, version LIMIT :n"
            ),
            {"k": after[0], "v": after[1], "n": _PAGE},
        ).all()
        if not rows:
            return
        yield rows
        after = (rows[-1].item_key, rows[-1].version)


def upgrade() -> None:
    bind = op.get_bind()
    existing = {ix["name"] for ix in sa.inspect(bind).get_indexes("thresholds")}
    columns = {c["name"] for c in sa.inspect(bind).get_columns("thresholds")}
    with op.batch_alter_table("thresholds") as batch:
        for name in ("ix_thresholds_status", "ix_thresholds_by_status"):
            if name in existing:
                batch.drop_index(name)
        if "numbers" not in columns:
            batch.add_column(sa.Column("numbers", sa.LargeBinary(), nullable=True))
        if "notes" not in columns:
            batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch.alter_column("basis", existing_type=sa.JSON(), nullable=True)
    for rows in _pages(bind, "basis IS NOT NULL"):
        updates = []
        for r in rows:
            levels = _levels(r.strategy, r.t1, r.t2, r.t3, r.velocity, r.basis)
            compact = compact_basis(levels.basis)
            if compact is not None:
                updates.append(
                    {"k": r.item_key, "v": r.version, "n": compact.numbers, "o": compact.notes}
                )
        if updates:
            bind.execute(
                sa.text(
                    "UPDATE thresholds SET numbers = :n, notes = :o, basis = NULL"
                    " WHERE item_key = :k AND version = :v"
                ),
                updates,
            )
    for name, status in (("ix_thresholds_active", "active"), ("ix_thresholds_review", "review")):
        if name not in existing:
            op.create_index(
                name,
                "thresholds",
                ["item_key"],
                postgresql_where=sa.text(f"status = '{status}'"),
                sqlite_where=sa.text(f"status = '{status}'"),
            )


def downgrade() -> None:
    bind = op.get_bind()
    for rows in _pages(bind, "basis IS NULL"):
        updates = []
        for r in rows:
            basis = basis_from_numbers(r.strategy, r.numbers, r.notes)
            levels = (
                TierLevels.off(basis)
                if r.t3 <= 0
                else TierLevels(r.t1, r.t2, r.t3, float(r.velocity), basis)
            )
            updates.append(
                {"k": r.item_key, "v": r.version, "b": json.dumps(basis_to_json(levels))}
            )
        value = "CAST(:b AS JSON)" if bind.dialect.name == "postgresql" else ":b"
        bind.execute(
            sa.text(f"UPDATE thresholds SET basis = {value} WHERE item_key = :k AND version = :v"),
            updates,
        )
    op.drop_index("ix_thresholds_active", table_name="thresholds")
    op.drop_index("ix_thresholds_review", table_name="thresholds")
    with op.batch_alter_table("thresholds") as batch:
        batch.drop_column("numbers")
        batch.drop_column("notes")
        batch.alter_column("basis", existing_type=sa.JSON(), nullable=False)
    op.create_index("ix_thresholds_status", "thresholds", ["item_key", "status"])
    op.create_index("ix_thresholds_by_status", "thresholds", ["status", "item_key"])
