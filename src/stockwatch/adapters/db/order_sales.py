"""1688 order lines into the daily sales store, each line counted exactly once.

One transaction per import: a line whose (order id, line) is already in ``sales_order_lines``
adds nothing unless what it sells changed; a new paid line adds its units to ``sales_days`` for
its (item key, day); a counted line whose order was closed since takes its units back once, and
one refunded since (also after completion) takes back the refunded units, on its sale day.
Re-running an import, or running it after a crash, leaves the totals as one clean run would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from stockwatch.adapters.db.tables import sales_days, sales_order_lines


@dataclass(frozen=True)
class SoldLine:
    """One order line as it stands now: ``quantity`` is what counts as sold (after refunds)."""

    order_id: str
    line: int
    sku: str  # the item key the units count for: "SKU" or "SKU@WAREHOUSE"
    day: date
    quantity: int
    closed: bool = False


@dataclass(frozen=True)
class OrderImport:
    added: int = 0  # lines newly counted (or counted up again)
    reversed: int = 0  # counted lines whose order was closed since
    unchanged: int = 0  # lines seen before (or closed before they were counted)
    refunded: int = 0  # counted lines partly or wholly refunded since, also after completion
    keys: frozenset[str] = frozenset()  # the item keys whose sales changed


class SqlOrderSales:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, lines: Sequence[SoldLine], now: datetime) -> OrderImport:
        """Bring each line's counted units to what it sells now, on the day it was sold."""
        added = reversed_ = unchanged = refunded = 0
        keys: set[str] = set()
        with self.engine.begin() as conn:
            o = sales_order_lines.c
            for line in lines:
                target = 0 if line.closed else max(line.quantity, 0)
                row = conn.execute(
                    select(o.cancelled, o.sku, o.day, o.quantity).where(
                        o.order_id == line.order_id, o.line == line.line
                    )
                ).first()
                if row is None:
                    if target == 0:
                        unchanged += 1
                        continue
                    conn.execute(
                        sales_order_lines.insert().values(
                            order_id=line.order_id,
                            line=line.line,
                            sku=line.sku,
                            day=line.day,
                            quantity=target,
                            cancelled=False,
                            imported_at=now,
                        )
                    )
                    _add_day(conn, line.sku, line.day, target)
                    keys.add(line.sku)
                    added += 1
                    continue
                counted = 0 if row.cancelled else int(row.quantity)
                delta = target - counted
                if delta == 0:
                    unchanged += 1
                    continue
                # A closed line keeps its quantity and is marked cancelled (as before); a
                # refunded one keeps counting what was not refunded.
                conn.execute(
                    update(sales_order_lines)
                    .where(o.order_id == line.order_id, o.line == line.line)
                    .values(
                        cancelled=target == 0,
                        quantity=row.quantity if target == 0 else target,
                        imported_at=now,
                    )
                )
                _add_day(conn, row.sku, row.day, delta)  # on the day the units were sold
                keys.add(row.sku)
                if line.closed:
                    reversed_ += 1
                elif delta < 0:
                    refunded += 1
                else:
                    added += 1
        return OrderImport(added, reversed_, unchanged, refunded, frozenset(keys))

    def counted(self) -> int:
        with self.engine.connect() as conn:
            return len(
                conn.execute(
                    select(sales_order_lines.c.order_id).where(
                        sales_order_lines.c.cancelled.is_(False)
                    )
                ).all()
            )


def _add_day(conn: Connection, sku: str, day: date, quantity: int) -> None:
    row = {"sku": sku, "day": day, "quantity": max(quantity, 0)}
    # Other imports may hold the same day: add (or take back), never overwrite; never below 0.
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(sales_days).values(row)
        new = sales_days.c.quantity + quantity
        conn.execute(
            pg.on_conflict_do_update(
                index_elements=["sku", "day"],
                set_={"quantity": func.greatest(new, 0)},
            )
        )
        return
    lite = sqlite.insert(sales_days).values(row)
    new = sales_days.c.quantity + quantity
    conn.execute(
        lite.on_conflict_do_update(
            index_elements=["sku", "day"], set_={"quantity": func.max(new, 0)}
        )
    )
