"""How many active items each tier has, kept by the database itself (migration 0011).

The overview's first page shows counts per tier. Counting them took a scan of all 100,000
items and a join (~200 ms on PostgreSQL); here triggers on ``items`` and ``alert_states`` add
a row ``(tier_rank, ±1)`` to ``tier_counts`` whenever an active item enters or leaves a tier
(an item without a state is OK, rank 0), and the counts are one small ``SUM``. Rows are only
ever inserted by the triggers, so concurrent writers never wait on each other for a counter
row (no lock, no deadlock); ``compact`` folds them into one row per tier now and then.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, text

from stockwatch.adapters.db import tables as t

# Which tier an item is in: its state's rank, 0 (OK) while it has no state.
_RANK_OF = "coalesce((SELECT tier_rank FROM alert_states WHERE item_key = {key}), 0)"
_ACTIVE = 'EXISTS (SELECT 1 FROM items WHERE "key" = {key} AND active)'

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER tr_items_tier_count_insert AFTER INSERT ON items WHEN NEW.active
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta) VALUES ({_RANK_OF.format(key='NEW."key"')}, 1);
    END""",
    f"""CREATE TRIGGER tr_items_tier_count_delete AFTER DELETE ON items WHEN OLD.active
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta) VALUES ({_RANK_OF.format(key='OLD."key"')}, -1);
    END""",
    f"""CREATE TRIGGER tr_items_tier_count_update AFTER UPDATE OF active, "key" ON items
    WHEN OLD.active IS NOT NEW.active OR OLD."key" IS NOT NEW."key"
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT {_RANK_OF.format(key='OLD."key"')}, -1 WHERE OLD.active;
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT {_RANK_OF.format(key='NEW."key"')}, 1 WHERE NEW.active;
    END""",
    f"""CREATE TRIGGER tr_alert_states_tier_count_insert AFTER INSERT ON alert_states
    WHEN NEW.tier_rank <> 0
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT NEW.tier_rank, 1 WHERE {_ACTIVE.format(key="NEW.item_key")}
            UNION ALL SELECT 0, -1 WHERE {_ACTIVE.format(key="NEW.item_key")};
    END""",
    f"""CREATE TRIGGER tr_alert_states_tier_count_delete AFTER DELETE ON alert_states
    WHEN OLD.tier_rank <> 0
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT OLD.tier_rank, -1 WHERE {_ACTIVE.format(key="OLD.item_key")}
            UNION ALL SELECT 0, 1 WHERE {_ACTIVE.format(key="OLD.item_key")};
    END""",
    f"""CREATE TRIGGER tr_alert_states_tier_count_update
    AFTER UPDATE OF tier_rank, item_key ON alert_states
    WHEN OLD.tier_rank IS NOT NEW.tier_rank OR OLD.item_key IS NOT NEW.item_key
    BEGIN
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT OLD.tier_rank, -1 WHERE OLD.tier_rank <> 0
                AND {_ACTIVE.format(key="OLD.item_key")}
            UNION ALL SELECT 0, 1 WHERE OLD.tier_rank <> 0
                AND {_ACTIVE.format(key="OLD.item_key")};
        INSERT INTO tier_counts (tier_rank, delta)
            SELECT NEW.tier_rank, 1 WHERE NEW.tier_rank <> 0
                AND {_ACTIVE.format(key="NEW.item_key")}
            UNION ALL SELECT 0, -1 WHERE NEW.tier_rank <> 0
                AND {_ACTIVE.format(key="NEW.item_key")};
    END""",
)

POSTGRESQL_TRIGGERS = (
    f"""CREATE FUNCTION items_tier_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            IF OLD.active THEN
                INSERT INTO tier_counts (tier_rank, delta)
                    VALUES ({_RANK_OF.format(key="OLD.key")}, -1);
            END IF;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            IF NEW.active THEN
                INSERT INTO tier_counts (tier_rank, delta)
                    VALUES ({_RANK_OF.format(key="NEW.key")}, 1);
            END IF;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tr_items_tier_count AFTER INSERT OR DELETE ON items
    FOR EACH ROW EXECUTE FUNCTION items_tier_count()""",
    """CREATE TRIGGER tr_items_tier_count_update AFTER UPDATE ON items FOR EACH ROW
    WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.key IS DISTINCT FROM NEW.key)
    EXECUTE FUNCTION items_tier_count()""",
    f"""CREATE FUNCTION alert_states_tier_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            IF OLD.tier_rank <> 0 AND {_ACTIVE.format(key="OLD.item_key")} THEN
                INSERT INTO tier_counts (tier_rank, delta) VALUES (OLD.tier_rank, -1), (0, 1);
            END IF;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            IF NEW.tier_rank <> 0 AND {_ACTIVE.format(key="NEW.item_key")} THEN
                INSERT INTO tier_counts (tier_rank, delta) VALUES (NEW.tier_rank, 1), (0, -1);
            END IF;
        END IF;
        RETURN NULL;
    END $$""",
    # WHEN in the trigger, not only IF in the function: a poll cycle creates or saves tens of
    # thousands of states at rank 0, and calling PL/pgSQL for each cost ~10 µs a row (0.7 s
    # for 65,000 new states; 0.2 s with the WHEN, migration 0014).
    """CREATE TRIGGER tr_alert_states_tier_count_insert AFTER INSERT ON alert_states
    FOR EACH ROW WHEN (NEW.tier_rank <> 0) EXECUTE FUNCTION alert_states_tier_count()""",
    """CREATE TRIGGER tr_alert_states_tier_count_delete AFTER DELETE ON alert_states
    FOR EACH ROW WHEN (OLD.tier_rank <> 0) EXECUTE FUNCTION alert_states_tier_count()""",
    """CREATE TRIGGER tr_alert_states_tier_count_update AFTER UPDATE ON alert_states
    FOR EACH ROW WHEN (OLD.tier_rank IS DISTINCT FROM NEW.tier_rank
        OR OLD.item_key IS DISTINCT FROM NEW.item_key)
    EXECUTE FUNCTION alert_states_tier_count()""",
)

_SEED = """INSERT INTO tier_counts (tier_rank, delta)
    SELECT coalesce(s.tier_rank, 0), count(*) FROM items i
    LEFT JOIN alert_states s ON s.item_key = i."key"
    WHERE i.active GROUP BY coalesce(s.tier_rank, 0)"""


def install(conn: Connection) -> None:
    """Create the triggers (the table exists) and count what is already there."""
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"tier counts need triggers written for {name}")
    for statement in SQLITE_TRIGGERS if name == "sqlite" else POSTGRESQL_TRIGGERS:
        conn.execute(text(statement))
    conn.execute(text("DELETE FROM tier_counts"))
    conn.execute(text(_SEED))


def uninstall(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {statement.split()[2]}"))
        return
    conn.execute(text("DROP TRIGGER IF EXISTS tr_items_tier_count ON items"))
    conn.execute(text("DROP TRIGGER IF EXISTS tr_items_tier_count_update ON items"))
    conn.execute(text("DROP TRIGGER IF EXISTS tr_alert_states_tier_count ON alert_states"))  # ≤0013
    conn.execute(text("DROP TRIGGER IF EXISTS tr_alert_states_tier_count_insert ON alert_states"))
    conn.execute(text("DROP TRIGGER IF EXISTS tr_alert_states_tier_count_delete ON alert_states"))
    conn.execute(text("DROP TRIGGER IF EXISTS tr_alert_states_tier_count_update ON alert_states"))
    conn.execute(text("DROP FUNCTION IF EXISTS items_tier_count()"))
    conn.execute(text("DROP FUNCTION IF EXISTS alert_states_tier_count()"))


def tier_counts(conn: Connection) -> dict[int, int]:
    """Active items per tier rank (0 = OK); tiers with none are left out."""
    c = t.tier_counts.c
    total = func.sum(c.delta)
    rows = conn.execute(select(c.tier_rank, total).group_by(c.tier_rank).having(total != 0))
    return {int(rank): int(n) for rank, n in rows}


def compact(conn: Connection) -> int:
    """Fold the rows into one per tier; return how many rows there were."""
    if conn.dialect.name == "postgresql":
        # One statement: the rows it sums are exactly the rows it deletes, even while other
        # transactions insert (a row committed meanwhile is neither summed nor deleted).
        folded = conn.execute(
            text(
                "WITH gone AS (DELETE FROM tier_counts RETURNING tier_rank, delta),"
                " sums AS (INSERT INTO tier_counts (tier_rank, delta)"
                "  SELECT tier_rank, sum(delta) FROM gone GROUP BY tier_rank"
                "  HAVING sum(delta) <> 0 RETURNING 1)"
                " SELECT count(*) FROM gone"
            )
        )
        return int(folded.scalar_one())
    # SQLite: the caller's write transaction keeps every other writer out meanwhile.
    last = conn.execute(text("SELECT max(id) FROM tier_counts")).scalar()
    if last is None:
        return 0
    conn.execute(
        text(
            "INSERT INTO tier_counts (tier_rank, delta) SELECT tier_rank, sum(delta)"
            " FROM tier_counts WHERE id <= :last GROUP BY tier_rank HAVING sum(delta) <> 0"
        ),
        {"last": last},
    )
    return int(
        conn.execute(text("DELETE FROM tier_counts WHERE id <= :last"), {"last": last}).rowcount
    )
